#!/usr/bin/env python3
"""The farm simulator (issue #16): thousands of workers and verifiers speaking the REAL node protocol over real
HTTP to the real `inferix manager`, with users submitting jobs of several shapes while it runs; it measures the
manager and checks exactly-once delivery at the end.

    python3 bench/farm_sim.py --workers N --seconds S [--render-ms D] [--managers M] [--verifiers V]
        [--reject-rate R] [--frames-per-job F] [--jobs-in-flight J] [--idle] [--chaos] [--inferix PATH]
        [--store sqlite|postgresql] [--procs P]  (more: --help)

What runs. The simulator starts everything in a temporary folder: one manager on SQLite (`--data DIR`), or, with
--managers M > 1 or --store postgresql, PostgreSQL (tests/engines/engines.py; a fresh database of the engine that
$INFERIX_TEST_POSTGRES names when set) and M managers with `--store postgresql://...`, one shared `--blobs
file:DIR` and one `--url-secret-file`. Users (operators, `inferix admin token create`) upload a real .blend (the
example scene of examples/make_scene.py, made once with Blender and cached; --scene to give one) and submit jobs
through POST /api/v1/jobs, keeping --jobs-in-flight of them queued or running; each job takes a shape at random
(--frames-per-job, --chunk, priority 0 or 1, resolution 100% or 50%, frames 1-F or every other frame) and users
learn that a job ended from GET /api/v1/events (server-sent events, Last-Event-ID), as the CLI does. Nodes are
enrolled with one-time tokens (one `inferix admin enroll create --count N`) and then only speak HTTP: POST
/nodes/register with an Ed25519 key, long-polled claims, heartbeats with a rising progress counter, the scene's files fetched once per node by their
signed URLs and content hash, per frame POST .../upload (digest and size), PUT of a tiny real PNG (at the job's
resolution, its tEXt chunk making every render a new file) to the signed URL, the signed report, POST .../done;
verifiers fetch the output under check by its signed URL, check its SHA-256 and give a signed verdict, rejecting
at --reject-rate (the manager then renders the frame again elsewhere, re-checks the worker's other frames and, at
its --ban-after, bans it; a banned node stops). A render or a check is a sleep drawn from --render-ms/--verify-ms.
Nodes are spread over --procs OS processes (each one asyncio loop, one keep-alive connection per node from
127.100.x.y source addresses, 200 nodes per address: a manager allows 256 connections per address) and over the
managers (node i talks to manager i mod M; when it fails, to the next one). A node's heartbeats share its one
connection with its other requests (they wait their turn on it). The managers run with --lease-ms 20000 and
--heartbeat-ms 5000 unless told otherwise (5000/1250 with --chaos, so that vanished workers' tasks come back within
the run): a lease must outlast the manager's queueing of a heartbeat under load, or tasks are taken from live
workers (counted as lease_lost and as errors).

--idle: no jobs; every node long-polls (memory and CPU per 1,000 idle nodes). --chaos: a tenth of the workers
(--chaos-kill) vanish mid-task at a random moment (after the claim, the render, the upload or a report): their
lease must expire (--lease-ms) and the task go to another worker; with --managers >= 2, a random manager is killed
with SIGKILL a few times and restarted on its port, and nodes fail over. The checks must hold all the same.

The run: setup, then the measurement window of --seconds (its figures), then up to --drain seconds in which no
job is submitted and the running ones may end, then the nodes stop, the managers get SIGTERM, and the database is
checked (SQLite opened read-only; PostgreSQL through psql).

Output: ONE JSON line on stdout (everything else goes to stderr), exit status 1 when a check failed or anything
unexpected happened (the first problems are listed on stderr and in "problems"). Its fields:

  tasks_per_s            render tasks claimed, with every frame reported and POST /done answered 200 within the
                         window, per second of the window
  frames_per_s           frames delivered within the window (the manager's "frame ... delivered" events in the
                         store, by their time) per second
  idle_to_busy_p50_ms, _p99_ms, _max_ms, _samples
                         from a task becoming claimable to a waiting worker holding it. Claimable moments the
                         simulator knows: a job's POST /jobs being SENT (its tasks are committed before the answer,
                         so the submission's round trip is included: an upper bound) and a verifier's "rejected"
                         verdict being SENT (the frame is queued again in that transaction). For each such moment t0
                         in the window, w = workers idle at t0 (long-polling: from the end of their previous task to
                         their next claim's answer); a job of k tasks contributes the first min(k, w) first claims
                         of its tasks, a rejection the frame's next claim if w >= 1; a sample is the time the claim's
                         answer reached the worker minus t0. Tasks queued again by a lease's expiry or a caught
                         worker's discarded outputs are not sampled (their moment is the manager's own).
                         idle_to_busy_by_source splits them (submit, requeue).
  manager_rss_mib        per manager process (restarted ones are new entries): "peak" VmHWM and "end" VmRSS (at
                         its stop, or just before it was killed), from /proc/PID/status
  manager_cpu_s          utime+stime (/proc/PID/stat) of every manager process within the window
  manager_cpu_ms_per_frame  manager_cpu_s in ms per frame delivered within the window
  manager_children_cpu_s  CPU of the managers' children within the window (ffmpeg making videos), not above
  db_writes_per_frame    inferix_store_write_transactions_total (GET /metrics with an operator's token, summed
                         over the managers, counter resets of restarts handled) within the window per frame
                         delivered; null when no manager answers /metrics with 200
  db_server_cpu_s        PostgreSQL's CPU within the window (its postmaster and children); null on SQLite
  lost                   submitted frames not delivered whose job ended, frames failed/canceled, frames or jobs
                         missing, delivered frames whose output is not accepted/trusted or whose stored object
                         is missing or has another SHA-256, and acknowledged reports with no output in the store
  in_flight              frames of jobs still queued or running after the drain (not lost)
  duplicated             frames with more than one delivered (accepted or trusted, not a second render) output
  double_leases          from the simulator's log: a frame (render) or verify task held by a node whose lease still
                         worked (a request asserting it, SENT after the next holder's claim was ANSWERED, was
                         accepted: upload URL, report, verdict, or a heartbeat answered "continue" while the frame
                         was unreported); plus, from the store, a frame in two active render tasks
  errors                 unexpected events: HTTP answers the protocol does not explain, transport failures
                         without --chaos, a 429 or a lost lease without --chaos, checks the simulator could not do
  workers, verifiers, managers, seconds, store, procs
  sim_cpu_s              CPU of the simulator's processes within the window (sim_cpu_max_proc_share: the busiest
                         process's share of one core; near 1.0 the simulator, not the manager, is the limit)
  and more: frames_reported_per_s (frames whose signed report was answered 200 within the window: far above
  frames_per_s, checks trail renders), frames_delivered (all, at the end), tasks_done, jobs_*, rejected,
  banned_workers, vanished_workers, manager_kills, transport_retries, lease_lost, requests_per_s, latency_ms (per
  route: p50/p99 of the times the nodes saw from their request's turn on its connection to the answer; long polls
  left out), status_counts, pg_per_frame (PostgreSQL's commits, rows read and rows written within the window per
  frame delivered, from pg_stat_database), with --idle manager_rss_per_1000_nodes_mib (VmRSS at the end less
  before enrollment) and manager_cores_per_1000_nodes, the binary and its build time, problems.

The window starts half a second after the nodes began their first long polls.
"""

