"""Issue #14, found items 4 and 6: a scheduler that cannot be starved. Fake nodes speak the real node protocol
(enrolled, signed reports) to the real manager over HTTP: a rogue of a made-up Blender version reporting more
than 200 junk frames does not starve the honest verifier, a worker blocklisted on a large job still gets other
jobs' tasks, a node cannot hold more tasks than its cap, and heartbeats without progress do not keep a lease."""

import hashlib
import json
import os
import subprocess
import time
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from netlib import INFERIX, Network, make_scene
from rogue_node import Api, Refused, frame_report_message


class FakeNode:
    """A node that enrolls and then does only what the test says: claim, heartbeat, report junk, fail."""

    def __init__(self, net, name, role="worker", blender_version="9.9.9"):
        self.name = name
        self.api = Api(net.url, lambda: False, lambda fmt, *args: None)
        key = Ed25519PrivateKey.generate()
        self.key = key
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
        caps = {"cpu_threads": 1, "memory_bytes": 1 << 30, "gpus": [], "blender": "blender",
                "blender_version": blender_version, "arch": "made-up-arch", "device": "cpu"}
        _, answer = self.api.call("POST", "/api/v1/nodes/register", {
            "enrollment_token": net.enroll(role), "name": name, "role": role, "public_key": public,
            "capabilities": caps}, auth=False)
        self.node_id = answer["node_id"]
        self.api.token = answer["node_token"]

    def claim(self):
        """The claimed task, None for no work; raises Refused for a refusal (429 at a cap)."""
        _, task = self.api.call("POST", "/api/v1/tasks/claim", {}, timeout=60)
        return task

    def heartbeat(self, task_id, progress=None):
        body = {} if progress is None else {"progress": progress}
        _, answer = self.api.call("POST", "/api/v1/tasks/%d/heartbeat" % task_id, body)
        return answer["action"]

    def report_junk(self, task_id, frame):
        data = os.urandom(64) + b"junk %d %d" % (task_id, frame)
        _, slot = self.api.call("POST", "/api/v1/tasks/%d/frames/%d/upload" % (task_id, frame), {})
        self.api.call("PUT", slot["url"], raw=data, auth=False, content_type="application/octet-stream")
        sha = hashlib.sha256(data).hexdigest()
        signature = self.key.sign(frame_report_message(task_id, frame, sha, slot["key"]).encode()).hex()
        self.api.call("POST", "/api/v1/tasks/%d/frames/%d" % (task_id, frame),
                      {"sha256": sha, "key": slot["key"], "render_seconds": 0.1, "signature": signature})

    def fail(self, task_id, error):
        self.api.call("POST", "/api/v1/tasks/%d/fail" % task_id, {"error": error})

    def done(self, task_id):
        self.api.call("POST", "/api/v1/tasks/%d/done" % task_id, {})


