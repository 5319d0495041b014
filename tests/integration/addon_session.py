"""Runs inside a real Blender window (under Xvfb) for test_addon.py: drives the Inferix add-on as a person would,
through its operators and its panel's state, while Blender's event loop (and so the add-on's timers) runs.

    blender --factory-startup -noaudio BAD.blend --python addon_session.py -- CONFIG.json

CONFIG names the add-on zip, the manager's URL, the user's token, the good scene, where to write the screenshots and
RESULT (a JSON file the test reads). Blender starts on BAD (a scene with a missing texture): its submit must be
refused. Then the good scene is opened and submitted to a second manager ("old_url"), whose only worker runs an
older Blender than this one: the add-on must refuse it after asking for the workers, before uploading anything. Then
it is submitted to the first manager, followed in the panel to the end, shown in a screenshot and downloaded.
Everything runs from one timer, step by step, so the window keeps drawing in between.
"""

import hashlib
import json
import os
import sys
import time
import traceback

import bpy

CONFIG = json.load(open(sys.argv[sys.argv.index("--") + 1]))
RESULT = {"ok": False, "steps": []}
DEADLINE = time.monotonic() + CONFIG.get("timeout", 240)


def log(message):
    print("addon-session: %s" % message, flush=True)
    RESULT["steps"].append(message)


def save_result():
    with open(CONFIG["result"], "w") as f:
        json.dump(RESULT, f, indent=1)


def window_and_area(kind):
    window = bpy.context.window_manager.windows[0]
    areas = [a for a in window.screen.areas if a.type == kind]
    return window, (areas[0] if areas else None)


def wait(what, condition, timeout):
    """Yields (lets Blender run) until condition() is true."""
    deadline = min(DEADLINE, time.monotonic() + timeout)
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        yield 0.2


def big_properties_editor():
    """A big Properties editor on the Render tab in place of the 3D viewport, so the panel fills the screenshots."""
    window, area = window_and_area("VIEW_3D")
    area.type = "PROPERTIES"
    yield 0.5  # the editor's tabs exist once it has been drawn
    area.spaces.active.context = "RENDER"
    # The pointer away from the panel, so no tooltip covers it.
    window.cursor_warp(window.width - 5, 5)


def screenshot(path):
    """The big Properties editor, scrolled to the end where Blender puts an add-on's panel."""
    window = bpy.context.window_manager.windows[0]
    area = max((a for a in window.screen.areas if a.type == "PROPERTIES"), key=lambda a: a.width * a.height)
    region = [r for r in area.regions if r.type == "WINDOW"][0]
    area.tag_redraw()
    yield 0.5
    with bpy.context.temp_override(window=window, area=area, region=region):
        for _ in range(20):
            bpy.ops.view2d.scroll_down(page=True)
    yield 1.5  # a few redraws: the panel and its thumbnails are drawn
    with bpy.context.temp_override(window=window, area=area):
        bpy.ops.screen.screenshot_area(filepath=path)


def panel_texts(ui):
    """The problem lines the Inferix panel draws next (it draws them with ui.wrapped)."""
    drawn = []
    original = ui.wrapped

    def recording(layout, text, icon="NONE", width=60):
        drawn.append(text)
        return original(layout, text, icon, width)

    ui.wrapped = recording
    try:
        yield from screenshot(CONFIG["screenshot_newer"])
    finally:
        ui.wrapped = original
    return drawn


