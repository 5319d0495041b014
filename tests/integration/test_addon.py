"""Issue #6: the Blender add-on, in a real Blender window (under Xvfb, so that its timers run) against a real local
network. Blender installs the add-on from the zip `make addon` builds, is given the manager's URL and a token,
refuses a scene with a missing texture in preflight, refuses to send a scene to a network whose workers all run an
older Blender (before uploading anything), submits a scene with a texture file, follows the job to its end in its
panel (thumbnails included), takes a screenshot of the panel and downloads the frames and the video
(addon_session.py is what runs inside Blender). Then this test checks what landed on disk against the manager."""

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import unittest
from unittest import mock

from netlib import HERE, SOURCE_DIR, Network, artifacts_dir, make_scene

sys.path.insert(0, os.path.join(SOURCE_DIR, "scripts"))
import build_addon  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FRAMES = 4
# A worker's Blender that says it is 3.3.0 (agent/machine.cpp reads `--version`'s first line) and otherwise is Blender.
OLD_BLENDER = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "Blender 3.3.0"; exit 0; fi
exec /usr/bin/blender "$@"
"""


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load_client():
    """The add-on's client.py, which needs no bpy, as a plain module."""
    spec = importlib.util.spec_from_file_location("inferix_client", os.path.join(SOURCE_DIR, "addon", "inferix",
                                                                                 "client.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def builds(*versions, denoisers=()):
    return [{"version": v, "denoisers": list(denoisers)} for v in versions]


class BlenderVersionCheckTest(unittest.TestCase):
    """The add-on's version and denoiser checks are the CLI's (src/client/scene_plan.cpp): major.minor only."""

    def test_compared_as_the_cli_does(self):
        check = load_client().blender_version_problems
        scene = "the scene a.blend"
        self.assertEqual(check([(scene, (3, 4))], builds("3.4.1")), [])
        self.assertEqual(check([(scene, (3, 4))], builds("3.3.0", "3.4.0 (hash abc)")), [])  # the newest counts
        self.assertEqual(check([(scene, (3, 9))], builds("3.10.2")), [])  # numbers, not strings
        self.assertEqual(check([(scene, (3, 3))], builds("4.0.2")), [])  # older scenes are fine
        [p] = check([(scene, (3, 4))], builds("3.3.0", "3.3.21", "", "unknown"))
        self.assertEqual((p["code"], p["fatal"]), ("newer_blender", True))
        self.assertEqual(p["message"], "the scene a.blend was saved by Blender 3.4, newer than any worker's Blender "
                         "(this network has 3.3.0, 3.3.21, unknown); Blender would open it without complaint and "
                         "may render it wrong. Save it with Blender 3.3 or older, or wait for workers with Blender "
                         "3.4 or newer")
        self.assertEqual(check([(scene, (4, 1))], builds("3.6.5"))[0]["code"], "newer_blender")
        # A library saved by a newer Blender is refused too, and named.
        [p] = check([(scene, (3, 4)), ("library /p/lib/props.blend", (4, 2))], builds("3.4.1"))
        self.assertIn("library /p/lib/props.blend was saved by Blender 4.2", p["message"])
        for versions in ([], ["", "unknown"]):
            [p] = check([(scene, (3, 4))], builds(*versions))
            self.assertEqual((p["code"], p["fatal"]), ("no_workers", False))
            self.assertIn("no worker has registered yet", p["message"])

    def test_denoisers_as_the_cli_checks_them(self):
        check = load_client().denoiser_problems
        self.assertEqual(check([], (3, 4), builds("3.4.1"), False), [])
        [p] = check(["OPENIMAGEDENOISE"], (3, 4), builds("3.4.1"), False)
        self.assertEqual((p["code"], p["fatal"]), ("denoiser", True))
        self.assertIn("OpenImageDenoise), which no worker of this network has (their Blender: 3.4.1)", p["message"])
        [p] = check(["OPENIMAGEDENOISE"], (3, 4), builds("3.4.1"), True)
        self.assertEqual((p["code"], p["fatal"]), ("denoiser", False))
        self.assertIn("rendered with denoising off", p["message"])
        self.assertEqual(check(["OPENIMAGEDENOISE"], (3, 4), builds("4.2.0", denoisers=["OPENIMAGEDENOISE"]), False),
                         [])
        # A build with the denoiser but too old for the scene does not count.
        self.assertEqual(check(["OPTIX"], (4, 2), builds("3.6.0", denoisers=["OPTIX"]), False)[0]["fatal"], True)

    def test_engines_as_the_cli_checks_them(self):
        check = load_client().engine_problems
        cycles = [dict(b, engines=["CYCLES"]) for b in builds("3.4.1")]
        [p] = check("BLENDER_EEVEE", cycles)
        self.assertEqual((p["code"], p["fatal"]), ("engine", True))
        self.assertIn("renders with Eevee (BLENDER_EEVEE), which no worker of this network renders (they render "
                      "Cycles)", p["message"])
        self.assertEqual(check("CYCLES", cycles), [])
        self.assertEqual(check("BLENDER_EEVEE", cycles + [dict(b, engines=None) for b in builds("3.4.1")]), [])
        self.assertEqual(check("BLENDER_EEVEE", []), [])  # no worker yet: the version check says so


class SafeTextTest(unittest.TestCase):
    """Issue #14: names and messages that users and nodes sent are shown escaped and capped by the add-on, as by the
    CLI (src/core/text.hpp): no escape sequence reaches Blender's console or a label raw."""

    def test_controls_are_escaped_and_long_text_capped(self):
        client = load_client()
        safe = client.safe_text
        self.assertEqual(safe("worker-1 \u00e9\u6771"), "worker-1 \u00e9\u6771")
        self.assertEqual(safe("a\x1b[2J\x1b]0;t\x07b"), "a\\x1b[2J\\x1b]0;t\\x07b")
        self.assertEqual(safe("evil\u202egpj\u009b\n"), "evil\\u202egpj\\u009b\\n")
        self.assertEqual(safe(None), "")
        capped = safe("x" * 10000, 100)
        self.assertEqual(capped, "x" * 100 + "...[+9900 characters]")

    def test_manager_error_messages_are_escaped(self):
        client = load_client()

        class Refusal:
            code, reason = 400, "Bad Request"

            def read(self):
                return json.dumps({"error": {"message": "job \x1b[2J" + "y" * 5000}}).encode()

        message = client._error_message(Refusal(), "POST", "/api/v1/jobs")
        self.assertNotIn("\x1b", message)
        self.assertIn("job \\x1b[2J", message)
        self.assertLess(len(message), 2100)


class AddonTest(unittest.TestCase):
    def setUp(self):
        for tool in ("blender", "xvfb-run"):
            if shutil.which(tool) is None:
                self.fail("%s is not installed (scripts/install-deps.sh installs it)" % tool)
        self.net = Network(lease_ms=20000, heartbeat_ms=1000)
        self.old = Network(lease_ms=20000, heartbeat_ms=1000)  # a second network, with a worker on Blender 3.3

    def tearDown(self):
        self.old.cleanup()
        self.net.cleanup()

    def start_old_network(self):
        """A manager whose only worker runs a Blender that reports 3.3.0; returns a token of ada's there."""
        self.old.start_manager()
        token = self.old.user_token("ada")
        blender = os.path.join(self.old.dir, "blender-3.3")
        with open(blender, "w") as f:
            f.write(OLD_BLENDER)
        os.chmod(blender, 0o755)
        # The node keeps the version it read in the user's cache: this test's own, not the real one.
        cache = os.path.join(self.old.dir, "cache")
        with mock.patch.dict(os.environ, XDG_CACHE_HOME=cache):
            self.old.start_node("worker", "old-worker", blender=blender)
        deadline = time.time() + 30
        while time.time() < deadline:
            status, body = self.old.call("GET", "/api/v1/workers", token)
            if [n["capabilities"].get("blender_version") for n in body["nodes"]] == ["3.3.0"]:
                break
            time.sleep(0.1)
        else:
            self.fail("the old worker did not register: %s\n%s" % (body, self.old.log("old-worker")))
        self.assertTrue(any(n.startswith("blender-version-") for n in os.listdir(os.path.join(cache, "inferix"))))
        return token

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
        old_token = self.start_old_network()

        # Blender's user folders are the test's own: the add-on and its preferences never touch the real home.
        home = os.path.join(d, "blender-home")
        env = dict(os.environ, HOME=home, BLENDER_USER_SCRIPTS=os.path.join(home, "scripts"),
                   BLENDER_USER_CONFIG=os.path.join(home, "config"), TMPDIR=os.path.join(home, "tmp"))
        os.makedirs(env["TMPDIR"])
        out_dir = os.path.join(d, "good", "renders")
        config = {"zip": zip_path, "url": self.net.url, "token": token, "scene": good, "output": out_dir,
                  "old_url": self.old.url, "old_token": old_token,
                  "screenshot": os.path.join(d, "panel.png"), "screenshot_window": os.path.join(d, "window.png"),
                  "screenshot_preflight": os.path.join(d, "preflight.png"),
                  "screenshot_newer": os.path.join(d, "preflight-newer-blender.png"),
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
        for name in ("screenshot", "screenshot_window", "screenshot_preflight", "screenshot_newer"):
            if os.path.exists(config[name]):
                shutil.copy(config[name], artifacts_dir("addon"))
        self.assertTrue(result["ok"], result.get("error", "") + "\n" + output[-6000:])
        self.assertTrue(result["addon_file"].startswith(env["BLENDER_USER_SCRIPTS"]), result["addon_file"])

        # The bad scene: refused by preflight inside Blender, with the cause and what to do; no job created.
        self.assertIn("missing_file", result.get("bad_error", ""), result)
        self.assertIn("gone.png", result["bad_error"])
        self.assertIn("Pack Resources", result["bad_error"])
        self.assertEqual([p["code"] for p in result["bad_problems"] if p["fatal"]], ["missing_file"])
        self.assertIn("Preflight failed", result["bad_status"])

        # The good scene sent to the network of Blender 3.3 workers: refused once the add-on asked for the workers,
        # shown in the panel's Preflight box; no job there, and not one of its files was uploaded.
        newer = [p for p in result["newer_problems"] if p["code"] == "newer_blender"]
        self.assertEqual(len(newer), 1, result["newer_problems"])
        self.assertTrue(newer[0]["fatal"])
        for words in ("saved by Blender 3.4,", "this network has 3.3.0", "Save it with Blender 3.3"):
            self.assertIn(words, newer[0]["message"])
        self.assertEqual([p["code"] for p in result["newer_problems"] if p["fatal"]], ["newer_blender"])
        self.assertIn("[newer_blender] " + newer[0]["message"], result["newer_panel"])
        self.assertIn("Preflight failed", result["newer_status"])
        self.assertEqual(result["newer_return"], ["FINISHED"])  # the check ran after the operator returned
        self.assertEqual(result["newer_job_id"], 0)
        status, body = self.old.call("GET", "/api/v1/jobs", old_token)
        self.assertEqual((status, body["jobs"]), (200, []))
        hashes = [result["newer_scene_sha256"], sha256(os.path.join(d, "good", "tex", "checker.png"))]
        status, body = self.old.call("POST", "/api/v1/files/check", old_token, {"sha256": hashes})
        self.assertEqual((status, sorted(body["missing"])), (200, sorted(hashes)))

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
        self.assertNotIn(old_token, output)
        self.net.assert_no_secrets(output)
        self.old.assert_no_secrets(output)


if __name__ == "__main__":
    unittest.main()