import argparse
import asyncio
import hashlib
import json
import math
import multiprocessing
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import farm_sim_checks as checks_mod  # noqa: E402
from farm_sim_http import ED25519, Conn, Transport, error_text, now, parse_json  # noqa: E402
from farm_sim_nodes import child_main, distribution, route_of  # noqa: E402

ROOT = os.path.dirname(HERE)
NODES_PER_ADDRESS = 200
HZ = os.sysconf("SC_CLK_TCK")
SCENE_VERSION = 1  # bump when the cached scene's recipe changes


def say(fmt, *args):
    sys.stderr.write("farm_sim: " + (fmt % args if args else fmt) + "\n")
    sys.stderr.flush()


class Deadline(Exception):
    pass


# --- /proc ---

def proc_sample(pid):
    """{cpu, children_cpu (seconds), rss, hwm (MiB)} of a live process, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/%d/status" % pid) as f:
            status = f.read()
    except OSError:
        return None
    if fields[0] == "Z":
        return None
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    mem = {}
    for line in status.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            mem[line[:5]] = int(line.split()[1]) / 1024.0
    return {"cpu": (utime + stime) / HZ, "children_cpu": (cutime + cstime) / HZ, "rss": mem.get("VmRSS", 0.0),
            "hwm": mem.get("VmHWM", 0.0)}


def tree_cpu(root_pid):
    """CPU seconds of a process, its reaped children and its live children (PostgreSQL's postmaster)."""
    s = proc_sample(root_pid)
    if s is None:
        return None
    total = s["cpu"] + s["children_cpu"]
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == root_pid:
            total += (int(fields[11]) + int(fields[12])) / HZ
    return total


class Series:
    """Samples (t, value) of one process: the value at the window's edges."""

    def __init__(self):
        self.samples = []

    def add(self, t, v):
        if v is not None:
            self.samples.append((t, v))

    def at(self, t):
        """The last sample at or before t (None before the first)."""
        best = None
        for ts, v in self.samples:
            if ts <= t:
                best = v
        return best


# --- managers ---

class ManagerProc:
    """One run of one manager process."""

    def __init__(self, slot, popen, started):
        self.slot = slot
        self.popen = popen
        self.pid = popen.pid
        self.started = started
        self.stats = Series()  # proc_sample dicts
        self.writes = Series()  # inferix_store_write_transactions_total
        self.killed = False

    def sample(self):
        s = proc_sample(self.pid) if self.popen.poll() is None else None
        if s is not None:
            self.stats.add(now(), s)
        return s


class Managers:
    def __init__(self, sim):
        self.sim = sim
        self.args = sim.args
        self.count = sim.args.managers
        self.ports = [0] * self.count
        self.urls = [None] * self.count
        self.current = [None] * self.count
        self.all = []

    def data_dir(self, i):
        return os.path.join(self.sim.tmp, "manager%d" % i)

    def command(self, i):
        a = self.args
        cmd = [a.inferix, "manager", "--listen", "127.0.0.1:%d" % self.ports[i], "--data", self.data_dir(i),
               "--lease-ms", str(a.lease_ms), "--heartbeat-ms", str(a.heartbeat_ms)]
        if a.long_poll_ms:
            cmd += ["--long-poll-ms", str(a.long_poll_ms)]
        if self.sim.store_url:
            cmd += ["--store", self.sim.store_url, "--blobs", "file:" + self.sim.blobs_dir, "--url-secret-file",
                    self.sim.secret_file]
        return cmd + list(a.manager_arg or [])

    def spawn(self, i):
        """Starts (or restarts, on its port) manager i; `wait_ready` then waits for it to serve. Always from the
        main thread: a manager dies with the thread that started it (PR_SET_PDEATHSIG)."""
        data = self.data_dir(i)
        os.makedirs(data, exist_ok=True)
        url_file = os.path.join(data, "manager.url")
        if os.path.exists(url_file):
            os.remove(url_file)
        log = open(os.path.join(self.sim.tmp, "manager%d.log" % i), "ab")
        p = subprocess.Popen(self.command(i), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             preexec_fn=die_with_parent)
        log.close()
        proc = ManagerProc(i, p, now())
        self.all.append(proc)
        self.current[i] = proc
        return proc

    def ready(self, i):
        """True once manager i serves (its URL file is written); RuntimeError when it died."""
        proc = self.current[i]
        url_file = os.path.join(self.data_dir(i), "manager.url")
        if os.path.exists(url_file):
            with open(url_file) as f:
                text = f.read()
            if text.endswith("\n"):
                self.urls[i] = text.strip()
                self.ports[i] = int(self.urls[i].rsplit(":", 1)[1])
                proc.sample()
                return True
        if proc.popen.poll() is not None:
            raise RuntimeError("manager %d did not start (exit %s); see %s" % (
                i, proc.popen.returncode, os.path.join(self.sim.tmp, "manager%d.log" % i)))
        return False

    def start(self, i):
        """spawn, then wait until it serves (blocking)."""
        self.spawn(i)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.ready(i):
                return self.current[i]
            time.sleep(0.05)
        raise RuntimeError("manager %d did not start in 60 s" % i)

    async def start_async(self, i):
        self.spawn(i)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.ready(i):
                return self.current[i]
            await asyncio.sleep(0.05)
        raise RuntimeError("manager %d did not start in 60 s" % i)

    def kill(self, i):
        proc = self.current[i]
        proc.sample()
        proc.killed = True
        proc.popen.send_signal(signal.SIGKILL)
        proc.popen.wait()
        self.current[i] = None

    def stop_all(self):
        live = [p for p in self.current if p is not None]
        for p in live:
            p.sample()
            if p.popen.poll() is None:
                p.popen.send_signal(signal.SIGTERM)
        for p in live:
            try:
                p.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.sim.problem("manager %d did not stop in 30 s after SIGTERM; killed" % p.slot)
                p.popen.kill()
                p.popen.wait()
            if p.popen.returncode not in (0, -signal.SIGTERM):
                self.sim.problem("manager %d exited with status %s (see manager%d.log)" % (
                    p.slot, p.popen.returncode, p.slot))
        self.current = [None] * self.count

    def addrs(self):
        return [("127.0.0.1", port) for port in self.ports]


def die_with_parent():
    try:
        import ctypes  # pylint: disable=import-outside-toplevel
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# --- the scene ---

def scene_bytes(args):
    """The .blend the jobs render: --scene, or the example scene made once with Blender and cached."""
    if args.scene:
        with open(args.scene, "rb") as f:
            return f.read()
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "inferix-farm-sim")
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, "scene-%dx%d-v%d.blend" % (args.scene_width, args.scene_height, SCENE_VERSION))
    if not os.path.exists(path):
        blender = args.blender or shutil.which("blender") or "/usr/bin/blender"
        part = "%s.%d.blend" % (path[:-6], os.getpid())
        cmd = [blender, "-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python",
               os.path.join(ROOT, "examples", "make_scene.py"), "--", part, "--frames", "24", "--width",
               str(args.scene_width), "--height", str(args.scene_height), "--samples", "4"]
        say("making the example scene with %s (once; cached in %s)", blender, cache)
        try:
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
        except (OSError, subprocess.SubprocessError) as e:
            raise SystemExit("farm_sim: cannot make the example scene with Blender (%s); give one with --scene" % e)
        os.replace(part, path)
    with open(path, "rb") as f:
        return f.read()


