"""Issue #5, faults: processes really killed with SIGKILL mid-work, a manager down for a while, renders that
fail. Nothing is lost, delivered twice or credited twice; the user sees why a job failed."""

import json
import os
import signal
import stat
import time
import unittest

from netlib import Network, make_scene

LEASE_MS = 4000


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def processes_mentioning(text):
    """PIDs of live processes whose command line contains `text`."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                args = f.read()
            with open("/proc/%s/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text.encode() in args and state != "Z":
            found.append(int(pid))
    return found


class FaultsTest(unittest.TestCase):
    def setUp(self):
        self.net = Network(lease_ms=LEASE_MS, heartbeat_ms=500)
        scene_dir = os.path.join(self.net.dir, "scene")
        os.makedirs(scene_dir)
        self.scene = make_scene(os.path.join(scene_dir, "faults.blend"), frames=6, width=160, height=120,
                                samples=48)

    def tearDown(self):
        self.net.cleanup()

    def submit(self, token, frames="1-6", chunk=2):
        r = self.net.cli(token, "submit", self.scene, "--frames", frames, "--chunk", str(chunk))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return int(r.stdout.split()[0])

    def assert_each_frame_delivered_and_credited_once(self, job):
        self.assertEqual(job["state"], "completed", job.get("message"))
        for f in job["frames"]:
            self.assertEqual(f["state"], "delivered", f)
            good = [a for a in f["attempts"] if a["verdict"] in ("accepted", "trusted")]
            self.assertEqual(len(good), 1, "frame %d delivered more than once: %s" % (f["frame"], f["attempts"]))
            credited = [a for a in f["attempts"] if a["credited"]]
            self.assertEqual(len(credited), 1, "frame %d credited %d times" % (f["frame"], len(credited)))

    def test_a_worker_killed_mid_frame_loses_nothing(self):
        self.net.start_manager(extra=("--long-poll-ms", "1000"))
        token = self.net.user_token("ivy")
        self.net.start_node("verifier", "verifier")
        victim = self.net.start_node("worker", "worker-1", extra=("--threads", "1"))
        job_id = self.submit(token)
        # Its Blender has started on a task: kill the worker without warning.
        wait_for(lambda: "starting Blender" in self.net.log("worker-1"), 60, "worker-1 to start Blender")
        time.sleep(0.5)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        # The sandbox dies with its parent: no Blender of worker-1 is left rendering.
        wait_for(lambda: not processes_mentioning(self.net.node_dir("worker-1") + "/"), 10,
                 "worker-1's Blender to exit")
        # Another worker takes the frames once the lease has expired.
        self.net.start_node("worker", "worker-2", extra=("--threads", "1"))
        job = self.net.wait_job(token, job_id, timeout=240)
        self.assert_each_frame_delivered_and_credited_once(job)
        workers = {f["output"]["worker"] for f in job["frames"]}
        self.assertIn("worker-2", workers)
        self.assertIn("task", self.net.log("worker-2"))

    def test_a_verifier_killed_mid_check_gives_the_check_back(self):
        self.net.start_manager(extra=("--long-poll-ms", "1000"))
        token = self.net.user_token("jon")
        self.net.start_node("worker", "worker", extra=("--threads", "1"))
        victim = self.net.start_node("verifier", "verifier-1")
        job_id = self.submit(token, frames="1-2", chunk=1)
        # The verifier has claimed a check and is starting its Blender for it: kill it.
        wait_for(lambda: "starting Blender" in self.net.log("verifier-1"), 120, "verifier-1 to claim a check")
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        wait_for(lambda: not processes_mentioning(self.net.node_dir("verifier-1") + "/"), 10,
                 "verifier-1's Blender to exit")
        self.net.start_node("verifier", "verifier-2")
        job = self.net.wait_job(token, job_id, timeout=240)
        self.assert_each_frame_delivered_and_credited_once(job)
        for f in job["frames"]:
            self.assertEqual(f["output"]["verifier"], "verifier-2", f)

    def test_the_manager_killed_and_restarted_continues_every_job(self):
        self.net.start_manager(extra=("--long-poll-ms", "1000"))
        token = self.net.user_token("kim")
        worker = self.net.start_node("worker", "worker", extra=("--threads", "1"))
        verifier = self.net.start_node("verifier", "verifier")
        job_id = self.submit(token)
        self.net.wait_job(token, job_id, timeout=120, until=lambda j: j["progress"]["delivered"] >= 1)
        self.net.manager.send_signal(signal.SIGKILL)
        self.net.manager.wait()
        # The nodes keep trying, backing off, while the manager is down.
        time.sleep(4)
        self.net.start_manager()
        job = self.net.wait_job(token, job_id, timeout=240)
        self.assert_each_frame_delivered_and_credited_once(job)
        # The same node processes finished the job: they reconnected on their own.
        self.assertIsNone(worker.poll())
        self.assertIsNone(verifier.poll())
        self.assertRegex(self.net.log("worker") + self.net.log("verifier"), "retrying in [0-9]+ ms")
        # The worker's record survived the crash: each of its 6 outputs counted once (all checked: it is new).
        status, body = self.net.call("GET", "/api/v1/workers", token)
        self.assertEqual(status, 200)
        accepted = sum(n["accepted"] for n in body["nodes"] if n["name"] == "worker")
        self.assertEqual(accepted, 6)
        # Secrets never appear in logs, events or API answers (tokens, node keys, the URL-signing key).
        r = self.net.cli(token, "status", str(job_id), "--json")
        events = self.net.cli(token, "status", str(job_id), "--follow", "--json")
        self.assertGreater(len(self.net.secrets()), 5)
        self.net.assert_no_secrets(json.dumps(job), json.dumps(body), r.stdout + r.stderr,
                                   events.stdout + events.stderr)

    def broken_blender(self):
        """A Blender that starts (so the node enrolls) but fails every render, as a broken GPU driver would."""
        path = os.path.join(self.net.dir, "broken-blender")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n"
                    "case \"$*\" in *--version*) exec /usr/bin/blender \"$@\";; esac\n"
                    "echo 'Error: simulated device failure on this machine' >&2\n"
                    "exit 3\n")
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return path

    def test_a_frame_failing_on_every_worker_fails_the_job_with_each_error(self):
        broken = self.broken_blender()
        self.net.start_manager(extra=("--long-poll-ms", "1000", "--max-frame-failures", "2",
                                      "--blocklist-after", "10"))
        token = self.net.user_token("lea")
        # A verifier of the workers' class (it checks nothing here): without one their renders are held back.
        self.net.start_node("verifier", "verifier")
        for name in ("worker-a", "worker-b"):
            self.net.start_node("worker", name, blender=broken)
        wait_for(lambda: all(" ready" in self.net.log(n) for n in ("worker-a", "worker-b")), 60, "the workers")
        job_id = self.submit(token, frames="1-2", chunk=1)
        job = self.net.wait_job(token, job_id, timeout=180)
        self.assertEqual(job["state"], "failed")
        failed = [f for f in job["frames"] if f["state"] == "failed"]
        self.assertTrue(failed, job["frames"])
        for f in failed:
            # Tried on both workers, not twice on one, and each worker's error is kept.
            self.assertIn("worker-a: ", f["errors"])
            self.assertIn("worker-b: ", f["errors"])
            self.assertIn("frame %d failed" % f["frame"], job["message"])
        self.assertIn("worker-a: ", job["message"])
        self.assertIn("worker-b: ", job["message"])

    def test_a_worker_failing_tasks_is_kept_off_the_job(self):
        broken = self.broken_blender()
        self.net.start_manager(extra=("--long-poll-ms", "1000", "--blocklist-after", "2"))
        token = self.net.user_token("max")
        self.net.start_node("verifier", "verifier")
        self.net.start_node("worker", "good", extra=("--threads", "1"))
        self.net.start_node("worker", "broken", blender=broken)
        wait_for(lambda: all(" ready" in self.net.log(n) for n in ("good", "broken")), 60, "the workers")
        job_id = self.submit(token, frames="1-6", chunk=1)
        job = self.net.wait_job(token, job_id, timeout=240)
        self.assert_each_frame_delivered_and_credited_once(job)
        self.assertEqual({f["output"]["worker"] for f in job["frames"]}, {"good"})
        # The job shows who was kept off it and why.
        self.assertEqual([b["worker"] for b in job["blocklist"]], ["broken"], job["blocklist"])
        self.assertIn("failed 2 tasks of this job", job["blocklist"][0]["reason"])
        self.assertIn("simulated device failure", job["blocklist"][0]["reason"])
        # And the broken worker took nothing of the job after that.
        self.assertEqual(sum(1 for f in job["frames"] for a in f["attempts"] if a["worker"] == "broken"), 0)


if __name__ == "__main__":
    unittest.main()
