"""Inferix scene checks: what a scene references and what would stop it rendering on a worker.

Pure functions over the scene Blender has open: they return data and print nothing. Two places use them:

- the render driver (driver.py, beside this file), inside the sandboxed Blender of the CLI's preflight and of the
  workers, which sends their results as events;
- the Blender add-on (addon/inferix), in the artist's own Blender, which shows them in its panel before a submit.

So this file imports only bpy and the standard library, and works in Blender 3.4 and later.
"""

import os

import bpy


def scene_info(scene):
    r = scene.render
    im = r.image_settings
    return {
        "blender_version": bpy.app.version_string,
        "file_version": ".".join(str(v) for v in bpy.data.version),
        # Blender's own integer arithmetic for the output size (rd->xsch * rd->size / 100).
        "width": r.resolution_x * r.resolution_percentage // 100,
        "height": r.resolution_y * r.resolution_percentage // 100,
        "file_format": im.file_format,
        "color_mode": im.color_mode,
        "color_depth": im.color_depth,
        "fps": r.fps / r.fps_base,
        "frame_start": scene.frame_start,
        "frame_end": scene.frame_end,
        "frame_step": scene.frame_step,
        "has_camera": scene.camera is not None,
    }


def list_files():
    """Every file the scene references, as Blender writes it ('//tex/wood.png' relative to the .blend), once each;
    packed files are left out (they travel inside the .blend)."""
    files = bpy.utils.blend_paths(absolute=False, packed=False, local=False)
    # Blender 3.4 already leaves packed data out with packed=False (checked); also drop a path when every
    # data-block naming it is packed, whatever another Blender version does: a packed file needs no upload.
    packed, unpacked = set(), set()
    for collection in (bpy.data.images, bpy.data.sounds, bpy.data.fonts, bpy.data.libraries):
        for block in collection:
            is_packed = getattr(block, "packed_file", None) is not None or bool(getattr(block, "packed_files", None))
            (packed if is_packed else unpacked).add(block.filepath)
    skip = packed - unpacked
    seen = set()
    result = []
    for path in files:
        if path in skip or path in seen or path == "<builtin>":
            continue
        seen.add(path)
        result.append(path)
    return result


def all_ids():
    """Every data-block that may carry animation data (and so drivers)."""
    for name in ("objects", "meshes", "materials", "node_groups", "worlds", "scenes", "cameras", "lights",
                 "shape_keys", "textures", "curves", "armatures"):
        for block in getattr(bpy.data, name, []):
            yield block
            tree = getattr(block, "node_tree", None)
            if tree is not None:
                yield tree


def python_drivers():
    """Drivers whose expression needs Python, which -Y does not run (simple expressions run without it)."""
    found = []
    for block in all_ids():
        anim = getattr(block, "animation_data", None)
        if anim is None:
            continue
        for fcurve in anim.drivers:
            driver = fcurve.driver
            if driver.type == "SCRIPTED" and not driver.is_simple_expression:
                found.append("%s: %s = %s" % (block.name, fcurve.data_path, driver.expression))
    return found


def unbaked_caches(scene):
    """Simulations whose frames depend on the frames rendered before them unless baked (DESIGN.md section 5)."""
    found = []
    for obj in scene.objects:
        for mod in obj.modifiers:
            cache = getattr(mod, "point_cache", None)
            if cache is None:
                settings = getattr(mod, "settings", None)
                cache = getattr(settings, "point_cache", None) if settings is not None else None
            if cache is not None and not cache.is_baked:
                found.append("%s (%s on %s)" % (mod.name, mod.type.lower().replace("_", " "), obj.name))
            if mod.type == "FLUID" and mod.fluid_type == "DOMAIN":
                ds = mod.domain_settings
                if ds.cache_type != "ALL" or not (ds.has_cache_baked_data or ds.has_cache_baked_noise):
                    if not getattr(ds, "has_cache_baked_data", False):
                        found.append("%s (fluid domain on %s)" % (mod.name, obj.name))
        for psys in obj.particle_systems:
            if psys.settings.type == "EMITTER" and not psys.point_cache.is_baked:
                found.append("%s (particles on %s)" % (psys.name, obj.name))
    rbw = scene.rigidbody_world
    if rbw is not None and rbw.enabled and rbw.point_cache is not None and not rbw.point_cache.is_baked:
        found.append("rigid body world of scene %s" % scene.name)
    return found


