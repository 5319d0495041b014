"""Adds traps to a test scene, for the render module's tests (run after examples/make_scene.py, same arguments).

    INFERIX_TRAP_MARKER=PATH INFERIX_TRAP_ESCAPE=DIR blender -b --factory-startup -noaudio \
        --python examples/make_scene.py --python tests/data/render/add_traps.py -- OUT.blend [make_scene options]

(The paths come from the environment because make_scene.py rejects arguments it does not know.)

- a registered text block that writes PATH when the file is opened with scripts allowed (-Y must stop it);
- a compositor File Output node whose base path is DIR, outside the job folder (the driver must redirect it),
  with a slot path that climbs out with '..';
- an image texture that references an external file (//textures/wood.png) and a packed image, for list_files.
"""

import os
import sys

import bpy

output = sys.argv[sys.argv.index("--") + 1]
marker = os.environ["INFERIX_TRAP_MARKER"]
escape = os.environ["INFERIX_TRAP_ESCAPE"]

text = bpy.data.texts.new("autorun.py")
text.write("open(%r, 'w').write('scene python ran')\n" % marker)
text.use_module = True

scene = bpy.context.scene
scene.use_nodes = True
tree = scene.node_tree
layers = tree.nodes.get("Render Layers") or tree.nodes.new("CompositorNodeRLayers")
out = tree.nodes.new("CompositorNodeOutputFile")
out.base_path = escape
out.format.file_format = "PNG"
out.file_slots[0].path = "../../escaped_"
tree.links.new(layers.outputs["Image"], out.inputs[0])

external = bpy.data.images.new("wood", 4, 4)
external.source = "FILE"
external.filepath = "//textures/wood.png"
external.use_fake_user = True
packed = bpy.data.images.new("packed", 4, 4)
saved = os.path.join(os.path.dirname(os.path.abspath(output)), "packed.png")
packed.filepath_raw = saved
packed.file_format = "PNG"
packed.save()
packed.pack()
packed.filepath = "//textures/packed.png"
packed.use_fake_user = True
os.remove(saved)

bpy.ops.wm.save_as_mainfile(filepath=output, compress=False)
if os.path.exists(output + "1"):
    os.remove(output + "1")  # the backup of make_scene.py's save
