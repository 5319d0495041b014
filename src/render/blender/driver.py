"""Inferix render driver: runs inside Blender and renders what the worker asks, one command at a time.

Started as:

    blender -b SCENE -Y --factory-startup -noaudio --python-exit-code 1 --python driver.py \
        [-- [--resolution-percentage N] [--device TYPE [--device-id ID] [--device-simulated]]]

--device TYPE (CPU, CUDA, OPTIX, HIP, ONEAPI) with --device-id (Cycles' id of one GPU) renders on exactly that
device and no other: Cycles' compute device type is set to TYPE, only the device with that id is enabled, and the
scene renders on the GPU (the CPU: type NONE, every device off, the scene on the CPU). A GPU this Blender does not
list is an error before "ready". --device-simulated (tests only: a worker given recorded GPU answers) renders on the
CPU but reports the device it was given. The "ready" event's scene has "device": what Cycles' preferences say once
set, read back ({"type", "assigned", "enabled", "scene_device", "simulated"}).

--resolution-percentage N renders the scene at N% of its resolution (the user asked for it: previews, tests) for
every command of this process, and the "ready" event reports that size.

A spare (a Blender started before its scene is known, so that Blender's own start, about 1.4 s, overlaps other
work) is started without SCENE and with `-- --spare`: its "ready" has no scene, and its first command must be
"open", which loads the scene (scripts stay off: -Y, and use_scripts=False) and answers with the scene's "ready".
A process opens one scene in its life: a second "open" is refused.

It reads one JSON command per line on stdin and writes one JSON event per line to file descriptor 3. Blender's
own status lines go to stdout and stderr, where they can break lines apart, so no event is ever written there.

Commands:
    {"cmd": "render", "frames": [1, 2], "output_dir": "/job/out", "format": "PNG" | "OPEN_EXR" | "JPEG" | "",
     "threads": 0, "border": null | {"min_x", "max_x", "min_y", "max_y"}, "persistent_data": false,
     "denoise": true, "reduce": null | {"width", "height", "samples_divisor"}}
    {"cmd": "list_files"}      (every file the scene needs: scene_checks.dependencies())
    {"cmd": "preflight"}       (what would stop the scene rendering on a worker; DESIGN.md section 5)
    {"cmd": "open", "scene": "/path/x.blend", "resolution_percentage": 0}   (a spare only: load the scene)
    {"cmd": "quit"}            (end of input quits too)

Events: ready (with the scene's facts), frame_started, frame_saved, files, preflight, error, done (ends every
command).

The artist's render settings (samples, dither, adaptive sampling, colour management, ...) are never changed: what
the network delivers is what the artist's own Blender gives. The driver only sets where the images go, the image
format asked for, the thread count, the border region and persistent data, and restores the scene's own values of
those before every command, so that one warm process serves many commands alike. The one exception is denoising
("denoise": false), which the user accepted to go without when no worker has the scene's denoiser: it is then
turned off explicitly (Cycles' render denoising, the compositor's Denoise nodes), on workers and verifiers alike.
"reduce" is the verifier's cheap check of an engine whose render regions cost a whole frame (Eevee, Workbench):
the whole frame at width x height pixels with 1/samples_divisor of Eevee's samples, compared with the worker's
frame reduced the same way.
"""

import json
import os
import sys
import time
import traceback

import bpy

# The scene checks live beside this file (InstallDriverScript writes both), shared with the Blender add-on.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scene_checks  # noqa: E402

# Extensions Blender gives each still-image format (BKE_image_path_ensure_ext).
EXTENSIONS = {
    "BMP": ".bmp",
    "IRIS": ".rgb",
    "PNG": ".png",
    "JPEG": ".jpg",
    "JPEG2000": ".jp2",
    "TARGA": ".tga",
    "TARGA_RAW": ".tga",
    "CINEON": ".cin",
    "DPX": ".dpx",
    "OPEN_EXR_MULTILAYER": ".exr",
    "OPEN_EXR": ".exr",
    "HDR": ".hdr",
    "TIFF": ".tif",
    "WEBP": ".webp",
}
REQUESTABLE_FORMATS = ("PNG", "OPEN_EXR", "JPEG")


