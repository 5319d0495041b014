"""Turns a good scene into one with a single preflight defect, for tests:

    blender -b BASE.blend --factory-startup --python make_case.py -- CASE OUT.blend
"""

import os
import sys

import bpy

case, out = sys.argv[sys.argv.index("--") + 1:][:2]
scene = bpy.context.scene
compress = False

if case == "no_camera":
    cam = scene.camera
    scene.camera = None
    bpy.data.objects.remove(cam, do_unlink=True)
elif case == "missing_file":
    mat = bpy.data.materials["Red"]
    tex = mat.node_tree.nodes.new("ShaderNodeTexImage")
    img = bpy.data.images.new("wood", 8, 8)
    img.source = "FILE"
    img.filepath = "//textures/wood.png"
    tex.image = img
    mat.node_tree.links.new(tex.outputs["Color"], mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"])
elif case == "unbaked_cache":
    bpy.data.objects["Cube"].modifiers.new("Cloth", "CLOTH")
elif case == "python_driver":
    cube = bpy.data.objects["Cube"]
    fcurve = cube.driver_add("location", 0)
    fcurve.driver.type = "SCRIPTED"
    fcurve.driver.expression = "__import__('os').getpid() % 3"
elif case == "compressed":
    compress = True
elif case == "good":
    pass
else:
    raise SystemExit("unknown case " + case)

bpy.ops.wm.save_as_mainfile(filepath=os.path.abspath(out), compress=compress)
