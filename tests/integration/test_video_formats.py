"""Issue #3: videos (ordered frames, odd sizes, the scene's frame rate), previews, and PNG/EXR/JPEG end to end."""

import json
import os
import re
import subprocess
import unittest

from netlib import Network, make_scene


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames,width,height,r_frame_rate,codec_name", "-of", "json", path],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["streams"][0]


def mean_error(a, b):
    p = subprocess.run(["idiff", a, b], capture_output=True, text=True)
    m = re.search(r"Mean error = ([0-9.e+-]+)", p.stdout)
    return float(m.group(1)) if m else float("inf")


class VideoAndFormatsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = Network()
        cls.scenes = os.path.join(cls.net.dir, "scenes")
        os.makedirs(cls.scenes)
        cls.net.start_manager()
        cls.token = cls.net.user_token("frank")
        cls.net.start_node("worker", "worker-a", extra=("--threads", "1"))
        cls.net.start_node("worker", "worker-b", extra=("--threads", "1"))
        cls.net.start_node("verifier", "verifier")

    @classmethod
    def tearDownClass(cls):
        cls.net.cleanup()

    def render(self, scene, frames, fmt=None, out_name="out"):
        out = os.path.join(self.net.dir, out_name)
        args = ["submit", scene, "--frames", frames, "--chunk", "3", "--wait", "--download", out, "--json"]
        if fmt:
            args += ["--format", fmt]
        r = self.net.cli(self.token, *args)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        result = json.loads(r.stdout)
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % result["job_id"], self.token)
        return out, job

    def assert_all_accepted_with_previews(self, job):
        self.assertEqual(job["state"], "completed")
        for f in job["frames"]:
            self.assertEqual(f["verdict"], "accepted", f)
        status, outputs = self.net.call("GET", "/api/v1/jobs/%d/outputs" % job["id"], self.token)
        self.assertEqual(len(outputs["outputs"]), len(job["frames"]))
        return outputs

    def test_ten_frames_give_a_ten_frame_video(self):
        scene = make_scene(os.path.join(self.scenes, "ten.blend"), frames=10, samples=8)
        out, job = self.render(scene, "1-10")
        self.assert_all_accepted_with_previews(job)
        info = probe(os.path.join(out, "ten.mp4"))
        self.assertEqual(info["codec_name"], "h264")
        self.assertEqual(int(info["nb_read_frames"]), 10)
        self.assertEqual(info["r_frame_rate"], "24/1")
        self.assertEqual((info["width"], info["height"]), (160, 120))

    def test_stepped_frames_play_in_order_at_the_scene_rate(self):
        scene = make_scene(os.path.join(self.scenes, "stepped.blend"), frames=9, samples=8)
        out, job = self.render(scene, "1-9x2", out_name="stepped")
        self.assertEqual([f["frame"] for f in job["frames"]], [1, 3, 5, 7, 9])
        mp4 = os.path.join(out, "stepped.mp4")
        self.assertEqual(int(probe(mp4)["nb_read_frames"]), 5)
        decoded = os.path.join(self.net.dir, "decoded")
        os.makedirs(decoded)
        subprocess.run(["ffmpeg", "-v", "error", "-i", mp4, os.path.join(decoded, "v_%02d.png")], check=True)
        frames = [os.path.join(out, "stepped_%04d.png" % n) for n in (1, 3, 5, 7, 9)]
        for i in range(5):
            errors = [mean_error(os.path.join(decoded, "v_%02d.png" % (i + 1)), f) for f in frames]
            self.assertEqual(errors.index(min(errors)), i, errors)

    def test_odd_sized_scene_still_gives_a_video(self):
        scene = make_scene(os.path.join(self.scenes, "odd.blend"), frames=3, width=161, height=121, samples=8)
        out, job = self.render(scene, "1-3", out_name="odd")
        self.assert_all_accepted_with_previews(job)
        info = probe(os.path.join(out, "odd.mp4"))
        self.assertEqual(int(info["nb_read_frames"]), 3)
        self.assertEqual((info["width"], info["height"]), (162, 122))

    def test_exr_and_jpeg_jobs_are_verified_and_previewed(self):
        scene = make_scene(os.path.join(self.scenes, "formats.blend"), frames=3, samples=8)
        for fmt, ext, oiio_name in (("EXR", "exr", "openexr"), ("JPEG", "jpg", "jpeg")):
            out, job = self.render(scene, "1-3", fmt=fmt, out_name="out-" + ext)
            outputs = self.assert_all_accepted_with_previews(job)
            for n in (1, 2, 3):
                info = subprocess.run(["oiiotool", "--info", "-v", os.path.join(out, "formats_%04d.%s" % (n, ext))],
                                      capture_output=True, text=True).stdout
                self.assertIn(oiio_name, info.lower())
            self.assertEqual(int(probe(os.path.join(out, "formats.mp4"))["nb_read_frames"]), 3)
            # Every delivered frame gets a small display-referred PNG preview.
            for o in outputs["outputs"]:
                deadline_ok = o["preview_url"] is not None
                if not deadline_ok:
                    status, again = self.net.call("GET", "/api/v1/jobs/%d/outputs" % job["id"], self.token)
                    o = [x for x in again["outputs"] if x["frame"] == o["frame"]][0]
                self.assertIsNotNone(o["preview_url"], o)
                path = os.path.join(self.net.dir, "preview-%s-%d.png" % (ext, o["frame"]))
                import urllib.request
                with urllib.request.urlopen(self.net.url + o["preview_url"]) as r, open(path, "wb") as f:
                    f.write(r.read())
                info = subprocess.run(["oiiotool", "--info", path], capture_output=True, text=True).stdout
                self.assertIn("160 x  120, 3 channel", info.replace("160 x 120", "160 x  120"))


if __name__ == "__main__":
    unittest.main()
