"""Issue #4: honest workers are never rejected. Over 200+ frames, every one checked with layer 2, that mix dither
on and off, adaptive sampling on and off, PNG, EXR and JPEG, a 50% resolution, workers with 1 and 2 render
threads, and Blender processes both cold (the first frame of each job on each worker) and warm (the rest)."""

import glob
import os
import unittest

from netlib import Network, images_match, make_scene, reference_render

# (name, output format, make_scene extras, frames): 208 frames in all.
SCENES = [
    ("png_default", "PNG", (), 40),
    ("exr_nodither", "OPEN_EXR", ("--no-dither",), 40),
    ("jpeg_noadaptive", "JPEG", ("--no-adaptive",), 40),
    ("png_plain_half", "PNG", ("--no-dither", "--no-adaptive", "--percentage", "50"), 40),
]
SMALL_JOBS = 8  # jobs of 6 frames each: every one starts cold Blenders
SMALL_FRAMES = 6


class HonestWorkersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = Network()
        cls.scene_dir = os.path.join(cls.net.dir, "scenes")
        os.makedirs(cls.scene_dir)
        cls.scenes = {}
        for name, fmt, extra, frames in SCENES:
            width, height = (192, 144) if "--percentage" in extra else (96, 72)
            cls.scenes[name] = make_scene(os.path.join(cls.scene_dir, name + ".blend"), frames=frames, width=width,
                                          height=height, samples=8, fmt=fmt, extra=extra)
        cls.small = make_scene(os.path.join(cls.scene_dir, "small.blend"), frames=SMALL_FRAMES, width=96, height=72,
                               samples=8)
        # --trust-bound 0: every output gets layer 2 however long the worker's streak.
        cls.net.start_manager(extra=("--trust-bound", "0"))
        cls.token = cls.net.user_token("alice")
        cls.net.start_node("worker", "worker-1thread", extra=("--threads", "1"))
        cls.net.start_node("worker", "worker-2threads", extra=("--threads", "2"))
        cls.net.start_node("verifier", "verifier")

    @classmethod
    def tearDownClass(cls):
        cls.net.cleanup()

    def submit(self, scene, frames, chunk):
        r = self.net.cli(self.token, "submit", scene, "--frames", frames, "--chunk", str(chunk))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return int(r.stdout.split()[0])

    def test_no_honest_frame_is_rejected(self):
        jobs = {}
        for name, _, _, frames in SCENES:
            jobs[name] = self.submit(self.scenes[name], "1-%d" % frames, 4)
        small_jobs = [self.submit(self.small, "1-%d" % SMALL_FRAMES, 1) for _ in range(SMALL_JOBS)]

        checked = 0
        rejected = []
        threads_seen = set()
        for job_id in list(jobs.values()) + small_jobs:
            job = self.net.wait_job(self.token, job_id, timeout=900)
            self.assertEqual(job["state"], "completed", job.get("message"))
            for f in job["frames"]:
                for a in f["attempts"]:
                    if a["verdict"] == "rejected":
                        rejected.append((job_id, f["frame"], a["worker"], a["verdict_detail"]))
                    if a["method"].get("layers") == 2:
                        checked += 1
                        threads_seen.add(a["worker"])
                self.assertEqual(f["verdict"], "accepted", (job_id, f))
                self.assertEqual(f["output"]["method"].get("layers"), 2, (job_id, f))
                self.assertTrue(f["output"]["credited"], (job_id, f))
        self.assertEqual(rejected, [], "honest frames rejected")
        self.assertGreaterEqual(checked, 200)
        # Both thread counts rendered checked frames.
        self.assertEqual(threads_seen, {"worker-1thread", "worker-2threads"})

        # Cold and warm: each job started a Blender per worker that took part (cold first frame); most frames
        # rendered in a process that had already rendered one (warm).
        starts = 0
        for worker in ("worker-1thread", "worker-2threads"):
            starts += len(glob.glob(os.path.join(self.net.node_dir(worker), "jobs", "*", "blender.log")))
        self.assertGreaterEqual(starts, SMALL_JOBS + len(SCENES))
        self.assertLess(starts, checked / 2)

        # What was delivered is what plain Blender renders (a sample of each scene).
        for name, fmt, _, _ in SCENES:
            out = os.path.join(self.net.dir, "out-" + name)
            r = self.net.cli(self.token, "download", str(jobs[name]), out)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            ref = os.path.join(self.net.dir, "ref-" + name)
            reference_render(self.scenes[name], ref, 1, 3)
            ext = {"PNG": "png", "OPEN_EXR": "exr", "JPEG": "jpg"}[fmt]
            for frame in (1, 2, 3):
                got = os.path.join(out, "%s_%04d.%s" % (name, frame, ext))
                ok, text = images_match(got, os.path.join(ref, "ref_%04d.%s" % (frame, ext)))
                self.assertTrue(ok, "%s frame %d differs from blender -b -a:\n%s" % (name, frame, text))


if __name__ == "__main__":
    unittest.main()
