"""Issue #4: eight ways of cheating, each by a rogue worker that speaks the real protocol (rogue_node.py). Every
cheat is caught: the rogue's outputs are rejected, it is banned within the job (and told so), the job completes,
and every delivered frame equals plain `blender -b -a` of the scene.

One manager and one verifier serve all the cheats; each cheat gets its own job (8 frames, one per task) and a fresh
rogue, which claims first. A rejection discards the rogue's other undelivered outputs (they are still checked,
and their rejections count towards the ban); the honest worker starts once the rogue has been refused (or has
claimed HEAD_START tasks, or stalls), and stops when the job is done. A ban ends the rogue's leases at once; the
lease is short anyway, for a rogue that stops answering.

The verifier draws 64 px regions: on these 160x120 frames every region then overlaps the tampered rectangle (10%
of the frame, centred), so catching that cheat is certain rather than likely.

INFERIX_CHEATS_NO_BAN=1 leaves the ban out of the assertions (for a manager that does not ban yet): the rogue is
then stopped with SIGTERM once the job has completed.
"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

from netlib import HERE, Network, images_match, make_scene, reference_render

FRAMES = 8
CHUNK = 1
HEAD_START = FRAMES - 1  # tasks the rogue may claim before the honest worker starts, if it is not refused first
EXPECT_BAN = os.environ.get("INFERIX_CHEATS_NO_BAN", "") in ("", "0")
# The format each cheat's job asks for: every cheat in some format, every format by some cheats.
FORMATS = {"PNG": ("PNG", "png"), "EXR": ("OPEN_EXR", "exr"), "JPEG": ("JPEG", "jpg")}


class CheatsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.started = time.time()
        probe = subprocess.run([sys.executable, "-c", "import cryptography"], capture_output=True, text=True)
        if probe.returncode != 0:
            raise RuntimeError("rogue_node.py signs with the cryptography package: install python3-cryptography\n"
                               + probe.stderr)
        cls.net = Network(lease_ms=6000, heartbeat_ms=1000)
        try:
            cls.scene_dir = os.path.join(cls.net.dir, "scenes")
            os.makedirs(cls.scene_dir)
            cls.scenes = {}
            cls.refs = {}
            for fmt, (blender_fmt, ext) in FORMATS.items():
                scene = make_scene(os.path.join(cls.scene_dir, "shot_%s.blend" % ext), frames=FRAMES, samples=16,
                                   fmt=blender_fmt)
                ref = os.path.join(cls.net.dir, "ref-" + ext)
                reference_render(scene, ref, 1, FRAMES)
                cls.scenes[fmt] = scene
                cls.refs[fmt] = ref
            # Another scene for the other-scene cheat: the same size, another animation (it ends at frame 2) and
            # another sample count, so no frame of it is a frame of the job's scene.
            cls.other_scene = make_scene(os.path.join(cls.scene_dir, "other.blend"), frames=2, samples=9)
            cls.net.start_manager()
            cls.token = cls.net.user_token("mallory-victim")
            cls.net.start_node("verifier", "verifier", extra=("--region-size", "64"))
            cls.honest_token = cls.net.enroll("worker")
            cls.honest = None
        except BaseException:
            cls.net.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.cleanup()
        sys.stderr.write("\ntest_cheats: %.1f s in all\n" % (time.time() - cls.started))

    # --- the honest worker, started only once the rogue holds a task ---

    def start_honest(self):
        cls = type(self)
        args = ["worker", "--manager", self.net.url, "--data", self.net.node_dir("honest"), "--name", "honest",
                "--blender", "blender"]
        if cls.honest_token:
            args += ["--token", cls.honest_token]  # first start: enrolls; later starts reuse its credentials
            cls.honest_token = None
        cls.honest = self.net.spawn("honest", args)

    def stop_honest(self):
        p, type(self).honest = type(self).honest, None
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    # --- the rogue ---

    def start_rogue(self, cheat):
        name = "rogue-" + cheat
        err = open(os.path.join(self.net.dir, name + ".err"), "ab")
        out = open(os.path.join(self.net.dir, name + ".out"), "wb")
        cmd = [sys.executable, os.path.join(HERE, "rogue_node.py"), "--manager", self.net.url, "--token",
               self.net.enroll("worker"), "--data", self.net.node_dir(name), "--cheat", cheat, "--name", name]
        if cheat == "other-scene":
            cmd += ["--other-scene", self.other_scene]
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        err.close()
        out.close()
        p.inferix_name = name
        self.net.procs.append(p)
        return p, name

    def read(self, name, ext):
        try:
            with open(os.path.join(self.net.dir, name + ext), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_first_claim(self, rogue, name, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "claimed task" in self.read(name, ".err"):
                return
            if rogue.poll() is not None:
                break
            time.sleep(0.1)
        self.fail("the rogue did not claim a task (exit %s):\n%s" % (rogue.poll(), self.read(name, ".err")[-4000:]))

    def wait_head_start(self, rogue, name, timeout=180):
        """Until the rogue is out (banned), has claimed HEAD_START tasks, or has claimed nothing for 20 s."""
        deadline = time.time() + timeout
        claims, last = 0, time.time()
        while time.time() < deadline and rogue.poll() is None:
            n = self.read(name, ".err").count("claimed task")
            if n != claims:
                claims, last = n, time.time()
            if claims >= HEAD_START or time.time() - last > 20:
                return
            time.sleep(0.1)

    # --- one cheat ---

    def check_cheat(self, cheat, fmt):
        ext = FORMATS[fmt][1]
        scene = self.scenes[fmt]
        started = time.time()
        r = self.net.cli(self.token, "submit", scene, "--frames", "1-%d" % FRAMES, "--chunk", str(CHUNK), "--name",
                         "cheat-" + cheat)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job_id = int(r.stdout.split()[0])
        rogue, name = self.start_rogue(cheat)
        try:
            self.wait_first_claim(rogue, name)
            t_claim = time.time()
            self.wait_head_start(rogue, name)
            t_honest = time.time()
            self.start_honest()
            job = self.net.wait_job(self.token, job_id, timeout=300)
            t_done = time.time()
            status, workers = self.net.call("GET", "/api/v1/workers", self.token)
            self.assertEqual(status, 200, workers)
            if EXPECT_BAN:
                try:
                    rc = rogue.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    rc = None
            else:
                rogue.send_signal(signal.SIGTERM)
                rc = rogue.wait(timeout=30)
        finally:
            self.stop_honest()
            if rogue.poll() is None:
                rogue.kill()
                rogue.wait()
        rogue_log = self.read(name, ".err")
        context = "\nrogue log:\n%s\nmanager log (tail):\n%s" % (rogue_log[-6000:], self.net.log("manager")[-3000:])
        self.assertEqual(job["state"], "completed", json.dumps(job)[:3000] + context)

        # The rogue was caught: its outputs were rejected, never delivered (replay's first frame is honest).
        attempts = [dict(a, frame=f["frame"]) for f in job["frames"] for a in f["attempts"]]
        mine = [a for a in attempts if a["worker"] == name]
        rejected = [a for a in mine if a["verdict"] == "rejected"]
        passed = [a for a in mine if a["verdict"] in ("accepted", "trusted")]
        self.assertTrue(rejected, json.dumps(mine, indent=1) + context)
        if cheat == "replay":
            # Only the frame it rendered honestly (the first it reported) may pass.
            self.assertLessEqual(len(passed), 1, json.dumps(mine, indent=1))
            if passed:
                self.assertEqual(passed[0]["output_id"], min(a["output_id"] for a in mine), json.dumps(mine, indent=1))
        else:
            self.assertEqual(passed, [], json.dumps(mine, indent=1) + context)
        # Every attempt not by the rogue was the honest worker's, and none of them was rejected.
        others = [a for a in attempts if a["worker"] != name]
        self.assertTrue(all(a["worker"] == "honest" for a in others), json.dumps(others, indent=1))
        self.assertEqual([a for a in others if a["verdict"] == "rejected"], [], json.dumps(others, indent=1))

        # The rogue is banned: the manager refused it (exit 3 with a JSON line) and lists it as banned.
        node = [n for n in workers["nodes"] if n["name"] == name]
        self.assertEqual(len(node), 1, workers)
        self.assertGreaterEqual(node[0]["rejected"], 1, node)
        if EXPECT_BAN:
            self.assertTrue(node[0]["banned"], "the rogue was not banned by the time the job completed: %s%s"
                            % (node, context))
            self.assertEqual(rc, 3, "rogue exit status %s%s" % (rc, context))
            line = self.read(name, ".out").strip().splitlines()
            self.assertTrue(line, "the rogue printed nothing on stdout")
            verdict = json.loads(line[-1])
            self.assertIs(verdict["banned"], True, verdict)
            self.assertTrue(verdict["reason"], verdict)
        else:
            self.assertEqual(rc, 0, context)

        # The job completed with every frame delivered and equal to plain Blender.
        self.assertEqual([f["frame"] for f in job["frames"]], list(range(1, FRAMES + 1)))
        for f in job["frames"]:
            self.assertEqual(f["state"], "delivered", f)
            self.assertIn(f["verdict"], ("accepted", "trusted"), f)
            if not (cheat == "replay" and passed and f["output"]["output_id"] == passed[0]["output_id"]):
                self.assertEqual(f["output"]["worker"], "honest", f)
        out = os.path.join(self.net.dir, "out-" + cheat)
        r = self.net.cli(self.token, "download", str(job_id), out)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        stem = os.path.splitext(os.path.basename(scene))[0]
        for frame in range(1, FRAMES + 1):
            got = os.path.join(out, "%s_%04d.%s" % (stem, frame, ext))
            self.assertTrue(os.path.exists(got), got)
            ok, text = images_match(got, os.path.join(self.refs[fmt], "ref_%04d.%s" % (frame, ext)))
            self.assertTrue(ok, "%s: frame %d differs from blender -b -a:\n%s" % (cheat, frame, text))
        caught_by = sorted({a["verdict_detail"].split(";")[0][:90] for a in rejected})
        sys.stderr.write("\n  %s (%s): %d rogue outputs, %d rejected (%s), %s; %.1f s (rogue claims after %.1f s, "
                         "honest worker after %.1f s, job completed after %.1f s)\n" % (
                             cheat, fmt, len(mine), len(rejected), "; ".join(caught_by),
                             "banned" if EXPECT_BAN else "no ban expected", time.time() - started,
                             t_claim - started, t_honest - started, t_done - started))

    def test_noise(self):
        self.check_cheat("noise", "EXR")

    def test_black(self):
        self.check_cheat("black", "JPEG")

    def test_quarter_samples(self):
        self.check_cheat("quarter", "PNG")

    def test_other_frame(self):
        self.check_cheat("other-frame", "EXR")

    def test_other_scene(self):
        self.check_cheat("other-scene", "PNG")

    def test_tamper(self):
        self.check_cheat("tamper", "PNG")

    def test_replay(self):
        self.check_cheat("replay", "JPEG")

    def test_hash_mismatch(self):
        self.check_cheat("hash-mismatch", "EXR")


if __name__ == "__main__":
    unittest.main()
