"""inferix.submit, inferix.refresh and inferix.download: what the panel's buttons run, and what scripts call.

Each does its checks on the main thread, reports what stops it (self.report: a script calling it gets a
RuntimeError with the message), and leaves the network to a background thread (background.py). The one check that
needs the network, the workers' Blender version against this one, is the first step of submit's background work:
what it finds shows in the panel's Preflight box like the others."""

import os
import re
import shutil
import tempfile

import bpy

from . import background, scene_checks, state
from .client import ApiError, blender_version_problems, denoiser_problems, engine_problems, safe_text, sha256_file
from .state import STATE

EXTENSIONS = {"PNG": "png", "EXR": "exr", "JPEG": "jpg"}
SCENE_FORMATS = {"PNG": "PNG", "OPEN_EXR": "EXR", "JPEG": "JPEG"}


def frames_spec(scene, settings):
    if settings.use_scene_range:
        start, end, step = scene.frame_start, scene.frame_end, scene.frame_step
    else:
        start, end, step = settings.frame_start, settings.frame_end, settings.frame_step
    if end < start:
        raise ValueError("the frame range ends (%d) before it starts (%d); fix it in the Inferix panel" % (end, start))
    spec = "%d" % start if start == end else "%d-%d" % (start, end)
    return spec + ("x%d" % step if step > 1 and start != end else "")


def output_format(scene, settings):
    if settings.file_format != "SCENE":
        return settings.file_format
    # The scene's own still format where the network delivers it, else PNG (as `inferix submit` does).
    return SCENE_FORMATS.get(scene.render.image_settings.file_format, "PNG")


def file_stem(name, job_id):
    """A job name made safe as a file name: <stem>_0001.png, <stem>.mp4."""
    if name.lower().endswith(".blend"):
        name = name[:-len(".blend")]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return stem or "job%d" % job_id


def frame_file(stem, frame, ext):
    return "%s_%s%04d.%s" % (stem, "-" if frame < 0 else "", abs(frame), ext)


def problem_text(p):
    # Escaped: a scene names its files as it likes.
    return "[%s] %s" % (safe_text(p["code"], 40), safe_text(p["message"], 2000))


def preflight_failed(fatal):
    return "Preflight failed: %d problem%s to fix (listed below); nothing was submitted" % (
        len(fatal), "" if len(fatal) == 1 else "s")


def _submit_work(api, saved, files, spec, snapshot_dir):
    try:
        # Before any upload: were the scene or its libraries saved by a newer Blender than every worker's? Does
        # some worker have the denoiser it asks for? (the CLI's checks)
        builds = api.worker_builds()
        problems = blender_version_problems(saved, builds)
        problems += denoiser_problems(spec["denoisers"], saved[0][1], builds, spec["without_denoiser"])
        problems += engine_problems(spec.get("engine"), builds)
        if any(p["fatal"] for p in problems):
            return {"job": None, "problems": problems}
        entries, local = [], {}
        for rel, path in files:
            sha = sha256_file(path)
            entries.append({"path": rel, "sha256": sha, "size": os.path.getsize(path)})
            local[sha] = path
        missing = api.missing_files(local.keys())
        for sha in missing:
            api.upload_file(sha, local[sha])
        spec = dict(spec, main=entries[0]["path"], files=entries)
        job = api.create_job(spec)
        return {"job": job, "files": len(entries), "uploaded": len(missing), "problems": problems}
    finally:
        shutil.rmtree(snapshot_dir, ignore_errors=True)


