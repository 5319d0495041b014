"""Issue #2: a 10-frame job rendered by two real workers, checked by a real verifier, equal to plain Blender."""

import glob
import os
import unittest

from netlib import HERE, Network, images_match, make_scene, reference_render


class SkeletonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = Network()
        cls.scene_dir = os.path.join(cls.net.dir, "scene")
        os.makedirs(cls.scene_dir)
        cls.scene = make_scene(os.path.join(cls.scene_dir, "shot.blend"), frames=10)
        cls.net.start_manager()
        cls.alice = cls.net.user_token("alice")
        cls.bob = cls.net.user_token("bob")
        counting = os.path.join(HERE, "blender_counting.sh")
        for name in ("worker-a", "worker-b"):
            cls.net.start_node("worker", name, blender=counting, extra=("--threads", "1"))
        cls.net.start_node("verifier", "verifier")

    @classmethod
    def tearDownClass(cls):
        cls.net.cleanup()

    def test_ten_frames_verified_and_equal_to_blender(self):
        out = os.path.join(self.net.dir, "out")
        r = self.net.cli(self.alice, "submit", self.scene, "--frames", "1-10", "--chunk", "2", "--wait",
                         "--download", out)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job_id = int(r.stdout.split()[0])
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % job_id, self.alice)
        self.assertEqual(status, 200)
        self.assertEqual(job["state"], "completed")
        self.assertEqual([f["frame"] for f in job["frames"]], list(range(1, 11)))
        for f in job["frames"]:
            self.assertEqual(f["state"], "delivered")
            self.assertEqual(f["verdict"], "accepted", f)
            self.assertIn("region", f["output"]["verdict_detail"])

        ref = os.path.join(self.net.dir, "ref")
        reference_render(self.scene, ref, 1, 10)
        for frame in range(1, 11):
            got = os.path.join(out, "shot_%04d.png" % frame)
            self.assertTrue(os.path.exists(got), got)
            ok, text = images_match(got, os.path.join(ref, "ref_%04d.png" % frame))
            self.assertTrue(ok, "frame %d differs from blender -b -a:\n%s" % (frame, text))

        # One Blender per job per worker, not one per frame or per task (5 tasks of 2 frames here).
        starts = {}
        for worker in ("worker-a", "worker-b"):
            logs = glob.glob(os.path.join(self.net.node_dir(worker), "jobs", str(job_id), "blender.log"))
            starts[worker] = sum(open(p, errors="replace").read().count("INFERIX-TEST-BLENDER-START") for p in logs)
        worked = {o["output"]["worker"] for o in job["frames"]}
        for worker, count in starts.items():
            self.assertEqual(count, 1 if worker in worked else 0, (starts, worked))
        self.assertGreaterEqual(len(worked), 1)

        # Another user's token cannot read the job or its outputs; no token is 401.
        for path in ("/api/v1/jobs/%d" % job_id, "/api/v1/jobs/%d/outputs" % job_id):
            status, body = self.net.call("GET", path, self.bob)
            self.assertEqual(status, 404, body)
            status, body = self.net.call("GET", path)
            self.assertEqual(status, 401, body)
            self.assertEqual(body["error"]["code"], "unauthenticated")
        status, body = self.net.call("POST", "/api/v1/jobs/%d/cancel" % job_id, self.bob, body={})
        self.assertEqual(status, 404, body)
        status, body = self.net.call("GET", "/api/v1/jobs", self.bob)
        self.assertEqual(body["jobs"], [])

    def test_requests_without_valid_credentials_are_refused(self):
        for method, path in (("GET", "/api/v1/jobs"), ("POST", "/api/v1/jobs"), ("POST", "/api/v1/tasks/claim")):
            status, body = self.net.call(method, path, body={} if method == "POST" else None)
            self.assertEqual(status, 401, (method, path, body))
        status, body = self.net.call("GET", "/api/v1/jobs", "ixu_" + "0" * 64)
        self.assertEqual(status, 401, body)
        # A user token is not a node credential.
        status, body = self.net.call("POST", "/api/v1/tasks/claim", self.alice, body={})
        self.assertEqual(status, 401, body)


if __name__ == "__main__":
    unittest.main()
