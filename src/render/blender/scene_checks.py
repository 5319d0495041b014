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
        "engine": r.engine,
        "denoisers": denoisers_needed(scene),
    }


def denoisers_needed(scene):
    """The denoisers the scene's final render asks for: Cycles' render denoising ("OPENIMAGEDENOISE" or "OPTIX")
    and the compositor's Denoise node (OpenImageDenoise). A Blender built without a denoiser reads the scene's
    choice as "" (the enum has no such item there): that is OpenImageDenoise, the default."""
    needed = []
    cycles = getattr(scene, "cycles", None)
    if scene.render.engine == "CYCLES" and cycles is not None and getattr(cycles, "use_denoising", False):
        layers = [layer for layer in scene.view_layers if layer.use]
        if any(getattr(getattr(layer, "cycles", None), "use_denoising", True) for layer in layers):
            needed.append(getattr(cycles, "denoiser", "") or "OPENIMAGEDENOISE")
    if scene.use_nodes and scene.node_tree is not None and compositor_denoise_nodes(scene):
        if "OPENIMAGEDENOISE" not in needed:
            needed.append("OPENIMAGEDENOISE")
    return needed


def compositor_denoise_nodes(scene):
    """The compositor's Denoise nodes that take part in the render (not muted)."""
    tree = scene.node_tree if scene.use_nodes else None
    if tree is None:
        return []
    return [node for node in tree.nodes if node.bl_idname == "CompositorNodeDenoise" and not node.mute]


def available_denoisers():
    """The denoisers this Blender can run: OpenImageDenoise when Cycles was built with it, OptiX when an OptiX
    device is present. Debian's Blender 3.4 has neither."""
    found = []
    try:
        import _cycles

        if getattr(_cycles, "with_openimagedenoise", False):
            found.append("OPENIMAGEDENOISE")
    except ImportError:
        return found
    try:
        prefs = bpy.context.preferences.addons["cycles"].preferences
        if prefs.get_devices_for_type("OPTIX"):
            found.append("OPTIX")
    except (KeyError, AttributeError, TypeError, ValueError):
        pass
    return found


def blender_abspath(path, owner=""):
    """A path as Blender resolves it (BLI_path_abs): '//' relative to the .blend that holds the reference (`owner`,
    absolute; the main file when empty), a Windows drive 'C:\\x' as '/c/x', backslashes as slashes, normalised.
    A Windows network path ('\\\\server\\share') stays as it is: it names nothing on this system."""
    if path.startswith("//"):
        base = os.path.dirname(owner or bpy.data.filepath)
        path = base + "/" + path[2:]
    elif is_windows_drive_path(path):
        path = "/" + path[0].lower() + path[2:]
    if is_windows_network_path(path):
        return path
    path = path.replace("\\", "/")
    return os.path.normpath(path) if path.startswith("/") else path


def is_windows_drive_path(path):
    return len(path) >= 3 and path[0].isalpha() and path[1] == ":" and path[2] in "\\/"


def is_windows_network_path(path):
    return path.startswith("\\\\")


def library_path(lib):
    """The absolute path of a linked library. Blender keeps every library's path relative to the main file, nested
    ones included."""
    return blender_abspath(lib.filepath) if lib is not None else ""


def _owner(block):
    return library_path(getattr(block, "library", None))


def _is_packed(block):
    return getattr(block, "packed_file", None) is not None or bool(getattr(block, "packed_files", None))


def _point_cache_dirs(scene):
    """Disk caches of baked simulations: Blender keeps them in blendcache_<file name>/ beside the .blend that owns
    the object (or where use_external points)."""
    found = []
    for obj in bpy.data.objects:
        caches = []
        for mod in obj.modifiers:
            cache = getattr(mod, "point_cache", None)
            if cache is None:
                settings = getattr(mod, "settings", None)
                cache = getattr(settings, "point_cache", None) if settings is not None else None
            if cache is not None:
                caches.append((mod.name, cache))
        for psys in obj.particle_systems:
            caches.append((psys.name, psys.point_cache))
        for name, cache in caches:
            if not (cache.is_baked and cache.use_disk_cache):
                continue
            owner = _owner(obj) if cache.use_library_path else ""
            if cache.use_external:
                where, written = blender_abspath(cache.filepath, owner), cache.filepath
            else:
                stem = os.path.splitext(os.path.basename(owner or bpy.data.filepath))[0]
                written = "//blendcache_%s" % stem
                where = blender_abspath(written, owner)
            found.append({"path": written, "abs": where, "kind": "directory",
                          "what": "baked cache of %s on %s" % (name, obj.name)})
    return found


