"""Issue #14, "clean inputs out": what users and nodes send is checked before it is used, and shown escaped.

Found 7 (terminal and log injection): a node named with escape sequences delivers a frame of a job whose name has
them too, and `inferix status` prints none of them raw; three large failure messages barely grow the manager's
log. Found 8 (numbers not range-checked): a priority, chunk size, resolution or fps that would wrap, truncate or
convert is refused with a 400 naming the field. Found 10 (a job file's size taken on trust): the size a job states
for a file must be the size uploaded, and what is kept is the stored size.

The manager and the CLI are the real binary over real HTTP on 127.0.0.1; the node is this test speaking the node
protocol with a real Ed25519 key (no Blender needed)."""

import hashlib
import json
import os
import unittest
import urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from netlib import Network
from rogue_node import frame_report_message

ESC = "\x1b"
# Clear the screen, set the window title (OSC), a right-to-left override and an 8-bit CSI.
HOSTILE = ESC + "[2J" + ESC + "]0;pwned" + "\x07" + "evil\u202egpj.exe\u009b31m"


class HostileInputsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = Network()
        cls.net.start_manager()
        cls.alice = cls.net.user_token("alice")
        cls.blend = b"BLENDER-v304" + os.urandom(64)  # the manager reads only the header
        cls.blend_sha = cls.upload(cls.alice, cls.blend)

    @classmethod
    def tearDownClass(cls):
        cls.net.cleanup()

    @classmethod
    def upload(cls, token, data):
        return cls.net.upload_file(token, data)

    def job(self, **fields):
        body = {"name": "n", "main": "shot.blend", "frames": "1", "chunk_size": 1,
                "files": [{"path": "shot.blend", "sha256": self.blend_sha, "size": len(self.blend)}]}
        body.update(fields)
        return body

    def create_job(self, **fields):
        status, job = self.net.call("POST", "/api/v1/jobs", self.alice, body=self.job(**fields))
        self.assertEqual(status, 201, job)
        return job

    def cancel(self, job_id):
        """Cancels a job, so that no later test's node is handed its tasks."""
        status, answer = self.net.call("POST", "/api/v1/jobs/%d/cancel" % job_id, self.alice, body={})
        self.assertEqual(status, 200, answer)

    def register(self, name):
        """A worker enrolled under `name`: (node token, private key)."""
        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
        caps = {"blender_version": "3.4.1", "blenders": [{"version": "3.4.1"}], "arch": os.uname().machine,
                "device": "cpu", "cpu_threads": 1, "memory_bytes": 1 << 30, "gpus": []}
        status, answer = self.net.call("POST", "/api/v1/nodes/register", body={
            "enrollment_token": self.net.enroll("worker"), "name": name, "role": "worker", "public_key": public,
            "capabilities": caps})
        self.assertEqual(status, 201, answer)
        # A verifier of its class (it checks nothing here): without one its renders are held back (issue #17).
        status, keeper = self.net.call("POST", "/api/v1/nodes/register", body={
            "enrollment_token": self.net.enroll("verifier"), "name": "keeper", "role": "verifier",
            "public_key": public, "capabilities": caps})
        self.assertEqual(status, 201, keeper)
        return answer["node_token"], key

    def claim(self, node_token, job_id):
        for _ in range(20):
            status, task = self.net.call("POST", "/api/v1/tasks/claim", node_token, body={"cached": []}, timeout=60)
            if status == 200 and task["job_id"] == job_id:
                return task
        self.fail("the node never got a task of job %d" % job_id)

    def deliver(self, node_token, key, task, data):
        """Uploads `data` as the task's first frame and reports it, signed."""
        task_id, frame = task["task_id"], task["frames"][0]
        base = "/api/v1/tasks/%d/frames/%d" % (task_id, frame)
        status, slot = self.net.call("POST", base + "/upload", node_token, body={})
        self.assertEqual(status, 200, slot)
        url = slot["url"] if slot["url"].startswith("http") else self.net.url + slot["url"]
        req = urllib.request.Request(url, data=data, method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertIn(r.status, (200, 201))
        sha = hashlib.sha256(data).hexdigest()
        signature = key.sign(frame_report_message(task_id, frame, sha, slot["key"]).encode()).hex()
        status, answer = self.net.call("POST", base, node_token, body={
            "sha256": sha, "key": slot["key"], "render_seconds": 1.0, "signature": signature})
        self.assertEqual(status, 200, answer)

    def assert_no_control_bytes(self, text, where):
        for bad in (ESC, "\x07", "\u202e", "\u009b"):
            self.assertNotIn(bad, text, "%s shows %r raw:\n%r" % (where, bad, text[:2000]))

    def test_worker_name_with_escape_sequences_reaches_no_terminal_raw(self):
        job = self.create_job(name="job " + HOSTILE)
        node_token, key = self.register("w " + HOSTILE)
        task = self.claim(node_token, job["id"])
        self.deliver(node_token, key, task, b"not really a PNG " + os.urandom(32))
        status, detail = self.net.call("GET", "/api/v1/jobs/%d" % job["id"], self.alice)
        self.assertEqual(status, 200, detail)
        self.assertIn(HOSTILE, detail["frames"][0]["output"]["worker"])  # the API keeps the name as it is (JSON)

        listing = self.net.cli(self.alice, "status", timeout=60)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assert_no_control_bytes(listing.stdout + listing.stderr, "inferix status")
        self.assertIn("job \\x1b[2J\\x1b]0;pwned\\x07evil\\u202egpj.exe\\u009b31m", listing.stdout)

        one = self.net.cli(self.alice, "status", str(job["id"]), timeout=60)
        self.assertEqual(one.returncode, 0, one.stderr)
        self.assert_no_control_bytes(one.stdout + one.stderr, "inferix status JOB")
        self.assertIn("w \\x1b[2J", one.stdout)  # the worker, shown escaped
        self.assert_no_control_bytes(self.net.log("manager"), "the manager's log")
        self.cancel(job["id"])

    def test_huge_failure_messages_do_not_grow_the_log(self):
        job = self.create_job(name="fails")
        node_token, _ = self.register("failing")
        task = self.claim(node_token, job["id"])
        log = os.path.join(self.net.dir, "manager.log")
        before = os.path.getsize(log)
        message = HOSTILE + "x" * (3 << 20)
        # Twice for a task this node does not hold (refused after the log line), once for its own.
        for task_id in (task["task_id"] + 1000, task["task_id"] + 1001, task["task_id"]):
            status, answer = self.net.call("POST", "/api/v1/tasks/%d/fail" % task_id, node_token,
                                           body={"error": message}, timeout=60)
            self.assertLess(status, 500, answer)
        grown = os.path.getsize(log) - before
        self.assertLess(grown, 8 << 10, "three 3 MiB failure messages grew the log by %d bytes" % grown)
        self.assert_no_control_bytes(self.net.log("manager"), "the manager's log")
        # What is stored is capped too: the job's frame carries the cut message, not 3 MiB.
        status, detail = self.net.call("GET", "/api/v1/jobs/%d" % job["id"], self.alice)
        self.assertEqual(status, 200, detail)
        self.assertLess(len(json.dumps(detail)), 64 << 10)
        self.cancel(job["id"])

    def test_out_of_range_numbers_are_refused(self):
        status, before = self.net.call("GET", "/api/v1/jobs", self.alice)
        self.assertEqual(status, 200, before)
        cases = [("priority", 99999999999), ("chunk_size", 4294967297), ("chunk_size", 0), ("priority", 3.99),
                 ("chunk_size", True), ("resolution_percentage", 4294967346), ("fps", -24), ("priority", "7")]
        for field, value in cases:
            with self.subTest(field=field, value=value):
                status, answer = self.net.call("POST", "/api/v1/jobs", self.alice, body=self.job(**{field: value}))
                self.assertEqual(status, 400, answer)
                message = answer["error"]["message"]
                self.assertIn('"%s"' % field, message)
                self.assertIn(" from ", message)  # the range it must lie in
        status, after = self.net.call("GET", "/api/v1/jobs", self.alice)
        self.assertEqual(len(after["jobs"]), len(before["jobs"]))  # nothing was created
        # The same checks on what a node reports.
        node_token, _ = self.register("counting")
        for seconds in (-1, 1e300, True):
            status, answer = self.net.call("POST", "/api/v1/tasks/1/frames/1", node_token, body={
                "sha256": "0" * 64, "key": "k", "render_seconds": seconds, "signature": "00"})
            self.assertEqual(status, 400, answer)
            self.assertIn('"render_seconds"', answer["error"]["message"])

    def test_stated_file_size_is_checked_against_the_upload(self):
        files = [{"path": "shot.blend", "sha256": self.blend_sha, "size": 999999999999}]
        status, answer = self.net.call("POST", "/api/v1/jobs", self.alice, body=self.job(files=files))
        self.assertEqual(status, 400, answer)
        self.assertIn(str(len(self.blend)), answer["error"]["message"])
        # Left out, the size is the one stored at upload, which workers are then told.
        job = self.create_job(files=[{"path": "shot.blend", "sha256": self.blend_sha}])
        self.assertEqual(job["files"][0]["size"], len(self.blend))
        self.cancel(job["id"])


if __name__ == "__main__":
    unittest.main()
