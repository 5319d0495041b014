"""Issue #6: the web dashboard in a real browser. A real manager, worker and verifier render real scenes while
Debian's Chromium, driven by playwright-core (tests/browser/dashboard.mjs), signs in, watches a job complete with
its thumbnails appearing live, plays the video, opens a frame, reads the workers page and cancels a second job.
Screenshots are kept in build/test-artifacts/dashboard/ (or $INFERIX_ARTIFACTS_DIR/dashboard)."""

import os
import shutil
import subprocess
import tempfile
import time
import threading
import unittest

from netlib import HERE, NODE_ENV, SOURCE_DIR, Network, artifacts_dir, ensure_node_modules, make_scene

BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")
FRAMES_A = 8


class DashboardTest(unittest.TestCase):
    def setUp(self):
        self.net = Network(lease_ms=30000, heartbeat_ms=1000)

    def tearDown(self):
        self.net.cleanup()

    def test_an_artist_follows_and_cancels_jobs_in_the_browser(self):
        chromium = shutil.which("chromium")
        self.assertIsNotNone(chromium, "Debian's chromium is required; run scripts/install-deps.sh")
        ensure_node_modules(BROWSER_DIR)
        scene_dir = os.path.join(self.net.dir, "scenes")
        os.makedirs(scene_dir)
        watched = make_scene(os.path.join(scene_dir, "orbit.blend"), frames=FRAMES_A, width=192, height=108,
                             samples=24)
        long = make_scene(os.path.join(scene_dir, "long.blend"), frames=200, width=192, height=108, samples=24)
        # Event answers end every 3 s with nothing new, so the page notices an ended session quickly.
        self.net.start_manager(extra=("--long-poll-ms", "3000"))
        token = self.net.user_token("ada")

        r = self.net.cli(token, "submit", watched, "--frames", "1-%d" % FRAMES_A, "--chunk", "2", "--priority", "10",
                         "--name", "Orbit shot")
        self.assertEqual(r.returncode, 0, r.stderr)
        job_a = int(r.stdout.split()[0])
        # The job to cancel waits behind the watched one (lower priority).
        r = self.net.cli(token, "submit", long, "--frames", "1-200", "--chunk", "2", "--priority", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        job_b = int(r.stdout.split()[0])

        # A cheating worker: its frames are rejected, and the page must show and explain that. It starts first:
        # its first start asks its Blender which engines it renders (a cached probe of several seconds, issue #17),
        # and with no verifier yet its render work is held back, so it renders nothing before the page is open.
        self.net.start_node("worker", "worker-b", blender=os.path.join(HERE, "rogue_blender.py"),
                            extra=("--threads", "1"))
        deadline = time.time() + 180
        while time.time() < deadline and not any(
                n.get("name") == "worker-b" for n in self.net.call("GET", "/api/v1/workers", token)[1]["nodes"]):
            time.sleep(0.2)

        out = artifacts_dir("dashboard", fresh=True)
        env = dict(NODE_ENV, DASHBOARD_URL=self.net.url + "/", TOKEN=token, JOB_A=str(job_a), JOB_B=str(job_b),
                   FRAMES_A=str(FRAMES_A), ARTIFACTS=out, CHROMIUM=chromium,
                   # for a worker that joins while the page is open; ada owns it (and worker-a): her "My nodes"
                   ENROLLMENT=self.net.enroll("worker", owner="ada"))
        # The nodes start once the page lists the jobs, so that the page is open while job A renders and its
        # thumbnails arrive one chunk at a time (with nodes already running, a fast manager could deliver most
        # frames before Chromium has started).
        with tempfile.TemporaryFile(mode="w+") as errors:
            p = subprocess.Popen(["node", os.path.join(BROWSER_DIR, "dashboard.mjs")], stdout=subprocess.PIPE,
                                 stderr=errors, text=True, env=env)
            killer = threading.Timer(600, p.kill)
            killer.start()
            try:
                seen = []
                for line in p.stdout:
                    seen.append(line)
                    if "ok: both jobs are listed" in line:
                        break
                self.net.start_node("worker", "worker-a", extra=("--threads", "1"), owner="ada")
                self.net.start_node("verifier", "verifier-a")
                seen.append(p.stdout.read())
                p.wait()
            finally:
                killer.cancel()
            errors.seek(0)
            stderr = errors.read()
        stdout = "".join(seen)
        print(stdout)
        self.assertEqual(p.returncode, 0, "browser checks failed:\n" + stdout[-4000:] + stderr[-4000:])

        # What the browser did happened: job A completed, job B was canceled, by the user.
        status, a = self.net.call("GET", "/api/v1/jobs/%d" % job_a, token)
        self.assertEqual((status, a["state"]), (200, "completed"))
        rejected = [t for f in a["frames"] for t in f["attempts"] if t["verdict"] == "rejected"]
        self.assertTrue(rejected and all(t["worker"] == "worker-b" for t in rejected), rejected)
        self.assertTrue(all(f["output"]["worker"] == "worker-a" for f in a["frames"]))
        status, b = self.net.call("GET", "/api/v1/jobs/%d" % job_b, token)
        self.assertEqual((status, b["state"]), (200, "canceled"))
        self.assertIn("canceled by ada", b["message"])
        for name in ("01-sign-in", "03-job-rendering", "04-job-completed", "05-frame", "05-rejected-frame", "06-workers",
                     "07-job-canceled", "08-worker-joined", "09-my-nodes", "10-session-ended"):
            path = os.path.join(out, name + ".png")
            self.assertTrue(os.path.getsize(path) > 1000, path)
        self.net.assert_no_secrets(stdout, stderr)


if __name__ == "__main__":
    unittest.main()
