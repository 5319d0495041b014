"""Builds a small production layout whose shot needs files of every kind from everywhere, for tests:

    blender -b --factory-startup --python make_project.py -- DIR

writes
    DIR/proj/shots/shot.blend   Cycles, 64x48, 8 samples, frames 1-3: what a worker renders
    DIR/proj/lib/set.blend      a library the shot links: its collection links another library's (nested)
    DIR/proj/lib/props.blend    the nested library: a cube textured with UDIM tiles (//../tex/udim.<UDIM>.png)
    DIR/proj/tex/seq/f_0001.png .. f_0003.png   an image sequence on a card, one file per frame
    DIR/proj/tex/udim.1001.png, udim.1002.png   the UDIM tiles
    DIR/assets/sky.png          referenced by an absolute path (a studio's shared asset folder)

Every texture shows in the frames (emission shaders, flat colours), so a worker missing any file renders a
different (magenta) picture. Paths are relative (//) except the sky's, as artists' files usually are.
"""

import os
import sys

import bpy

out = os.path.abspath(sys.argv[sys.argv.index("--") + 1])
proj = os.path.join(out, "proj")
for folder in ("shots", "lib", "tex/seq"):
    os.makedirs(os.path.join(proj, folder), exist_ok=True)
os.makedirs(os.path.join(out, "assets"), exist_ok=True)


def write_png(path, colour, w=8, h=8):
    img = bpy.data.images.new("tmp", w, h)
    img.pixels = list(colour) * (w * h)
    img.filepath_raw = path
    img.file_format = "PNG"
    img.save()
    bpy.data.images.remove(img)


write_png(os.path.join(proj, "tex/seq/f_0001.png"), (1, 0, 0, 1))
write_png(os.path.join(proj, "tex/seq/f_0002.png"), (0, 1, 0, 1))
write_png(os.path.join(proj, "tex/seq/f_0003.png"), (0, 0, 1, 1))
write_png(os.path.join(proj, "tex/udim.1001.png"), (1, 1, 0, 1))
write_png(os.path.join(proj, "tex/udim.1002.png"), (0, 1, 1, 1))
write_png(os.path.join(out, "assets/sky.png"), (0.9, 0.5, 0.1, 1))


def emission_material(name, image, image_user=None):
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    tex = nodes.new("ShaderNodeTexImage")
    tex.image = image
    tex.interpolation = "Closest"
    if image_user is not None:
        image_user(tex.image_user)
    emit = nodes.new("ShaderNodeEmission")
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(tex.outputs["Color"], emit.inputs["Color"])
    links.new(emit.outputs["Emission"], output.inputs["Surface"])
    return mat


def save(path):
    bpy.ops.wm.save_as_mainfile(filepath=path, relative_remap=False)


# The nested library: a cube whose UVs cover two UDIM tiles.
bpy.ops.wm.read_factory_settings(use_empty=True)
save(os.path.join(proj, "lib/props.blend"))
bpy.ops.mesh.primitive_cube_add(size=1.0)
cube = bpy.context.object
cube.name = "Crate"
for loop in cube.data.uv_layers.active.data:
    loop.uv[0] *= 2.0  # u in 0..2: tiles 1001 and 1002
udim = bpy.data.images.load(os.path.join(proj, "tex/udim.1001.png"))
udim.source = "TILED"
udim.filepath = "//../tex/udim.<UDIM>.png"
cube.data.materials.append(emission_material("Crate", udim))
props = bpy.data.collections.new("Props")
bpy.context.scene.collection.children.link(props)
for c in list(cube.users_collection):
    c.objects.unlink(cube)
props.objects.link(cube)
save(os.path.join(proj, "lib/props.blend"))

# The library the shot links: its collection instances the nested library's.
bpy.ops.wm.read_factory_settings(use_empty=True)
save(os.path.join(proj, "lib/set.blend"))
with bpy.data.libraries.load("//props.blend", link=True, relative=True) as (src, dst):
    dst.collections = ["Props"]
setcol = bpy.data.collections.new("Set")
bpy.context.scene.collection.children.link(setcol)
holder = bpy.data.objects.new("PropsInstance", None)
holder.instance_type = "COLLECTION"
holder.instance_collection = dst.collections[0]
holder.location = (0.8, 0, 0)
setcol.objects.link(holder)
save(os.path.join(proj, "lib/set.blend"))

# The shot.
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
save(os.path.join(proj, "shots/shot.blend"))
scene.render.engine = "CYCLES"
scene.cycles.samples = 8
scene.cycles.use_denoising = False
scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 64, 48, 100
scene.frame_start, scene.frame_end = 1, 3
with bpy.data.libraries.load("//../lib/set.blend", link=True, relative=True) as (src, dst):
    dst.collections = ["Set"]
inst = bpy.data.objects.new("SetInstance", None)
inst.instance_type = "COLLECTION"
inst.instance_collection = dst.collections[0]
scene.collection.objects.link(inst)
# A card showing the image sequence: frame N shows f_000N.png.
bpy.ops.mesh.primitive_plane_add(size=1.0, location=(-0.8, 0, 0), rotation=(1.5708, 0, 0))
card = bpy.context.object
seq = bpy.data.images.load(os.path.join(proj, "tex/seq/f_0001.png"))
seq.source = "SEQUENCE"
seq.filepath = "//../tex/seq/f_0001.png"


def sequence_user(user):
    user.frame_duration = 3
    user.frame_start = 1
    user.use_auto_refresh = True


card.data.materials.append(emission_material("Card", seq, sequence_user))
# The world: an image referenced by its absolute path.
sky = bpy.data.images.load(os.path.join(out, "assets/sky.png"))
world = bpy.data.worlds.new("World")
scene.world = world
world.use_nodes = True
wn = world.node_tree.nodes
env = wn.new("ShaderNodeTexEnvironment")
env.image = sky
world.node_tree.links.new(env.outputs["Color"], wn["Background"].inputs["Color"])
cam_data = bpy.data.cameras.new("Camera")
cam = bpy.data.objects.new("Camera", cam_data)
cam.location = (0, -4, 0)
cam.rotation_euler = (1.5708, 0, 0)
scene.collection.objects.link(cam)
scene.camera = cam
save(os.path.join(proj, "shots/shot.blend"))
for folder in ("shots", "lib"):
    for name in os.listdir(os.path.join(proj, folder)):
        if name.endswith(".blend1"):
            os.remove(os.path.join(proj, folder, name))
