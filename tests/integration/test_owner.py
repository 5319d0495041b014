"""Issue #17: the machine stays the owner's. A worker watching its owner's load hands its task back once a real
CPU-hungry program (not the worker's) runs for --busy-seconds, within the documented bound, and another worker
completes the job with every frame equal to plain Blender's. `inferix worker pause|resume|drain` act on a running
worker; its hours keep it idle outside them; the manager's workers page and `inferix worker status` say why a
worker takes no work."""

import datetime
import json
import os
import subprocess
import sys
import time
import unittest

from netlib import INFERIX, Network, images_match, make_scene, reference_render

BUSY_SECONDS = 2
# The documented bound (docs/operations.md, "The owner's machine"): busy seconds, then at most a second to the
# next sample and two to stop Blender and tell the manager. The test allows more for a loaded CI machine, and
# fails on a worker that would wait for its task to end (about a minute here) or for its lease to expire.
HAND_BACK_BOUND_S = BUSY_SECONDS + 3
ALLOWED_S = HAND_BACK_BOUND_S + 12


def node(net, token, name):
    status, body = net.call("GET", "/api/v1/workers", token)
    assert status == 200, body
    return next((n for n in body["nodes"] if n.get("name") == name), {"state": "not registered", "tasks": []})


def wait_for(what, check, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def hog():
    """A CPU-hungry program of the owner's: one busy process per core, started by the test (not a descendant of
    any worker)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]


class OwnerBusyTest(unittest.TestCase):
    def setUp(self):
        self.net = Network()
        os.makedirs(os.path.join(self.net.dir, "scene"))
        # Slow enough frames (about 2 s each with one thread) that the task is in hand when the owner comes.
        self.scene = make_scene(os.path.join(self.net.dir, "scene", "owner.blend"), frames=6, width=160, height=90,
                                samples=64)
        self.net.start_manager()
        self.token = self.net.user_token("alice")
        self.hogs = []
        self.addCleanup(self.stop_hogs)

    def tearDown(self):
        self.net.cleanup()

    def stop_hogs(self):
        for p in self.hogs:
            p.kill()
            p.wait()
        self.hogs = []

    def test_a_worker_hands_its_task_back_when_its_owner_needs_the_machine(self):
        # A verifier of its class, without which its work is held back (its checks are load from another program
        # too, but begin only with its first frame). Quiet for 20 s, the worker takes work again (a load from
        # other tests on this machine may pause it for a while before the owner's).
        self.net.start_node("verifier", "v")
        self.net.start_node("worker", "home", extra=("--threads", "1", "--busy-cpu", "40", "--busy-seconds",
                                                     str(BUSY_SECONDS), "--quiet-seconds", "20"))
        r = self.net.cli(self.token, "submit", self.scene, "--frames", "1-6", "--chunk", "6")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job_id = int(r.stdout.split()[0])
        held = wait_for("the home worker to hold the task", lambda: node(self.net, self.token, "home")["tasks"],
                        timeout=180)
        self.assertEqual(held[0]["frames"], [1, 2, 3, 4, 5, 6])

        self.hogs = hog()
        started = time.time()
        home = wait_for("the task handed back",
                        lambda: (lambda n: n if not n["tasks"] and n["state"] == "owner busy" else None)(
                            node(self.net, self.token, "home")), timeout=120)
        took = time.time() - started
        print("the task was handed back %.1f s after the owner's load began (bound %d s)" % (took, HAND_BACK_BOUND_S),
              file=sys.stderr)
        self.assertLessEqual(took, ALLOWED_S, "handed back %.1f s after the owner's load began" % took)
        self.assertIn("its owner is using the machine: other programs use", home["why"])
        log = self.net.log("home")
        self.assertIn("handed back: its owner is using the machine", log)

        # The worker's own view says the same, and keeps taking no work.
        status = subprocess.run([INFERIX, "worker", "status", "--data", self.net.node_dir("home")],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(status.returncode, 0, status.stdout + status.stderr)
        self.assertIn("worker: owner busy", status.stdout)
        self.assertIn("why: its owner is using the machine", status.stdout)
        self.assertIn("last handed back: task", status.stdout)
        self.stop_hogs()

        # The frames not rendered went back to the queue with no failure counted, and another worker ends the job.
        self.net.start_node("worker", "studio")
        job = self.net.wait_job(self.token, job_id, timeout=600)
        self.assertEqual(job["state"], "completed", job.get("message"))
        by = [f["output"]["worker"] for f in job["frames"]]
        self.assertIn("studio", by)
        for f in job["frames"]:
            self.assertEqual(f["verdict"], "accepted", f)
            self.assertFalse(f.get("errors"), f)
        reference = os.path.join(self.net.dir, "reference")
        reference_render(self.scene, reference, 1, 6)
        out_dir = os.path.join(self.net.dir, "out")
        r = self.net.cli(self.token, "download", str(job_id), out_dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for frame in range(1, 7):
            ok, text = images_match(os.path.join(out_dir, "owner_%04d.png" % frame),
                                    os.path.join(reference, "ref_%04d.png" % frame))
            self.assertTrue(ok, "frame %d differs from blender -b -a:\n%s" % (frame, text))


class OwnerControlTest(unittest.TestCase):
    def setUp(self):
        self.net = Network()
        os.makedirs(os.path.join(self.net.dir, "scene"))
        self.scene = make_scene(os.path.join(self.net.dir, "scene", "ctl.blend"), frames=3, width=96, height=54,
                                samples=48)
        self.net.start_manager()
        self.token = self.net.user_token("alice")

    def tearDown(self):
        self.net.cleanup()

    def worker(self, *args):
        r = subprocess.run([INFERIX, "worker", *args, "--data", self.net.node_dir("w")], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def test_pause_drain_and_resume_a_running_worker(self):
        self.net.start_node("worker", "w", extra=("--threads", "1"))
        self.net.start_node("verifier", "v")
        wait_for("the worker to register", lambda: any(n.get("name") == "w" for n in self.net.call(
            "GET", "/api/v1/workers", self.token)[1]["nodes"]))
        wait_for("the worker's status file", lambda: os.path.exists(os.path.join(self.net.node_dir("w"),
                                                                                  "status.json")))
        self.assertIn("worker: paused", self.worker("pause"))
        w = wait_for("the manager to see it paused",
                     lambda: (lambda n: n if n["state"] == "paused" else None)(node(self.net, self.token, "w")))
        self.assertIn("paused by its owner", w["why"])
        r = self.net.cli(self.token, "submit", self.scene, "--frames", "1-3", "--chunk", "3")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job_id = int(r.stdout.split()[0])
        time.sleep(3)  # long enough for an idle worker to claim it, were it not paused
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % job_id, self.token)
        self.assertEqual(job["state"], "queued", job)
        shown = json.loads(self.worker("status", "--json"))
        self.assertTrue(shown["running"])
        self.assertEqual(shown["worker"]["availability"], "paused")
        self.assertEqual(shown["manager"]["state"], "paused")
        self.assertEqual(shown["worker"]["slots"][0]["id"], "cpu")

        self.assertIn("worker: draining", self.worker("drain"))
        wait_for("the manager to see it draining",
                 lambda: node(self.net, self.token, "w")["state"] == "draining")
        time.sleep(2)
        self.assertEqual(self.net.call("GET", "/api/v1/jobs/%d" % job_id, self.token)[1]["state"], "queued")

        # Resumed, it takes the job; paused while rendering, it hands the task back at once.
        self.assertIn("worker: taking work", self.worker("resume"))
        wait_for("the worker to hold the task", lambda: node(self.net, self.token, "w")["tasks"])
        self.assertIn("worker: paused", self.worker("pause"))
        wait_for("the task handed back", lambda: not node(self.net, self.token, "w")["tasks"], timeout=15)
        self.assertIn("handed back: paused by its owner", self.net.log("w"))
        self.worker("resume")
        job = self.net.wait_job(self.token, job_id, timeout=600)
        self.assertEqual(job["state"], "completed", job.get("message"))
        shown = json.loads(self.worker("status", "--json"))
        verdicts = {(o["job_id"], o["frame"]): o["verdict"] for o in shown["manager"]["outputs"]}
        for frame in (1, 2, 3):
            self.assertIn(verdicts.get((job_id, frame)), ("accepted", "pending"), shown["manager"]["outputs"])
        text = self.worker("status")
        self.assertIn("worker: idle: waiting for work", text)
        self.assertIn("latest frames:", text)
        self.assertIn("job %d frame 3:" % job_id, text)

    def test_outside_its_hours_it_takes_no_work_and_says_when_it_will(self):
        days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        today = datetime.datetime.now().weekday()
        hours = "%s-%s" % (days[(today + 1) % 7], days[(today + 6) % 7])  # every day but today
        self.net.start_node("worker", "w", extra=("--schedule", hours))
        w = wait_for("the manager to see it outside its hours",
                     lambda: (lambda n: n if n["state"] == "outside hours" else None)(node(self.net, self.token, "w")),
                     timeout=60)
        self.assertIn("outside its hours (%s); it takes work again in " % hours, w["why"])
        r = self.net.cli(self.token, "submit", self.scene, "--frames", "1", "--chunk", "1")
        job_id = int(r.stdout.split()[0])
        time.sleep(3)
        self.assertEqual(self.net.call("GET", "/api/v1/jobs/%d" % job_id, self.token)[1]["state"], "queued")
        self.assertIn("worker: outside hours", self.worker("status"))

    def test_a_task_needing_more_memory_than_the_owner_lends_goes_to_another_worker(self):
        # Blender alone holds more than 40 MiB of its own (about 80 MiB idle here), so the small worker's Blender
        # is stopped as it loads, and each of its tasks fails saying why; the other worker renders the job.
        self.net.start_node("verifier", "v")
        self.net.start_node("worker", "small", extra=("--threads", "1", "--max-memory", "40MiB"))
        self.net.start_node("worker", "big", extra=("--threads", "1"))
        wait_for("both workers to register", lambda: {"small", "big"} <= {n.get("name") for n in self.net.call(
            "GET", "/api/v1/workers", self.token)[1]["nodes"]}, timeout=180)
        r = self.net.cli(self.token, "submit", self.scene, "--frames", "1-3", "--chunk", "1")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job = self.net.wait_job(self.token, int(r.stdout.split()[0]), timeout=600)
        self.assertEqual(job["state"], "completed", job.get("message"))
        self.assertEqual({f["output"]["worker"] for f in job["frames"]}, {"big"})
        errors = "\n".join(f.get("errors") or "" for f in job["frames"])
        self.assertIn("small: ", errors)
        self.assertIn("more than the 40 MiB its owner lends this worker (inferix worker --max-memory)", errors)
        self.assertIn("its owner lends this worker", self.net.log("small"))

    def test_a_schedule_it_cannot_read_is_refused_at_start(self):
        r = subprocess.run([INFERIX, "worker", "--manager", self.net.url, "--data", self.net.node_dir("bad"),
                            "--schedule", "Mon-Fry 19:00-08:00"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('"Mon-Fry" in "Mon-Fry 19:00-08:00" is not a day', r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