def session():
    # The add-on, installed from its zip into this session's own user folder (BLENDER_USER_SCRIPTS).
    bpy.ops.preferences.addon_install(filepath=CONFIG["zip"], overwrite=True)
    bpy.ops.preferences.addon_enable(module="inferix")
    import inferix
    from inferix.state import STATE

    RESULT["addon_file"] = inferix.__file__
    prefs = bpy.context.preferences.addons["inferix"].preferences
    prefs.manager_url = CONFIG["url"]
    prefs.api_token = CONFIG["token"]
    log("add-on enabled from %s" % inferix.__file__)
    yield from big_properties_editor()
    yield from wait("the first refresh", lambda: STATE.refreshed > 0, 30)

    # The bad scene (loaded from the command line): a texture file is missing. Preflight refuses it in Blender.
    RESULT["bad_scene"] = bpy.data.filepath
    try:
        RESULT["bad_return"] = sorted(bpy.ops.inferix.submit())
    except RuntimeError as e:  # an operator's ERROR report reaches a calling script as a RuntimeError
        RESULT["bad_error"] = str(e)
    RESULT["bad_problems"] = list(STATE.problems)
    RESULT["bad_status"] = STATE.status
    log("bad scene: %s" % RESULT.get("bad_error"))
    yield from screenshot(CONFIG["screenshot_preflight"])

    # The good scene, opened as a person would (File > Open).
    window, _ = window_and_area("VIEW_3D")
    with bpy.context.temp_override(window=window):
        bpy.ops.wm.open_mainfile(filepath=CONFIG["scene"], load_ui=False)
    yield 1.0
    scene = bpy.context.scene
    scene.inferix.file_format = "PNG"
    scene.render.filepath = CONFIG["output"] + os.sep  # the scene's output folder: where Download writes

    # A network whose only worker has an older Blender than this one: refused once the workers are known.
    prefs.manager_url, prefs.api_token = CONFIG["old_url"], CONFIG["old_token"]
    RESULT["newer_return"] = sorted(bpy.ops.inferix.submit())
    yield from wait("the refused submit", lambda: not STATE.submitting, 30)
    RESULT["newer_problems"] = list(STATE.problems)
    RESULT["newer_status"] = STATE.status
    RESULT["newer_job_id"] = STATE.last_job_id
    with open(bpy.data.filepath, "rb") as f:  # the scene as that submit saved it
        RESULT["newer_scene_sha256"] = hashlib.sha256(f.read()).hexdigest()
    RESULT["newer_panel"] = yield from panel_texts(inferix.ui)
    log("older workers: %s" % STATE.status)
    prefs.manager_url, prefs.api_token = CONFIG["url"], CONFIG["token"]

    log("submitting %s" % bpy.data.filepath)
    RESULT["submit_return"] = sorted(bpy.ops.inferix.submit())
    RESULT["status_while_submitting"] = STATE.status
    yield from wait("the submit", lambda: not STATE.submitting, 60)
    RESULT["status_after_submit"] = STATE.status
    if not STATE.last_job_id:
        raise AssertionError("submit created no job: %s" % STATE.status)
    job_id = RESULT["job_id"] = STATE.last_job_id
    log("job %d submitted: %s" % (job_id, STATE.status))

    # The panel's state follows the job to its end through the add-on's own timer and background refreshes.
    seen_states = []

    def finished():
        job = STATE.job(job_id)
        if job and (not seen_states or seen_states[-1] != job["state"]):
            seen_states.append(job["state"])
            log("panel: job %d %s, %s" % (job_id, job["state"], json.dumps(job.get("progress"))))
        if not job or job["state"] != "completed":
            return False
        outs = STATE.outputs.get(job_id, {})
        thumbs = [o for o in outs.get("outputs", []) if inferix.state.thumbnail(o["sha256"])]
        return outs.get("video") in ("ready", "failed") and len(thumbs) == job["progress"]["total"]

    yield from wait("the job to complete in the panel", finished, 200)
    RESULT["panel_states"] = seen_states
    RESULT["panel_job"] = STATE.job(job_id)
    RESULT["panel_outputs"] = STATE.outputs[job_id]
    RESULT["refreshes"] = STATE.refreshed
    RESULT["thumbnail_icons"] = [inferix.state.thumbnail(o["sha256"]) for o in STATE.outputs[job_id]["outputs"]]

    yield from screenshot(CONFIG["screenshot"])
    window, _ = window_and_area("PROPERTIES")
    with bpy.context.temp_override(window=window):
        bpy.ops.screen.screenshot(filepath=CONFIG["screenshot_window"])
    log("screenshots taken")

    RESULT["download_return"] = sorted(bpy.ops.inferix.download(job_id=job_id))
    yield from wait("the download", lambda: STATE.downloads.get(job_id, {}).get("state") != "running", 60)
    RESULT["download"] = STATE.downloads[job_id]
    log(STATE.downloads[job_id]["message"])
    RESULT["ok"] = True


STEPS = session()


def tick():
    try:
        if time.monotonic() > DEADLINE:
            raise AssertionError("the session ran out of time")
        return next(STEPS)
    except StopIteration:
        pass
    except Exception:
        RESULT["error"] = traceback.format_exc()
        log("failed: %s" % RESULT["error"])
    save_result()
    window = bpy.context.window_manager.windows[0]
    with bpy.context.temp_override(window=window):
        bpy.ops.wm.quit_blender()
    return None


# Persistent: the timer survives File > Open.
bpy.app.timers.register(tick, first_interval=1.0, persistent=True)
