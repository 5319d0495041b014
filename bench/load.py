#!/usr/bin/env python3
"""Load test: one manager, many concurrent status clients and long-polling workers, all real HTTP on 127.0.0.1.

    python3 bench/load.py [--clients 1000] [--workers 200] [--seconds 60] [--inferix build/apps/inferix/inferix]

Each status client keeps one keep-alive connection and asks `GET /api/v1/jobs/{id}` (a job of 100 frames, with
its frames) in a loop; each worker is an enrolled node that long-polls `POST /api/v1/tasks/claim` (no work is
queued, so every claim waits the manager's long poll, 5 s here, and answers 204). The baseline, in the same
invocation, is one status client alone. It prints requests, errors, latency percentiles, the manager's memory
(VmRSS sampled every second, VmHWM at the end), threads and open files, and exits 1 on any error.
"""

import argparse
import asyncio
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def status_of(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Stats:
    def __init__(self):
        self.latencies = []
        self.errors = []
        self.by_status = {}

    def record(self, status, seconds):
        self.by_status[status] = self.by_status.get(status, 0) + 1
        self.latencies.append(seconds)


async def request(reader, writer, method, path, token, body=b""):
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n" % (
        method, path, token, len(body))
    if body:
        head += "Content-Type: application/json\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed by the manager")
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    payload = await reader.readexactly(length) if length else b""
    return status, payload


async def status_client(port, token, job_id, deadline, stats):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < deadline:
            started = time.monotonic()
            status, payload = await request(reader, writer, "GET", "/api/v1/jobs/%d" % job_id, token)
            stats.record(status, time.monotonic() - started)
            if status != 200:
                stats.errors.append("status %d: %s" % (status, payload[:200]))
            elif json.loads(payload)["id"] != job_id:
                stats.errors.append("wrong job in the answer")
    except Exception as e:  # noqa: BLE001 - every failure counts as an error of the run
        stats.errors.append("%s: %s" % (type(e).__name__, e))
    finally:
        writer.close()


async def worker(port, token, deadline, stats):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < deadline:
            started = time.monotonic()
            status, payload = await request(reader, writer, "POST", "/api/v1/tasks/claim", token, b"{}")
            stats.record(status, time.monotonic() - started)
            if status != 204:
                stats.errors.append("claim status %d: %s" % (status, payload[:200]))
    except Exception as e:  # noqa: BLE001
        stats.errors.append("%s: %s" % (type(e).__name__, e))
    finally:
        writer.close()


async def sample_memory(pid, deadline, samples):
    while time.monotonic() < deadline:
        samples.append((time.monotonic(), status_of(pid, "VmRSS"), status_of(pid, "Threads"),
                        len(os.listdir("/proc/%d/fd" % pid))))
        await asyncio.sleep(1)


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


async def run_load(port, user, nodes, job_id, clients, seconds, pid):
    deadline = time.monotonic() + seconds
    s_stats, w_stats, samples = Stats(), Stats(), []
    tasks = [asyncio.create_task(worker(port, n, deadline, w_stats)) for n in nodes]
    await asyncio.sleep(0.5)  # the workers are waiting in their long polls when the clients arrive
    tasks += [asyncio.create_task(status_client(port, user, job_id, deadline, s_stats)) for _ in range(clients)]
    tasks.append(asyncio.create_task(sample_memory(pid, deadline, samples)))
    await asyncio.gather(*tasks)
    return s_stats, w_stats, samples


