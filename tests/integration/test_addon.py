"""Issue #6: the Blender add-on, in a real Blender window (under Xvfb, so that its timers run) against a real local
network. Blender installs the add-on from the zip `make addon` builds, is given the manager's URL and a token,
refuses a scene with a missing texture in preflight, submits a scene with a texture file, follows the job to its end
in its panel (thumbnails included), takes a screenshot of the panel and downloads the frames and the video
(addon_session.py is what runs inside Blender). Then this test checks what landed on disk against the manager."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import unittest

from netlib import HERE, SOURCE_DIR, Network, make_scene

sys.path.insert(0, os.path.join(SOURCE_DIR, "scripts"))
import build_addon  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FRAMES = 4


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def artifacts_dir():
    path = os.environ.get("INFERIX_ARTIFACTS_DIR") or os.path.join(SOURCE_DIR, "build", "test-artifacts")
    path = os.path.join(path, "addon")
    os.makedirs(path, exist_ok=True)
    return path


class AddonTest(unittest.TestCase):
    def setUp(self):
        for tool in ("blender", "xvfb-run"):
            if shutil.which(tool) is None:
                self.fail("%s is not installed (scripts/install-deps.sh installs it)" % tool)
        self.net = Network(lease_ms=20000, heartbeat_ms=1000)

    def tearDown(self):
        self.net.cleanup()

    def scene(self, folder, texture, missing=False):
        """The example scene, small, with an image texture referenced relative to the .blend."""
        os.makedirs(folder)
        base = os.path.join(self.net.dir, "base.blend")
        if not os.path.exists(base):
            make_scene(base, frames=FRAMES, width=160, height=120, samples=4)
        out = os.path.join(folder, "shot.blend")
        subprocess.run(["blender", "-b", base, "--factory-startup", "-noaudio", "--python-exit-code", "1",
                        "--python", os.path.join(HERE, "addon_scene.py"), "--", out, texture] +
                       (["--missing"] if missing else []), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return out

    def test_submit_follow_and_download_in_a_blender_window(self):
        d = self.net.dir
        zip_path = build_addon.build(os.path.join(d, "inferix-addon.zip"))
        good = self.scene(os.path.join(d, "good"), "tex/checker.png")
        bad = self.scene(os.path.join(d, "bad"), "tex/gone.png", missing=True)
        self.net.start_manager(extra=("--long-poll-ms", "3000"))
        token = self.net.user_token("ada")
        self.net.start_node("worker", "worker", extra=("--threads", "1"))
        self.net.start_node("verifier", "verifier")

        # Blender's user folders are the test's own: the add-on and its preferences never touch the real home.
        home = os.path.join(d, "blender-home")
        env = dict(os.environ, HOME=home, BLENDER_USER_SCRIPTS=os.path.join(home, "scripts"),
                   BLENDER_USER_CONFIG=os.path.join(home, "config"), TMPDIR=os.path.join(home, "tmp"))
        os.makedirs(env["TMPDIR"])
        out_dir = os.path.join(d, "good", "renders")
        config = {"zip": zip_path, "url": self.net.url, "token": token, "scene": good, "output": out_dir,
                  "screenshot": os.path.join(d, "panel.png"), "screenshot_window": os.path.join(d, "window.png"),
                  "screenshot_preflight": os.path.join(d, "preflight.png"),
                  "result": os.path.join(d, "session.json"), "timeout": 240}
        config_path = os.path.join(d, "session-config.json")
        with open(config_path, "w") as f:
            json.dump(config, f)
        cmd = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "blender", "--factory-startup", "-noaudio", bad,
               "--python", os.path.join(HERE, "addon_session.py"), "--", config_path]
        with open(os.path.join(d, "blender.log"), "w") as log:
            p = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=300)
        output = self.net.log("blender")
        self.assertTrue(os.path.exists(config["result"]), "Blender wrote no result (exit %d):\n%s" % (
            p.returncode, output[-6000:]))
        with open(config["result"]) as f:
            result = json.load(f)

        # The screenshots are kept for people to look at, whatever happens next.
        for name in ("screenshot", "screenshot_window", "screenshot_preflight"):
            if os.path.exists(config[name]):
                shutil.copy(config[name], artifacts_dir())
        self.assertTrue(result["ok"], result.get("error", "") + "\n" + output[-6000:])
        self.assertTrue(result["addon_file"].startswith(env["BLENDER_USER_SCRIPTS"]), result["addon_file"])

        # The bad scene: refused by preflight inside Blender, with the cause and what to do; no job created.
        self.assertIn("missing_file", result.get("bad_error", ""), result)
        self.assertIn("gone.png", result["bad_error"])
        self.assertIn("Pack Resources", result["bad_error"])
        self.assertEqual([p["code"] for p in result["bad_problems"] if p["fatal"]], ["missing_file"])
        self.assertIn("Preflight failed", result["bad_status"])

        status, body = self.net.call("GET", "/api/v1/jobs", token)
        self.assertEqual(status, 200)
        self.assertEqual([j["id"] for j in body["jobs"]], [result["job_id"]], "only the good scene made a job")
        job_id = result["job_id"]

        # The job carries both files, the texture uploaded under its own hash.
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % job_id, token)
        self.assertEqual(job["state"], "completed")
        self.assertEqual(job["frames_spec"], "1-%d" % FRAMES)
        self.assertEqual(job["format"], "PNG")
        files = {f["path"]: f["sha256"] for f in job["files"]}
        self.assertEqual(job["main"], "shot.blend")
        self.assertEqual(files["tex/checker.png"], sha256(os.path.join(d, "good", "tex", "checker.png")))
        self.assertEqual(set(files), {"shot.blend", "tex/checker.png"})

        # The panel followed it: states as the timer saw them, and a thumbnail for every frame.
        self.assertEqual(result["panel_states"][-1], "completed")
        self.assertEqual(result["panel_job"]["progress"]["delivered"], FRAMES)
        self.assertEqual(len(result["thumbnail_icons"]), FRAMES)
        self.assertTrue(all(result["thumbnail_icons"]), result["thumbnail_icons"])
        self.assertGreater(result["refreshes"], 2)

        # The download: every delivered frame, byte for byte what the manager delivered, and the video.
        status, outs = self.net.call("GET", "/api/v1/jobs/%d/outputs" % job_id, token)
        self.assertEqual(len(outs["outputs"]), FRAMES)
        self.assertEqual(result["download"]["state"], "done", result["download"])
        for out in outs["outputs"]:
            path = os.path.join(out_dir, "shot_%04d.png" % out["frame"])
            self.assertTrue(os.path.exists(path), path)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), PNG_MAGIC)
            self.assertEqual(sha256(path), out["sha256"], path)
        self.assertEqual(outs["video"], "ready")
        with open(os.path.join(out_dir, "shot.mp4"), "rb") as f:
            self.assertEqual(f.read(12)[4:8], b"ftyp")
        self.assertEqual(sorted(os.listdir(out_dir)),
                         sorted(["shot_%04d.png" % (i + 1) for i in range(FRAMES)] + ["shot.mp4"]))

        # The screenshot is a real picture of the window's panel.
        with open(config["screenshot"], "rb") as f:
            self.assertEqual(f.read(8), PNG_MAGIC)

        # The token was never printed: not by Blender, not by the add-on, not in any process's log.
        self.assertNotIn(token, output)
        self.net.assert_no_secrets(output)


if __name__ == "__main__":
    unittest.main()