def _modifier_files():
    """Files and folders modifiers read: baked fluid caches, ocean caches, mesh caches."""
    found, skip = [], set()
    for obj in bpy.data.objects:
        owner = _owner(obj)
        for mod in obj.modifiers:
            what = "%s modifier of %s" % (mod.type.lower().replace("_", " "), obj.name)
            if mod.type == "FLUID" and mod.fluid_type == "DOMAIN":
                ds = mod.domain_settings
                where = blender_abspath(ds.cache_directory, owner)
                baked = any(getattr(ds, name, False) for name in (
                    "has_cache_baked_data", "has_cache_baked_noise", "has_cache_baked_mesh",
                    "has_cache_baked_particles", "has_cache_baked_guide"))
                if baked:
                    found.append({"path": ds.cache_directory, "abs": where, "kind": "directory", "what": what})
                else:
                    skip.add(where)  # unbaked: preflight names it (unbaked_cache); nothing to upload
            elif mod.type == "OCEAN":
                where = blender_abspath(mod.filepath, owner)
                if mod.is_cached:
                    found.append({"path": mod.filepath, "abs": where, "kind": "directory", "what": what})
                else:
                    skip.add(where)
            elif mod.type == "MESH_CACHE" and mod.filepath:
                found.append({"path": mod.filepath, "abs": blender_abspath(mod.filepath, owner), "kind": "file",
                              "what": what})
    return found, skip


def _sequencer_files(scene):
    """Image strips read each of their files from the strip's folder; Blender lists only the folder."""
    found, folders = [], set()
    editor = scene.sequence_editor
    if editor is None:
        return found, folders
    for strip in editor.sequences_all:
        if strip.type == "IMAGE":
            folder = blender_abspath(strip.directory)
            folders.add(folder.rstrip("/"))
            for element in strip.elements:
                written = strip.directory.rstrip("/\\") + "/" + element.filename
                found.append({"path": written, "abs": blender_abspath(written), "kind": "file",
                              "what": "image strip %s" % strip.name})
    return found, folders