class Events:
    """One JSON object per line on file descriptor 3, flushed at once."""

    def __init__(self, fd):
        self.out = os.fdopen(fd, "w", buffering=1, encoding="utf-8", errors="surrogateescape")

    def emit(self, event, **fields):
        self.out.write(json.dumps(dict(event=event, **fields)) + "\n")
        self.out.flush()


def frame_name(frame, ext):
    sign = "-" if frame < 0 else ""
    return "frame_%s%04d%s" % (sign, abs(frame), ext)


class SceneState:
    """The scene's own values of the settings a command may change, taken once after the file loaded."""

    def __init__(self, scene):
        r = scene.render
        im = r.image_settings
        self.file_format = im.file_format
        self.color_mode = im.color_mode
        self.color_depth = im.color_depth
        self.threads_mode = r.threads_mode
        self.threads = r.threads
        self.use_border = r.use_border
        self.use_crop_to_border = r.use_crop_to_border
        self.border = (r.border_min_x, r.border_max_x, r.border_min_y, r.border_max_y)
        self.use_persistent_data = r.use_persistent_data
        cycles = getattr(scene, "cycles", None)
        self.use_denoising = getattr(cycles, "use_denoising", False) if cycles is not None else False
        self.denoise_nodes = [(node, node.mute) for node in scene_checks.compositor_denoise_nodes(scene)]
        self.filepath = r.filepath
        self.use_file_extension = r.use_file_extension
        self.resolution = (r.resolution_x, r.resolution_y, r.resolution_percentage)
        eevee = getattr(scene, "eevee", None)
        self.eevee_samples = getattr(eevee, "taa_render_samples", 0) if eevee is not None else 0

    def restore_format(self, scene):
        """Puts the scene's own image format back before a command applies the one it asks for (render()
        sets every other setting itself, to the command's value or the scene's own)."""
        im = scene.render.image_settings
        if im.file_format != self.file_format:
            im.file_format = self.file_format
        set_if_valid(im, "color_mode", self.color_mode)
        set_if_valid(im, "color_depth", self.color_depth)


def set_if_different(struct, name, value):
    if getattr(struct, name) != value:
        setattr(struct, name, value)


def set_if_valid(struct, name, value):
    """Sets an enum property when the value is one it accepts now (valid values depend on the file format)."""
    if value == "" or getattr(struct, name) == value:
        return
    try:
        setattr(struct, name, value)
    except TypeError:
        pass


def apply_format(scene, state, fmt):
    im = scene.render.image_settings
    if not fmt:
        return
    if fmt not in REQUESTABLE_FORMATS:
        raise ValueError("unsupported output format %r (use PNG, OPEN_EXR or JPEG)" % fmt)
    if fmt == state.file_format:
        return  # the scene's own format: its own depth and colour mode too
    im.file_format = fmt
    set_if_valid(im, "color_mode", state.color_mode)
    if fmt == "OPEN_EXR":
        # Blender would pick 32-bit float; half float is the usual delivery depth unless the scene chose EXR.
        depth = state.color_depth if state.file_format in ("OPEN_EXR", "OPEN_EXR_MULTILAYER") else "16"
        set_if_valid(im, "color_depth", depth)
    elif fmt == "PNG":
        set_if_valid(im, "color_depth", state.color_depth if state.color_depth in ("8", "16") else "8")


