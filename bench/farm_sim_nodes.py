"""bench/farm_sim.py's simulated nodes: one OS process (multiprocessing) runs an asyncio loop with many workers
and verifiers, each an enrolled node with its own Ed25519 key and one keep-alive connection, speaking the real node
protocol (docs/api/openapi.yaml; src/net/node_protocol.cpp, src/agent/node_agent.cpp): register, long-poll
POST /tasks/claim, heartbeats with a rising progress counter while a task is held, the scene's files fetched once
per node by content hash, per frame POST .../upload (digest and size) then PUT of a real PNG to the signed URL then
the signed report, POST /tasks/{id}/done; verifiers fetch the output under check through its signed URL, check
its SHA-256 and give a signed verdict. A render (or a check) is a sleep drawn from a distribution.

The process talks with bench/farm_sim.py over a multiprocessing pipe: ("ready", info) once its nodes are
enrolled; then it takes ("go", t0), ("mark", t_end) and ("stop",), and answers ("done", path of its JSON log).
Every time is time.monotonic(), one clock for all processes of the machine."""

import asyncio
import ctypes
import hashlib
import json
import os
import random
import re
import resource
import signal
import sys
import time

from farm_sim_http import (Conn, SigningKey, Transport, error_text, frame_report_message, make_png, now,
                           parse_json, verdict_message)

ROUTE_RE = re.compile(r"/\d+(?=/|$)")
SHA_RE = re.compile(r"/[0-9a-f]{64}(?=/|$)")
MAX_PROBLEMS = 40
MAX_LATENCIES = 20000  # per route and process: a uniform sample beyond that


def distribution(spec):
    """A duration distribution in milliseconds ("0", "50", "exp:200", "uniform:100:300"): a function returning
    seconds. ValueError for anything else."""
    spec = str(spec).strip()
    parts = spec.split(":")
    try:
        if len(parts) == 1:
            ms = float(parts[0])
            if ms < 0:
                raise ValueError
            return lambda rng: ms / 1000.0
        if parts[0] in ("exp", "expo") and len(parts) == 2:
            mean = float(parts[1])
            if mean < 0:
                raise ValueError
            return lambda rng: rng.expovariate(1000.0 / mean) if mean > 0 else 0.0
        if parts[0] == "uniform" and len(parts) == 3:
            lo, hi = float(parts[1]), float(parts[2])
            if lo < 0 or hi < lo:
                raise ValueError
            return lambda rng: rng.uniform(lo, hi) / 1000.0
    except ValueError:
        pass
    raise ValueError("a duration is MS, exp:MEAN_MS or uniform:LO_MS:HI_MS, not %r" % spec)


def route_of(method, path):
    path = path.split("?", 1)[0]
    if path.startswith("/api/v1/blobs/"):
        return method + " blobs/" + path[len("/api/v1/blobs/"):].split("/", 1)[0]
    path = SHA_RE.sub("/:sha", path)
    return method + " " + ROUTE_RE.sub("/:n", path[len("/api/v1/"):] if path.startswith("/api/v1/") else path)


class Vanished(Exception):
    """A worker the chaos killed: it says nothing more, ever."""


class Banned(Exception):
    pass


class Log:
    """What one process saw: counters, first problems, and the records the checks and figures are made of."""

    def __init__(self, chaos):
        self.chaos = chaos
        self.counters = {}
        self.problems = []
        self.errors = 0
        self.status = {}  # route -> {status: count}
        self.latency = {}  # route -> [seconds] (a sample)
        self.latency_seen = {}
        self.claims = []  # render claims: (node, task_id, job_id, frames, answered)
        self.idle = []  # workers' idle stretches: (node, from, to); to None: still idle at the end
        self.holds = []  # (key, node, claimed, last_ok_sent): key ("r", job, frame) or ("v", task_id)
        self.reports = []  # (node_id, task_id, job_id, frame, sha256, status, answered)
        self.dones = []  # (node, task_id, job_id, frames, answered)
        self.verdicts = []  # (task_id, job_id, frame, output_id, level, verdict, sent, answered)
        self.vanished = []  # (node, task_id, where, at)
        self.banned = []  # (node, node_id, at)
        self.lease_lost = []  # (node, task_id, what, at)
        self.rng = random.Random()

    def count(self, key, n=1):
        self.counters[key] = self.counters.get(key, 0) + n

    def error(self, text):
        self.errors += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def answered(self, route, status, seconds):
        by = self.status.setdefault(route, {})
        by[status] = by.get(status, 0) + 1
        if route.endswith(("tasks/claim", "GET events")):
            return  # a long poll: its time is the wait for work or events, not the manager's
        seen = self.latency_seen[route] = self.latency_seen.get(route, 0) + 1
        sample = self.latency.setdefault(route, [])
        if len(sample) < MAX_LATENCIES:
            sample.append(seconds)
        else:
            i = self.rng.randrange(seen)
            if i < MAX_LATENCIES:
                sample[i] = seconds


