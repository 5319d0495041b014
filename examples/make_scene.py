"""Builds Inferix's example scene: an animated Cycles scene, saved as a .blend.

Run it with Blender (it never runs inside a render; it only writes a file):

    blender -b --factory-startup -noaudio --python examples/make_scene.py -- OUT.blend \
        [--width 480] [--height 270] [--samples 24] [--frames 24] [--format PNG|OPEN_EXR|JPEG]
        [--no-dither] [--no-adaptive]

Render settings are left at Blender's defaults where the artist would leave them: dither stays on and adaptive
sampling stays on, because the network must deliver exactly what the artist's Blender gives.
"""

import argparse
import math
import os
import sys

import bpy


def parse_args():
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    parser = argparse.ArgumentParser(prog="make_scene.py")
    parser.add_argument("output")
    parser.add_argument("--width", type=int, default=480)
    parser.add_argument("--height", type=int, default=270)
    parser.add_argument("--percentage", type=int, default=100)
    parser.add_argument("--samples", type=int, default=24)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--start", type=int, default=1)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--format", default="PNG", choices=["PNG", "OPEN_EXR", "JPEG"])
    parser.add_argument("--engine", default="CYCLES", choices=["CYCLES", "BLENDER_EEVEE", "BLENDER_WORKBENCH"],
                        help="render engine; --samples sets Eevee's render samples too")
    parser.add_argument("--no-dither", action="store_true", help="dither off (Blender's default is on)")
    parser.add_argument("--no-adaptive", action="store_true", help="adaptive sampling off (default is on)")
    return parser.parse_args(argv)


def material(name, color, metallic=0.0, roughness=0.5, emission=None):
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Metallic"].default_value = metallic
    bsdf.inputs["Roughness"].default_value = roughness
    if emission:
        bsdf.inputs["Emission"].default_value = (*emission, 1.0)
        bsdf.inputs["Emission Strength"].default_value = 4.0
    return mat


def build(args):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = args.engine
    scene.eevee.taa_render_samples = args.samples
    scene.cycles.device = "CPU"
    scene.cycles.samples = args.samples
    scene.cycles.use_denoising = False  # Debian's Blender has no OpenImageDenoise
    if args.no_dither:
        scene.render.dither_intensity = 0.0
    if args.no_adaptive:
        scene.cycles.use_adaptive_sampling = False
    scene.render.resolution_x = args.width
    scene.render.resolution_y = args.height
    scene.render.resolution_percentage = args.percentage
    scene.render.fps = args.fps
    scene.frame_start = args.start
    scene.frame_end = args.start + args.frames - 1
    scene.render.image_settings.file_format = args.format
    if args.format == "OPEN_EXR":
        scene.render.image_settings.color_depth = "16"

    world = bpy.data.worlds.new("World")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.05, 0.07, 0.12, 1.0)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.6
    scene.world = world

    bpy.ops.mesh.primitive_plane_add(size=20, location=(0, 0, 0))
    bpy.context.object.data.materials.append(material("Floor", (0.6, 0.6, 0.55), roughness=0.3))

    bpy.ops.mesh.primitive_monkey_add(location=(0, 0, 1.2))
    monkey = bpy.context.object
    bpy.ops.object.shade_smooth()
    monkey.modifiers.new("Subdivision", "SUBSURF").levels = 1
    monkey.data.materials.append(material("Gold", (0.9, 0.6, 0.2), metallic=1.0, roughness=0.25))

    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.6, location=(2.2, 0.5, 0.6))
    sphere = bpy.context.object
    bpy.ops.object.shade_smooth()
    sphere.data.materials.append(material("Glow", (0.1, 0.4, 0.9), emission=(0.1, 0.4, 0.9)))

    bpy.ops.mesh.primitive_cube_add(size=1.0, location=(-2.0, -0.5, 0.5))
    cube = bpy.context.object
    cube.data.materials.append(material("Red", (0.8, 0.1, 0.1), roughness=0.6))

    first, last = scene.frame_start, scene.frame_end
    span = max(1, last - first)
    for frame, turn in ((first, 0.0), (last, 1.0)):
        monkey.rotation_euler = (0.0, 0.0, turn * 2.0 * math.pi)
        monkey.keyframe_insert("rotation_euler", frame=frame)
        cube.rotation_euler = (0.0, 0.0, -turn * math.pi)
        cube.keyframe_insert("rotation_euler", frame=frame)
        sphere.location = (2.8 * math.cos(turn * math.pi), 2.8 * math.sin(turn * math.pi), 0.6)
        sphere.keyframe_insert("location", frame=frame)
    del span

    bpy.ops.object.light_add(type="AREA", location=(3, -3, 5))
    light = bpy.context.object
    light.data.energy = 800
    light.data.size = 3
    light.rotation_euler = (math.radians(35), 0, math.radians(45))

    bpy.ops.object.camera_add(location=(0, -10, 4.2))
    camera = bpy.context.object
    camera.rotation_euler = (math.radians(72), 0, 0)
    camera.keyframe_insert("location", frame=first)
    camera.location = (1.5, -9.5, 4.4)
    camera.keyframe_insert("location", frame=last)
    scene.camera = camera

    bpy.ops.wm.save_as_mainfile(filepath=os.path.abspath(args.output), compress=False)


build(parse_args())
