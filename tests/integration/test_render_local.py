"""Issue #2: `inferix render` runs a whole local network (manager, workers, verifier) and delivers every frame."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from netlib import INFERIX, images_match, make_scene, reference_render


class RenderLocalTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="inferix-render-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_render_delivers_every_frame_and_the_video(self):
        os.makedirs(os.path.join(self.dir, "project"))
        scene = make_scene(os.path.join(self.dir, "project", "local.blend"), frames=4, samples=8)
        out = os.path.join(self.dir, "out")
        state = os.path.join(self.dir, "state")
        r = subprocess.run([INFERIX, "render", scene, "--frames", "1-4", "-o", out, "--workers", "2", "--state",
                            state, "--json"], capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        summary = json.loads(r.stdout)
        self.assertEqual(summary["state"], "completed")
        self.assertEqual(summary["delivered"], 4)
        self.assertEqual(summary["verdicts"], {"accepted": 4})
        self.assertGreater(summary["render_seconds"], 0)
        self.assertGreater(summary["verify_seconds"], 0)
        self.assertTrue(os.path.exists(os.path.join(out, "local.mp4")))
        ref = os.path.join(self.dir, "ref")
        reference_render(scene, ref, 1, 4)
        for n in range(1, 5):
            ok, text = images_match(os.path.join(out, "local_%04d.png" % n), os.path.join(ref, "ref_%04d.png" % n))
            self.assertTrue(ok, text)
        # Its own manager, two workers and a verifier ran, each with its own state and log.
        logs = {}
        for name in ("manager", "local-worker-1", "local-worker-2", "local-verifier"):
            with open(os.path.join(state, name + ".log"), errors="replace") as f:
                logs[name] = f.read()
        # The nodes started a spare Blender while preflight ran, and the job opened in it (the frames above
        # match plain Blender's, and the verifier's checks of them passed).
        spares = [n for n in logs if "job 1 opened in the spare Blender" in logs[n]]
        self.assertIn("local-verifier", spares, logs["local-verifier"][-3000:])
        self.assertTrue([n for n in spares if n.startswith("local-worker")], logs["local-worker-1"][-3000:])

    def test_version_names_the_commit_and_the_blender(self):
        r = subprocess.run([INFERIX, "--version"], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Built from this checkout: the commit it was built from (and -dirty with uncommitted changes).
        self.assertRegex(r.stdout, r"^inferix \d+\.\d+\.\d+ \(commit [0-9a-f]{12}(-dirty)?\)\n")
        blender = shutil.which("blender")
        self.assertIn("blender: %s, Blender " % os.path.realpath(blender), r.stdout)
        self.assertRegex(r.stdout, r"Blender \d+\.\d+(\.\d+)?, denoisers: ")
        r = subprocess.run([INFERIX, "--version"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, PATH="/nonexistent"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("blender: not found on PATH", r.stdout)

    def test_render_fails_with_the_cause_when_preflight_refuses(self):
        bad = os.path.join(self.dir, "notes.blend")
        with open(bad, "w") as f:
            f.write("not a scene")
        r = subprocess.run([INFERIX, "render", bad, "--frames", "1", "-o", os.path.join(self.dir, "o")],
                           capture_output=True, text=True, timeout=120)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("[not_blend]", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "o")))


if __name__ == "__main__":
    unittest.main()
