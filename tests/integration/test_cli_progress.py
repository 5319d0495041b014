"""Issue #6 (CLI polish): `inferix submit --wait` draws a progress bar on a terminal (a real pseudo-terminal here)
and prints plain lines otherwise; every client command answers `--json` with JSON, errors included."""

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import termios
import time
import unittest

from netlib import INFERIX, Network, make_scene

COLUMNS = 72
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def run_in_terminal(args, env, columns=COLUMNS, timeout=120):
    """Runs the command with stdin, stdout and stderr on a pseudo-terminal `columns` wide; returns (exit code,
    everything it wrote). The terminal does not turn "\\n" into "\\r\\n", so every "\\r" seen is the program's."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.ONLCR
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    p = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.time() + timeout
    try:
        while True:
            # Checked before reading, so that what it wrote just before it ended is still read below.
            ended = p.poll() is not None
            ready, _, _ = select.select([master], [], [], 0 if ended else 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer has closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif ended:
                break
            elif time.time() > deadline:
                p.kill()
                raise AssertionError("%s did not end in %d s; it wrote:\n%r" % (args, timeout, out[-2000:]))
        return p.wait(timeout=30), out.decode(errors="replace")
    finally:
        os.close(master)


class CliProgressTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.started = time.time()
        cls.net = Network(heartbeat_ms=1000)
        cls.addClassCleanup(cls.net.cleanup)  # also when the set-up below fails
        scene_dir = os.path.join(cls.net.dir, "scene")
        os.makedirs(scene_dir)
        cls.scene = make_scene(os.path.join(scene_dir, "bar.blend"), frames=6, width=160, height=120, samples=4)
        cls.net.start_manager()
        cls.token = cls.net.user_token("pia")
        cls.net.start_node("worker", "worker", extra=("--threads", "2"))
        cls.net.start_node("verifier", "verifier")

    @classmethod
    def tearDownClass(cls):
        print("\ntest_cli_progress: %.1f s in all" % (time.time() - cls.started))

    def env(self, **extra):
        env = dict(os.environ, INFERIX_MANAGER=self.net.url, INFERIX_TOKEN=self.token, TERM="xterm")
        env.pop("NO_COLOR", None)
        env.pop("COLUMNS", None)
        env.update(extra)
        return env

    def json_of(self, r, rc=0):
        """The one JSON object a command printed on stdout."""
        self.assertEqual(r.returncode, rc, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(lines, "nothing on stdout; stderr: " + r.stderr)
        return json.loads(r.stdout)

    def error_of(self, r):
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        answer = json.loads(r.stdout)
        self.assertEqual(set(answer), {"error"})
        self.assertTrue(answer["error"]["code"])
        self.assertTrue(answer["error"]["message"])
        return answer["error"]

    def test_bar_on_a_terminal_plain_lines_otherwise(self):
        rc, out = run_in_terminal([INFERIX, "submit", self.scene, "--frames", "1-6", "--chunk", "2", "--wait"],
                                  self.env())
        self.assertEqual(rc, 0, out)
        if os.environ.get("INFERIX_SHOW_BAR"):
            print(repr(out))
        first, rest = out.split("\n", 1)
        job_id = int(first)  # the job id first, on a line of its own, as without a terminal
        self.assertIn("\r", rest, "no bar was drawn: %r" % rest)
        self.assertTrue(out.endswith("\n"), "the bar does not end with a newline: %r" % out[-200:])
        bars = []
        for line in rest.split("\n"):
            for shown in line.split("\r"):
                shown = ANSI.sub("", shown)
                self.assertLess(len(shown), COLUMNS, "wider than the terminal: %r" % shown)
                if shown.startswith("job %d " % job_id):
                    bars.append(shown)
        self.assertGreaterEqual(len(bars), 3, rest)
        delivered = [int(m.group(1)) for b in bars for m in [re.search(r"(\d+)/6 delivered", b)] if m]
        self.assertEqual(delivered, sorted(delivered), bars)
        self.assertEqual(delivered[-1], 6, bars)
        self.assertGreater(len(set(delivered)), 1, bars)
        self.assertIn("[", bars[0])
        self.assertRegex(bars[0], r"ETA (--|\d)")
        self.assertRegex(bars[-1], r"^job %d \[#+\] 6/6 rendered, 6/6 delivered: completed$" % job_id)
        self.assertNotIn("error", out)

        # The same job followed again with TERM=dumb or NO_COLOR set: plain lines even on a terminal.
        for extra in ({"TERM": "dumb"}, {"NO_COLOR": "1"}):
            rc, out = run_in_terminal([INFERIX, "status", str(job_id), "--follow"], self.env(**extra))
            self.assertEqual(rc, 0, out)
            self.assertNotIn("\r", out)
            self.assertNotIn("\x1b", out)
            self.assertIn("job %d completed: 6/6 delivered, 0 rendering, 0 verifying, 0 queued\n" % job_id, out)

        # Pipes, no terminal: the plain lines scripts parse, no "\r", no escape sequence.
        r = subprocess.run([INFERIX, "submit", self.scene, "--frames", "1-2", "--wait"], capture_output=True,
                           text=True, env=self.env(), timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job_id = int(r.stdout.split()[0])
        self.assertNotIn("\r", r.stdout + r.stderr)
        self.assertNotIn("\x1b", r.stdout + r.stderr)
        self.assertIn("job %d completed: 2/2 delivered" % job_id, r.stderr)

    def test_json_on_every_command(self):
        cli = self.net.cli
        # submit --wait --json: one object at the end, and no bar even on a terminal.
        rc, out = run_in_terminal([INFERIX, "submit", self.scene, "--frames", "3-4", "--wait", "--json"],
                                  self.env())
        self.assertEqual(rc, 0, out)
        self.assertNotIn("\r", out)
        done = json.loads(out)
        self.assertEqual(done["state"], "completed")
        self.assertEqual(done["progress"]["delivered"], 2)
        job_id = done["job_id"]

        listed = self.json_of(cli(self.token, "status", "--json"))
        self.assertIn(job_id, [j["id"] for j in listed["jobs"]])
        one = self.json_of(cli(self.token, "status", str(job_id), "--json"))
        self.assertEqual((one["id"], one["state"]), (job_id, "completed"))
        r = cli(self.token, "status", str(job_id), "--follow", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        events = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertIn({"job_id": job_id, "state": "completed", "message": ""}, [e["data"] for e in events])
        got = self.json_of(cli(self.token, "download", str(job_id), os.path.join(self.net.dir, "dl"), "--json"))
        self.assertEqual(got["job_id"], job_id)
        self.assertEqual(len([f for f in got["files"] if f.endswith(".png")]), 2)

        queued = self.json_of(cli(self.token, "submit", self.scene, "--frames", "5", "--json"))
        canceled = self.json_of(cli(self.token, "cancel", str(queued["job_id"]), "--json"))
        self.assertEqual(canceled["state"], "canceled")

        # Errors: an unknown job, a refused token, a command line that does not parse, a scene that is none.
        self.assertEqual(self.error_of(cli(self.token, "cancel", "999999", "--json"))["code"], "not_found")
        self.assertEqual(self.error_of(cli(self.token, "status", "999999", "--json"))["code"], "not_found")
        self.error_of(cli("ixu_not_a_token", "status", "--json"))
        self.assertEqual(self.error_of(cli(self.token, "cancel", "--json"))["code"], "invalid_argument")
        notes = os.path.join(self.net.dir, "notes.blend")
        with open(notes, "w") as f:
            f.write("not a scene")
        self.assertIn("not_blend", self.error_of(cli(self.token, "submit", notes, "--frames", "1", "--json"))["message"])

        # The operator's commands.
        admin = [INFERIX, "admin"]
        data = ["--data", self.net.manager_dir]
        r = subprocess.run(admin + ["token", "create", "--user", "quin", "--json"] + data, capture_output=True,
                           text=True)
        user = self.json_of(r)
        self.assertEqual(user["user"], "quin")
        self.assertTrue(user["token"])
        self.json_of(cli(user["token"], "status", "--json"))  # the token works
        r = subprocess.run(admin + ["enroll", "create", "--role", "worker", "--json"] + data, capture_output=True,
                           text=True)
        enroll = self.json_of(r)
        self.assertEqual(enroll["role"], "worker")
        self.assertTrue(enroll["token"])
        r = subprocess.run(admin + ["node", "revoke", "--node", "no-such-node", "--json"] + data, capture_output=True,
                           text=True)
        self.assertIn("no node named", self.error_of(r)["message"])
        # The same database named by its URL, as a manager on another store would be.
        store = ["--store", "sqlite:" + os.path.join(self.net.manager_dir, "manager.db")]
        r = subprocess.run(admin + ["token", "create", "--user", "quin", "--json"] + store, capture_output=True,
                           text=True)
        by_url = self.json_of(r)
        self.json_of(cli(by_url["token"], "status", "--json"))  # a token of the running manager's database
        r = subprocess.run(admin + ["token", "create", "--user", "quin"] + ["--store", "mysql://db/inferix"],
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("sqlite:PATH", r.stderr + r.stdout)  # the message names the schemes this build knows
        # A PostgreSQL that cannot be reached says so (issue #15), naming the server, never a password.
        r = subprocess.run(admin + ["token", "create", "--user", "quin"] +
                           ["--store", "postgresql://quin:s3cret@db.invalid/inferix?connect_timeout_s=2"],
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot connect", r.stderr + r.stdout)
        self.assertNotIn("s3cret", r.stderr + r.stdout)
        r = subprocess.run(admin + ["token", "create", "--user", "quin"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--data or --store", r.stderr + r.stdout)
        self.net.issued = getattr(self.net, "issued", []) + [user["token"], enroll["token"], by_url["token"]]


if __name__ == "__main__":
    unittest.main()