class Node:
    """One simulated worker or verifier."""

    def __init__(self, proc, spec):
        self.proc = proc
        self.log = proc.log
        self.cfg = proc.cfg
        self.idx = spec["idx"]
        self.role = spec["role"]
        self.name = spec["name"]
        self.enroll_token = spec["token"]
        self.kill_after = spec.get("kill_after")
        self.kill_time = None
        self.conn = Conn(proc.addrs, spec["manager"], spec.get("local_ip"))
        self.key = SigningKey()
        self.token = ""
        self.node_id = 0
        self.rng = random.Random(hash((self.cfg["seed"], self.idx)))
        self.cached = []  # scene files fetched (their SHA-256), what claims send as "cached"
        self.progress = 0
        self.stopped = False

    # --- HTTP ---

    async def call(self, method, path, body=None, raw=None, auth=True, headers=None, timeout=30.0):
        """(status, JSON or None, payload, headers). Transport failures and 502/503/504 are retried (on the next
        manager when there are several) until the node is stopped: every node call may be repeated safely
        (claims, heartbeats, upload URLs, PUTs to a URL, reports, done and verdicts are idempotent or answered as
        the first was, the exception being the enrollment, which is not sent again)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        hdrs = {}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        elif raw is not None:
            hdrs["Content-Type"] = "application/octet-stream"
        if auth and self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        if headers:
            hdrs.update(headers)
        route = route_of(method, path)
        backoff = 0.1
        while True:
            if self.proc.stopping:
                raise asyncio.CancelledError()
            try:
                status, h, payload = await self.conn.request(method, path, data, hdrs, timeout)
            except Transport as e:
                self.log.count("transport_retries")
                if not self.log.chaos:
                    self.log.error("%s %s: %s" % (self.name, route, e))
                if len(self.conn.addrs) > 1:
                    self.conn.failover()
                    self.log.count("failovers")
                await asyncio.sleep(backoff * (0.5 + self.rng.random()))
                backoff = min(2.0, backoff * 2)
                continue
            self.log.answered(route, status, self.conn.last_seconds)
            if status in (502, 503, 504):
                self.log.count("http_%d_retries" % status)
                if not self.log.chaos:
                    self.log.error("%s %s: HTTP %d %s" % (self.name, route, status, error_text(payload)))
                await asyncio.sleep(backoff * (0.5 + self.rng.random()))
                backoff = min(2.0, backoff * 2)
                continue
            return status, parse_json(payload), payload, h

    def refusal(self, status, payload):
        """What a refusal means: "banned", "lease" (the task is not this node's any more) or "other"."""
        text = error_text(payload).lower()
        if status in (401, 403) and "banned" in text:
            return "banned"
        if status == 409 and ("not leased" in text or "no longer expected" in text):
            return "lease"
        if status == 403 and "no longer held" in text:
            return "lease"
        return "other"

    def unexpected(self, what, status, payload):
        self.log.error("%s: %s: HTTP %d %s" % (self.name, what, status, error_text(payload)))

    # --- enrollment ---

    async def register(self):
        caps = {"blender_version": "", "arch": "sim", "device": "cpu", "cpu_threads": 1,
                "memory_bytes": 1 << 30, "gpus": [], "simulated": True}
        body = {"enrollment_token": self.enroll_token, "name": self.name, "role": self.role,
                "public_key": self.key.public_hex, "capabilities": caps}
        data = json.dumps(body).encode()
        for attempt in range(20):
            try:
                status, _, payload = await self.conn.request("POST", "/api/v1/nodes/register", data,
                                                             {"Content-Type": "application/json"}, 60)
            except Transport as e:
                if e.sent:  # the token may be spent already: not sent again
                    self.log.error("%s: enrollment: %s" % (self.name, e))
                    return False
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            self.log.answered("POST nodes/register", status, self.conn.last_seconds)
            answer = parse_json(payload) or {}
            if status == 201 and answer.get("node_token"):
                self.token = answer["node_token"]
                self.node_id = int(answer["node_id"])
                return True
            self.unexpected("enrollment", status, payload)
            return False
        self.log.error("%s: enrollment: no manager answered" % self.name)
        return False

    # --- the loops ---

    async def run(self):
        try:
            await self.work_loop()
        except Vanished:
            pass
        except Banned:
            self.log.banned.append((self.idx, self.node_id, now()))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - a bug of the simulator is a problem of the run, reported
            self.log.error("%s: %s: %s" % (self.name, type(e).__name__, e))

    async def work_loop(self):
        long_poll = self.cfg["long_poll_s"]
        idle_from = now()
        try:
            while True:
                status, task, payload, h = await self.call("POST", "/api/v1/tasks/claim", {"cached": self.cached},
                                                           timeout=long_poll + 30)
                answered = now()
                if status == 204:
                    self.log.count("claims_empty")
                    continue
                if status == 429:
                    self.log.count("claims_capped")
                    if not self.log.chaos:
                        self.unexpected("claim", status, payload)
                    try:
                        wait = float(h.get("retry-after", "1"))
                    except ValueError:
                        wait = 1.0
                    await asyncio.sleep(min(max(wait, 0.2), 5.0))
                    continue
                if status != 200 or not isinstance(task, dict):
                    if self.refusal(status, payload) == "banned":
                        raise Banned()
                    self.unexpected("claim", status, payload)
                    await asyncio.sleep(1.0)
                    continue
                kind = task.get("kind", "render")
                want = "render" if self.role == "worker" else "verify"
                if kind != want:
                    self.log.error("%s: claimed a %s task as a %s" % (self.name, kind, self.role))
                    continue
                self.log.count("claims_" + kind)
                if kind == "render":
                    self.log.idle.append((self.idx, idle_from, answered))
                    self.log.claims.append((self.idx, int(task["task_id"]), int(task["job_id"]),
                                            [int(f) for f in task.get("frames", [])], answered))
                    idle_from = None
                    await self.render(task, answered)
                else:
                    await self.verify(task, answered)
                idle_from = now()
        except asyncio.CancelledError:
            if self.role == "worker" and idle_from is not None:
                self.log.idle.append((self.idx, idle_from, None))  # still waiting when the run ended
            raise
        except BaseException:
            if self.role == "worker" and idle_from is not None:
                self.log.idle.append((self.idx, idle_from, now()))  # banned, or a bug: waits no more
            raise

    async def fetch_scene(self, scene):
        if not self.cfg["fetch_scenes"]:
            return
        for f in scene.get("files", []):
            sha = f.get("sha256", "")
            if sha in self.cached:
                continue
            status, _, payload, _ = await self.call("GET", f["url"], auth=False, timeout=120)
            if status != 200:
                self.unexpected("scene file %s" % f.get("path"), status, payload)
                continue
            if hashlib.sha256(payload).hexdigest() != sha:
                self.log.error("%s: scene file %s arrived with another SHA-256" % (self.name, f.get("path")))
                continue
            self.log.count("scene_bytes", len(payload))
            self.cached.append(sha)

    def maybe_vanish(self, task_id, where, plan):
        if plan is not None and plan == where:
            self.conn.close()
            self.log.vanished.append((self.idx, task_id, where, now()))
            raise Vanished()

    def vanish_plan(self, frames):
        """Where this worker dies in this task (chaos), or None."""
        if self.kill_time is None or now() < self.kill_time:
            return None
        self.kill_time = None
        i = self.rng.randrange(max(1, len(frames)))
        return self.rng.choice([("claimed", -1), ("rendered", i), ("uploaded", i), ("reported", i)])

    async def heartbeats(self, task_id, interval, state):
        """Renews the lease while the task is held (src/worker's Heartbeater): {"progress": n}, n rising with
        every frame started and saved. Marks every frame still held on an answer "continue"."""
        while True:
            await asyncio.sleep(interval)
            sent = now()
            status, answer, payload, _ = await self.call("POST", "/api/v1/tasks/%d/heartbeat" % task_id,
                                                         {"progress": self.progress})
            if status == 200:
                action = (answer or {}).get("action", "continue")
                self.log.count("heartbeats")
                if action == "continue":
                    for f in state["held"]:
                        state["hold"][f] = sent
                    state["beat"] = sent
                    continue
                state["stop"] = action
                self.log.lease_lost.append((self.idx, task_id, "heartbeat " + action, now()))
                if not self.log.chaos and action != "cancel":
                    self.log.error("%s: task %d: heartbeat answered %s" % (self.name, task_id, action))
                return
            why = self.refusal(status, payload)
            state["stop"] = why
            if why == "lease":
                self.log.lease_lost.append((self.idx, task_id, "heartbeat", now()))
                if not self.log.chaos:
                    self.unexpected("heartbeat of task %d" % task_id, status, payload)
            elif why != "banned":
                self.unexpected("heartbeat of task %d" % task_id, status, payload)
            return

    def lease_refused(self, task_id, what, status, payload, state):
        why = self.refusal(status, payload)
        if why == "banned":
            raise Banned()
        if why == "lease":
            self.log.lease_lost.append((self.idx, task_id, what, now()))
            if not self.log.chaos:
                self.unexpected("%s of task %d" % (what, task_id), status, payload)
        else:
            self.unexpected("%s of task %d" % (what, task_id), status, payload)
        state["stop"] = why

    async def render(self, task, claimed):
        frames = [int(f) for f in task.get("frames", [])]
        state = {"hold": {f: None for f in frames}, "held": set(frames), "stop": None, "beat": None}
        await self._render(task, claimed, frames, state)
        if state["stop"] == "banned":
            raise Banned()

    async def _render(self, task, claimed, frames, state):
        task_id, job_id = int(task["task_id"]), int(task["job_id"])
        scene = task.get("scene") or {}
        pct = int(scene.get("resolution_percentage") or 100)
        width = max(1, self.cfg["scene_w"] * pct // 100)
        height = max(1, self.cfg["scene_h"] * pct // 100)
        plan = self.vanish_plan(frames)
        interval = max(0.05, int(task.get("heartbeat_ms", 10000)) / 1000.0)
        beat = asyncio.ensure_future(self.heartbeats(task_id, interval, state))
        try:
            self.maybe_vanish(task_id, ("claimed", -1), plan)
            await self.fetch_scene(scene)
            for i, frame in enumerate(frames):
                if state["stop"]:
                    break
                self.progress += 1  # the driver's "frame started"
                await asyncio.sleep(self.proc.render_s(self.rng))
                self.progress += 1  # "frame saved"
                self.maybe_vanish(task_id, ("rendered", i), plan)
                png = make_png(width, height, "farm-sim job %d task %d frame %d node %d %s" % (
                    job_id, task_id, frame, self.node_id, os.urandom(6).hex()))
                sha = hashlib.sha256(png).hexdigest()
                if not await self.deliver(task_id, job_id, frame, png, sha, state, plan, i):
                    break
                self.maybe_vanish(task_id, ("reported", i), plan)
            if state["stop"]:
                return
            beat.cancel()
            status, _, payload, _ = await self.call("POST", "/api/v1/tasks/%d/done" % task_id, {})
            if status == 200:
                self.log.dones.append((self.idx, task_id, job_id, len(frames), now()))
            else:
                self.lease_refused(task_id, "done", status, payload, state)
        finally:
            beat.cancel()
            self.log.holds.extend((("r", job_id, f), self.idx, claimed, t) for f, t in state["hold"].items())

    async def deliver(self, task_id, job_id, frame, png, sha, state, plan, i):
        """Upload URL, PUT, signed report of one frame; False when the task is not this node's any more."""
        base = "/api/v1/tasks/%d/frames/%d" % (task_id, frame)
        for attempt in range(3):
            sent = now()
            status, slot, payload, _ = await self.call("POST", base + "/upload", {"sha256": sha, "size": len(png)})
            if status == 409 and "already reported" in error_text(payload):
                # An earlier report of this frame got through though its answer was lost.
                state["held"].discard(frame)
                return True
            if status != 200 or not isinstance(slot, dict) or not slot.get("url"):
                self.lease_refused(task_id, "upload URL", status, payload, state)
                return False
            state["hold"][frame] = sent
            status, _, payload, _ = await self.call("PUT", slot["url"], raw=png, auth=False,
                                                    headers=slot.get("headers") or None, timeout=60)
            if status == 409 and "already exists" in error_text(payload) and attempt == 0:
                pass  # the first PUT got through though its answer was lost
            elif status not in (200, 201):
                if self.refusal(status, payload) in ("lease", "banned"):
                    self.lease_refused(task_id, "upload", status, payload, state)
                    return False
                self.unexpected("upload of task %d frame %d" % (task_id, frame), status, payload)
                continue
            self.maybe_vanish(task_id, ("uploaded", i), plan)
            signature = self.key.sign(frame_report_message(task_id, frame, sha, slot["key"]))
            sent = now()
            status, answer, payload, _ = await self.call("POST", base, {
                "sha256": sha, "key": slot["key"], "render_seconds": 0.0, "render_cpu_seconds": 0.0,
                "signature": signature})
            if status == 200:
                state["hold"][frame] = sent
                state["held"].discard(frame)
                result = (answer or {}).get("status", "")
                self.log.reports.append((self.node_id, task_id, job_id, frame, sha, result, now()))
                self.log.count("frames_reported")
                return True
            self.lease_refused(task_id, "report", status, payload, state)
            return False
        return False

    async def verify(self, task, claimed):
        state = {"hold": {}, "held": set(), "stop": None, "beat": None}
        await self._verify(task, claimed, state)
        if state["stop"] == "banned":
            raise Banned()

    async def _verify(self, task, claimed, state):
        task_id, job_id = int(task["task_id"]), int(task["job_id"])
        frames = [int(f) for f in task.get("frames", [])]
        output = task.get("output") or {}
        level = int((task.get("check") or {}).get("level", 0))
        interval = max(0.05, int(task.get("heartbeat_ms", 10000)) / 1000.0)
        beat = asyncio.ensure_future(self.heartbeats(task_id, interval, state))
        last_ok = None
        try:
            await self.fetch_scene(task.get("scene") or {})
            verdict, detail = "accepted", "farm_sim: accepted"
            status, _, payload, _ = await self.call("GET", output.get("url", "/"), auth=False, timeout=60)
            if status != 200:
                self.unexpected("output %s of task %d" % (output.get("output_id"), task_id), status, payload)
                verdict, detail = "rejected", "farm_sim: the output could not be fetched"
            elif hashlib.sha256(payload).hexdigest() != output.get("sha256"):
                self.log.error("%s: output %s of job %d frame %s: its bytes do not have the SHA-256 reported" % (
                    self.name, output.get("output_id"), job_id, frames))
                verdict, detail = "rejected", "farm_sim: bytes differ from the reported SHA-256"
            else:
                self.log.count("outputs_fetched_bytes", len(payload))
            await asyncio.sleep(self.proc.verify_s(self.rng))
            if verdict == "accepted" and self.rng.random() < self.cfg["reject_rate"]:
                verdict, detail = "rejected", "farm_sim: rejected at random (--reject-rate)"
            if state["stop"]:
                return
            beat.cancel()
            body = {"verdict": verdict, "detail": detail, "verify_seconds": 0.0, "verify_cpu_seconds": 0.0,
                    "method": {"layers": 1 if level < 0 else 2, "regions": []},
                    "signature": self.key.sign(verdict_message(task_id, verdict))}
            if task.get("original"):
                body["matches_original"] = verdict == "accepted"
            sent = now()
            status, _, payload, _ = await self.call("POST", "/api/v1/tasks/%d/verdict" % task_id, body)
            if status == 200:
                last_ok = sent
                self.log.verdicts.append((task_id, job_id, frames[0] if frames else -1,
                                          int(output.get("output_id", 0)), level, verdict, sent, now()))
                self.log.count("verdicts_" + verdict)
            else:
                self.lease_refused(task_id, "verdict", status, payload, state)
        finally:
            beat.cancel()
            last = max([t for t in (last_ok, state["beat"]) if t is not None], default=None)
            self.log.holds.append((("v", task_id), self.idx, claimed, last))


class Proc:
    """One process of simulated nodes."""

    def __init__(self, cfg, specs, pipe):
        self.cfg = cfg
        self.specs = specs
        self.pipe = pipe
        self.addrs = [tuple(a) for a in cfg["addrs"]]
        self.log = Log(cfg["chaos"])
        self.render_s = distribution(cfg["render_ms"])
        self.verify_s = distribution(cfg["verify_ms"])
        self.nodes = []
        self.cpu = {}
        self.stopping = False

    async def run(self):
        loop = asyncio.get_running_loop()
        inbox = asyncio.Queue()

        def readable():
            try:
                inbox.put_nowait(self.pipe.recv())
            except (EOFError, OSError):
                loop.remove_reader(self.pipe.fileno())
                inbox.put_nowait(("stop",))

        loop.add_reader(self.pipe.fileno(), readable)
        self.cpu["start"] = time.process_time()
        sem = asyncio.Semaphore(16)

        async def enroll(node):
            async with sem:
                return await node.register()

        self.nodes = [Node(self, s) for s in self.specs]
        ok = await asyncio.gather(*(enroll(n) for n in self.nodes))
        ready = [n for n, good in zip(self.nodes, ok) if good]
        self.pipe.send(("ready", {"enrolled": len(ready), "failed": len(self.nodes) - len(ready),
                                  "node_ids": {n.idx: n.node_id for n in ready}}))
        msg = await inbox.get()
        running = []
        if msg[0] == "go":
            t0 = msg[1]
            self.cpu["t0"] = time.process_time()
            for n in ready:
                if n.kill_after is not None:
                    n.kill_time = t0 + n.kill_after
            running = [asyncio.ensure_future(n.run()) for n in ready]
            while True:
                msg = await inbox.get()
                if msg[0] == "mark":
                    self.cpu["t_end"] = time.process_time()
                    continue
                break
        self.stopping = True
        for t in running:
            t.cancel()
        if running:
            done, pending = await asyncio.wait(running, timeout=20)
            if pending:
                self.log.error("%d node(s) did not stop within 20 s of their cancellation" % len(pending))
        for n in ready:
            n.conn.close()
        loop.remove_reader(self.pipe.fileno())
        self.cpu["end"] = time.process_time()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu["rusage"] = usage.ru_utime + usage.ru_stime
        self.cpu["maxrss_mib"] = usage.ru_maxrss / 1024.0
        lg = self.log
        out = {"counters": lg.counters, "problems": lg.problems, "errors": lg.errors, "status": lg.status,
               "latency": lg.latency, "claims": lg.claims, "idle": lg.idle, "holds": lg.holds,
               "reports": lg.reports, "dones": lg.dones, "verdicts": lg.verdicts, "vanished": lg.vanished,
               "banned": lg.banned, "lease_lost": lg.lease_lost, "cpu": self.cpu, "pid": os.getpid(),
               "nodes": len(self.nodes), "enrolled": len(ready)}
        path = self.cfg["out"]
        with open(path + ".tmp", "w") as f:
            json.dump(out, f)
        os.replace(path + ".tmp", path)
        self.pipe.send(("done", path))


def child_main(cfg, specs, pipe):
    """Entry point of a node process (multiprocessing): dies with its parent, ignores ^C (the parent stops it)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        asyncio.run(Proc(cfg, specs, pipe).run())
    except Exception as e:  # noqa: BLE001
        sys.stderr.write("farm_sim: node process %d failed: %s: %s\n" % (os.getpid(), type(e).__name__, e))
        try:
            pipe.send(("failed", "%s: %s" % (type(e).__name__, e)))
        except OSError:
            pass
        sys.exit(1)