def dependencies():
    """Every file the scene needs to render, linked libraries and what they reference included, once each:
    [{"path": as written in its .blend, "abs": where Blender looks for it on this computer, "kind", "what", ...}].

    kind is "file", "library" (a linked .blend), "sequence" (an image, movie or volume sequence: `abs` is one of its
    files; the others share its name but for the frame number), "udim" (`abs` holds a <UDIM> or <UVTILE> token and
    "tiles" lists the tile numbers) or "directory" (a baked cache: every file under it). "optional": true marks a
    file the frames do not need (a sound). Packed data travels inside the .blend and is left out; so are text
    blocks' files (scripts, never run). `bpy.utils.blend_paths` is the reference list of what Blender reads;
    the data-blocks add what kind each is."""
    entries = {}

    def add(entry):
        key = entry["abs"]
        if key and key not in entries:
            entries[key] = entry

    for lib in bpy.data.libraries:
        if not _is_packed(lib):
            add({"path": lib.filepath, "abs": library_path(lib), "kind": "library", "what": "library " + lib.name})
    for image in bpy.data.images:
        if image.source not in ("FILE", "SEQUENCE", "TILED", "MOVIE") or not image.filepath or _is_packed(image):
            continue
        entry = {"path": image.filepath, "abs": blender_abspath(image.filepath, _owner(image)),
                 "kind": {"SEQUENCE": "sequence", "TILED": "udim"}.get(image.source, "file"),
                 "what": "image " + image.name}
        if image.source == "TILED":
            entry["tiles"] = [tile.number for tile in image.tiles]
        add(entry)
    for clip in bpy.data.movieclips:
        add({"path": clip.filepath, "abs": blender_abspath(clip.filepath, _owner(clip)),
             "kind": "sequence" if clip.source == "SEQUENCE" else "file", "what": "movie clip " + clip.name})
    for volume in getattr(bpy.data, "volumes", []):
        if volume.filepath and not _is_packed(volume):
            add({"path": volume.filepath, "abs": blender_abspath(volume.filepath, _owner(volume)),
                 "kind": "sequence" if volume.is_sequence else "file", "what": "volume " + volume.name})
    for cache in bpy.data.cache_files:
        add({"path": cache.filepath, "abs": blender_abspath(cache.filepath, _owner(cache)),
             "kind": "sequence" if cache.is_sequence else "file", "what": "cache file " + cache.name})
    for font in bpy.data.fonts:
        if font.filepath and font.filepath != "<builtin>" and not _is_packed(font):
            add({"path": font.filepath, "abs": blender_abspath(font.filepath, _owner(font)), "kind": "file",
                 "what": "font " + font.name})
    for sound in bpy.data.sounds:
        if sound.filepath and not _is_packed(sound):
            add({"path": sound.filepath, "abs": blender_abspath(sound.filepath, _owner(sound)), "kind": "file",
                 "what": "sound " + sound.name, "optional": True})
    modifier_files, skip = _modifier_files()
    for entry in modifier_files + _point_cache_dirs(bpy.context.scene):
        add(entry)
    strip_files, strip_folders = _sequencer_files(bpy.context.scene)
    for entry in strip_files:
        add(entry)
    skip |= strip_folders
    skip |= {blender_abspath(text.filepath, _owner(text)) for text in bpy.data.texts if text.filepath}
    # Whatever else Blender reads (script and IES nodes, new kinds of data): plain files.
    written = bpy.utils.blend_paths(absolute=False, packed=False, local=False)
    resolved = bpy.utils.blend_paths(absolute=True, packed=False, local=False)
    for path, where in zip(written, resolved):
        if path == "<builtin>" or where.rstrip("/") in skip or where in skip:
            continue
        add({"path": path, "abs": where, "kind": "file", "what": "referenced file"})
    return list(entries.values())


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


def preflight(scene):
    """What in the scene itself would stop it rendering on a worker (DESIGN.md section 5), as a list of
    {"code", "message", "fatal"}; an empty list when nothing does. Sets the scene's current frame again, which
    evaluates its drivers. Missing files are plan_files()'s (it runs where the files are), denoisers and Blender
    versions the client's (they depend on the workers)."""
    problems = []

    def problem(code, message, fatal=True):
        problems.append({"code": code, "message": message, "fatal": fatal})

    if scene.camera is None:
        problem("no_camera", "the scene has no active camera; set one in Scene Properties > Scene > Camera")
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
    return problems


def is_safe_relative_path(rel):
    """The manager's rule for a scene file's path (CreateJobRequest): relative, no '.', '..' or empty segment,
    no backslash or control character."""
    if not rel or rel.startswith("/") or "\\" in rel or any(ord(c) < 32 or ord(c) == 127 for c in rel):
        return False
    return all(part not in ("", ".", "..") for part in rel.split("/"))


# Where a scene's files may not come from: the system's own folders, which a worker cannot present to Blender at
# the artist's path (its sandbox shows the worker's own /usr and /etc there).
SYSTEM_FOLDERS = ("/usr", "/etc", "/proc", "/sys", "/dev", "/run", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
                  "/libx32", "/boot")
MAX_FILES = 10000  # files of one scene, caches and sequences included (the manager's limit)


