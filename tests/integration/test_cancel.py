"""Issue #2: `inferix cancel` stops a job; the worker stops Blender when the heartbeat answer says cancel."""

import os
import time
import unittest

from netlib import Network, make_scene


class CancelTest(unittest.TestCase):
    def setUp(self):
        self.net = Network(heartbeat_ms=500)

    def tearDown(self):
        self.net.cleanup()

    def test_cancel_stops_the_worker_and_the_job(self):
        scene_dir = os.path.join(self.net.dir, "scene")
        os.makedirs(scene_dir)
        # Slow frames, so the cancel arrives while Blender renders.
        scene = make_scene(os.path.join(scene_dir, "slow.blend"), frames=20, width=320, height=240, samples=256)
        self.net.start_manager()
        token = self.net.user_token("dave")
        self.net.start_node("worker", "worker", extra=("--threads", "1"))
        # A verifier of its class: without one the worker's renders are held back (issue #17).
        self.net.start_node("verifier", "verifier")
        r = self.net.cli(token, "submit", scene, "--frames", "1-20", "--chunk", "20")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job_id = int(r.stdout.split()[0])
        self.net.wait_job(token, job_id, timeout=120, until=lambda j: j["progress"]["rendering"] > 0)

        r = self.net.cli(token, "cancel", str(job_id), "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % job_id, token)
        self.assertEqual(job["state"], "canceled")
        self.assertTrue(all(f["state"] == "canceled" for f in job["frames"]), job["frames"])

        deadline = time.time() + 30
        while time.time() < deadline and "stopped (canceled" not in self.net.log("worker"):
            time.sleep(0.2)
        self.assertIn("stopped (canceled", self.net.log("worker"))
        # The job's Blender is gone: no process has the job's scene open.
        scene_path = os.path.join(self.net.node_dir("worker"), "jobs", str(job_id), "scene", "slow.blend")
        deadline = time.time() + 10
        while time.time() < deadline and self._blender_running(scene_path):
            time.sleep(0.2)
        self.assertFalse(self._blender_running(scene_path))

        # Cancelling again is harmless; the job stays canceled.
        r = self.net.cli(token, "cancel", str(job_id))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("canceled", r.stdout)

    @staticmethod
    def _blender_running(scene_path):
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    args = f.read().split(b"\0")
            except OSError:
                continue
            if scene_path.encode() in args and any(a.endswith(b"blender") for a in args):
                return True
        return False


if __name__ == "__main__":
    unittest.main()
