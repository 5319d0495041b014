"""What the panel shows (the user's jobs, their outputs and thumbnails, the last submit's problems), kept on the
main thread, and the timer that refreshes it without freezing Blender."""

import os
import re
import tempfile
import time

import bpy
import bpy.utils.previews

from . import background
from .client import Api, ApiError

FINAL_STATES = ("completed", "failed", "canceled")
MAX_JOBS = 5  # the newest jobs the panel shows
TICK_SECONDS = 0.25  # how often the timer applies finished background work
ACTIVE_REFRESH_SECONDS = 2.0  # while a shown job is queued or active, or its previews or video are on their way
IDLE_REFRESH_SECONDS = 30.0  # otherwise (jobs submitted elsewhere, e.g. with the CLI)
SETTLE_POLLS = 15  # refreshes of an ended job still waiting for previews that may never come
SHA256 = re.compile(r"^[0-9a-f]{64}$")  # a preview is cached under its frame's hash: nothing else names a file


class State:
    def __init__(self):
        self.jobs = []  # the newest MAX_JOBS jobs, newest first (GET /api/v1/jobs)
        self.outputs = {}  # job id -> GET /api/v1/jobs/{id}/outputs
        self.settle = {}  # job id -> refreshes left while it ended but its previews or video are not there
        self.problems = []  # the last submit's preflight problems: {"code", "message", "fatal"}
        self.status = ""  # one line: what happened last
        self.status_icon = "INFO"
        self.refresh_error = ""
        self.last_job_id = 0  # the job the last submit created
        self.submitting = False
        self.downloads = {}  # job id -> {"state": "running" | "done" | "failed", "message", "files"}
        self.last_refresh = 0.0
        self.refreshed = 0  # refreshes applied (scripts wait on it)
        self.want_refresh = True
        self.generation = 0  # bumped when the preferences change: a refresh begun before is dropped

    def job(self, job_id):
        for j in self.jobs:
            if j["id"] == job_id:
                return j
        return None

    def set_status(self, text, icon="INFO"):
        self.status, self.status_icon = text, icon


STATE = State()
_previews = None


def cache_dir():
    # Per user of this machine; previews are named by their frame's SHA-256, so a cached one is never stale.
    path = os.path.join(tempfile.gettempdir(), "inferix-addon-%d" % os.getuid(), "previews")
    os.makedirs(path, exist_ok=True)
    return path


def preferences(context=None):
    context = context or bpy.context
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon else None


def make_api(context=None):
    """The API client from the preferences; raises ApiError when they are incomplete."""
    prefs = preferences(context)
    if prefs is None:
        raise ApiError("the Inferix add-on is not enabled")
    return Api(prefs.manager_url, prefs.api_token)


def thumbnail(sha256):
    """The icon id of a frame's preview, 0 when not loaded yet."""
    if _previews is None or sha256 not in _previews:
        return 0
    return _previews[sha256].icon_id


def redraw():
    wm = bpy.context.window_manager
    if wm is None:
        return
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type == "PROPERTIES":
                area.tag_redraw()


def needs_poll(job):
    """Whether this job may still change: frames to come, or its previews or video on their way."""
    if job["state"] not in FINAL_STATES:
        return True
    outs = STATE.outputs.get(job["id"])
    if outs is None:
        return True
    if job["state"] == "completed" and outs.get("video") == "pending":
        return True  # the manager is making the video: it ends ready or failed, however long that takes
    if STATE.settle.get(job["id"], SETTLE_POLLS) <= 0:
        return False
    if job["state"] == "completed" and outs.get("video") == "none":
        return True
    return any(not o.get("preview_url") for o in outs.get("outputs", []))


def refresh():
    """Starts a refresh on the background thread (if none runs); the timer applies what it brings."""
    try:
        api = make_api()
    except ApiError as e:
        STATE.refresh_error = str(e)
        return False
    settled = {j["id"] for j in STATE.jobs if not needs_poll(j)}
    folder = cache_dir()
    generation = STATE.generation
    started = background.run("refresh", lambda: _refresh_work(api, settled, folder),
                             lambda result, error: _refresh_done(result, error, generation))
    if started:  # else one runs now: a wanted refresh stays wanted, and the timer starts it after that one
        STATE.last_refresh = time.monotonic()
        STATE.want_refresh = False
    return started


def _refresh_work(api, settled, folder):
    jobs = sorted(api.jobs(), key=lambda j: j["id"], reverse=True)[:MAX_JOBS]
    outputs = {}
    for job in jobs:
        if job["id"] in settled:
            continue
        outs = api.outputs(job["id"])
        outputs[job["id"]] = outs
        for out in outs.get("outputs", []):
            if out.get("preview_url") and SHA256.match(str(out.get("sha256", ""))):
                path = os.path.join(folder, out["sha256"] + ".png")
                if not os.path.exists(path):
                    try:
                        api.fetch(out["preview_url"], path)
                    except (ApiError, OSError):
                        pass  # one missing thumbnail stops nothing else; the next refresh fetches it again
    return jobs, outputs, folder


def _refresh_done(result, error, generation):
    if generation != STATE.generation:
        STATE.want_refresh = True  # begun with the old manager URL or token
        return
    if error is not None:
        STATE.refresh_error = "refresh failed: %s" % error
        redraw()
        return
    jobs, outputs, folder = result
    STATE.refresh_error = ""
    STATE.jobs = jobs
    shown = {j["id"] for j in jobs}
    STATE.outputs = {k: v for k, v in STATE.outputs.items() if k in shown}
    STATE.outputs.update(outputs)
    for job in jobs:
        if job["state"] in FINAL_STATES and job["id"] in outputs and outputs[job["id"]].get("video") != "pending":
            STATE.settle[job["id"]] = STATE.settle.get(job["id"], SETTLE_POLLS) - 1
    _load_thumbnails(folder)
    STATE.refreshed += 1
    redraw()


def _load_thumbnails(folder):
    if _previews is None:
        return
    for outs in STATE.outputs.values():
        for out in outs.get("outputs", []):
            sha = str(out.get("sha256", ""))
            if not SHA256.match(sha):
                continue
            path = os.path.join(folder, sha + ".png")
            if sha in _previews or not os.path.exists(path):
                continue
            preview = _previews.load(sha, path, "IMAGE")
            # Reading the size loads the image now, so the panel's next draw shows it rather than a blank.
            preview.image_size[:]
            preview.icon_size[:]


def tick():
    """bpy.app.timers callback: applies finished background work; refreshes while something may change."""
    try:
        background.apply_results()
        interval = IDLE_REFRESH_SECONDS
        if STATE.submitting or any(needs_poll(j) for j in STATE.jobs):
            interval = ACTIVE_REFRESH_SECONDS
        prefs = preferences()
        ready = prefs is not None and prefs.manager_url and prefs.api_token
        if ready and not background.busy("refresh") and (
                STATE.want_refresh or time.monotonic() - STATE.last_refresh >= interval):
            refresh()
    except Exception:  # a timer that raises is unregistered for good: keep it alive and say what happened
        import traceback

        traceback.print_exc()
    return TICK_SECONDS


def register():
    global _previews
    _previews = bpy.utils.previews.new()
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=TICK_SECONDS, persistent=True)


def unregister():
    global _previews
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
    if _previews is not None:
        bpy.utils.previews.remove(_previews)
        _previews = None
