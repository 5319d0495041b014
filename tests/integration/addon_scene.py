"""Gives the example scene a texture file, for the add-on test (test_addon.py): the floor gets an image texture
referenced by a path relative to the .blend, so a submit has a second file to upload.

    blender -b BASE.blend --factory-startup -noaudio --python addon_scene.py -- OUT.blend TEXTURE

TEXTURE is relative to OUT's folder (e.g. tex/checker.png). With --missing the texture file is not written: the
scene references a file that does not exist, which preflight must refuse.
"""

import os
import sys

import bpy

args = sys.argv[sys.argv.index("--") + 1:]
out, texture, missing = os.path.abspath(args[0]), args[1], "--missing" in args
tex_path = os.path.join(os.path.dirname(out), texture)

image = bpy.data.images.new("Checker", 64, 64)
image.generated_type = "COLOR_GRID"
if not missing:
    os.makedirs(os.path.dirname(tex_path), exist_ok=True)
    image.filepath_raw = tex_path
    image.file_format = "PNG"
    image.save()
    image.source = "FILE"
    image.filepath = tex_path
else:
    image.source = "FILE"
    image.filepath = tex_path

floor = bpy.data.materials["Floor"]
nodes = floor.node_tree.nodes
tex = nodes.new("ShaderNodeTexImage")
tex.image = image
floor.node_tree.links.new(tex.outputs["Color"], nodes["Principled BSDF"].inputs["Base Color"])
bpy.ops.wm.save_as_mainfile(filepath=out, compress=False, relative_remap=True)
bpy.ops.file.make_paths_relative()
bpy.ops.wm.save_mainfile()
print("paths:", bpy.utils.blend_paths(absolute=False))
if os.path.exists(out + "1"):
    os.remove(out + "1")  # Blender's backup of the first save
