"""Issue #3: events are stored with increasing ids and streamed per job and per user; a client that reconnects
with Last-Event-ID misses nothing, also when the manager was restarted in between."""

import json
import os
import signal
import time
import unittest
import urllib.request

from netlib import Network, make_scene


def read_stream(net, token, path, last_id=None, timeout=60):
    headers = {"Authorization": "Bearer " + token, "Accept": "text/event-stream"}
    if last_id is not None:
        headers["Last-Event-ID"] = str(last_id)
    req = urllib.request.Request(net.url + path, headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        body = r.read().decode()
    events = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "id" in fields:
            events.append((int(fields["id"]), fields.get("event"), fields.get("data")))
    return events


class EventsTest(unittest.TestCase):
    def setUp(self):
        self.net = Network(lease_ms=20000, heartbeat_ms=1000)

    def tearDown(self):
        self.net.cleanup()

    def test_resume_with_last_event_id_across_a_manager_restart(self):
        scene_dir = os.path.join(self.net.dir, "scene")
        os.makedirs(scene_dir)
        scene = make_scene(os.path.join(scene_dir, "ev.blend"), frames=8, samples=16)
        self.net.start_manager(extra=("--long-poll-ms", "3000"))
        token = self.net.user_token("gina")
        other = self.net.user_token("hank")
        self.net.start_node("worker", "worker", extra=("--threads", "1"))
        self.net.start_node("verifier", "verifier")
        r = self.net.cli(token, "submit", scene, "--frames", "1-8", "--chunk", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        job_id = int(r.stdout.split()[0])
        path = "/api/v1/events?job=%d" % job_id

        # A client reads the first events, then goes away.
        seen = read_stream(self.net, token, path)
        self.assertTrue(seen)
        self.assertEqual([e[0] for e in seen], sorted(e[0] for e in seen))
        last = seen[-1][0]

        # The manager is killed mid-job and started again on the same data.
        self.net.wait_job(token, job_id, timeout=120, until=lambda j: j["progress"]["delivered"] >= 1)
        self.net.manager.send_signal(signal.SIGKILL)
        self.net.manager.wait()
        time.sleep(1)
        self.net.start_manager()

        # The client reconnects with the last id it saw and follows the stream to the job's end.
        while True:
            batch = read_stream(self.net, token, path, last_id=last)
            seen += batch
            if batch:
                last = batch[-1][0]
            if any(e[1] == "job" and '"completed"' in e[2] for e in batch):
                break
        everything = read_stream(self.net, token, path, last_id=0)
        self.assertEqual([e[0] for e in seen], [e[0] for e in everything])  # nothing missed, nothing twice
        self.assertEqual(len({e[0] for e in everything}), len(everything))
        frames_delivered = {e[2] for e in everything if e[1] == "frame" and '"delivered"' in e[2]}
        self.assertEqual(len(frames_delivered), 8)

        # Events are per user: another user sees none of them and cannot follow this job.
        status, body = self.net.call("GET", path, other)
        self.assertEqual(status, 404)
        self.assertEqual(read_stream(self.net, other, "/api/v1/events", timeout=60), [])
        # The per-user stream holds the job's events too.
        mine = read_stream(self.net, token, "/api/v1/events", last_id=0)
        self.assertEqual([e[0] for e in mine][:len(everything)], [e[0] for e in everything])

        # The network's events, which any user may follow (the dashboard's workers page): the worker and the
        # verifier joined, took and ended tasks; never a job, a frame or a user.
        network = read_stream(self.net, other, "/api/v1/events?workers=1", last_id=0)
        self.assertTrue(network)
        self.assertEqual({e[1] for e in network}, {"worker"})
        status, nodes = self.net.call("GET", "/api/v1/workers", other)
        ids = {n["name"]: n["id"] for n in nodes["nodes"]}
        named = [json.loads(e[2]) for e in network]
        self.assertEqual({tuple(d) for d in named}, {("worker_id",)})
        # Each node joined, and each took work more than once (4 render chunks; 8 verifications).
        for name in ("worker", "verifier"):
            self.assertGreaterEqual(sum(1 for d in named if d["worker_id"] == ids[name]), 3, name)
        # The owner's stream with workers=1 has both, in id order, and the same job events as without.
        both = read_stream(self.net, token, "/api/v1/events?workers=1", last_id=0)
        self.assertEqual([e[0] for e in both], sorted(e[0] for e in both))
        self.assertEqual([e for e in both if e[1] != "worker"][:len(everything)], everything)
        # The network is not a job's: both together, or anything but 0 or 1, is refused.
        for query in ("?workers=1&job=%d" % job_id, "?workers=yes", "?workers="):
            status, body = self.net.call("GET", "/api/v1/events" + query, token)
            self.assertEqual(status, 400, (query, body))

    def test_submit_wait_follows_the_stream(self):
        scene_dir = os.path.join(self.net.dir, "scene")
        os.makedirs(scene_dir)
        scene = make_scene(os.path.join(scene_dir, "w.blend"), frames=2, samples=4)
        self.net.start_manager()
        token = self.net.user_token("ivy")
        self.net.start_node("worker", "worker")
        self.net.start_node("verifier", "verifier")
        r = self.net.cli(token, "submit", scene, "--frames", "1-2", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("completed: 2/2 delivered", r.stderr)
        job_id = int(r.stdout.split()[0])
        # `status --follow --json` replays the job's stream from the start and ends with the job.
        r = self.net.cli(token, "status", str(job_id), "--follow", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        events = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual([e["id"] for e in events], sorted(e["id"] for e in events))
        self.assertEqual(events[0]["type"], "job")
        self.assertEqual(sum(1 for e in events if e["type"] == "frame" and e["data"]["state"] == "delivered"), 2)
        self.assertIn({"job_id": job_id, "state": "completed", "message": ""}, [e["data"] for e in events])


if __name__ == "__main__":
    unittest.main()