def missing_files():
    """Referenced files (not packed) that do not exist where the scene says they are."""
    missing = []
    for path in bpy.utils.blend_paths(absolute=True, packed=False, local=False):
        if path == "<builtin>" or "<UDIM>" in path or "#" in path:
            continue
        if not os.path.exists(path):
            missing.append(path)
    return sorted(set(missing))


def preflight(scene):
    """What would stop the scene rendering on a worker (DESIGN.md section 5), as a list of
    {"code", "message", "fatal"}; an empty list when nothing does. Sets the scene's current frame again, which
    evaluates its drivers."""
    problems = []

    def problem(code, message, fatal=True):
        problems.append({"code": code, "message": message, "fatal": fatal})

    if scene.camera is None:
        problem("no_camera", "the scene has no active camera; set one in Scene Properties > Scene > Camera")
    for path in missing_files():
        problem("missing_file", "referenced file %s is missing; put it back, or pack it (File > External Data > "
                "Pack Resources)" % path)
    for what in unbaked_caches(scene):
        problem("unbaked_cache", "simulation %s is not baked; its frames would depend on the frames rendered "
                "before them on each worker. Bake it (Physics properties > Cache > Bake) and save" % what)
    scene.frame_set(scene.frame_current)  # evaluates drivers, so autoexec_fail reports blocked Python
    drivers = python_drivers()
    if drivers or bpy.app.autoexec_fail:
        detail = "; ".join(drivers[:5]) if drivers else (bpy.app.autoexec_fail_message or "a Python expression")
        problem("python_driver", "the scene uses Python drivers (%s), which the network never runs: its Python is "
                "untrusted. Replace them with simple expressions or bake the animation (Object > Animation > Bake "
                "Action)" % detail)
    if scene.render.engine == "CYCLES" and getattr(scene.cycles, "use_denoising", False):
        problem("denoiser", "the scene asks for denoising; workers without OpenImageDenoise render it without",
                fatal=False)
    return problems


def is_safe_relative_path(rel):
    """The manager's rule for a scene file's path (CreateJobRequest): relative, no '.', '..' or empty segment,
    no backslash or control character."""
    if not rel or rel.startswith("/") or "\\" in rel or any(ord(c) < 32 or ord(c) == 127 for c in rel):
        return False
    return all(part not in ("", ".", "..") for part in rel.split("/"))


def scene_files(blend_path, listed):
    """The files to upload for a scene, as (files, problems): files a list of (relative path, absolute path),
    the .blend first; problems as preflight() gives them, for referenced files outside the scene's folder (the
    CLI's rule, src/client/commands.cpp PlanScene). Missing files are left to preflight()."""
    folder = os.path.dirname(os.path.abspath(blend_path))
    files = [(os.path.basename(blend_path), os.path.abspath(blend_path))]
    problems = []
    for name in listed:
        rel = name[2:] if name.startswith("//") else ""
        if not is_safe_relative_path(rel):
            problems.append({"code": "outside_scene_folder", "fatal": True, "message": (
                "referenced file %s lies outside the scene's folder, so workers cannot get it; move it beside the "
                "scene and make paths relative (File > External Data > Make Paths Relative), or pack it" % name)})
            continue
        path = os.path.join(folder, rel)
        if os.path.isfile(path) and rel not in (f[0] for f in files):
            files.append((rel, path))
    return files, problems