def _submitted(result, error):
    STATE.submitting = False
    problems = result["problems"] if error is None else []  # the workers' Blender version against this one
    STATE.problems = STATE.problems + problems  # after the main thread's preflight warnings
    for p in problems:
        print("Inferix: preflight: %s" % problem_text(p))
    fatal = [p for p in problems if p["fatal"]]
    if error is not None:
        STATE.set_status("Submit failed: %s" % error, "ERROR")
        print("Inferix: submit failed: %s" % error)
    elif fatal:
        STATE.set_status(preflight_failed(fatal), "ERROR")
    else:
        job = result["job"]
        STATE.last_job_id = job["id"]
        STATE.set_status("Job #%d (%s, frames %s) submitted: %d files, %d uploaded" % (
            job["id"], safe_text(job["name"]), safe_text(job.get("frames_spec", ""), 100), result["files"], result["uploaded"]), "CHECKMARK")
        print("Inferix: job %d submitted" % job["id"])
    STATE.want_refresh = True
    state.redraw()


class INFERIX_OT_submit(bpy.types.Operator):
    """Save the file, check it, upload what the manager lacks and create a render job"""

    bl_idname = "inferix.submit"
    bl_label = "Submit to Inferix"
    bl_options = {"REGISTER"}

    def execute(self, context):
        try:
            api = state.make_api(context)
        except ApiError as e:
            return self.fail(str(e))
        if STATE.submitting:
            return self.fail("a submit is already on its way; wait for it to finish")
        if not bpy.data.filepath:
            return self.fail("the file was never saved: save it (File > Save As) in the folder that holds its "
                             "textures, then submit")
        if "FINISHED" not in bpy.ops.wm.save_mainfile():
            return self.fail("could not save %s; save it by hand, then submit" % bpy.data.filepath)
        scene = context.scene
        settings = scene.inferix
        try:
            frames = frames_spec(scene, settings)
        except ValueError as e:
            return self.fail(str(e))

        # Preflight, the checks the CLI runs (scene_checks.py, shared with the render driver): every file the
        # scene and its libraries need, found wherever it lies, and what would stop it rendering.
        root, files, problems = scene_checks.plan_files(bpy.data.filepath, scene_checks.dependencies())
        problems += scene_checks.preflight(scene)
        STATE.problems = problems
        fatal = [p for p in problems if p["fatal"]]
        for p in problems:
            if not p["fatal"]:
                self.report({"WARNING"}, problem_text(p))
        if fatal:
            STATE.set_status(preflight_failed(fatal), "ERROR")
            state.redraw()
            self.report({"ERROR"}, "Preflight failed: " + "; ".join(problem_text(p) for p in fatal))
            return {"CANCELLED"}

        # The .blend as saved now: the artist may save again while the upload runs.
        snapshot_dir = tempfile.mkdtemp(prefix="inferix-submit-")
        snapshot = os.path.join(snapshot_dir, os.path.basename(bpy.data.filepath))
        shutil.copy2(bpy.data.filepath, snapshot)
        files[0] = (files[0][0], snapshot)
        name = settings.job_name.strip() or bpy.path.display_name_from_filepath(bpy.data.filepath)
        spec = {"name": name, "frames": frames, "format": output_format(scene, settings),
                "chunk_size": settings.chunk_size, "fps": scene.render.fps / scene.render.fps_base, "root": root,
                "denoisers": scene_checks.denoisers_needed(scene), "without_denoiser": settings.without_denoiser,
                "engine": scene.render.engine}
        # The Blender that just saved the file, and the one that saved each library it links.
        saved = [("the scene " + os.path.basename(bpy.data.filepath), tuple(bpy.app.version[:2]))]
        saved += [("library " + scene_checks.library_path(lib), tuple(lib.version[:2])) for lib in bpy.data.libraries]
        if not background.run("submit", lambda: _submit_work(api, saved, files, spec, snapshot_dir),
                              _submitted):
            shutil.rmtree(snapshot_dir, ignore_errors=True)
            return self.fail("a submit is already on its way; wait for it to finish")
        STATE.submitting = True
        STATE.set_status("Submitting %s (frames %s, %s): uploading %d file%s..." % (
            name, frames, spec["format"], len(files), "" if len(files) == 1 else "s"), "EXPORT")
        state.redraw()
        self.report({"INFO"}, "Inferix: submitting %s, frames %s" % (name, frames))
        return {"FINISHED"}

    def fail(self, message):
        STATE.set_status(message, "ERROR")
        state.redraw()
        self.report({"ERROR"}, message)
        return {"CANCELLED"}