def apply_reduce(scene, state, reduce):
    """The whole frame at a reduced size and sample count (the verifier's check of Eevee and Workbench frames),
    or the scene's own size and samples."""
    r = scene.render
    if reduce:
        width, height = int(reduce["width"]), int(reduce["height"])
        if not (1 <= width <= state.resolution[0] * 4 and 1 <= height <= state.resolution[1] * 4):
            raise ValueError("reduce: %dx%d is not a reduced size of the scene" % (width, height))
        values = (width, height, 100)
    else:
        values = state.resolution
    for name, value in zip(("resolution_x", "resolution_y", "resolution_percentage"), values):
        set_if_different(r, name, value)
    eevee = getattr(scene, "eevee", None)
    if eevee is not None and state.eevee_samples:
        divisor = max(1, int(reduce.get("samples_divisor", 1))) if reduce else 1
        set_if_different(eevee, "taa_render_samples", max(1, state.eevee_samples // divisor))


def apply_denoise(scene, state, denoise):
    """Denoising as the scene has it, or explicitly off (the user accepted frames without a denoiser)."""
    cycles = getattr(scene, "cycles", None)
    if cycles is not None and hasattr(cycles, "use_denoising"):
        set_if_different(cycles, "use_denoising", state.use_denoising if denoise else False)
    for node, muted in state.denoise_nodes:
        set_if_different(node, "mute", muted if denoise else True)


def safe_relative(path):
    """A File Output slot path with absolute parts and '..' removed, so that it stays under the base path."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts)


def compositor_trees():
    for scene in bpy.data.scenes:
        if scene.node_tree is not None:
            yield scene.node_tree
    for group in bpy.data.node_groups:
        if group.bl_idname == "CompositorNodeTree":
            yield group


def redirect_file_outputs(output_dir):
    """Points every compositor File Output node into the job folder: a scene must not write anywhere else."""
    base = os.path.join(output_dir, "file_output") + os.sep
    for tree in compositor_trees():
        for node in tree.nodes:
            if node.bl_idname != "CompositorNodeOutputFile":
                continue
            node.base_path = base
            for slot in node.file_slots:
                slot.path = safe_relative(slot.path)
            for slot in node.layer_slots:
                slot.name = safe_relative(slot.name)


def render(events, state, command):
    scene = bpy.context.scene
    r = scene.render
    output_dir = os.path.abspath(command["output_dir"])
    os.makedirs(output_dir, exist_ok=True)

    apply_format(scene, state, command.get("format") or "")
    fmt = r.image_settings.file_format
    ext = EXTENSIONS.get(fmt)
    if ext is None:
        raise ValueError("the scene's output format %s is not a still image format; ask for PNG, OPEN_EXR or JPEG"
                         % fmt)

    # Each setting is the command's or the scene's own, written only where it differs from what is set now
    # (set_if_different), so that a run of region renders does not make Cycles sync the scene each time.
    threads = int(command.get("threads") or 0)
    set_if_different(r, "threads_mode", "FIXED" if threads > 0 else "AUTO")
    set_if_different(r, "threads", threads if threads > 0 else state.threads)

    border = command.get("border")
    if border:
        set_if_different(r, "use_border", True)
        # The full canvas: a render cropped to its border samples its pixels differently (measured: most of a
        # 36 px region differed from the full frame), uncropped they line up with the full frame's exactly.
        set_if_different(r, "use_crop_to_border", False)
        values = (border["min_x"], border["max_x"], border["min_y"], border["max_y"])
    else:
        set_if_different(r, "use_border", state.use_border)
        set_if_different(r, "use_crop_to_border", state.use_crop_to_border)
        values = state.border
    for name, value in zip(("border_min_x", "border_max_x", "border_min_y", "border_max_y"), values):
        set_if_different(r, name, float(value))
    set_if_different(r, "use_persistent_data", True if command.get("persistent_data") else state.use_persistent_data)
    apply_denoise(scene, state, command.get("denoise", True) is not False)
    reduce = command.get("reduce")
    if reduce and border:
        raise ValueError("a reduced render is of the whole frame: no border")
    apply_reduce(scene, state, reduce)

    redirect_file_outputs(output_dir)

    for frame in command.get("frames") or []:
        frame = int(frame)
        events.emit("frame_started", frame=frame)
        path = os.path.join(output_dir, frame_name(frame, ext))
        # The exact name: no '#' expansion, no extension added (write_still does not append frame numbers).
        set_if_different(r, "filepath", path)
        set_if_different(r, "use_file_extension", False)
        if os.path.exists(path):
            os.remove(path)  # so that the check below sees this render's file, not an earlier one
        scene.frame_set(frame)
        started = time.monotonic()
        result = bpy.ops.render.render(write_still=True)
        seconds = time.monotonic() - started
        if "FINISHED" not in result:
            raise RuntimeError("Blender did not finish rendering frame %d (%s)" % (frame, ", ".join(result)))
        if not os.path.exists(path):
            raise RuntimeError("Blender rendered frame %d but did not write %s" % (frame, path))
        events.emit("frame_saved", frame=frame, path=path, render_seconds=seconds)


def list_files(events):
    events.emit("files", files=scene_checks.dependencies())


def preflight(events, scene):
    events.emit("preflight", problems=scene_checks.preflight(scene))


def line_buffer_blender_output():
    """Makes Blender's C stdout line-buffered. Redirected to the log it is fully buffered, so a Blender that
    crashes or is killed would take its last lines, the ones that say what went wrong, with it."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        c_stdout = ctypes.c_void_p.in_dll(libc, "stdout")
        libc.fflush(c_stdout)
        libc.setvbuf(c_stdout, None, 1, 0)  # _IOLBF
    except Exception:  # not glibc: the log is only less timely
        traceback.print_exc()


def launch_options():
    """The driver's own options, after Blender's "--"."""
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    options = {"resolution_percentage": 0, "spare": False, "device": "CPU", "device_id": "",
               "device_simulated": False}
    for i, arg in enumerate(args):
        if arg == "--resolution-percentage" and i + 1 < len(args):
            options["resolution_percentage"] = int(args[i + 1])
        elif arg == "--spare":
            options["spare"] = True
        elif arg == "--device" and i + 1 < len(args):
            options["device"] = args[i + 1]
        elif arg == "--device-id" and i + 1 < len(args):
            options["device_id"] = args[i + 1]
        elif arg == "--device-simulated":
            options["device_simulated"] = True
    return options


GPU_TYPES = ("CUDA", "OPTIX", "HIP", "ONEAPI", "METAL")


def cycles_preferences():
    addon = bpy.context.preferences.addons.get("cycles")
    return addon.preferences if addon is not None else None


def use_device(options):
    """Enables exactly the node's device in Cycles' preferences (this process's only: --factory-startup, nothing
    is saved): one GPU by its Cycles id, or none (the CPU). An error when this Blender does not list the GPU."""
    kind = options["device"]
    prefs = cycles_preferences()
    if kind == "CPU" or options["device_simulated"]:
        if prefs is not None:
            prefs.compute_device_type = "NONE"
            for d in prefs.devices:
                d.use = False
        return
    if kind not in GPU_TYPES:
        raise ValueError("unknown device type %s (CPU, %s)" % (kind, ", ".join(GPU_TYPES)))
    if prefs is None:
        raise RuntimeError("this Blender has no Cycles: it cannot render on %s" % kind)
    try:
        prefs.compute_device_type = kind
    except TypeError:
        raise RuntimeError("this Blender's Cycles was built without %s" % kind)
    listed = [d for d in prefs.get_devices_for_type(kind) if d.type == kind]
    if not any(d.id == options["device_id"] for d in listed):
        raise RuntimeError("this Blender's Cycles does not list the %s device %s (it lists: %s)" % (
            kind, options["device_id"] or "(no id)", ", ".join(d.id for d in listed) or "none"))
    for d in prefs.devices:
        d.use = d.type == kind and d.id == options["device_id"]


def device_state(scene, options):
    """What Cycles will render the scene on, read back from its preferences and the scene."""
    prefs = cycles_preferences()
    cycles = getattr(scene, "cycles", None)
    return {
        "type": prefs.compute_device_type if prefs is not None else "NONE",
        "assigned": options["device"] + (":" + options["device_id"] if options["device_id"] else ""),
        "enabled": [d.id for d in prefs.devices if d.use] if prefs is not None else [],
        "scene_device": getattr(cycles, "device", "") if cycles is not None else "",
        "simulated": options["device_simulated"],
    }


def loaded_scene(percentage, options):
    """The scene of the file just loaded, at `percentage`% of its resolution (1-100; otherwise its own), set to
    render on the node's device (the scene's Cycles device follows the node: a CPU slot renders on the CPU, a
    GPU slot on its one enabled GPU)."""
    scene = bpy.context.scene
    if 1 <= percentage <= 100:
        scene.render.resolution_percentage = percentage
    cycles = getattr(scene, "cycles", None)
    if cycles is not None:
        gpu = options["device"] in GPU_TYPES and not options["device_simulated"]
        set_if_different(cycles, "device", "GPU" if gpu else "CPU")
    return scene


def ready_scene(scene, options):
    info = scene_checks.scene_info(scene)
    info["device"] = device_state(scene, options)
    return info


def open_scene(command, options):
    """A spare's "open": loads the scene as `blender -b SCENE -Y` would, scripts off."""
    path = command.get("scene")
    if not isinstance(path, str) or not path.endswith(".blend"):
        raise ValueError("\"open\" needs the path of a .blend in \"scene\"")
    # use_scripts=False keeps the file's auto-run scripts off: -Y does not cover a file opened later, which
    # runs them with use_scripts=True (measured with Blender 3.4 and the trap scene of the unit tests).
    # load_ui=False: a background render has no use for the file's screens.
    result = bpy.ops.wm.open_mainfile(filepath=path, load_ui=False, use_scripts=False)
    if "FINISHED" not in result or not bpy.data.filepath:
        raise RuntimeError("Blender could not load %s" % path)
    return loaded_scene(int(command.get("resolution_percentage") or 0), options)


def main():
    line_buffer_blender_output()
    sys.stdout.flush()
    events = Events(3)
    options = launch_options()
    if not bpy.data.filepath and not options["spare"]:
        events.emit("error", message="Blender did not load the scene file")
        sys.exit(1)
    # Blender 3.1+ subdivides meshes on the GPU for Eevee and Workbench once its cache is ready, that is from the
    # second render of a process on: a frame rendered again then differs from its first render (measured: 2.6%
    # of the pixels, up to 34/255) and from plain `blender -b -f N`. Subdividing on the CPU every time keeps each
    # render equal to a first one, on workers and verifiers alike. (The preference is this process's only:
    # --factory-startup, nothing is saved.)
    system = bpy.context.preferences.system
    if hasattr(system, "use_gpu_subdivision"):
        system.use_gpu_subdivision = False
    try:
        use_device(options)
    except Exception as e:
        events.emit("error", message=str(e))
        sys.exit(1)
    scene, state = None, None
    if options["spare"]:
        events.emit("ready")  # no scene yet: the first command opens it
    else:
        scene = loaded_scene(options["resolution_percentage"], options)
        state = SceneState(scene)
        events.emit("ready", scene=ready_scene(scene, options))

    while True:
        line = sys.stdin.readline()
        if not line:
            break  # the worker closed our input
        line = line.strip()
        if not line:
            continue
        try:
            command = json.loads(line)
            if not isinstance(command, dict):
                raise ValueError("a command is a JSON object")
            name = command.get("cmd")
            if name == "quit":
                break
            if name == "open":
                if scene is not None:
                    raise ValueError("a scene is open already: a Blender process opens one scene")
                scene = open_scene(command, options)
                state = SceneState(scene)
                events.emit("ready", scene=ready_scene(scene, options))
            elif scene is None:
                raise ValueError("no scene is open: a spare's first command is \"open\"")
            elif name == "render":
                state.restore_format(scene)
                render(events, state, command)
            elif name == "list_files":
                list_files(events)
            elif name == "preflight":
                preflight(events, scene)
            else:
                raise ValueError("unknown command %r" % name)
        except Exception as e:  # one bad command must not end the process
            traceback.print_exc()
            events.emit("error", message="%s: %s" % (type(e).__name__, e))
        events.emit("done")


main()
