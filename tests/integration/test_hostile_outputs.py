"""Issue #14, item 1: a verified frame can never be replaced after delivery. An upload URL stores one object, once,
no larger than it allows, and only while its node holds the task and is not revoked; stored bytes are checked
against the reported SHA-256 before they are served. The node here is rogue_node.py's protocol code driven step by
step (it renders honestly; the test then attacks with its URLs); the verifier and the manager are the real ones."""

import argparse
import hashlib
import json
import os
import unittest
import urllib.error
import urllib.parse
import urllib.request

from netlib import Network, make_scene
import rogue_node


class HostileOutputsTest(unittest.TestCase):
    def setUp(self):
        self.net = Network(lease_ms=600000, heartbeat_ms=2000)

    def tearDown(self):
        self.net.cleanup()

    # --- helpers ---

    def start(self, *extra, verifier=False):
        self.net.start_manager(extra=extra)
        self.token = self.net.user_token("alice")
        if verifier:
            self.net.start_node("verifier", "verifier")
        args = argparse.Namespace(manager=self.net.url, token=self.net.enroll("worker"),
                                  data=self.net.node_dir("rogue"), cheat="replay", other_scene=None, max_frames=0,
                                  name="rogue", blender="blender", honest_metadata=False)
        self.rogue = rogue_node.Rogue(args)
        self.rogue.enroll()

    def submit(self, frames=1):
        scene_dir = os.path.join(self.net.dir, "scene")
        os.makedirs(scene_dir, exist_ok=True)
        scene = make_scene(os.path.join(scene_dir, "shot.blend"), frames=frames, width=64, height=48, samples=4)
        r = self.net.cli(self.token, "submit", scene, "--frames", "1-%d" % frames)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return int(r.stdout.split()[0])

    def claim(self):
        while True:
            status, task = self.rogue.api.call("POST", "/api/v1/tasks/claim", {"cached": []}, timeout=40)
            if status == 200 and task:
                return task

    def slot(self, task_id, frame):
        _, slot = self.rogue.api.call("POST", "/api/v1/tasks/%d/frames/%d/upload" % (task_id, frame), {})
        return slot

    def put(self, url, data):
        return self.net.call("PUT", url, body=data)

    def render(self, task):
        """The task's first frame, rendered honestly: (path, bytes, sha256)."""
        job_dir, scene = self.rogue.fetch_scene(int(task["job_id"]), task.get("scene", {}))
        out_dir = os.path.join(job_dir, "work", "task-%d" % int(task["task_id"]))
        os.makedirs(out_dir, exist_ok=True)
        out = self.rogue.make_outputs(task, job_dir, scene, out_dir)[0]
        with open(out["path"], "rb") as f:
            data = f.read()
        return data, out["sha256"]

    def deliver(self, task, slot, data, sha256):
        task_id, frame = int(task["task_id"]), int(task["frames"][0])
        status, answer = self.put(slot["url"], data)
        self.assertEqual(status, 200, answer)
        self.rogue.report(task_id, frame, sha256, slot["key"], 1.0)

    def output(self, job_id):
        status, answer = self.net.call("GET", "/api/v1/jobs/%d/outputs" % job_id, self.token)
        self.assertEqual(status, 200, answer)
        return answer["outputs"][0]

    def get(self, url):
        """A GET of a signed URL: (status, the bytes, or the JSON error)."""
        try:
            with urllib.request.urlopen(self.net.url + url, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def accepted(self, job_id):
        return self.net.wait_job(self.token, job_id, timeout=300,
                                 until=lambda j: j["frames"][0]["verdict"] == "accepted")

    # --- the guarantees ---

    def test_verified_frame_cannot_be_replaced_by_its_worker(self):
        self.start(verifier=True)
        job_id = self.submit()
        task = self.claim()
        task_id, frame = int(task["task_id"]), int(task["frames"][0])
        first, spare = self.slot(task_id, frame), self.slot(task_id, frame)
        data, sha256 = self.render(task)
        self.deliver(task, first, data, sha256)
        self.accepted(job_id)

        forged = b"\x89PNG\r\n\x1a\n" + os.urandom(len(data))
        status, answer = self.put(first["url"], forged)
        self.assertEqual(status, 409, answer)
        self.assertIn("never replaced", answer["error"]["message"])
        # Another URL of the same frame, unused: the frame is reported, so it takes nothing either.
        status, answer = self.put(spare["url"], forged)
        self.assertEqual(status, 409, answer)
        self.assertIn("already reported", answer["error"]["message"])
        out = self.output(job_id)
        self.assertEqual(out["sha256"], sha256)
        status, served = self.get(out["url"])
        self.assertEqual((status, hashlib.sha256(served).hexdigest()), (200, sha256))

        # Revoked: the node's remaining URLs stop working, whatever they are for.
        self.net.admin("node", "revoke", "--node", "rogue", "--reason", "test")
        status, answer = self.put(spare["url"], forged)
        self.assertEqual(status, 403, answer)
        self.assertIn("revoked", answer["error"]["message"])
        self.rogue.api.token = ""  # the node is gone; the user still gets the verified bytes
        out_dir = os.path.join(self.net.dir, "out")
        r = self.net.cli(self.token, "download", str(job_id), out_dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        files = [os.path.join(out_dir, n) for n in os.listdir(out_dir) if n.endswith(".png")]
        self.assertEqual(len(files), 1, os.listdir(out_dir))
        with open(files[0], "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), sha256)

    def test_upload_larger_than_the_url_allows_is_refused(self):
        self.start("--max-output-bytes", "1000", verifier=True)  # without one, the rogue's renders are held back
        job_id = self.submit()
        task = self.claim()
        task_id, frame = int(task["task_id"]), int(task["frames"][0])
        slot = self.slot(task_id, frame)
        self.assertEqual(slot["max_bytes"], 1000)
        status, answer = self.put(slot["url"], os.urandom(1001))
        self.assertEqual(status, 413, answer)
        # Refused from the request's head, before its body is read (the URL's own limit is the route's limit).
        self.assertIn("limit of 1000 bytes", answer["error"]["message"])
        with self.assertRaises(rogue_node.Refused) as refused:  # nothing was stored to report
            self.rogue.report(task_id, frame, hashlib.sha256(b"x").hexdigest(), slot["key"], 1.0)
        self.assertEqual(refused.exception.status, 400)
        # The limit is signed: raising it in the URL breaks the URL.
        raised = slot["url"].replace("max=1000", "max=100000")
        self.assertNotEqual(raised, slot["url"])
        status, answer = self.put(raised, os.urandom(1001))
        self.assertEqual(status, 403, answer)
        status, answer = self.put(slot["url"], os.urandom(1000))
        self.assertEqual(status, 200, answer)
        # Bytes that are not the ones reported are refused when the frame is reported, naming both digests.
        other = hashlib.sha256(b"other").hexdigest()
        with self.assertRaises(rogue_node.Refused) as mismatch:
            self.rogue.report(task_id, frame, other, slot["key"], 1.0)
        self.assertEqual(mismatch.exception.status, 409)
        self.assertIn(other, str(mismatch.exception))
        self.net.call("POST", "/api/v1/jobs/%d/cancel" % job_id, self.token)

    def test_damaged_stored_frame_is_never_served(self):
        self.start(verifier=True)
        job_id = self.submit()
        task = self.claim()
        task_id, frame = int(task["task_id"]), int(task["frames"][0])
        slot = self.slot(task_id, frame)
        data, sha256 = self.render(task)
        self.deliver(task, slot, data, sha256)
        self.rogue.api.call("POST", "/api/v1/tasks/%d/done" % task_id, {})
        self.accepted(job_id)
        out = self.output(job_id)
        status, served = self.get(out["url"])
        self.assertEqual((status, hashlib.sha256(served).hexdigest()), (200, sha256))

        # The stored file is damaged on disk (same size, one byte changed).
        key = urllib.parse.urlparse(out["url"]).path[len("/api/v1/blobs/"):]
        path = os.path.join(self.net.manager_dir, "blobs", key)
        with open(path, "r+b") as f:
            f.seek(len(data) // 2)
            byte = f.read(1)
            f.seek(len(data) // 2)
            f.write(bytes([byte[0] ^ 0xFF]))
        status, answer = self.get(out["url"])
        self.assertEqual(status, 500, answer)
        self.assertIn("is damaged", answer["error"]["message"])
        r = self.net.cli(self.token, "download", str(job_id), os.path.join(self.net.dir, "out"))
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("damaged", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
