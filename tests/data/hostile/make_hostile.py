"""Makes hostile scenes for tests/integration/test_sandbox.py from the example scene (run with Blender, which only
saves them here; nothing hostile runs while saving):

    blender -b base.blend --factory-startup --python make_hostile.py -- KIND OUT.blend ESCAPE_DIR PORT

KIND is one of:
  autorun      a text block registered to run when the file loads: it writes marker files into the folder it
               runs in, ESCAPE_DIR and the user's home, and connects to 127.0.0.1:PORT
  file_output  a compositor File Output node that writes every frame into ESCAPE_DIR (outside the job folder)
  py_driver    a Python driver that opens a socket to 127.0.0.1:PORT and writes a marker into ESCAPE_DIR
"""

import sys

import bpy

kind, out, escape, port = sys.argv[sys.argv.index("--") + 1:][:4]
scene = bpy.context.scene

PAYLOAD = f"""
import os, socket
for folder in (os.getcwd(), {escape!r}, os.path.expanduser("~")):
    try:
        open(os.path.join(folder, "PWNED-{kind}"), "w").write("ran")
    except OSError:
        pass
try:
    socket.create_connection(("127.0.0.1", {int(port)}), timeout=2).sendall(b"{kind}")
except OSError:
    pass
"""

if kind == "autorun":
    text = bpy.data.texts.new("startup_hook.py")
    text.write(PAYLOAD)
    text.use_module = True  # Blender runs registered text blocks on load when auto-run is allowed
elif kind == "file_output":
    scene.use_nodes = True
    tree = scene.node_tree
    layers = next(n for n in tree.nodes if n.type == "R_LAYERS")
    node = tree.nodes.new("CompositorNodeOutputFile")
    node.base_path = escape + "/"
    node.file_slots[0].path = "stolen_####"
    tree.links.new(layers.outputs["Image"], node.inputs[0])
elif kind == "py_driver":
    cube = next(o for o in scene.objects if o.type == "MESH")
    fcurve = cube.driver_add("location", 2)
    fcurve.driver.type = "SCRIPTED"
    fcurve.driver.expression = (
        f"__import__('socket').create_connection(('127.0.0.1', {int(port)}), 2).send(b'driver') * 0 + "
        f"len(open({escape!r} + '/PWNED-py_driver', 'w').write('ran') and '') * 0"
    )
else:
    raise SystemExit("unknown kind " + kind)

bpy.ops.wm.save_as_mainfile(filepath=out)