def _under(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def expand(entry):
    """The files on this computer that a dependencies() entry names, as (files, missing): absolute paths of the
    files that exist, and what is missing (the path, or each missing UDIM tile)."""
    where, kind = entry["abs"], entry["kind"]
    if kind == "udim":
        files, missing = [], []
        for number in entry.get("tiles") or [1001]:
            u, v = (number - 1001) % 10 + 1, (number - 1001) // 10 + 1
            path = where.replace("<UDIM>", "%04d" % number).replace("<UVTILE>", "u%d_v%d" % (u, v))
            (files if os.path.isfile(path) else missing).append(path)
        return files, missing
    if kind == "directory":
        if not os.path.isdir(where):
            return [], [where]
        files = []
        for folder, dirs, names in os.walk(where):
            dirs.sort()
            files.extend(os.path.join(folder, name) for name in sorted(names)
                         if os.path.isfile(os.path.join(folder, name)))
        return files, []
    if kind == "sequence":
        folder, name = os.path.split(where)
        stem, ext = os.path.splitext(name)
        digits = len(stem) - len(stem.rstrip("0123456789"))
        if digits:
            prefix = stem[:len(stem) - digits]
            try:
                names = sorted(os.listdir(folder))
            except OSError:
                names = []
            files = [os.path.join(folder, n) for n in names
                     if n.startswith(prefix) and n.endswith(ext) and n[len(prefix):len(n) - len(ext)].isdigit()
                     and os.path.isfile(os.path.join(folder, n))]
            return (files, []) if files else ([], [where])
    return ([where], []) if os.path.isfile(where) else ([], [where])


def _missing_message(entry, path):
    written = entry["path"]
    what = entry.get("what") or "referenced file"
    if is_windows_network_path(written):
        return ("%s refers to %s, a Windows network path that no Linux computer can open; relink it to a file on "
                "this computer (File > External Data > Find Missing Files), or pack it (File > External Data > "
                "Pack Resources)" % (what, written))
    if is_windows_drive_path(written):
        return ("%s refers to %s, a Windows path from the computer the scene was made on (here it would be %s, "
                "which does not exist); relink it (File > External Data > Find Missing Files), or pack it on that "
                "computer (File > External Data > Pack Resources)" % (what, written, path))
    shown = written if written == path else "%s (%s)" % (written, path)
    return ("%s: %s is missing; put it back, relink it (File > External Data > Find Missing Files), or pack it "
            "(File > External Data > Pack Resources)" % (what, shown))


def plan_files(blend_path, entries):
    """What to upload for a scene and where it lies, as (root, files, problems): `root` the folder that holds
    every file (the artist's project folder, or a higher one when files lie outside it); `files` a list of
    (path relative to root, absolute path), the .blend first; `problems` in preflight()'s form: missing files,
    files in hidden or system folders, too many files. The CLI does the same in src/client/scene_plan.cpp."""
    main = os.path.normpath(os.path.abspath(blend_path))
    problems, found = [], [main]

    def problem(code, message, fatal=True):
        problems.append({"code": code, "message": message, "fatal": fatal})

    for entry in entries:
        files, missing = expand(entry)
        for path in missing:
            if entry.get("optional"):
                problem("missing_file", _missing_message(entry, path) + "; the frames do not need it, so it is "
                        "left out", fatal=False)
            else:
                problem("missing_file", _missing_message(entry, path))
        for path in files:
            path = os.path.normpath(path)
            parts = path.split("/")
            if any(_under(path, folder) for folder in SYSTEM_FOLDERS):
                problem("system_file", "%s uses %s, a file of this computer's system folders, which workers cannot "
                        "present at that path; pack it (File > External Data > Pack Resources) or copy it into "
                        "the project and relink it" % (entry.get("what") or "the scene", path))
            elif any(part.startswith(".") for part in parts if part not in ("", ".", "..")):
                problem("private_file", "%s uses %s, which lies in a hidden folder or is a hidden file: Inferix "
                        "does not upload such files (they are often private: keys, settings). Copy it into the "
                        "project and relink it, or pack it" % (entry.get("what") or "the scene", path))
            elif path not in found:
                found.append(path)
    if len(found) > MAX_FILES:
        problem("too_many_files", "the scene needs %d files, more than the %d one job may hold; bake caches into "
                "fewer files or split the job" % (len(found), MAX_FILES))
    root = os.path.dirname(main)
    for path in found:
        while not _under(path, root):
            root = os.path.dirname(root)
    files = []
    for path in found:
        rel = os.path.relpath(path, root)
        if not is_safe_relative_path(rel):
            problem("bad_file_name", "%s cannot be uploaded: its name holds a backslash or a control character; "
                    "rename it and relink it" % path)
            continue
        files.append((rel, path))
    return root, files, problems
