"""Issue #5, owners' machines: hostile scenes sent straight to the API (as an attacker would, without the client's
preflight) are rendered by a real worker and verifier. An auto-run text block, a compositor File Output node aimed
outside the job folder and a Python driver that opens a socket: none of them may write outside the job's work
folder or reach the network (Blender runs with auto-run off, inside bubblewrap with no network)."""

import hashlib
import os
import socket
import subprocess
import threading
import unittest

from netlib import SOURCE_DIR, Network, make_scene

MAKE = os.path.join(SOURCE_DIR, "tests", "data", "hostile", "make_hostile.py")
KINDS = ("autorun", "file_output", "py_driver")


class Listener:
    """Counts TCP connections to a port on 127.0.0.1: a scene that reached the host's network would connect."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = []
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            try:
                conn.settimeout(1)
                self.connections.append(conn.recv(100))
            except OSError:
                self.connections.append(b"")
            conn.close()

    def stop(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


class SandboxTest(unittest.TestCase):
    def setUp(self):
        self.net = Network(heartbeat_ms=1000)
        self.escape = os.path.join(self.net.dir, "escape")
        os.makedirs(self.escape)
        self.listener = Listener()

    def tearDown(self):
        self.listener.stop()
        self.net.cleanup()

    def hostile(self, kind, base):
        out = os.path.join(self.net.dir, "scenes", kind + ".blend")
        subprocess.run(["blender", "-b", base, "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python",
                        MAKE, "--", kind, out, self.escape, str(self.listener.port)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return out

    def submit_raw(self, token, scene):
        with open(scene, "rb") as f:
            data = f.read()
        sha = hashlib.sha256(data).hexdigest()
        status, body = self.net.call("PUT", "/api/v1/files/" + sha, token, body=data)
        self.assertIn(status, (200, 201), body)
        status, job = self.net.call("POST", "/api/v1/jobs", token, body={
            "name": os.path.basename(scene), "main": "scene.blend", "frames": "1-2", "chunk_size": 2,
            "files": [{"path": "scene.blend", "sha256": sha}]})
        self.assertEqual(status, 201, job)
        return job["id"]

    def test_the_hostile_scenes_do_harm_outside_the_network(self):
        """The control: plain Blender with auto-run allowed and no sandbox does what each scene attempts, so the
        test below can fail."""
        os.makedirs(os.path.join(self.net.dir, "scenes"))
        base = make_scene(os.path.join(self.net.dir, "scenes", "base.blend"), frames=2, width=96, height=64,
                          samples=4)
        for kind in KINDS:
            scene = self.hostile(kind, base)
            subprocess.run(["blender", "-b", scene, "--enable-autoexec", "-noaudio", "-o",
                            os.path.join(self.net.dir, "plain", "f_####"), "-f", "1"], cwd=self.net.dir,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        escaped = sorted(os.listdir(self.escape))
        self.assertIn("PWNED-autorun", escaped)
        self.assertIn("PWNED-py_driver", escaped)
        self.assertIn("stolen_0001.png", escaped)
        self.assertIn(b"autorun", self.listener.connections)
        self.assertIn(b"driver", self.listener.connections)
        home_marker = os.path.join(os.path.expanduser("~"), "PWNED-autorun")
        if os.path.exists(home_marker):
            os.remove(home_marker)

    def test_hostile_scenes_cannot_escape(self):
        os.makedirs(os.path.join(self.net.dir, "scenes"))
        base = make_scene(os.path.join(self.net.dir, "scenes", "base.blend"), frames=2, width=96, height=64,
                          samples=4)
        scenes = {kind: self.hostile(kind, base) for kind in KINDS}
        self.net.start_manager(extra=("--long-poll-ms", "1000"))
        token = self.net.user_token("mallory")
        self.net.start_node("worker", "worker", extra=("--threads", "1"))
        self.net.start_node("verifier", "verifier")
        jobs = {kind: self.submit_raw(token, scene) for kind, scene in scenes.items()}
        for kind, job_id in jobs.items():
            with self.subTest(kind=kind):
                job = self.net.wait_job(token, job_id, timeout=240)
                # The hostile part did nothing, so the scene rendered like any other.
                self.assertEqual(job["state"], "completed", job.get("message"))
        # Nothing was written outside the job folders: no marker anywhere in the network's folders (the escape
        # folder, every node's data folder, the manager's). The File Output node's frames land only in the job's
        # work folder: the driver points File Output nodes there before rendering.
        markers, outside = [], []
        for root, _, files in os.walk(self.net.dir):
            markers += [os.path.join(root, f) for f in files if f.startswith("PWNED")]
            outside += [os.path.join(root, f) for f in files if f.startswith("stolen_")
                        and "/jobs/%d/work/" % jobs["file_output"] not in root + "/"]
        self.assertEqual(markers, [])
        self.assertEqual(outside, [])
        self.assertEqual(os.listdir(self.escape), [])
        for home in (os.path.expanduser("~"),):
            self.assertFalse([f for f in os.listdir(home) if f.startswith("PWNED")], home)
        # No connection reached the host.
        self.assertEqual(self.listener.connections, [])
        # The nodes are still up and saw the Blender runs end normally.
        for p in self.net.procs:
            self.assertIsNone(p.poll(), p.inferix_name)


if __name__ == "__main__":
    unittest.main()
