"""Issue #14, items 9 and 10: the manager removes what it no longer needs by itself (ended jobs with their rows and
files, orphaned uploads, expired sessions), tells a client resuming past what it removed to read the state again,
cleans up after a crash, keeps its data folder and database private, and works from a relative --data path.

One network for every test: a tiny job is rendered and its video made; then the manager is restarted with retention
lowered to seconds, with a crash's leftovers and two stray uploads planted in its data folder. The manager's --data
is relative (the tests run it from the network's folder)."""

import os
import signal
import sqlite3
import stat
import time
import unittest
import urllib.request

from netlib import Network, make_scene

DEADLINE_S = 60


def wait_for(what, check, timeout=DEADLINE_S):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError("timed out waiting until " + what)


class RetentionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cwd = os.getcwd()
        cls.old_umask = os.umask(0o022)  # what most systems give: files readable by everyone unless made private
        net = cls.net = Network()
        os.chdir(net.dir)
        try:
            cls.start(net)
        except BaseException:
            os.chdir(cls.cwd)
            os.umask(cls.old_umask)
            net.cleanup()
            raise

    @classmethod
    def start(cls, net):
        net.manager_dir = "manager"  # relative to the network's folder, the working folder of every process here
        os.makedirs(net.manager_dir, mode=0o755)
        os.chmod(net.manager_dir, 0o755)
        net.start_manager(extra=("--long-poll-ms", "1000"))
        scene = make_scene(os.path.join(net.dir, "tiny.blend"), frames=1, width=64, height=48, samples=4)
        cls.alice = net.user_token("alice")
        cls.bob = net.user_token("bob")
        worker = net.start_node("worker", "w1")
        net.start_node("verifier", "v1")
        r = net.cli(cls.alice, "submit", scene, "--frames", "1")
        assert r.returncode == 0, r.stdout + r.stderr
        cls.job = int(r.stdout.split()[0])
        cls.done = net.wait_job(cls.alice, cls.job, timeout=300)
        cls.outputs = None

        def video_made():
            status, cls.outputs = net.call("GET", "/api/v1/jobs/%d/outputs" % cls.job, cls.alice)
            return status == 200 and cls.outputs["video"] in ("ready", "failed")

        wait_for("the video is made", video_made, timeout=120)
        _, events = cls.events(cls.alice, 0)
        cls.job_event_ids = [int(line[4:]) for line in events.splitlines() if line.startswith("id: ")]

        # Bob's job stays queued: no worker is left to take it.
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        r = net.cli(cls.bob, "submit", scene, "--frames", "1")
        assert r.returncode == 0, r.stdout + r.stderr
        cls.bobs_job = int(r.stdout.split()[0])

        # What a crash leaves, and two uploads no report names: one older than the URL lifetime plus the margin.
        blobs = os.path.join(net.manager_dir, "blobs", "outputs", str(cls.bobs_job))
        os.makedirs(blobs, exist_ok=True)
        cls.old_orphan = os.path.join(blobs, "99_1_0123abcd")
        cls.new_orphan = os.path.join(blobs, "99_1_4567abcd")
        for path in (cls.old_orphan, cls.new_orphan):
            with open(path, "wb") as f:
                f.write(b"not a frame anyone reported")
        three_hours_ago = time.time() - 3 * 3600
        os.utime(cls.old_orphan, (three_hours_ago, three_hours_ago))
        cls.leftovers = [os.path.join(net.manager_dir, "tmp", "video-77", "f_000001.png"),
                         os.path.join(net.manager_dir, "spool", "body-1")]
        net.stop()
        for path in cls.leftovers:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(b"half written")
        net.procs = []
        net.start_manager(extra=("--long-poll-ms", "1000", "--retention-every", "1", "--keep-jobs", "3s",
                                 "--keep-orphans", "2h", "--session-ttl", "4s", "--max-sessions", "2"))

    @classmethod
    def tearDownClass(cls):
        os.chdir(cls.cwd)
        os.umask(cls.old_umask)
        cls.net.cleanup()

    @classmethod
    def events(cls, token, last_event_id):
        headers = {"Authorization": "Bearer " + token, "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = str(last_event_id)
        req = urllib.request.Request(cls.net.url + "/api/v1/events", headers=headers)
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()

    def db(self):
        return sqlite3.connect(os.path.join(self.net.dir, "manager", "manager.db"), timeout=10)

    def rows(self, sql, *args):
        with self.db() as db:
            return db.execute(sql, args).fetchone()[0]

    def job_gone(self):
        status, _ = self.net.call("GET", "/api/v1/jobs/%d" % self.job, self.alice)
        return status == 404

    def test_old_jobs_and_their_files_are_removed(self):
        self.assertEqual(self.done["state"], "completed", self.done)
        self.assertEqual(self.outputs["video"], "ready", self.outputs)
        job_files = [os.path.join("manager", "blobs", "outputs", str(self.job)),
                     os.path.join("manager", "blobs", "previews", str(self.job)),
                     os.path.join("manager", "blobs", "videos", "%d.mp4" % self.job)]
        wait_for("alice's ended job is removed", self.job_gone)
        for table in ("frames", "tasks", "outputs", "events"):
            self.assertEqual(self.rows("SELECT COUNT(*) FROM %s WHERE job_id = ?" % table, self.job), 0, table)
        for path in job_files:
            found = os.listdir(path) if os.path.isdir(path) else ([path] if os.path.exists(path) else [])
            self.assertEqual(found, [], path)
        # Bob's queued job, and its rows, stay.
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % self.bobs_job, self.bob)
        self.assertEqual(status, 200, job)
        self.assertEqual(job["state"], "queued", job)
        self.assertEqual(self.rows("SELECT COUNT(*) FROM tasks WHERE job_id = ?", self.bobs_job), 1)
        self.assertIn("retention: removed 1 job(s)", self.net.log("manager"))

    def test_orphaned_upload_is_removed(self):
        wait_for("the old orphaned upload is removed", lambda: not os.path.exists(self.old_orphan))
        self.assertTrue(os.path.exists(self.new_orphan), "an upload younger than the URL lifetime stays")
        self.assertRegex(self.net.log("manager"), r"retention: removed .* 1 orphaned upload\(s\)")

    def test_expired_sessions_are_removed_without_sign_out(self):
        for _ in range(3):
            status, body = self.net.call("POST", "/api/v1/session", body={"token": self.alice})
            self.assertEqual(status, 200, body)
        user = self.rows("SELECT id FROM users WHERE name = 'alice'")
        # At most two sessions per user: the third sign-in ended the first.
        self.assertLessEqual(self.rows("SELECT COUNT(*) FROM sessions WHERE user_id = ?", user), 2)
        wait_for("the expired sessions are removed",
                 lambda: self.rows("SELECT COUNT(*) FROM sessions WHERE user_id = ?", user) == 0, timeout=30)

    def test_resuming_past_retention_gets_a_resync_hint(self):
        wait_for("alice's ended job is removed", self.job_gone)
        removed = max(self.job_event_ids)
        status, body = self.events(self.alice, min(self.job_event_ids))
        self.assertEqual(status, 200)
        self.assertIn("event: resync", body)
        self.assertIn("id: %d\n" % removed, body)
        self.assertIn("read the job", body)
        # Resuming from the hint's id goes on without one.
        _, body = self.events(self.alice, removed)
        self.assertNotIn("event: resync", body)

    def test_relative_data_path_makes_a_video(self):
        self.assertEqual(self.outputs["video"], "ready", self.outputs)
        self.assertIn("with data in /", self.net.log("manager"))  # resolved once, at start

    def test_data_folder_is_private(self):
        mode = stat.S_IMODE(os.stat("manager").st_mode)
        self.assertEqual(mode, 0o700, oct(mode))
        self.assertIn("was open to other users", self.net.log("manager"))
        for name in ("manager.db", "manager.db-wal", "manager.db-shm"):
            path = os.path.join("manager", name)
            if os.path.exists(path) or name == "manager.db":
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, name)

    def test_crash_leftovers_are_removed_at_start(self):
        for path in self.leftovers:
            self.assertFalse(os.path.exists(path), path)
        self.assertIn("left by an earlier run", self.net.log("manager"))


if __name__ == "__main__":
    unittest.main()
