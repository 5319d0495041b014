"""Issue #2: a worker that uploads plausible wrong images is caught by the verifier; an honest worker renders
those frames again and the job completes with only correct frames."""

import os
import time
import unittest

from netlib import HERE, Network, images_match, make_scene, reference_render


class RogueWorkerTest(unittest.TestCase):
    def setUp(self):
        self.net = Network()

    def tearDown(self):
        self.net.cleanup()

    def test_wrong_images_are_rejected_and_rendered_again(self):
        scene_dir = os.path.join(self.net.dir, "scene")
        os.makedirs(scene_dir)
        scene = make_scene(os.path.join(scene_dir, "rogue.blend"), frames=4)
        self.net.start_manager()
        token = self.net.user_token("carol")
        self.net.start_node("worker", "rogue", blender=os.path.join(HERE, "rogue_blender.py"))
        self.net.start_node("verifier", "verifier")
        r = self.net.cli(token, "submit", scene, "--frames", "1-4", "--chunk", "2")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job_id = int(r.stdout.split()[0])

        def rogue_rejected(job):
            return any(a["verdict"] == "rejected" for f in job["frames"] for a in f["attempts"])

        self.net.wait_job(token, job_id, timeout=300, until=rogue_rejected)
        self.net.start_node("worker", "honest")
        job = self.net.wait_job(token, job_id, timeout=600)
        self.assertEqual(job["state"], "completed", job)

        rejected = [a for f in job["frames"] for a in f["attempts"] if a["verdict"] == "rejected"]
        self.assertTrue(rejected)
        self.assertTrue(all(a["worker"] == "rogue" for a in rejected), rejected)
        for f in job["frames"]:
            self.assertEqual(f["verdict"], "accepted", f)
            self.assertEqual(f["output"]["worker"], "honest", f)
        status, workers = self.net.call("GET", "/api/v1/workers", token)
        rogue = [n for n in workers["nodes"] if n["name"] == "rogue"][0]
        self.assertGreaterEqual(rogue["rejected"], 1)
        self.assertEqual(rogue["accepted"], 0)

        out = os.path.join(self.net.dir, "out")
        r = self.net.cli(token, "download", str(job_id), out)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        ref = os.path.join(self.net.dir, "ref")
        reference_render(scene, ref, 1, 4)
        for frame in range(1, 5):
            ok, text = images_match(os.path.join(out, "rogue_%04d.png" % frame), os.path.join(ref, "ref_%04d.png" % frame))
            self.assertTrue(ok, "frame %d:\n%s" % (frame, text))


if __name__ == "__main__":
    unittest.main()