# --- users ---

class Users:
    """The people submitting jobs: each an operator with a token, one connection for submissions and one
    following their events."""

    def __init__(self, sim, tokens):
        self.sim = sim
        self.args = sim.args
        self.tokens = tokens
        self.rng = random.Random(sim.args.seed * 7919 + 1)
        self.addrs = sim.managers.addrs()
        self.conns = [Conn(self.addrs, i) for i in range(len(tokens))]
        self.event_conns = [Conn(self.addrs, i + 1) for i in range(len(tokens))]
        self.scenes = []  # (name, sha256, bytes)
        self.jobs = {}  # name -> submission
        self.by_id = {}  # (user, job id) -> submission
        self.in_flight = set()  # names
        self.seq = 0
        self.submitting = True
        self.frame_choices = [int(x) for x in str(self.args.frames_per_job).split(",")]
        self.chunk_choices = [int(x) for x in str(self.args.chunk).split(",")]

    async def call(self, u, method, path, body=None, raw=None, timeout=60.0, conn=None, headers=None):
        """(status, JSON, payload, transport error or None); retries transport failures only when the request
        never left (the caller decides otherwise)."""
        conn = conn or self.conns[u]
        hdrs = {"Authorization": "Bearer " + self.tokens[u]}
        if headers:
            hdrs.update(headers)
        data = b""
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif raw is not None:
            data = raw
            hdrs["Content-Type"] = "application/octet-stream"
        route = route_of(method, path)
        try:
            status, h, payload = await conn.request(method, path, data, hdrs, timeout)
        except Transport as e:
            self.sim.counters["user_transport_retries"] = self.sim.counters.get("user_transport_retries", 0) + 1
            if not self.args.chaos:
                self.sim.error("user %d: %s" % (u, e))
            if len(self.addrs) > 1:
                conn.failover()
            return None, None, b"", e
        if route != "GET events":  # a long poll
            self.sim.answered(route, status, conn.last_seconds)
        else:
            self.sim.answered(route, status, None)
        return status, parse_json(payload), payload, None

    async def upload_scenes(self):
        base = scene_bytes(self.args)
        for k in range(self.args.scenes):
            data = base if k == 0 else base + b"\0farm-sim scene variant %d\0" % k
            self.scenes.append(("scene%d.blend" % k, hashlib.sha256(data).hexdigest(), data))
        self.sim.scene_size = len(base)
        for u in range(len(self.tokens)):
            for _, sha, data in self.scenes:
                for _ in range(10):
                    status, _, payload, err = await self.call(u, "PUT", "/api/v1/files/" + sha, raw=data)
                    if err is None:
                        break
                    await asyncio.sleep(0.5)
                if status not in (200, 201):
                    raise RuntimeError("user %d: upload of the scene: HTTP %s %s" % (u, status, error_text(payload)))

    def shape(self):
        frames = self.rng.choice(self.frame_choices)
        chunk = self.rng.choice(self.chunk_choices)
        stepped = self.rng.random() < 0.25 and frames > 1
        spec = "1-%dx2" % (2 * frames - 1) if stepped else "1-%d" % frames
        numbers = list(range(1, 2 * frames, 2)) if stepped else list(range(1, frames + 1))
        return {"spec": spec, "frames": numbers, "chunk": chunk, "tasks": math.ceil(frames / chunk),
                "priority": 1 if self.rng.random() < 0.2 else 0,
                "pct": 50 if self.rng.random() < 0.3 else 100, "scene": self.rng.randrange(len(self.scenes))}

    async def submit(self, u):
        self.seq += 1
        name = "sim-%s-%05d" % (self.sim.run_id, self.seq)
        sh = self.shape()
        main, sha, _ = self.scenes[sh["scene"]]
        body = {"name": name, "main": main, "files": [{"path": main, "sha256": sha}], "frames": sh["spec"],
                "chunk_size": sh["chunk"], "priority": sh["priority"], "format": "PNG"}
        if sh["pct"] != 100:
            body["resolution_percentage"] = sh["pct"]
        sub = dict(sh, name=name, user=u, job_id=None, t_sent=None, t_answer=None)
        for attempt in range(20):
            sub["t_sent"] = now()
            status, job, payload, err = await self.call(u, "POST", "/api/v1/jobs", body)
            if err is not None:
                if err.sent:
                    # The job may exist: a second POST would make a second job. Look for it by name.
                    found = await self.find_job(u, name)
                    if found is not None:
                        job, status = found, 201
                    else:
                        await asyncio.sleep(0.3)
                        continue
                else:
                    await asyncio.sleep(0.3)
                    continue
            if status in (502, 503, 504):
                await asyncio.sleep(0.3)
                continue
            if status != 201 or not isinstance(job, dict):
                self.sim.error("user %d: POST /jobs: HTTP %s %s" % (u, status, error_text(payload)))
                return None
            sub["t_answer"] = now()
            sub["job_id"] = int(job["id"])
            self.jobs[name] = sub
            self.by_id[(u, sub["job_id"])] = sub
            self.in_flight.add(name)
            self.sim.counters["jobs_submitted"] = self.sim.counters.get("jobs_submitted", 0) + 1
            return sub
        self.sim.error("user %d: POST /jobs: no manager took job %s" % (u, name))
        return None

    async def find_job(self, u, name):
        for _ in range(20):
            status, answer, _, err = await self.call(u, "GET", "/api/v1/jobs")
            if err is None and status == 200:
                for j in answer.get("jobs", []):
                    if j.get("name") == name:
                        return j
                return None
            await asyncio.sleep(0.3)
        return None

    def ended(self, u, job_id, state):
        sub = self.by_id.get((u, job_id))
        if sub is None or sub["name"] not in self.in_flight:
            return
        self.in_flight.discard(sub["name"])
        sub["state"] = state
        sub["t_ended"] = now()
        self.sim.counters["jobs_" + state] = self.sim.counters.get("jobs_" + state, 0) + 1

    async def follow(self, u):
        """GET /events with Last-Event-ID, as the CLI follows a job: notes jobs that end."""
        last = None
        while True:
            headers = {"Last-Event-ID": str(last)} if last is not None else None
            status, _, payload, err = await self.call(u, "GET", "/api/v1/events", conn=self.event_conns[u],
                                                      timeout=120, headers=headers)
            if err is not None or status in (502, 503, 504):
                await asyncio.sleep(0.3)
                continue
            if status != 200:
                self.sim.error("user %d: GET /events: HTTP %d %s" % (u, status, error_text(payload)))
                await asyncio.sleep(1)
                continue
            for block in payload.decode("utf-8", "replace").split("\n\n"):
                fields = {}
                for line in block.split("\n"):
                    name, sep, value = line.partition(":")
                    if sep:
                        fields[name] = value[1:] if value.startswith(" ") else value
                if "id" in fields:
                    last = int(fields["id"])
                kind = fields.get("event")
                if kind == "resync":
                    await self.reread(u)
                if kind == "job":
                    data = parse_json(fields.get("data", "").encode()) or {}
                    if data.get("state") in checks_mod.FINAL_JOB_STATES:
                        self.ended(u, int(data["job_id"]), data["state"])

    async def reread(self, u):
        status, answer, _, err = await self.call(u, "GET", "/api/v1/jobs")
        if err is None and status == 200:
            for j in answer.get("jobs", []):
                if j.get("state") in checks_mod.FINAL_JOB_STATES:
                    self.ended(u, int(j["id"]), j["state"])

    async def keep_jobs_in_flight(self):
        u = 0
        while True:
            while self.submitting and len(self.in_flight) < self.args.jobs_in_flight:
                if await self.submit(u) is None:
                    await asyncio.sleep(0.5)
                u = (u + 1) % len(self.tokens)
            await asyncio.sleep(0.02)


