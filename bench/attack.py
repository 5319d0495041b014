#!/usr/bin/env python3
"""Load under attack: honest clients' latency with and without attackers beside them (issue #14).

    python3 bench/attack.py [--clients 100] [--workers 50] [--seconds 30] [--inferix build/apps/inferix/inferix]

One manager with its default limits on 127.0.0.1. The honest side is issue #5's load test (bench/load.py) scaled
down: status clients asking `GET /api/v1/jobs/{id}` in a loop on keep-alive connections, and long-polling
verifiers (nothing to verify, so each claim waits the 5 s long poll and answers 204). It runs twice in the same
invocation: quiet, then with the attackers below started beside it, in a process of their own; the attackers
connect from other loopback addresses (127.0.0.2-4), as other machines would.

    slow headers   --slow-headers connections that send a request line and then one header byte every 10 s
    slow bodies    --slow-bodies authenticated PUTs that announce 1 GiB and send one byte every 5 s
    large bodies   unauthenticated 1 GiB PUTs, one after another, sent at up to 200 MiB/s
    hoarder        an enrolled worker that claims whatever it can and keeps its leases alive with heartbeats
                   that show no progress, on a job of 200 frames

It prints the honest latencies of both runs and their ratios, what each attacker got, and the manager's memory,
threads and open files; it exits 1 when an honest request failed or the manager died.
"""

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402  (issue #5's load test: its honest clients and statistics)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
GIB = 1 << 30
# The large-body attacker sends at most this many bytes a second: it shares the 2 cores with the manager and the
# honest clients, and its own CPU must not be what slows them.
LARGE_BODY_RATE = 200 << 20


class Outcomes:
    """What the attackers saw: answers by status, connections refused or closed, bytes the manager took."""

    def __init__(self):
        self.counts = {}

    def add(self, what, n=1):
        self.counts[what] = self.counts.get(what, 0) + n


async def read_status(reader, timeout):
    line = await asyncio.wait_for(reader.readline(), timeout)
    if not line:
        return "closed"
    parts = line.split()
    return parts[1].decode() if len(parts) > 1 else "garbled"


async def slow_headers(port, deadline, out):
    """Sends a request line, then one header byte every 10 s, until the manager closes or answers."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
    except OSError as e:
        out.add("slow headers: connect failed (%s)" % e.strerror)
        return
    try:
        writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        await writer.drain()
        while time.monotonic() < deadline:
            try:
                status = await read_status(reader, 10)
                out.add("slow headers: answered %s" % status)
                return
            except asyncio.TimeoutError:
                writer.write(b"a")
                await writer.drain()
        out.add("slow headers: still open at the end")
    except (ConnectionError, OSError):
        out.add("slow headers: closed by the manager")
    finally:
        writer.close()


async def slow_body(port, token, deadline, out):
    """An authenticated scene upload that announces 1 GiB and sends one byte every 5 s."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.3", 0))
    except OSError as e:
        out.add("slow body: connect failed (%s)" % e.strerror)
        return
    try:
        writer.write(("PUT /api/v1/files/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                      "Content-Length: %d\r\n\r\n" % ("0" * 64, token, GIB)).encode())
        await writer.drain()
        while time.monotonic() < deadline:
            try:
                status = await read_status(reader, 5)
                out.add("slow body: answered %s" % status)
                return
            except asyncio.TimeoutError:
                writer.write(b"x")
                await writer.drain()
        out.add("slow body: still open at the end")
    except (ConnectionError, OSError):
        out.add("slow body: closed by the manager")
    finally:
        writer.close()


async def large_bodies(port, deadline, out):
    """Unauthenticated 1 GiB PUTs, one after another, each sent as fast as the manager takes it."""
    chunk = b"\0" * (1 << 20)
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.4", 0))
        except OSError as e:
            out.add("large body: connect failed (%s)" % e.strerror)
            await asyncio.sleep(1)
            continue
        sent = 0
        answer = asyncio.create_task(read_status(reader, 3600))
        try:
            writer.write(("PUT /api/v1/files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (
                "0" * 64, GIB)).encode())
            while sent < GIB and not answer.done() and time.monotonic() < deadline:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
                await asyncio.sleep(len(chunk) / LARGE_BODY_RATE)
            status = await asyncio.wait_for(answer, 30)
            out.add("large body: answered %s" % status)
        except (ConnectionError, OSError, asyncio.TimeoutError):
            out.add("large body: closed by the manager")
        finally:
            if not answer.done():
                answer.cancel()
            elif not answer.cancelled():
                answer.exception()  # retrieved: a reset seen by the reader is the same outcome as above
            out.add("large body: MiB sent", sent >> 20)
            writer.close()


def call(port, method, path, token, body):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=body if isinstance(body, bytes) else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


async def hoarder(port, token, deadline, out):
    """Claims whatever it can, never reports a frame, and heartbeats every held task each second."""
    held = set()
    loop = asyncio.get_running_loop()
    while time.monotonic() < deadline:
        status, answer = await loop.run_in_executor(None, call, port, "POST", "/api/v1/tasks/claim", token,
                                                    {})
        if status == 200:
            held.add(answer["task_id"])
        else:
            out.add("hoarder: claim answered %d" % status)
        for task in list(held):
            status, answer = await loop.run_in_executor(None, call, port, "POST", "/api/v1/tasks/%d/heartbeat" % task,
                                                        token, {"progress": 0})
            if status != 200 or (answer or {}).get("action") != "continue":
                held.discard(task)
                out.add("hoarder: lease ended (%d %s)" % (status, (answer or {}).get("action", "")))
        out.counts["hoarder: most tasks held at once"] = max(out.counts.get("hoarder: most tasks held at once", 0),
                                                             len(held))
        await asyncio.sleep(1)


async def attack(port, user, node, deadline, args, out):
    tasks = [asyncio.create_task(slow_headers(port, deadline, out)) for _ in range(args.slow_headers)]
    tasks += [asyncio.create_task(slow_body(port, user, deadline, out)) for _ in range(args.slow_bodies)]
    tasks.append(asyncio.create_task(large_bodies(port, deadline, out)))
    tasks.append(asyncio.create_task(hoarder(port, node, deadline, out)))
    await asyncio.gather(*tasks)


def attacker_process(port, user, hoard_node, seconds, args, results):
    """The attackers, in a process of their own: their work must not delay the honest clients' event loop."""
    out = Outcomes()
    asyncio.run(attack(port, user, hoard_node, time.monotonic() + seconds, args, out))
    results.put(out.counts)


def honest_with_attack(port, user, nodes, hoard_node, job_id, args, pid, out):
    results = multiprocessing.Queue()
    attackers = multiprocessing.Process(target=attacker_process,
                                        args=(port, user, hoard_node, args.seconds, args, results))
    attackers.start()
    time.sleep(2)  # the attackers are in place when the honest clients start
    honest = asyncio.run(load.run_load(port, user, nodes, job_id, args.clients, args.seconds - 2, pid))
    out.counts.update(results.get(timeout=120))
    attackers.join(timeout=30)
    return honest


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--slow-headers", type=int, default=2000)
    parser.add_argument("--slow-bodies", type=int, default=100)
    parser.add_argument("--inferix", default=os.path.join(ROOT, "build", "apps", "inferix", "inferix"))
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp(prefix="inferix-attack-")
    manager = None
    try:
        manager, port, admin = load.start_manager(args.inferix, tmp)

        def must(method, path, token, body):
            status, answer = call(port, method, path, token, body)
            if status >= 300:
                raise RuntimeError("%s %s: %d %s" % (method, path, status, answer))
            return answer

        user = admin("token", "create", "--user", "honest")
        victim = admin("token", "create", "--user", "victim")
        scene = b"BLENDER-v304" + os.urandom(64)
        sha = hashlib.sha256(scene).hexdigest()
        files = [{"path": "s.blend", "sha256": sha}]
        for token in (user, victim):
            must("PUT", "/api/v1/files/" + sha, token, scene)
        job = must("POST", "/api/v1/jobs", user, {"name": "status", "main": "s.blend", "frames": "1-100",
                                                  "files": files})
        must("POST", "/api/v1/jobs/%d/cancel" % job["id"], user, {})
        must("POST", "/api/v1/jobs", victim, {"name": "hoarded", "main": "s.blend", "frames": "1-200", "files": files})
        version = subprocess.run(["blender", "--version"], capture_output=True, text=True).stdout.splitlines()[0]

        def register(role, name, i):
            return must("POST", "/api/v1/nodes/register", None, {
                "enrollment_token": admin("enroll", "create", "--role", role), "name": name, "role": role,
                "public_key": hashlib.sha256(b"%s-%d" % (role.encode(), i)).hexdigest(),
                "capabilities": {"cpu_threads": 2, "memory_bytes": 1 << 30, "gpus": [], "blender": "blender",
                                 "blender_version": version[len("Blender "):], "arch": os.uname().machine,
                                 "device": "cpu"}})["node_token"]

        nodes = [register("verifier", "honest-%d" % i, i) for i in range(args.workers)]
        hoard_node = register("worker", "hoarder", 0)

        quiet = asyncio.run(load.run_load(port, user, nodes, job["id"], args.clients, args.seconds - 2, manager.pid))
        out = Outcomes()
        loud = honest_with_attack(port, user, nodes, hoard_node, job["id"], args, manager.pid, out)
        hwm = load.status_of(manager.pid, "VmHWM")
        alive = manager.poll() is None

        def line(name, st):
            lat = st.latencies
            return "| %s | %d | %d | %.1f ms | %.1f ms | %.1f ms |" % (
                name, len(lat), len(st.errors), load.percentile(lat, 50) * 1e3, load.percentile(lat, 99) * 1e3,
                max(lat, default=float("nan")) * 1e3)

        print("manager: defaults, long poll 5 s; honest: %d status clients + %d long-polling verifiers, %.0f s each run"
              % (args.clients, args.workers, args.seconds - 2))
        print("| run | requests | errors | p50 | p99 | max |\n|---|---|---|---|---|---|")
        print(line("quiet: status", quiet[0]))
        print(line("under attack: status", loud[0]))
        print(line("quiet: claims", quiet[1]))
        print(line("under attack: claims", loud[1]))
        for name, (a, b) in (("status", (quiet[0], loud[0])), ("claims", (quiet[1], loud[1]))):
            print("%s latency under attack / quiet: p50 %.2f, p99 %.2f" % (
                name, load.percentile(b.latencies, 50) / load.percentile(a.latencies, 50),
                load.percentile(b.latencies, 99) / load.percentile(a.latencies, 99)))
        for what in sorted(out.counts):
            print("attacker: %s: %d" % (what, out.counts[what]))
        samples = quiet[2] + loud[2]
        print("manager: peak VmHWM %.1f MiB, threads %d, open files peak %d; still running: %s" % (
            hwm / 1024, max(s[2] for s in samples), max(s[3] for s in samples), alive))
        errors = quiet[0].errors + quiet[1].errors + loud[0].errors + loud[1].errors
        for e in sorted(set(errors))[:10]:
            print("honest error:", e)
        return 0 if not errors and alive else 1
    finally:
        if manager and manager.poll() is None:
            manager.terminate()
            manager.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
