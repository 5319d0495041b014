"""Issue #15, "What it must show": several managers on one PostgreSQL and one S3 store (the `postgres` and `s3`
ctest fixtures, a fresh database and bucket per test), behind HAProxy.

1. Two managers, two workers and a verifier: a job submitted through the balancer is delivered equal to plain
   Blender although one manager is killed with SIGKILL in the middle; no frame is rendered twice for nothing; an
   event client reconnecting through the balancer sees every event of the database exactly once; the video is
   made once, also by a manager that starts right after the job completed; no manager carried an image's bytes.
2. A worker whose lease one manager granted reports through the other.
3. PostgreSQL restarted (a private server, so nothing else loses its connections) under a running network: every
   node reconnects and the job completes.
"""

import argparse
import json
import os
import signal
import sys
import time
import unittest
import urllib.request

import rogue_node
from netlib import (Cluster, EventFollower, engine_info, engines_module, fresh_bucket, fresh_database,
                    images_match, make_scene, psql, put_presigned, reference_render)

FRAMES = 8


def outputs_of(job):
    return [f for f in job["frames"] if f.get("output")]


class MultiManagerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = engine_info("INFERIX_TEST_POSTGRES")
        cls.s3 = engine_info("INFERIX_TEST_S3")
        if not cls.pg or not cls.s3:
            raise unittest.SkipTest("needs INFERIX_TEST_POSTGRES and INFERIX_TEST_S3 (ctest's fixtures)")
        cls.scene_dir = os.path.join(os.environ.get("TMPDIR", "/tmp"), "inferix-multi-scene-%d" % os.getpid())
        os.makedirs(cls.scene_dir, exist_ok=True)
        cls.scene = make_scene(os.path.join(cls.scene_dir, "multi.blend"), frames=FRAMES, width=64, height=48,
                               samples=4)

    @classmethod
    def tearDownClass(cls):
        import shutil  # pylint: disable=import-outside-toplevel
        shutil.rmtree(cls.scene_dir, ignore_errors=True)

    def cluster(self, store_url=None, **kw):
        store_url = store_url or fresh_database(self.pg["url"], "multi")
        net = Cluster(store_url, self.s3, fresh_bucket(self.s3, "multi"), **kw)
        self.addCleanup(net.cleanup)
        return net

    def submit(self, net, token, frames):
        r = net.cli(token, "submit", self.scene, "--frames", frames, "--chunk", "1")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return int(r.stdout.split()[0])

    def assert_delivered_equal_to_blender(self, net, token, job_id, last):
        out = os.path.join(net.dir, "out-%d" % job_id)
        r = net.cli(token, "download", str(job_id), out)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        ref = os.path.join(net.dir, "ref")
        if not os.path.isdir(ref):
            reference_render(self.scene, ref, 1, FRAMES)
        for frame in range(1, last + 1):
            ok, text = images_match(os.path.join(out, "multi_%04d.png" % frame),
                                    os.path.join(ref, "ref_%04d.png" % frame))
            self.assertTrue(ok, "frame %d differs from blender -b -a:\n%s" % (frame, text))

    def test_job_survives_a_killed_manager_and_events_are_seen_once(self):
        net = self.cluster()
        token = net.user_token("alice")
        follower = EventFollower(net.url, token)
        self.addCleanup(follower.stop)
        net.start_node("worker", "worker-a")
        net.start_node("worker", "worker-b")
        net.start_node("verifier", "verifier")
        job_id = self.submit(net, token, "1-%d" % FRAMES)

        # Some frames delivered, not all: manager 0 dies without a word.
        job = net.wait_job(token, job_id, timeout=300, until=lambda j: len(outputs_of(j)) >= 2)
        self.assertNotEqual(job["state"], "completed", "the job completed before the kill; nothing was shown")
        net.managers[0].send_signal(signal.SIGKILL)
        net.managers[0].wait()

        job = net.wait_job(token, job_id, timeout=300)
        self.assertEqual(job["state"], "completed", job.get("message"))
        # A manager starting right after the job completed (its video made meanwhile by manager 1) makes no second
        # video: the video is made once across managers.
        net.start_manager_at(0)
        job = net.wait_job(token, job_id, timeout=120, until=lambda j: j["video"] != "pending")
        self.assertEqual(job["video"], "ready", job)

        # Every frame delivered, equal to plain Blender.
        self.assertEqual(sorted(f["frame"] for f in outputs_of(job)), list(range(1, FRAMES + 1)))
        self.assertTrue(all(f["verdict"] == "accepted" for f in job["frames"]), job["frames"])
        self.assert_delivered_equal_to_blender(net, token, job_id, FRAMES)

        # Renders counted: every output recorded is an attempt of the job's records, and every attempt beyond the
        # accepted one of its frame is explained there (a verdict against it).
        outputs = int(psql(net.store_url, "SELECT count(*) FROM outputs WHERE job_id = %d" % job_id))
        attempts = [a for f in job["frames"] for a in f["attempts"]]
        self.assertEqual(outputs, len(attempts), json.dumps(job["frames"])[:3000])
        extra = [a for a in attempts if a["verdict"] == "accepted"][FRAMES:]
        self.assertEqual(extra, [], "frames accepted twice: rendered twice for nothing")
        unexplained = [a for f in job["frames"] for a in f["attempts"]
                       if a["verdict"] not in ("accepted", "rejected")]
        self.assertEqual(unexplained, [], "outputs rendered for nothing")

        # The event client saw every event of the database exactly once, in order, across the kill.
        deadline = time.time() + 60
        user = psql(net.store_url, "SELECT id FROM users WHERE name = 'alice'").strip()
        while time.time() < deadline:
            want = [int(x) for x in psql(net.store_url, "SELECT id FROM events WHERE user_id = %s "
                                                        "ORDER BY id" % user).split()]
            got = [e[0] for e in follower.events]
            if got == want:
                break
            time.sleep(0.5)
        got = [e[0] for e in follower.events]
        self.assertEqual(got, want)
        self.assertEqual(sorted(set(got)), got, "ids strictly increasing, none twice")
        self.assertEqual([e[1] for e in follower.events].count("video"), 1, "the video was made once")

        # No manager process carried an image's bytes. Scene files go straight to the store too (the files route
        # carries only the JSON that asks for their URLs: test_s3_uploads.py proves it); counted apart.
        files_bytes = 0
        for i in range(2):
            status, health = net.manager_call(i, "GET", "/api/v1/health")
            self.assertEqual(status, 200, health)
            traffic = health["traffic"]
            self.assertEqual((traffic["blob_route_requests"], traffic["blob_route_bytes"]), (0, 0), traffic)
            files_bytes += traffic["files_route_bytes"]
        sys.stderr.write("bytes on the files route after the kill: %d\n" % files_bytes)

    def test_lease_granted_by_one_manager_is_reported_through_the_other(self):
        net = self.cluster()
        token = net.user_token("alice")
        net.start_node("verifier", "verifier")
        args = argparse.Namespace(manager=net.manager_urls[0], token=net.enroll("worker"),
                                  data=net.node_dir("fake"), cheat="replay", other_scene=None, max_frames=0,
                                  name="fake", blender="blender", honest_metadata=False)
        fake = rogue_node.Rogue(args)
        fake.enroll()
        plain_download = fake.api.download

        def download(url, dest):  # the scene's URL is the store's own (absolute), not the manager's
            if "://" not in url:
                return plain_download(url, dest)
            with urllib.request.urlopen(url, timeout=120) as r, open(dest, "wb") as f:
                f.write(r.read())
            return None

        fake.api.download = download
        job_id = self.submit(net, token, "1-1")
        while True:  # the claim, through manager 0
            status, task = fake.api.call("POST", "/api/v1/tasks/claim", {"cached": []}, timeout=40)
            if status == 200 and task:
                break
        task_id, frame = int(task["task_id"]), int(task["frames"][0])
        job_dir, scene = fake.fetch_scene(job_id, task.get("scene", {}))
        out_dir = os.path.join(job_dir, "work", "task-%d" % task_id)
        os.makedirs(out_dir, exist_ok=True)
        out = fake.make_outputs(task, job_dir, scene, out_dir)[0]
        with open(out["path"], "rb") as f:
            data = f.read()

        fake.api.url = net.manager_urls[1]  # the upload URL, the report and done, through manager 1
        _, slot = fake.api.call("POST", "/api/v1/tasks/%d/frames/%d/upload" % (task_id, frame),
                                {"sha256": out["sha256"], "size": len(data)})
        status, body = put_presigned(slot, data)
        self.assertEqual(status, 200, body)
        fake.report(task_id, frame, out["sha256"], slot["key"], 1.0)
        status, answer = fake.api.call("POST", "/api/v1/tasks/%d/done" % task_id, {})
        self.assertEqual(status, 200, answer)

        job = net.wait_job(token, job_id, timeout=300)
        self.assertEqual(job["state"], "completed", job.get("message"))
        self.assertEqual(job["frames"][0]["verdict"], "accepted", job["frames"][0])
        self.assertEqual(job["frames"][0]["output"]["worker"], "fake")
        self.assert_delivered_equal_to_blender(net, token, job_id, 1)

    def test_database_restart_under_a_running_network(self):
        folder = os.path.join(self.scene_dir, "pg")
        engines = engines_module()
        server = engines.start_postgres(folder)
        self.addCleanup(engines.stop, folder)
        net = self.cluster(fresh_database(server["url"], "restart"))
        token = net.user_token("alice")
        nodes = [net.start_node("worker", "worker-a"), net.start_node("worker", "worker-b"),
                 net.start_node("verifier", "verifier")]
        job_id = self.submit(net, token, "1-%d" % FRAMES)
        job = net.wait_job(token, job_id, timeout=300, until=lambda j: len(outputs_of(j)) >= 1)
        self.assertNotEqual(job["state"], "completed")
        engines.restart_postgres(folder)

        job = net.wait_job(token, job_id, timeout=300)
        self.assertEqual(job["state"], "completed", job.get("message"))
        self.assertEqual(sorted(f["frame"] for f in outputs_of(job)), list(range(1, FRAMES + 1)))
        for p in nodes + net.managers:
            self.assertIsNone(p.poll(), "%s stopped:\n%s" % (p.inferix_name, net.log(p.inferix_name)[-3000:]))


if __name__ == "__main__":
    unittest.main()