class INFERIX_OT_refresh(bpy.types.Operator):
    """Fetch your jobs, their progress and thumbnails from the manager"""

    bl_idname = "inferix.refresh"
    bl_label = "Refresh"

    def execute(self, context):
        try:
            state.make_api(context)
        except ApiError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        STATE.settle.clear()  # a person asking reads every shown job again, ended ones too
        STATE.want_refresh = True  # the timer starts it at its next tick, unless one is running now
        state.refresh()
        return {"FINISHED"}


def _download_work(api, job_id, folder):
    job = api.call("GET", "/api/v1/jobs/%d" % job_id)
    outs = api.outputs(job_id)
    os.makedirs(folder, exist_ok=True)
    stem = file_stem(job["name"], job_id)
    ext = EXTENSIONS.get(job.get("format"), "png")
    files = []
    for out in outs.get("outputs", []):
        files.append(api.fetch(out["url"], os.path.join(folder, frame_file(stem, out["frame"], ext)), out["sha256"]))
    video = None
    if outs.get("video") == "ready" and outs.get("video_url"):
        video = api.fetch(outs["video_url"], os.path.join(folder, stem + ".mp4"))
    return {"files": files, "video": video, "video_state": outs.get("video"), "folder": folder,
            "total": job.get("progress", {}).get("total", 0)}


class INFERIX_OT_download(bpy.types.Operator):
    """Download the job's delivered frames and its video into the scene's output folder"""

    bl_idname = "inferix.download"
    bl_label = "Download"

    job_id: bpy.props.IntProperty(name="Job", description="The job's id", min=1)

    def execute(self, context):
        job_id = self.job_id
        try:
            api = state.make_api(context)
        except ApiError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        if job_id <= 0:
            self.report({"ERROR"}, "say which job to download (job_id)")
            return {"CANCELLED"}
        folder = os.path.dirname(bpy.path.abspath(context.scene.render.filepath))
        if not folder or not os.path.isabs(folder):
            self.report({"ERROR"}, "the output folder (Output Properties > Output) is relative and the file was "
                        "never saved; save the file or set an absolute output folder")
            return {"CANCELLED"}
        if STATE.downloads.get(job_id, {}).get("state") == "running":
            self.report({"WARNING"}, "job %d is already downloading" % job_id)
            return {"CANCELLED"}

        def done(result, error):
            if error is not None:
                STATE.downloads[job_id] = {"state": "failed", "message": "Download failed: %s" % error, "files": []}
                print("Inferix: download of job %d failed: %s" % (job_id, error))
            else:
                video = {"ready": " and the video", "pending": "; the video is still being made, download again "
                         "later"}.get(result["video_state"], "")
                message = "Downloaded %d of %d frames%s to %s" % (len(result["files"]), result["total"], video,
                                                                  result["folder"])
                files = result["files"] + ([result["video"]] if result["video"] else [])
                STATE.downloads[job_id] = {"state": "done", "message": message, "files": files}
                print("Inferix: job %d: %s" % (job_id, message))
            state.redraw()

        if not background.run("download-%d" % job_id, lambda: _download_work(api, job_id, folder), done):
            self.report({"WARNING"}, "job %d is already downloading" % job_id)
            return {"CANCELLED"}
        STATE.downloads[job_id] = {"state": "running", "message": "Downloading into %s..." % folder, "files": []}
        state.redraw()
        self.report({"INFO"}, "Inferix: downloading job %d into %s" % (job_id, folder))
        return {"FINISHED"}


classes = (INFERIX_OT_submit, INFERIX_OT_refresh, INFERIX_OT_download)
