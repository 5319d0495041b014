"""HAProxy in front of several managers, for the tests (tests/engines)."""

import os
import socket
import subprocess

from engine_base import (STOPPERS, EngineError, fresh_folder, free_port, kill_by_pids, program, read_pid,
                         state_path, stops_on_failure, wait_for, write_json)


def _haproxy_conf(folder, port, backends, health):
    servers = "\n".join(f"  server m{i} {b} check" for i, b in enumerate(backends))
    return f"""# Written by tests/engines/engines.py.
global
  pidfile {folder}/haproxy.pid
  stats socket {folder}/haproxy.sock mode 600 level admin
  nbthread 1

defaults
  mode http
  timeout connect 2s
  # Claims long-poll for 25 s and event streams stay open: the server side waits up to 60 s.
  timeout client 65s
  timeout server 60s
  timeout http-request 10s
  timeout queue 10s
  # A request that cannot reach its manager (killed, not yet marked down) goes to another one.
  retries 3
  option redispatch 1

frontend managers
  bind 127.0.0.1:{port}
  default_backend managers

backend managers
  balance roundrobin
  option httpchk GET {health}
  http-check expect status 200
  # A killed manager is out after two failed checks 0.3 s apart, back after one good one.
  default-server inter 300ms fastinter 300ms downinter 500ms fall 2 rise 1
{servers}
"""


@stops_on_failure
def start_haproxy(folder, backends, health="/api/v1/health", json_path=None):
    """HAProxy on 127.0.0.1 and a free port in front of `backends` ("host:port" strings), round robin with
    HTTP health checks on `health`; returns {"url", "port", "pid"}."""
    haproxy = program("haproxy", "haproxy")
    if not backends:
        raise EngineError("HAProxy needs at least one backend (host:port)")
    for b in backends:
        host, _, p = b.rpartition(":")
        if not host or not p.isdigit():
            raise EngineError(f"backend {b!r} is not host:port")
    folder = fresh_folder(folder)
    port = free_port()
    conf = os.path.join(folder, "haproxy.cfg")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(_haproxy_conf(folder, port, backends, health))
    log = os.path.join(folder, "haproxy.log")
    state = {"engine": "haproxy", "conf": conf, "pid_file": os.path.join(folder, "haproxy.pid"), "port": port,
             "json": os.path.abspath(json_path) if json_path else None}
    write_json(state_path(folder), state)
    with open(log, "w", encoding="utf-8") as out:
        r = subprocess.run([haproxy, "-f", conf, "-D"], stdout=out, stderr=subprocess.STDOUT, check=False)
    if r.returncode != 0:
        raise EngineError(f"haproxy failed with exit code {r.returncode}; see {log}")

    def listening():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    wait_for(listening, "HAProxy", log)
    state["pid"] = read_pid(state["pid_file"])
    write_json(state_path(folder), state)
    info = {"url": f"http://127.0.0.1:{port}", "port": port, "pid": state["pid"]}
    if json_path:
        write_json(json_path, info)
    return info


def haproxy_servers(folder):
    """Each backend's state as HAProxy's health checks see it now: {"m0": "UP", "m1": "DOWN", ...}."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(os.path.join(os.path.abspath(folder), "haproxy.sock"))
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    lines = data.decode("utf-8", "replace").splitlines()
    header = lines[0].lstrip("# ").split(",")
    result = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row.get("pxname") == "managers" and row.get("svname") not in ("FRONTEND", "BACKEND", None):
            result[row["svname"]] = row.get("status", "").split(" ")[0]
    return result


def _stop_haproxy(state):
    pid = read_pid(state["pid_file"]) or state.get("pid", 0)
    return kill_by_pids([(pid, state["conf"])])


STOPPERS["haproxy"] = _stop_haproxy