class HostileSchedulerTest(unittest.TestCase):
    def setUp(self):
        self.net = Network(heartbeat_ms=500)

    def tearDown(self):
        self.net.cleanup()

    def submit(self, token, scene, frames, *extra):
        r = self.net.cli(token, "submit", scene, "--frames", frames, "--chunk", "1", *extra)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return int(r.stdout.split()[0])

    def scene(self, name, frames):
        os.makedirs(os.path.join(self.net.dir, "scenes"), exist_ok=True)
        return make_scene(os.path.join(self.net.dir, "scenes", name + ".blend"), frames=frames, width=64,
                          height=48, samples=4)

    def keeper(self):
        """A verifier of the fake workers' class, which checks nothing: without one, the scheduler holds their
        renders back (issue #17)."""
        return FakeNode(self.net, "keeper", role="verifier")

    def admin_checks(self):
        return subprocess.run([INFERIX, "admin", "checks", "--data", self.net.manager_dir], check=True,
                              capture_output=True, text=True).stdout

    def test_junk_of_an_unknown_class_does_not_starve_the_verifier(self):
        junk_scene = self.scene("junk", 205)
        honest_scene = self.scene("honest", 2)
        self.net.start_manager(["--long-poll-ms", "1000"])
        token = self.net.user_token("carol")
        junk_job = self.submit(token, junk_scene, "1-205")
        rogue = FakeNode(self.net, "rogue", blender_version="9.9.9 made-up")
        # Without a verifier of its class the rogue would get no work (issue #17): one is registered while it
        # renders, and then goes, leaving its checks to no one.
        FakeNode(self.net, "rogue-verifier", role="verifier", blender_version="9.9.9 made-up")
        for _ in range(205):
            task = rogue.claim()
            self.assertIsNotNone(task)
            for frame in task["frames"]:
                rogue.report_junk(task["task_id"], frame)
            rogue.done(task["task_id"])
        self.net.admin("node", "revoke", "--node", "rogue-verifier", "--reason", "gone")
        self.assertIn("205 check(s) waiting and no verifier of this class", self.admin_checks())

        # 205 checks no verifier may take sit ahead of the honest job's: they still get checked.
        honest_job = self.submit(token, honest_scene, "1-2")
        self.net.start_node("worker", "honest")
        self.net.start_node("verifier", "verifier")
        job = self.net.wait_job(token, honest_job, timeout=300)
        self.assertEqual(job["state"], "completed", json.dumps(job)[:2000])
        self.assertTrue(all(f["verdict"] == "accepted" for f in job["frames"]), job["frames"])

        # Revoked, the rogue's frames are not stuck: its outputs are discarded and rendered again.
        self.net.admin("node", "revoke", "--node", "rogue", "--reason", "made-up Blender")

        def requeued(j):
            return all(f["state"] in ("queued", "rendering", "verifying", "delivered") for f in j["frames"]) and \
                all(a["verdict"] == "rejected" for f in j["frames"] for a in f["attempts"] if a["worker"] == "rogue")

        self.net.wait_job(token, junk_job, timeout=60, until=requeued)
        self.assertIn("every waiting check has a verifier", self.admin_checks())
        self.net.cli(token, "cancel", str(junk_job))

    def test_blocklisted_worker_still_gets_other_jobs(self):
        scene = self.scene("big", 250)
        small = self.scene("small", 1)
        self.net.start_manager(["--long-poll-ms", "1000"])
        token = self.net.user_token("dave")
        big_job = self.submit(token, scene, "1-250")
        self.keeper()
        failing = FakeNode(self.net, "failing")
        FakeNode(self.net, "standby")  # a live worker the big job can still count on
        for _ in range(3):
            task = failing.claim()
            self.assertEqual(task["job_id"], big_job)
            failing.fail(task["task_id"], "out of memory")
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % big_job, token)
        self.assertEqual(status, 200)
        self.assertEqual(job["state"], "active", job["message"])

        other_job = self.submit(token, small, "1")
        task = failing.claim()
        self.assertIsNotNone(task, "the blocklisted worker got no work while another job's task waited")
        self.assertEqual(task["job_id"], other_job)

    def test_hoarding_node_cannot_hold_more_than_its_cap(self):
        scene = self.scene("many", 10)
        self.net.start_manager(["--long-poll-ms", "1000", "--max-node-tasks", "2"])
        token = self.net.user_token("erin")
        self.submit(token, scene, "1-10")
        self.keeper()
        hoarder = FakeNode(self.net, "hoarder")
        held = [hoarder.claim(), hoarder.claim()]
        self.assertTrue(all(held))
        with self.assertRaises(Refused) as refused:
            hoarder.claim()
        self.assertEqual(refused.exception.status, 429)
        self.assertEqual(refused.exception.code, "tasks_in_flight")
        self.assertIn("--max-node-tasks", str(refused.exception))
        for t in held:
            self.assertEqual(hoarder.heartbeat(t["task_id"], progress=1), "continue")
        # Another node still gets work, and the hoarder gets more only once it ends one.
        self.assertIsNotNone(FakeNode(self.net, "honest").claim())
        hoarder.fail(held[0]["task_id"], "gave up")
        self.assertIsNotNone(hoarder.claim())

    def test_lease_without_progress_expires(self):
        scene = self.scene("stall", 2)
        self.net.start_manager(["--long-poll-ms", "1000", "--stall-ms", "3000"])
        token = self.net.user_token("frank")
        self.submit(token, scene, "1")
        self.keeper()
        idler = FakeNode(self.net, "idler")
        task = idler.claim()
        self.assertIsNotNone(task)
        # Rising progress keeps the lease past the stall bound ...
        progress = 0
        start = time.time()
        while time.time() - start < 5:
            progress += 1
            self.assertEqual(idler.heartbeat(task["task_id"], progress), "continue")
            time.sleep(0.5)
        # ... heartbeats without it do not: within the bound (and a sweep) the task is gone.
        action = "continue"
        deadline = time.time() + 15
        while action == "continue" and time.time() < deadline:
            action = idler.heartbeat(task["task_id"])
            time.sleep(0.5)
        self.assertEqual(action, "abort")
        self.assertGreater(time.time() - start, 5 + 2.5)
        other = FakeNode(self.net, "other").claim()
        self.assertIsNotNone(other)
        self.assertEqual(other["frames"], task["frames"])


if __name__ == "__main__":
    unittest.main()
