"""Issue #17: a worker's devices. Started with the recorded answers of a machine with two NVIDIA cards
(tests/data/devices/nvidia-2.json; this machine has no GPU, so their renders are simulated on the CPU), the worker
registers both cards as slots and renders two tasks at once, each Blender told one device; the outputs of each
card are of its own determinism class and checked by a verifier of that class; every frame equals plain
Blender's. Without recorded answers, this machine's worker finds no GPU and lends its CPU."""

import os
import re
import subprocess
import time
import unittest

from netlib import INFERIX, Network, images_match, make_scene, reference_render

SOURCE = os.environ.get("INFERIX_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TWO_GPUS = os.path.join(SOURCE, "tests", "data", "devices", "nvidia-2.json")
FRAMES = 6


class DeviceSlotsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = Network()
        scene_dir = os.path.join(cls.net.dir, "scene")
        os.makedirs(scene_dir)
        cls.scene = make_scene(os.path.join(scene_dir, "slots.blend"), frames=FRAMES, width=64, height=48,
                               samples=16)
        cls.net.start_manager()
        cls.token = cls.net.user_token("alice")
        answers = ("--device-answers", TWO_GPUS)
        cls.net.start_node("worker", "gpus", extra=(*answers, "--device", "cuda:0,cuda:1", "--threads", "1"))
        # One verifier per card: a card's outputs are checked only on its own model.
        cls.net.start_node("verifier", "v4090", extra=(*answers, "--device", "cuda:0"))
        cls.net.start_node("verifier", "v3090", extra=(*answers, "--device", "cuda:1"))

    @classmethod
    def tearDownClass(cls):
        cls.net.cleanup()

    def test_two_cards_render_two_tasks_at_once_each_on_its_own_device(self):
        r = self.net.cli(self.token, "submit", self.scene, "--frames", "1-%d" % FRAMES, "--chunk", "1")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job_id = int(r.stdout.split()[0])

        # The workers page shows the node's two slots, and at some moment a task on each.
        both = None
        deadline = time.time() + 300
        while time.time() < deadline and both is None:
            status, body = self.net.call("GET", "/api/v1/workers", self.token)
            self.assertEqual(status, 200, body)
            node = next(n for n in body["nodes"] if n.get("name") == "gpus")
            self.assertEqual(node["slots"], ["cuda:0", "cuda:1"])
            slots = sorted(t["slot"] for t in node["tasks"] if t["kind"] == "render")
            if slots == ["cuda:0", "cuda:1"]:
                both = node["tasks"]
            time.sleep(0.1)
        self.assertIsNotNone(both, "the worker never held a task on each card at once")

        job = self.net.wait_job(self.token, job_id, timeout=600)
        self.assertEqual(job["state"], "completed", job.get("message"))
        classes = set()
        for f in job["frames"]:
            self.assertEqual(f["verdict"], "accepted", f)
            classes.add(f["output"].get("class", ""))
        self.assertEqual(classes, {"blender %s / x86_64 / cuda NVIDIA GeForce RTX 4090" % self.version(),
                                   "blender %s / x86_64 / cuda NVIDIA GeForce RTX 3090" % self.version()}, job)

        # Each slot's Blender was told its one card (the driver's read-back, logged by the worker).
        log = self.net.log("gpus")
        told = set(re.findall(r"renders on CUDA:(CUDA_NVIDIA GeForce RTX \d+_[0-9a-f:]+)", log))
        self.assertEqual(told, {"CUDA_NVIDIA GeForce RTX 4090_0000:01:00", "CUDA_NVIDIA GeForce RTX 3090_0000:41:00"},
                         log[-3000:])
        # Each slot keeps its jobs in a folder of its own.
        for slot in ("cuda-0", "cuda-1"):
            self.assertTrue(os.path.isdir(os.path.join(self.net.node_dir("gpus"), "slots", slot, "jobs")), slot)

        # Every frame equals plain Blender's.
        reference = os.path.join(self.net.dir, "reference")
        reference_render(self.scene, reference, 1, FRAMES)
        out_dir = os.path.join(self.net.dir, "out")
        r = self.net.cli(self.token, "download", str(job_id), out_dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for frame in range(1, FRAMES + 1):
            got = os.path.join(out_dir, "slots_%04d.png" % frame)
            self.assertTrue(os.path.exists(got), got)
            ok, text = images_match(got, os.path.join(reference, "ref_%04d.png" % frame))
            self.assertTrue(ok, "frame %d differs from blender -b -a:\n%s" % (frame, text))

    def version(self):
        out = subprocess.run(["blender", "--version"], capture_output=True, text=True).stdout
        return out.splitlines()[0].replace("Blender ", "").strip()


class GpuMemoryTest(unittest.TestCase):
    """A job requiring 16 GiB of GPU memory: no CPU worker takes it, and its user is told why, at submit time and
    in its status, until a worker with such a card joins and renders it."""

    def setUp(self):
        self.net = Network()
        os.makedirs(os.path.join(self.net.dir, "scene"))
        self.scene = make_scene(os.path.join(self.net.dir, "scene", "big.blend"), frames=2, width=48, height=36,
                                samples=8)
        self.net.start_manager()
        self.token = self.net.user_token("alice")
        self.net.start_node("worker", "cpu-worker")

    def tearDown(self):
        self.net.cleanup()

    def test_it_waits_for_a_card_with_enough_memory_and_says_so(self):
        time.sleep(3)  # the CPU worker registered and waits for work
        r = self.net.cli(self.token, "submit", self.scene, "--frames", "1-2", "--chunk", "1", "--min-gpu-memory",
                         "16")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job_id = int(r.stdout.split()[0])
        self.assertIn("no registered worker can render it: it requires a GPU with at least 16 GiB of memory",
                      r.stderr)
        self.assertIn("the workers lend: cpu", r.stderr)
        time.sleep(4)  # long enough for the idle CPU worker to have claimed it, were it allowed to
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % job_id, self.token)
        self.assertEqual(status, 200, job)
        self.assertEqual(job["state"], "queued", job)
        self.assertIn("requires a GPU with at least 16 GiB", job["waiting_for"])
        self.assertEqual(job["requirements"]["min_gpu_memory_bytes"], 16 << 30)
        shown = self.net.cli(self.token, "status", str(job_id))
        self.assertIn("no registered worker can render it", shown.stdout)
        self.assertNotIn("task", self.net.log("cpu-worker").split("ready;")[-1])

        # A machine with a 24 GiB card joins (recorded answers), and a verifier of its class.
        answers = ("--device-answers", TWO_GPUS, "--device", "optix:0")
        self.net.start_node("worker", "gpu-worker", extra=answers)
        self.net.start_node("verifier", "v4090", extra=answers)
        job = self.net.wait_job(self.token, job_id, timeout=300)
        self.assertEqual(job["state"], "completed", job.get("message"))
        self.assertEqual(job["waiting_for"], "")
        for f in job["frames"]:
            self.assertEqual(f["output"]["worker"], "gpu-worker", f)
            self.assertTrue(f["output"]["class"].endswith("/ optix NVIDIA GeForce RTX 4090"), f)


class HeldBackTest(unittest.TestCase):
    """Issue #17: a worker slot whose class no verifier checks gets no render work (its frames would wait in
    `verifying` for ever) while a CPU worker with a CPU verifier renders the job; the operator sees why on the
    workers page and in `inferix admin checks`, and a job only that slot could render says so. Once a verifier of
    its class enrolls, the held work flows to it."""

    def setUp(self):
        self.net = Network()
        os.makedirs(os.path.join(self.net.dir, "scene"))
        self.scene = make_scene(os.path.join(self.net.dir, "scene", "held.blend"), frames=3, width=48, height=36,
                                samples=8)
        self.net.start_manager(["--long-poll-ms", "5000"])
        self.token = self.net.user_token("alice")
        self.answers = ("--device-answers", TWO_GPUS, "--device", "optix:0")  # the RTX 4090
        self.net.start_node("worker", "gpu-worker", extra=(*self.answers, "--threads", "1"))
        self.net.start_node("worker", "cpu-worker", extra=("--threads", "1"))
        self.net.start_node("verifier", "cpu-verifier")

    def tearDown(self):
        self.net.cleanup()

    def submit(self, *extra):
        r = self.net.cli(self.token, "submit", self.scene, "--chunk", "1", *extra)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return int(r.stdout.split()[0])

    def test_a_slot_of_a_class_without_verifier_waits_until_one_enrolls(self):
        job = self.net.wait_job(self.token, self.submit("--frames", "1-3"), timeout=300)
        self.assertEqual(job["state"], "completed", job.get("message"))
        self.assertEqual({f["output"]["worker"] for f in job["frames"]}, {"cpu-worker"})
        self.assertNotIn("task", self.net.log("gpu-worker").split("ready;")[-1])

        # The operator sees why: on the workers page, and in `inferix admin checks`.
        status, body = self.net.call("GET", "/api/v1/workers", self.token)
        self.assertEqual(status, 200, body)
        nodes = {n["name"]: n for n in body["nodes"]}
        self.assertRegex(nodes["gpu-worker"]["waiting_for"],
                         r'no verifier of class "blender [^"]+ / optix NVIDIA GeForce RTX 4090" is online')
        self.assertEqual(nodes["cpu-worker"]["waiting_for"], "")
        checks = subprocess.run([INFERIX, "admin", "checks", "--data", self.net.manager_dir], check=True,
                                capture_output=True, text=True).stdout
        self.assertRegex(checks, r'class "blender [^"]+ / optix NVIDIA GeForce RTX 4090": no verifier of this '
                                 r'class, so the renders of its 1 worker\(s\) in this class are held back')

        # A job only a GPU may render waits, and says why.
        gpu_job = self.submit("--frames", "1-2", "--require-device", "gpu")
        status, waiting = self.net.call("GET", "/api/v1/jobs/%d" % gpu_job, self.token)
        self.assertEqual(status, 200, waiting)
        self.assertEqual(waiting["state"], "queued", waiting)
        self.assertIn("its frames are held back: no verifier of class", waiting["waiting_for"])

        # A verifier of the card's class enrolls: the held work flows to the card.
        self.net.start_node("verifier", "v4090", extra=self.answers)
        job = self.net.wait_job(self.token, gpu_job, timeout=300)
        self.assertEqual(job["state"], "completed", job.get("message"))
        for f in job["frames"]:
            self.assertEqual((f["output"]["worker"], f["output"]["verifier"], f["verdict"]),
                             ("gpu-worker", "v4090", "accepted"), f)
            self.assertTrue(f["output"]["class"].endswith("/ optix NVIDIA GeForce RTX 4090"), f)
        status, body = self.net.call("GET", "/api/v1/workers", self.token)
        self.assertEqual({n["name"]: n for n in body["nodes"]}["gpu-worker"]["waiting_for"], "")


class ThisMachineTest(unittest.TestCase):
    def test_this_machine_lends_its_cpu_and_names_what_it_has(self):
        r = subprocess.run([INFERIX, "worker", "--list-devices"], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"lent by --device auto:\n  cpu ")
        r = subprocess.run([INFERIX, "worker", "--list-devices", "--device", "cuda:0"], capture_output=True,
                           text=True, timeout=120)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("this machine has no device cuda:0", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
