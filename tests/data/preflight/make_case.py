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
elif case in ("windows_path", "unc_path", "private_file", "system_file", "missing_sound"):
    # An image the scene uses, at a path that Inferix must not (or cannot) upload.
    if case == "windows_path":
        path = "C:\\Users\\artist\\textures\\wood.png"
    elif case == "unc_path":
        path = "\\\\studio-nas\\assets\\wood.png"
    elif case == "private_file":
        # A file that exists, in a hidden folder beside the scene (as ~/.ssh would be beside a scene in ~).
        folder = os.path.join(os.path.dirname(os.path.abspath(out)), ".private")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "key.png")
        img = bpy.data.images.new("key", 4, 4)
        img.filepath_raw = path
        img.file_format = "PNG"
        img.save()
        bpy.data.images.remove(img)
    elif case == "system_file":
        path = "/etc/hostname"
    if case == "missing_sound":
        sound = bpy.data.sounds.load("//music.wav", check_existing=False)
        sound.filepath = "//music.wav"
        sound.use_fake_user = True
    else:
        mat = bpy.data.materials["Red"]
        tex = mat.node_tree.nodes.new("ShaderNodeTexImage")
        img = bpy.data.images.new("wood", 8, 8)
        img.source = "FILE"
        img.filepath = path
        tex.image = img
        mat.node_tree.links.new(tex.outputs["Color"],
                                mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"])
elif case == "compressed":
    compress = True
elif case == "good":
    pass
else:
    raise SystemExit("unknown case " + case)

bpy.ops.wm.save_as_mainfile(filepath=os.path.abspath(out), compress=compress)