def start_manager(inferix, tmp):
    """Starts `inferix manager` (long poll 5 s) with its data in `tmp`; returns (process, port, admin), where
    admin(*args) runs an `inferix admin` command on its data and returns what it printed."""
    data = os.path.join(tmp, "manager")
    manager = subprocess.Popen([inferix, "manager", "--listen", "127.0.0.1:0", "--data", data, "--long-poll-ms",
                                "5000"], stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "manager.log"), "wb"))
    url_file = os.path.join(data, "manager.url")
    for _ in range(300):
        if os.path.exists(url_file) and open(url_file).read().endswith("\n"):
            break
        time.sleep(0.05)
    port = int(open(url_file).read().strip().rsplit(":", 1)[1])

    def admin(*a):
        return subprocess.run([inferix, "admin", *a, "--data", data], check=True, capture_output=True,
                              text=True).stdout.strip()

    return manager, port, admin


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--inferix", default=os.path.join(ROOT, "build", "apps", "inferix", "inferix"))
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.clients + args.workers + 100
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
    tmp = tempfile.mkdtemp(prefix="inferix-load-")
    manager = None
    try:
        manager, port, admin = start_manager(args.inferix, tmp)

        def call(method, path, token, body):
            import urllib.request
            req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                         data=body if isinstance(body, bytes) else json.dumps(body).encode(),
                                         headers={"Authorization": "Bearer " + token} if token else {})
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read() or b"null")

        user = admin("token", "create", "--user", "load")
        scene = b"BLENDER-v304" + os.urandom(64)
        sha = hashlib.sha256(scene).hexdigest()
        call("PUT", "/api/v1/files/" + sha, user, scene)
        job = call("POST", "/api/v1/jobs", user, {"name": "load", "main": "s.blend", "frames": "1-100",
                                                 "files": [{"path": "s.blend", "sha256": sha}]})
        call("POST", "/api/v1/jobs/%d/cancel" % job["id"], user, {})  # nothing to render: claims wait
        nodes = []
        for i in range(args.workers):
            answer = call("POST", "/api/v1/nodes/register", None, {
                "enrollment_token": admin("enroll", "create", "--role", "worker"), "name": "load-%d" % i,
                "role": "worker", "public_key": hashlib.sha256(b"%d" % i).hexdigest(), "capabilities": {}})
            nodes.append(answer["node_token"])
        rss_idle = status_of(manager.pid, "VmRSS")

        base, _, _ = asyncio.run(run_load(port, user, [], job["id"], 1, min(10.0, args.seconds), manager.pid))
        loaded, claims, samples = asyncio.run(
            run_load(port, user, nodes, job["id"], args.clients, args.seconds, manager.pid))
        hwm = status_of(manager.pid, "VmHWM")
        alive = manager.poll() is None

        def describe(name, st, seconds):
            lat = st.latencies
            print("%-28s requests %7d (%6.0f/s)  errors %d  latency p50 %6.1f ms  p99 %7.1f ms  max %7.1f ms" % (
                name, len(lat), len(lat) / seconds, len(st.errors), percentile(lat, 50) * 1e3,
                percentile(lat, 99) * 1e3, max(lat, default=float("nan")) * 1e3))

        print("manager: 1 process, long poll 5 s; clients: %d status + %d workers, %.0f s" % (
            args.clients, args.workers, args.seconds))
        describe("baseline: 1 status client", base, min(10.0, args.seconds))
        describe("%d status clients" % args.clients, loaded, args.seconds)
        describe("%d long-polling workers" % args.workers, claims, args.seconds)
        print("status p50 latency ratio (loaded / alone): %.1f" % (
            percentile(loaded.latencies, 50) / percentile(base.latencies, 50)))
        third = [s for s in samples if s[0] <= samples[0][0] + args.seconds / 3]
        print("manager memory: idle %.1f MiB, at 1/3 of the run %.1f MiB, end %.1f MiB, peak (VmHWM) %.1f MiB" % (
            rss_idle / 1024, (third[-1][1] if third else 0) / 1024, samples[-1][1] / 1024, hwm / 1024))
        print("manager threads %d, open files peak %d; still running: %s" % (
            max(s[2] for s in samples), max(s[3] for s in samples), alive))
        errors = loaded.errors + claims.errors + base.errors
        for e in sorted(set(errors))[:10]:
            print("error:", e)
        return 0 if not errors and alive else 1
    finally:
        if manager and manager.poll() is None:
            manager.terminate()
            manager.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