# --- the simulation ---

class Sim:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="inferix-farm-sim-")
        self.run_id = "%x" % (int(time.time()) & 0xFFFFFF)
        self.problems = []
        self.errors = 0
        self.counters = {}
        self.status = {}
        self.latency = {}
        self.store_url = None
        self.pg_dir = None
        self.pg_pid = None
        self.db_cpu = Series()
        self.blobs_dir = None
        self.secret_file = None
        self.managers = Managers(self)
        self.children = []
        self.scene_size = 0
        self.users = None
        self.kills = 0
        self.t0 = self.t_end = None
        self.pg_t0 = self.pg_t_end = None
        self.wall_offset = time.time() - now()

    def problem(self, text):
        self.problems.append(text)

    def error(self, text):
        self.errors += 1
        self.problem(text)

    def answered(self, route, status, seconds):
        by = self.status.setdefault(route, {})
        by[status] = by.get(status, 0) + 1
        if seconds is not None:
            self.latency.setdefault(route, []).append(seconds)

    # --- setup ---

    def admin(self, *args):
        where = ["--store", self.store_url] if self.store_url else ["--data", self.managers.data_dir(0)]
        p = subprocess.run([self.args.inferix, "admin", *args, *where], capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("inferix admin %s: %s" % (" ".join(args), p.stderr.strip() or p.stdout.strip()))
        return p.stdout.strip()

    def start_store(self):
        a = self.args
        if a.store == "sqlite" and a.managers == 1:
            os.makedirs(self.managers.data_dir(0), exist_ok=True)
            self.blobs_dir = os.path.join(self.managers.data_dir(0), "blobs")
            return
        self.blobs_dir = os.path.join(self.tmp, "blobs")
        os.makedirs(self.blobs_dir, exist_ok=True)
        self.secret_file = os.path.join(self.tmp, "url-secret")
        if a.store == "sqlite":
            raise SystemExit("farm_sim: several managers need --store postgresql (they share one database)")
        sys.path.insert(0, os.path.join(ROOT, "tests", "engines"))
        import engines  # noqa: E402  pylint: disable=import-outside-toplevel,import-error
        info = None
        shared = os.environ.get("INFERIX_TEST_POSTGRES")
        if shared and os.path.exists(shared):
            with open(shared) as f:
                info = json.load(f)
            say("using the PostgreSQL of %s", shared)
        else:
            self.pg_dir = os.path.join(self.tmp, "postgres")
            say("starting PostgreSQL in %s", self.pg_dir)
            info = engines.start_postgres(self.pg_dir)
            self.pg_pid = info.get("pid")
        name = "farm_sim_%s_%d" % (self.run_id, os.getpid())
        p = subprocess.run(["psql", info["url"], "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE " + name],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("CREATE DATABASE: %s" % p.stderr.strip())
        self.store_url = info["url"].rsplit("/", 1)[0] + "/" + name
        if not self.pg_pid:
            self.pg_pid = info.get("pid")

    def enrollment_tokens(self, n, role):
        """n one-time enrollment tokens from one `inferix admin enroll create --count n` (one transaction)."""
        if n == 0:
            return []
        tokens = self.admin("enroll", "create", "--role", role, "--count", str(n)).split()
        if len(tokens) != n:
            raise RuntimeError("inferix admin enroll create --count %d printed %d tokens" % (n, len(tokens)))
        return tokens

    def node_specs(self):
        a = self.args
        specs = []
        kill_rng = random.Random(a.seed * 31 + 7)
        killed = set()
        if a.chaos and a.workers:
            killed = set(kill_rng.sample(range(a.workers), max(1, int(round(a.workers * a.chaos_kill)))))
        wt = self.enrollment_tokens(a.workers, "worker")
        vt = self.enrollment_tokens(a.verifiers, "verifier")
        for i in range(a.workers + a.verifiers):
            role = "worker" if i < a.workers else "verifier"
            k = i // NODES_PER_ADDRESS
            spec = {"idx": i, "role": role, "token": wt[i] if role == "worker" else vt[i - a.workers],
                    "name": "sim-w%05d" % i if role == "worker" else "sim-v%03d" % (i - a.workers),
                    "manager": i % a.managers, "local_ip": "127.100.%d.%d" % (k // 250, k % 250 + 1)}
            if i in killed:
                spec["kill_after"] = kill_rng.uniform(0.1, 0.7) * a.seconds
            specs.append(spec)
        return specs

    def start_children(self, specs):
        a = self.args
        ctx = multiprocessing.get_context("fork")
        per = [[] for _ in range(a.procs)]
        for s in specs:
            per[s["idx"] % a.procs].append(s)
        for p, group in enumerate(per):
            cfg = {"addrs": self.managers.addrs(), "chaos": a.chaos, "seed": a.seed, "render_ms": a.render_ms,
                   "verify_ms": a.verify_ms, "reject_rate": a.reject_rate, "scene_w": a.scene_width,
                   "scene_h": a.scene_height, "long_poll_s": (a.long_poll_ms or 25000) / 1000.0,
                   "fetch_scenes": not a.no_scene_fetch, "out": os.path.join(self.tmp, "nodes%d.json" % p)}
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=child_main, args=(cfg, group, child), daemon=True)
            proc.start()
            child.close()
            self.children.append({"proc": proc, "pipe": parent, "ready": None, "result": None, "n": len(group)})

    def wait_children(self, kind, timeout):
        deadline = time.time() + timeout
        out = []
        for c in self.children:
            while True:
                left = deadline - time.time()
                if left <= 0 or not c["pipe"].poll(min(left, 1.0)):
                    if left <= 0:
                        raise RuntimeError("node process %d: no %s in %.0f s" % (c["proc"].pid, kind, timeout))
                    if not c["proc"].is_alive():
                        raise RuntimeError("node process %d died (exit %s)" % (c["proc"].pid, c["proc"].exitcode))
                    continue
                msg = c["pipe"].recv()
                if msg[0] == "failed":
                    raise RuntimeError("node process %d failed: %s" % (c["proc"].pid, msg[1]))
                if msg[0] == kind:
                    out.append(msg[1])
                    break
        return out

    def tell_children(self, *msg):
        for c in self.children:
            try:
                c["pipe"].send(msg)
            except OSError:
                pass

    # --- the run ---

    def sample(self):
        for p in self.managers.current:
            if p is not None:
                p.sample()
        if self.pg_pid:
            self.db_cpu.add(now(), tree_cpu(self.pg_pid))

    def pg_stats(self):
        """PostgreSQL's counters of the simulation's database (pg_stat_database): commits, rows read; None on
        SQLite or when psql fails."""
        if not self.store_url:
            return None
        p = subprocess.run(["psql", self.store_url, "-X", "-At", "-c",
                            "SELECT xact_commit, tup_returned + tup_fetched, tup_inserted + tup_updated + tup_deleted "
                            "FROM pg_stat_database WHERE datname = current_database()"],
                           capture_output=True, text=True, timeout=30, check=False)
        try:
            commits, read, written = (int(x) for x in p.stdout.strip().split("|"))
        except ValueError:
            return None
        return {"commits": commits, "rows_read": read, "rows_written": written}

    async def metrics_once(self, conns, path):
        total = 0
        for i, p in enumerate(self.managers.current):
            if p is None:
                continue
            try:
                status, _, payload = await conns[i].request(
                    "GET", path, b"", {"Authorization": "Bearer " + self.users.tokens[0]}, 10)
            except Transport:
                continue
            if status != 200:
                return None
            value = None
            for line in payload.decode("utf-8", "replace").splitlines():
                if line.startswith(("inferix_store_write_transactions_total{",
                                    "inferix_store_write_transactions_total ")):
                    try:  # NAME{LABELS} VALUE [TIMESTAMP]
                        value = (value or 0) + float(line[line.rfind("}") + 1:].split()[0] if "}" in line
                                                     else line.split()[1])
                    except (ValueError, IndexError):
                        pass
            if value is not None:
                p.writes.add(now(), value)
                total += 1
        return total

    async def sampler(self):
        while True:
            await asyncio.sleep(1.0)
            self.sample()
            if self.metrics_path:
                await self.metrics_once(self.metrics_conns, self.metrics_path)

    async def chaos_managers(self):
        a = self.args
        if not a.chaos or a.managers < 2:
            return
        rng = random.Random(a.seed * 13 + 5)
        while True:
            await asyncio.sleep(rng.uniform(0.15, 0.35) * a.seconds)
            if now() > self.t0 + a.seconds - 2:
                return
            i = rng.randrange(a.managers)
            say("chaos: SIGKILL manager %d (pid %d)", i, self.managers.current[i].pid)
            self.managers.kill(i)
            self.kills += 1
            await asyncio.sleep(rng.uniform(1.0, 3.0))
            await self.managers.start_async(i)
            say("chaos: manager %d back (pid %d)", i, self.managers.current[i].pid)

    async def main_loop(self):
        a = self.args
        users = self.users
        if not a.idle:
            await users.upload_scenes()
        # Whether the managers answer GET /metrics (it counts the store's write transactions), and where.
        self.metrics_conns = [Conn([("127.0.0.1", port)], 0) for port in self.managers.ports]
        self.metrics_path = None
        for candidate in ("/metrics", "/api/v1/metrics"):
            if await self.metrics_once(self.metrics_conns, candidate):
                self.metrics_path = candidate
                break
        background = [asyncio.ensure_future(self.sampler())]
        if not a.idle:
            background += [asyncio.ensure_future(users.follow(u)) for u in range(len(users.tokens))]
        self.tell_children("go", now())
        await asyncio.sleep(0.5)  # the nodes are in their first long polls when the window starts
        self.pg_t0 = self.pg_stats()
        self.sample()
        self.t0 = now()
        self.cpu_t0 = time.process_time()
        work = []
        if not a.idle:
            work.append(asyncio.ensure_future(users.keep_jobs_in_flight()))
        work.append(asyncio.ensure_future(self.chaos_managers()))
        await asyncio.sleep(max(0.0, self.t0 + a.seconds - now()))
        self.t_end = now()
        self.cpu_t_end = time.process_time()
        self.tell_children("mark", self.t_end)
        users.submitting = False
        self.sample()
        self.pg_t_end = self.pg_stats()
        for t in work:
            t.cancel()
        await asyncio.wait(work, timeout=10)
        if self.metrics_path:
            await self.metrics_once(self.metrics_conns, self.metrics_path)
        # The drain: no more jobs; the running ones may end (a manager the chaos killed is back by now).
        for i, p in enumerate(self.managers.current):
            if p is None:
                await self.managers.start_async(i)
        drain_until = now() + a.drain
        while not a.idle and users.in_flight and now() < drain_until:
            await asyncio.sleep(0.2)
        self.counters["drain_s"] = round(now() - self.t_end, 2)
        for t in background:
            t.cancel()
        await asyncio.wait(background, timeout=10)
        for c in users.conns + users.event_conns + self.metrics_conns:
            c.close()
        self.sample()

    def run(self):
        a = self.args
        say("folder %s; %d workers, %d verifiers, %d manager(s) on %s, %d node process(es); Ed25519 by %s",
            self.tmp, a.workers, a.verifiers, a.managers, a.store, a.procs, ED25519)
        setup_started = time.time()
        self.start_store()
        tokens = []
        if not self.store_url:
            tokens.append(self.admin("token", "create", "--user", "sim-user-0", "--operator"))  # makes the db
        else:
            # The schema first: the first manager migrates the database.
            self.managers.start(0)
            tokens.append(self.admin("token", "create", "--user", "sim-user-0", "--operator"))
        for u in range(1, a.users):
            tokens.append(self.admin("token", "create", "--user", "sim-user-%d" % u, "--operator"))
        for i in range(a.managers):
            if self.managers.current[i] is None:
                self.managers.start(i)
        baseline = sum(p.sample()["rss"] for p in self.managers.current)
        self.users = Users(self, tokens)
        specs = self.node_specs()
        say("%d enrollment tokens ready (%.1f s); enrolling the nodes", len(specs), time.time() - setup_started)
        self.start_children(specs)
        ready = self.wait_children("ready", 120 + len(specs) / 20.0)
        enrolled = sum(r["enrolled"] for r in ready)
        failed = sum(r["failed"] for r in ready)
        if failed:
            self.error("%d node(s) could not enroll" % failed)
        self.counters["enrolled"] = enrolled
        rss_enrolled = sum(p.sample()["rss"] for p in self.managers.current)
        say("%d nodes enrolled (setup %.1f s); the window of %.0f s starts", enrolled, time.time() - setup_started,
            a.seconds)
        self.counters["setup_s"] = round(time.time() - setup_started, 2)
        asyncio.run(self.main_loop())
        self.tell_children("stop")
        paths = self.wait_children("done", 120)
        for c in self.children:
            c["proc"].join(10)
        logs = []
        for path in paths:
            with open(path) as f:
                logs.append(json.load(f))
        rss_end = sum(p.stats.samples[-1][1]["rss"] for p in self.managers.current if p and p.stats.samples)
        self.managers.stop_all()
        return self.report(logs, baseline, rss_enrolled, rss_end)

    # --- the figures and the checks ---

    def report(self, logs, rss_baseline, rss_enrolled, rss_end):
        a = self.args
        t0, t_end = self.t0, self.t_end
        window = t_end - t0
        merged = {k: [] for k in ("claims", "idle", "holds", "reports", "dones", "verdicts", "vanished", "banned",
                                  "lease_lost")}
        counters = dict(self.counters)
        status = {r: dict(s) for r, s in self.status.items()}
        latency = {r: list(v) for r, v in self.latency.items()}
        node_errors = 0
        problems = []
        for lg in logs:
            for k in merged:
                merged[k].extend(lg[k])
            for k, v in lg["counters"].items():
                counters[k] = counters.get(k, 0) + v
            for route, by in lg["status"].items():
                mine = status.setdefault(route, {})
                for st, n in by.items():
                    mine[str(st)] = mine.get(str(st), 0) + n
            for route, vals in lg["latency"].items():
                latency.setdefault(route, []).extend(vals)
            node_errors += lg["errors"]
            problems.extend(lg["problems"])
        errors = self.errors + node_errors

        # The store.
        checks = checks_mod.Checks()
        store = None
        try:
            db = checks_mod.Db(sqlite_path=None if self.store_url else os.path.join(
                self.managers.data_dir(0), "manager.db"), pg_url=self.store_url)
            try:
                store = checks_mod.read_store(db)
            finally:
                db.close()
        except Exception as e:  # noqa: BLE001
            errors += 1
            checks.problem("the database could not be read: %s" % e)
        submitted = self.users.jobs if self.users else {}
        blobs_checked = 0
        if store is not None:
            blobs_checked = checks_mod.check_store(store, submitted, merged["reports"], self.blobs_dir, checks)
        checks_mod.check_holds(merged["holds"], checks)

        # Figures of the window.
        def in_window(t):
            return t is not None and t0 <= t <= t_end

        tasks_done = sum(1 for d in merged["dones"] if in_window(d[4]))
        if store is not None:
            lo, hi = (t0 + self.wall_offset) * 1000, (t_end + self.wall_offset) * 1000
            frames_window = sum(1 for ms in store["delivered_ms"] if lo <= ms <= hi)
        else:
            frames_window = sum(1 for v in merged["verdicts"] if v[5] == "accepted" and v[4] in (-1, 0, 1)
                                and in_window(v[7]))
        subs = list(submitted.values())
        samples = checks_mod.idle_to_busy(subs, merged["verdicts"], merged["claims"], merged["idle"], (t0, t_end))
        every = samples["submit"] + samples["requeue"]

        def ms(v):
            return None if v is None else round(v * 1000.0, 2)

        cpu_window = 0.0
        children_cpu = 0.0
        cpu_total = 0.0
        rss = []
        writes = 0.0
        writes_seen = False
        for p in self.managers.all:
            end = p.stats.at(t_end)
            start = p.stats.at(t0) if p.started <= t0 else None
            if end is not None:
                cpu_window += end["cpu"] - (start["cpu"] if start else 0.0)
                children_cpu += end["children_cpu"] - (start["children_cpu"] if start else 0.0)
            last = p.stats.samples[-1][1] if p.stats.samples else None
            if last:
                cpu_total += last["cpu"]
                rss.append({"manager": p.slot, "pid": p.pid, "peak": round(last["hwm"], 1),
                            "end": round(last["rss"], 1), "killed": p.killed})
            # Writes within the window, each run of a manager counting from its own start.
            prev = None
            for t, v in p.writes.samples:
                if t < t0:
                    prev = v
                    continue
                if t > t_end + 0.5:
                    break
                writes_seen = True
                writes += v - prev if prev is not None and v >= prev else (v if p.started > t0 else 0.0)
                prev = v
        db_cpu = None
        if self.pg_pid:
            s, e = self.db_cpu.at(t0), self.db_cpu.at(t_end + 0.2)
            db_cpu = round(e - s, 2) if s is not None and e is not None else None
        # The simulator's CPU: its node processes and this one (users, sampling), within the window.
        sim_cpu = self.cpu_t_end - self.cpu_t0
        sim_total = time.process_time()
        busiest = sim_cpu / window if window else 0.0
        for lg in logs:
            c = lg["cpu"]
            part = c.get("t_end", c["end"]) - c.get("t0", c["start"])
            sim_cpu += part
            busiest = max(busiest, part / window if window else 0.0)
            sim_total += c.get("rusage", c["end"])
        requests = sum(n for by in status.values() for st, n in by.items())

        lost = checks.lost
        nodes = max(1, a.workers + a.verifiers)
        result = {
            "tasks_per_s": round(tasks_done / window, 2),
            "frames_per_s": round(frames_window / window, 2),
            "idle_to_busy_p50_ms": ms(checks_mod.percentile(every, 50)),
            "idle_to_busy_p99_ms": ms(checks_mod.percentile(every, 99)),
            "idle_to_busy_max_ms": ms(max(every) if every else None),
            "idle_to_busy_samples": len(every),
            "idle_to_busy_by_source": {k: {"n": len(v), "p50_ms": ms(checks_mod.percentile(v, 50)),
                                           "p99_ms": ms(checks_mod.percentile(v, 99))} for k, v in samples.items()},
            "manager_rss_mib": rss,
            "manager_cpu_s": round(cpu_window, 2),
            "manager_cpu_ms_per_frame": round(cpu_window * 1000.0 / frames_window, 2) if frames_window else None,
            "manager_children_cpu_s": round(children_cpu, 2),
            "manager_cpu_total_s": round(cpu_total, 2),
            "db_writes_per_frame": round(writes / frames_window, 2) if writes_seen and frames_window else None,
            "db_server_cpu_s": db_cpu,
            # PostgreSQL's own counts for the window (pg_stat_database, sent by its backends at their
            # transactions' ends, so a little late): per frame delivered.
            "pg_per_frame": {k: round((self.pg_t_end[k] - self.pg_t0[k]) / frames_window, 1) for k in self.pg_t0}
            if self.pg_t0 and self.pg_t_end and frames_window else None,
            "lost": lost,
            "in_flight": checks.in_flight,
            "duplicated": checks.duplicated,
            "double_leases": checks.double_leases,
            "errors": errors,
            "workers": a.workers,
            "verifiers": a.verifiers,
            "managers": a.managers,
            "store": a.store,
            "procs": a.procs,
            "seconds": round(window, 2),
            "render_ms": a.render_ms,
            "lease_ms": a.lease_ms,
            "heartbeat_ms": a.heartbeat_ms,
            "jobs_in_flight": a.jobs_in_flight,
            "reject_rate": a.reject_rate,
            "idle": a.idle,
            "chaos": a.chaos,
            "sim_cpu_s": round(sim_cpu, 2),
            "sim_cpu_total_s": round(sim_total, 2),
            "sim_cpu_max_proc_share": round(busiest, 3),
            "frames_reported_per_s": round(sum(1 for r in merged["reports"] if in_window(r[6])) / window, 2),
            "frames_delivered_window": frames_window,
            "frames_delivered": checks.delivered,
            "tasks_done": tasks_done,
            "jobs_submitted": counters.get("jobs_submitted", 0),
            "jobs_completed": counters.get("jobs_completed", 0),
            "jobs_in_flight_end": len(self.users.in_flight) if self.users else 0,
            "frames_reported": counters.get("frames_reported", 0),
            "rejected": counters.get("verdicts_rejected", 0),
            "accepted": counters.get("verdicts_accepted", 0),
            "banned_workers": len(merged["banned"]),
            "vanished_workers": len(merged["vanished"]),
            "manager_kills": self.kills,
            "transport_retries": counters.get("transport_retries", 0) + counters.get("user_transport_retries", 0),
            "lease_lost": len(merged["lease_lost"]),
            "claims_empty": counters.get("claims_empty", 0),
            "claims_capped": counters.get("claims_capped", 0),
            "requests": requests,
            "requests_per_s": round(requests / (window + counters.get("drain_s", 0)), 1) if window else None,
            # Idle runs: what 1,000 long-polling nodes cost the manager (memory since before they enrolled, cores).
            "manager_rss_per_1000_nodes_mib": round((rss_end - rss_baseline) * 1000.0 / nodes, 1) if a.idle else None,
            "manager_rss_enrolled_per_1000_nodes_mib": round((rss_enrolled - rss_baseline) * 1000.0 / nodes, 1),
            "manager_cores_per_1000_nodes": round(cpu_window / window * 1000.0 / nodes, 3) if a.idle else None,
            "latency_ms": {r: {"n": len(v), "p50": ms(checks_mod.percentile(v, 50)),
                               "p99": ms(checks_mod.percentile(v, 99))} for r, v in sorted(latency.items()) if v},
            "status_counts": status,
            "scene_bytes": self.scene_size,
            "blobs_checked": blobs_checked,
            "setup_s": counters.get("setup_s"),
            "drain_s": counters.get("drain_s"),
            "metrics_path": getattr(self, "metrics_path", None),
            "inferix": a.inferix,
            "inferix_built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(a.inferix))),
        }
        all_problems = self.problems + problems + checks.problems
        result["problems"] = all_problems[:20]
        ok = (lost == 0 and checks.duplicated == 0 and checks.double_leases == 0 and errors == 0
              and not checks.problems and not self.problems)
        if not a.idle and frames_window == 0:
            all_problems.append("no frame was delivered within the window")
            ok = False
        result["ok"] = ok
        return result, all_problems

    def cleanup(self):
        for c in self.children:
            if c["proc"].is_alive():
                c["proc"].kill()
        for p in self.managers.current:
            if p is not None and p.popen.poll() is None:
                p.popen.kill()
                p.popen.wait()
        if self.pg_dir:
            try:
                sys.path.insert(0, os.path.join(ROOT, "tests", "engines"))
                import engines  # noqa: E402  pylint: disable=import-outside-toplevel,import-error
                engines.stop(self.pg_dir)
            except Exception as e:  # noqa: BLE001
                say("stopping PostgreSQL: %s", e)
        elif self.store_url and not self.args.keep:
            base = self.store_url.rsplit("/", 1)
            subprocess.run(["psql", base[0] + "/postgres", "-X", "-q", "-c", "DROP DATABASE IF EXISTS " + base[1]],
                           capture_output=True, timeout=60, check=False)
        if self.args.keep:
            say("kept %s", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Simulate a render farm against the real inferix manager.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--workers", type=int, required=True, help="simulated workers")
    p.add_argument("--seconds", type=float, required=True, help="the measurement window")
    p.add_argument("--render-ms", default="0", help="a render's time: MS, exp:MEAN_MS or uniform:LO_MS:HI_MS")
    p.add_argument("--verify-ms", default="0", help="a check's time, as --render-ms")
    p.add_argument("--managers", type=int, default=1, help="managers (more than 1: PostgreSQL)")
    p.add_argument("--verifiers", type=int, default=2, help="simulated verifiers")
    p.add_argument("--reject-rate", type=float, default=0.0, help="share of checks a verifier rejects")
    p.add_argument("--frames-per-job", default="4,10,30",
                   help="frames of a job; a comma-separated list: each job takes one at random")
    p.add_argument("--chunk", default="1,2,4", help="frames per task; a list as --frames-per-job")
    p.add_argument("--jobs-in-flight", type=int, default=8, help="jobs kept queued or running")
    p.add_argument("--users", type=int, default=4, help="users submitting the jobs")
    p.add_argument("--scenes", type=int, default=1,
                   help="distinct scene files (the .blend and copies with bytes appended)")
    p.add_argument("--idle", action="store_true", help="no jobs: every node long-polls")
    p.add_argument("--chaos", action="store_true",
                   help="workers vanish mid-task; with --managers >= 2 managers are killed and restarted")
    p.add_argument("--chaos-kill", type=float, default=0.1, help="with --chaos: share of workers that vanish")
    p.add_argument("--inferix", default=os.environ.get("INFERIX_BIN") or os.path.join(
        ROOT, "build", "apps", "inferix", "inferix"), help="the inferix binary")
    p.add_argument("--store", choices=["sqlite", "postgresql"], default=None,
                   help="the managers' database (default: sqlite with one manager, else postgresql)")
    p.add_argument("--procs", type=int, default=0, help="OS processes running the nodes (0: by the node count)")
    p.add_argument("--lease-ms", type=int, default=0,
                   help="the managers' --lease-ms (0: 20000, or 5000 with --chaos so that vanished workers' tasks "
                   "come back within the run)")
    p.add_argument("--heartbeat-ms", type=int, default=0,
                   help="the managers' --heartbeat-ms (0: a quarter of the lease)")
    p.add_argument("--long-poll-ms", type=int, default=0, help="the managers' --long-poll-ms (0: theirs)")
    p.add_argument("--drain", type=float, default=None,
                   help="seconds after the window for running jobs to end (default 10; 2 leases more with --chaos)")
    p.add_argument("--manager-arg", action="append", help="an extra option for every manager (repeatable), "
                   "e.g. --manager-arg=--ban-after=0")
    p.add_argument("--no-scene-fetch", action="store_true", help="nodes do not download the scene's files")
    p.add_argument("--scene", help="a .blend to render (default: the example scene, made once with Blender)")
    p.add_argument("--scene-width", type=int, default=64, help="the scene's resolution (the frames' size)")
    p.add_argument("--scene-height", type=int, default=48)
    p.add_argument("--blender", help="Blender, to make the example scene")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--deadline", type=float, default=0, help="overall limit in seconds (0: from the run's size)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    a = p.parse_args(argv)
    if a.store is None:
        a.store = "sqlite" if a.managers == 1 else "postgresql"
    if a.workers < 0 or a.verifiers < 0 or a.managers < 1 or a.seconds <= 0:
        p.error("--workers and --verifiers must be >= 0, --managers >= 1, --seconds > 0")
    if a.managers > 1 and a.store == "sqlite":
        p.error("several managers share one database: --store postgresql")
    if not 0.0 <= a.reject_rate <= 1.0:
        p.error("--reject-rate is a share from 0 to 1")
    for spec in (a.render_ms, a.verify_ms):
        try:
            distribution(spec)
        except ValueError as e:
            p.error(str(e))
    try:
        if min(int(x) for x in a.frames_per_job.split(",")) < 1 or min(int(x) for x in a.chunk.split(",")) < 1:
            raise ValueError
    except ValueError:
        p.error("--frames-per-job and --chunk are comma-separated whole numbers >= 1")
    if not a.idle and a.workers and not a.verifiers:
        p.error("frames are delivered only once checked: give --verifiers >= 1 (or --idle)")
    if a.procs <= 0:
        a.procs = max(1, min(os.cpu_count() or 1, math.ceil((a.workers + a.verifiers) / 1500)))
    a.procs = max(1, min(a.procs, a.workers + a.verifiers or 1))
    a.users = max(1, a.users)
    if a.lease_ms <= 0:
        a.lease_ms = 5000 if a.chaos else 20000
    if a.heartbeat_ms <= 0:
        a.heartbeat_ms = max(100, a.lease_ms // 4)
    if a.drain is None:
        a.drain = 10.0 + (2 * a.lease_ms / 1000.0 if a.chaos else 0.0)
    if not a.deadline:
        a.deadline = 240 + a.seconds + a.drain + (a.workers + a.verifiers) / 10.0
    if not os.path.exists(a.inferix):
        p.error("no inferix binary at %s (build it: ninja -C build inferix)" % a.inferix)
    return a


def main(argv=None):
    args = parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def on_alarm(signum, frame):
        raise Deadline()

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(args.deadline))
    sim = Sim(args)
    result, problems = None, []
    try:
        result, problems = sim.run()
    except Deadline:
        result = {"ok": False, "error": "the run passed its deadline of %.0f s" % args.deadline}
        problems = ["the run passed its deadline of %.0f s" % args.deadline] + sim.problems
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        result = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        problems = [str(e)] + sim.problems
    except KeyboardInterrupt:
        result = {"ok": False, "error": "interrupted"}
    finally:
        signal.alarm(0)
        sim.cleanup()
    for text in problems[:20]:
        say("problem: %s", text)
    if len(problems) > 20:
        say("... and %d more problems", len(problems) - 20)
    sys.stdout.write(json.dumps(result, sort_keys=False) + "\n")
    sys.stdout.flush()
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
