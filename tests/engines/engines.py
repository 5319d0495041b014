#!/usr/bin/env python3
"""Real engines for the tests: PostgreSQL 15, Ceph's RADOS Gateway (S3) and HAProxy, each in a folder of its own.

A library and a command line. Every engine listens on 127.0.0.1 only, on a free port, and keeps its data,
sockets, logs and pid files in the folder it is given; it is stopped by pid (never by name) and `stop` fails when
a process of the folder is still alive afterwards. What each start wrote is kept in DIR/state.json, so `stop
--dir DIR` stops whatever DIR holds, and a start first stops what an earlier, interrupted run left in DIR.

    engines.py start postgres --dir DIR --json FILE     FILE: {"url", "data_dir", "pg_ctl", "pid", "restart_cmd"}
    engines.py start s3 --dir DIR --json FILE           FILE: {"endpoint", "region", "access_key", "secret_key",
                                                               "bucket"}; the bucket exists
    engines.py start haproxy --dir DIR --backends HOST:PORT,... [--health PATH] --json FILE   FILE: {"url", "port", "pid"}
    engines.py restart-postgres --dir DIR               returns once the server accepts connections again
    engines.py stop --dir DIR

Needs (scripts/install-deps.sh): postgresql-15, ceph-mon, ceph-osd, radosgw, haproxy, python3-boto3.
Standard library only, except boto3 to create the test bucket.
"""

import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_CTL = PG_BIN + "/pg_ctl"
PG_ROLE = "inferix"
S3_REGION = "us-east-1"
S3_BUCKET = "inferix-test"
# How long a daemon may take to exit after SIGTERM before it gets SIGKILL.
STOP_GRACE_S = 10.0
START_TIMEOUT_S = 60.0


class EngineError(Exception):
    """An engine did not start or stop; the message says which, and where its log is."""


# ---------------------------------------------------------------------------------------------------------------
# Shared helpers


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid):
    """True while `pid` runs (a zombie, which init has not reaped yet, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _is_ours(pid, marker):
    """Guards against a reused pid: the process must still be the one we started (its command line names
    `marker`, e.g. its config file or data folder)."""
    return alive(pid) and marker in _cmdline(pid)


def kill_by_pids(procs, grace_s=STOP_GRACE_S):
    """Stops processes given as [(pid, marker)]: SIGTERM to all, SIGKILL to those still there after grace_s.
    Returns the pids that survived even SIGKILL (empty when all are gone)."""
    procs = [(pid, marker) for pid, marker in procs if pid and _is_ours(pid, marker)]
    for pid, _ in procs:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(pid) for pid, _ in procs):
        time.sleep(0.05)
    for pid, _ in procs:
        if alive(pid):
            _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(pid) for pid, _ in procs):
        time.sleep(0.05)
    return [pid for pid, _ in procs if alive(pid)]


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _run(cmd, what, log=None, **kwargs):
    """Runs a setup command; a failure raises EngineError with its output."""
    r = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if r.returncode != 0:
        where = f" (log: {log})" if log else ""
        raise EngineError(f"{what} failed with exit code {r.returncode}{where}: {' '.join(cmd)}\n"
                          f"{(r.stdout + r.stderr)[-4000:]}")
    return r.stdout


def _wait_for(check, what, log, timeout_s=START_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise EngineError(f"{what} did not answer within {timeout_s:.0f} s; see {log}")
        time.sleep(0.05)


def _state_path(folder):
    return os.path.join(folder, "state.json")


def _read_state(folder):
    try:
        with open(_state_path(folder), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _write_json(path, value):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def _stops_on_failure(start):
    """A start that fails stops what it had started already, so no daemon outlives a failed setup."""

    def wrapper(folder, *args, **kwargs):
        try:
            return start(folder, *args, **kwargs)
        except BaseException:
            try:
                stop(folder)
            except EngineError as e:
                print(f"engines.py: {e}", file=sys.stderr)
            raise

    wrapper.__doc__ = start.__doc__
    wrapper.__name__ = start.__name__
    return wrapper


def _fresh_folder(folder):
    """Stops what an earlier run left in `folder`, then empties it."""
    folder = os.path.abspath(folder)
    if os.path.exists(_state_path(folder)):
        stop(folder)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    return folder


# ---------------------------------------------------------------------------------------------------------------
# PostgreSQL 15


def _pg_user():
    """PostgreSQL refuses to run as root: then it runs as Debian's `postgres` user (from the postgresql-15
    package). None: run as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError as e:
        raise EngineError("running as root, PostgreSQL needs the unprivileged user `postgres`: "
                          "install postgresql-15 (scripts/install-deps.sh)") from e


def _as_pg(cmd, user):
    if user is None:
        return cmd
    return ["runuser", "-u", user.pw_name, "--"] + cmd


def _pg_reachable_by(user, path):
    return subprocess.run(_as_pg(["test", "-w", path], user), check=False).returncode == 0


def _pg_accepts(port):
    r = subprocess.run([PG_BIN + "/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", PG_ROLE,
                        "-d", "postgres"], check=False)
    return r.returncode == 0


def _postmaster_pid(data_dir):
    try:
        with open(os.path.join(data_dir, "postmaster.pid"), encoding="utf-8") as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return 0


@_stops_on_failure
def start_postgres(folder, json_path=None):
    """initdb and pg_ctl start in `folder` (a fresh cluster); returns the postgres.json contents.

    The cluster: superuser role `inferix` (tests CREATE DATABASE), trust authentication for 127.0.0.1 only,
    TCP on 127.0.0.1 and a free port, its unix socket in the folder. fsync and synchronous_commit are off: the
    data is thrown away with the folder, and a test never survives a power cut."""
    if not os.path.exists(PG_CTL):
        raise EngineError(f"{PG_CTL} is missing: install postgresql-15 (scripts/install-deps.sh)")
    folder = _fresh_folder(folder)
    user = _pg_user()
    home = folder
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
        if not _pg_reachable_by(user, folder):
            # A build folder under /root, say: the cluster goes to a private temporary folder instead.
            home = tempfile.mkdtemp(prefix="inferix-postgres-")
            os.chown(home, user.pw_uid, user.pw_gid)
    os.chmod(home, 0o700)
    data_dir = os.path.join(home, "data")
    log = os.path.join(home, "postgres.log")
    port = free_port()
    started = time.monotonic()
    _run(_as_pg([PG_BIN + "/initdb", "-D", data_dir, "-U", PG_ROLE, "--auth=trust", "--encoding=UTF8",
                 "--locale=C", "--no-sync"], user), "initdb")
    with open(os.path.join(data_dir, "pg_hba.conf"), "w", encoding="utf-8") as f:
        f.write("# TYPE DATABASE USER ADDRESS METHOD (tests/engines/engines.py)\n"
                "host all all 127.0.0.1/32 trust\n")
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": f"'{home}'",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
        "shared_buffers": "64MB",
        "logging_collector": "off",
    }
    with open(os.path.join(data_dir, "postgresql.conf"), "a", encoding="utf-8") as f:
        f.write("\n# tests/engines/engines.py\n")
        for key, value in settings.items():
            f.write(f"{key} = {value}\n")
    if user is not None:
        for root, dirs, files in os.walk(data_dir):
            for name in dirs + files:
                os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)
    state = {"engine": "postgres", "home": home, "data_dir": data_dir, "port": port, "log": log,
             "user": user.pw_name if user else None, "json": os.path.abspath(json_path) if json_path else None}
    _write_json(_state_path(folder), state)
    _run(_as_pg([PG_CTL, "-D", data_dir, "-l", log, "-w", "-t", str(int(START_TIMEOUT_S)), "start"], user),
         "pg_ctl start", log)
    _wait_for(lambda: _pg_accepts(port), "PostgreSQL", log)
    state["pid"] = _postmaster_pid(data_dir)
    state["start_s"] = round(time.monotonic() - started, 2)
    _write_json(_state_path(folder), state)
    return _postgres_info(folder, state)


def _postgres_info(folder, state):
    info = {
        "url": f"postgresql://{PG_ROLE}@127.0.0.1:{state['port']}/postgres",
        "data_dir": state["data_dir"],
        "pg_ctl": PG_CTL,
        "pid": state["pid"],
        "restart_cmd": f"{sys.executable} {os.path.abspath(__file__)} restart-postgres --dir {folder}",
    }
    if state.get("json"):
        _write_json(state["json"], info)
    return info


def restart_postgres(folder):
    """pg_ctl restart; returns once the server accepts connections on its port again (postgres.json gets the
    new pid)."""
    folder = os.path.abspath(folder)
    state = _read_state(folder)
    if state.get("engine") != "postgres":
        raise EngineError(f"{folder} holds no PostgreSQL started by engines.py")
    user = pwd.getpwnam(state["user"]) if state.get("user") else None
    _run(_as_pg([PG_CTL, "-D", state["data_dir"], "-l", state["log"], "-m", "fast", "-w", "-t",
                 str(int(START_TIMEOUT_S)), "restart"], user), "pg_ctl restart", state["log"])
    _wait_for(lambda: _pg_accepts(state["port"]), "PostgreSQL after its restart", state["log"])
    state["pid"] = _postmaster_pid(state["data_dir"])
    _write_json(_state_path(folder), state)
    return _postgres_info(folder, state)


def _stop_postgres(state):
    data_dir = state["data_dir"]
    pid = _postmaster_pid(data_dir) or state.get("pid", 0)
    user = pwd.getpwnam(state["user"]) if state.get("user") else None
    if pid and alive(pid):
        subprocess.run(_as_pg([PG_CTL, "-D", data_dir, "-m", "fast", "-w", "-t", "20", "stop"], user),
                       capture_output=True, check=False)
    # pg_ctl stop failing or timing out leaves the postmaster: then by pid.
    return kill_by_pids([(pid, data_dir)])


# ---------------------------------------------------------------------------------------------------------------
# Ceph RADOS Gateway: one monitor, one OSD on the in-memory object store, the gateway with the beast frontend.
# Settings and order of steps from ../shared/research/object-storage.md (measured on Debian 12, ceph 16.2).

_CEPH_DAEMONS = (("client.rgw.a", "radosgw"), ("osd.0", "ceph-osd"), ("mon.a", "ceph-mon"))


def _ceph_conf(folder, fsid, mon_port, rgw_port):
    return f"""# Written by tests/engines/engines.py: a throwaway one-node cluster, everything in this folder.
[global]
fsid = {fsid}
mon_host = v2:127.0.0.1:{mon_port}
public_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_ipv6 = false
# Authentication off inside the cluster (127.0.0.1, one test run); the gateway still checks S3 signatures.
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
# Without it radosgw asks for cephx, loops on "get_initial_auth_request returned -13" and never daemonizes.
ms_mon_client_mode = crc
osd_objectstore = memstore
memstore_device_bytes = 1073741824
osd_pool_default_size = 1
osd_pool_default_min_size = 1
# The gateway creates its own pools: at 32 PGs each a few reach the 250-PG limit.
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
# Pools in ~0.1 s instead of ~2 s each.
paxos_propose_interval = 0.1
paxos_min_wait = 0.01
mon_data_avail_crit = 0
run_dir = {folder}
admin_socket = {folder}/$name.asok
pid_file = {folder}/$name.pid
log_file = {folder}/$name.log
crash_dir = {folder}/crash
mon_cluster_log_file = {folder}/cluster.log
mon_data = {folder}/mon-$id
osd_data = {folder}/osd-$id
keyring = {folder}/keyring
rgw_data = {folder}/rgw-$id

[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:{rgw_port}
"""


def _http_answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # an S3 error document (anonymous request) is an answer
    except (OSError, ValueError):
        return False


def _read_pid(path):
    try:
        with open(path, encoding="utf-8") as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


@_stops_on_failure
def start_s3(folder, json_path=None):
    """A one-node Ceph cluster and its RADOS Gateway in `folder`, a user with generated keys and the bucket
    `inferix-test`; returns the s3.json contents. The objects live in the OSD's memory."""
    for tool in ("monmaptool", "ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph"):
        if shutil.which(tool) is None:
            raise EngineError(f"{tool} is missing: install ceph-mon ceph-osd radosgw (scripts/install-deps.sh)")
    folder = _fresh_folder(folder)
    started = time.monotonic()
    fsid = str(uuid.uuid4())
    mon_port, rgw_port = free_port(), free_port()
    while rgw_port == mon_port:
        rgw_port = free_port()
    conf = os.path.join(folder, "ceph.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(_ceph_conf(folder, fsid, mon_port, rgw_port))
    for sub in ("crash", "osd-0", "rgw-rgw.a"):
        os.makedirs(os.path.join(folder, sub))
    state = {"engine": "s3", "conf": conf, "json": os.path.abspath(json_path) if json_path else None,
             "pid_files": {name: os.path.join(folder, f"{name}.pid") for name, _ in _CEPH_DAEMONS}}
    _write_json(_state_path(folder), state)
    c = ["-c", conf]
    monmap = os.path.join(folder, "monmap")
    _run(["monmaptool", "--create", "--fsid", fsid, "--addv", "a", f"[v2:127.0.0.1:{mon_port}]", monmap],
         "monmaptool")
    _run(["ceph-mon"] + c + ["-i", "a", "--mkfs", "--monmap", monmap], "ceph-mon --mkfs",
         os.path.join(folder, "mon.a.log"))
    _run(["ceph-mon"] + c + ["-i", "a"], "ceph-mon", os.path.join(folder, "mon.a.log"))
    osd_uuid = str(uuid.uuid4())
    osd_id = _run(["ceph"] + c + ["--connect-timeout", "30", "osd", "new", osd_uuid], "ceph osd new",
                  os.path.join(folder, "mon.a.log")).strip()
    if osd_id != "0":
        raise EngineError(f"ceph osd new gave id {osd_id!r}, expected 0 on a fresh cluster")
    # Without --osd-uuid the monitor ignores the OSD's boot and it stays "booting" for ever.
    _run(["ceph-osd"] + c + ["-i", "0", "--mkfs", "--osd-uuid", osd_uuid], "ceph-osd --mkfs",
         os.path.join(folder, "osd.0.log"))
    _run(["ceph-osd"] + c + ["-i", "0"], "ceph-osd", os.path.join(folder, "osd.0.log"))
    _run(["radosgw"] + c + ["-n", "client.rgw.a"], "radosgw", os.path.join(folder, "client.rgw.a.log"))
    endpoint = f"http://127.0.0.1:{rgw_port}"
    _wait_for(lambda: _http_answers(endpoint), "The RADOS Gateway", os.path.join(folder, "client.rgw.a.log"))
    state["pids"] = {name: _read_pid(path) for name, path in state["pid_files"].items()}
    _write_json(_state_path(folder), state)
    access_key = "INFERIX" + secrets.token_hex(7).upper()
    secret_key = secrets.token_urlsafe(30)
    _run(["radosgw-admin"] + c + ["user", "create", "--uid", "inferix-test", "--display-name", "inferix tests",
                                  "--access-key", access_key, "--secret-key", secret_key], "radosgw-admin user create")
    info = {"endpoint": endpoint, "region": S3_REGION, "access_key": access_key, "secret_key": secret_key,
            "bucket": S3_BUCKET}
    s3_client(info).create_bucket(Bucket=S3_BUCKET)
    state["start_s"] = round(time.monotonic() - started, 2)
    _write_json(_state_path(folder), state)
    if json_path:
        _write_json(json_path, info)
    return info


def s3_client(info, secret_key=None):
    """A boto3 S3 client for an s3.json (path-style, SigV4): the independent client of the tests."""
    import boto3  # pylint: disable=import-outside-toplevel  (only the S3 parts need it)
    from botocore.config import Config  # pylint: disable=import-outside-toplevel

    return boto3.client("s3", endpoint_url=info["endpoint"], region_name=info["region"],
                        aws_access_key_id=info["access_key"],
                        aws_secret_access_key=secret_key if secret_key is not None else info["secret_key"],
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def _stop_s3(state):
    # One after the other, gateway first, monitor last: an OSD whose monitor is gone waits 5 s for it, and a
    # gateway whose OSD is gone hangs for two minutes (measured).
    survivors = []
    for name, _ in _CEPH_DAEMONS:
        pid = _read_pid(state["pid_files"][name]) or state.get("pids", {}).get(name, 0)
        survivors += kill_by_pids([(pid, state["conf"])])
    return survivors


# ---------------------------------------------------------------------------------------------------------------
# HAProxy in front of several managers


def _haproxy_conf(folder, port, backends, health):
    servers = "\n".join(f"  server m{i} {b} check" for i, b in enumerate(backends))
    return f"""# Written by tests/engines/engines.py.
global
  pidfile {folder}/haproxy.pid
  stats socket {folder}/haproxy.sock mode 600 level admin
  nbthread 1

defaults
  mode http
  log global
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


@_stops_on_failure
def start_haproxy(folder, backends, health="/api/v1/health", json_path=None):
    """HAProxy on 127.0.0.1 and a free port in front of `backends` ("host:port" strings), round robin with
    HTTP health checks on `health`; returns {"url", "port", "pid"}."""
    if shutil.which("haproxy") is None:
        raise EngineError("haproxy is missing: install haproxy (scripts/install-deps.sh)")
    if not backends:
        raise EngineError("HAProxy needs at least one backend (host:port)")
    for b in backends:
        host, _, p = b.rpartition(":")
        if not host or not p.isdigit():
            raise EngineError(f"backend {b!r} is not host:port")
    folder = _fresh_folder(folder)
    port = free_port()
    conf = os.path.join(folder, "haproxy.cfg")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(_haproxy_conf(folder, port, backends, health))
    log = os.path.join(folder, "haproxy.log")
    state = {"engine": "haproxy", "conf": conf, "pid_file": os.path.join(folder, "haproxy.pid"), "port": port}
    _write_json(_state_path(folder), state)
    with open(log, "w", encoding="utf-8") as out:
        r = subprocess.run(["haproxy", "-f", conf, "-D"], stdout=out, stderr=subprocess.STDOUT, check=False)
    if r.returncode != 0:
        raise EngineError(f"haproxy failed with exit code {r.returncode}; see {log}")

    def listening():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    _wait_for(listening, "HAProxy", log)
    state["pid"] = _read_pid(state["pid_file"])
    _write_json(_state_path(folder), state)
    info = {"url": f"http://127.0.0.1:{port}", "port": port, "pid": state["pid"]}
    if json_path:
        _write_json(json_path, info)
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
    pid = _read_pid(state["pid_file"]) or state.get("pid", 0)
    return kill_by_pids([(pid, state["conf"])])


# ---------------------------------------------------------------------------------------------------------------


def stop(folder):
    """Stops the engine that `folder` holds, by pid; raises EngineError when a process survives."""
    folder = os.path.abspath(folder)
    state = _read_state(folder)
    stoppers = {"postgres": _stop_postgres, "s3": _stop_s3, "haproxy": _stop_haproxy}
    if state.get("engine") not in stoppers:
        return
    survivors = stoppers[state["engine"]](state)
    if survivors:
        raise EngineError(f"{state['engine']} in {folder}: pids {survivors} still run after SIGKILL")
    home = state.get("home")
    if home and os.path.abspath(home) != folder:
        shutil.rmtree(home, ignore_errors=True)
    os.remove(_state_path(folder))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Start and stop the real engines of the tests.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="start an engine in a fresh folder")
    p_start.add_argument("engine", choices=["postgres", "s3", "haproxy"])
    p_start.add_argument("--dir", required=True, help="the engine's folder (emptied first)")
    p_start.add_argument("--json", help="where to write the engine's connection details")
    p_start.add_argument("--backends", help="haproxy: comma-separated host:port list")
    p_start.add_argument("--health", default="/api/v1/health", help="haproxy: the health check's path")
    p_stop = sub.add_parser("stop", help="stop the engine of a folder, by pid")
    p_stop.add_argument("--dir", required=True)
    p_restart = sub.add_parser("restart-postgres", help="pg_ctl restart; returns once it accepts connections")
    p_restart.add_argument("--dir", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            started = time.monotonic()
            if args.engine == "postgres":
                info = start_postgres(args.dir, args.json)
            elif args.engine == "s3":
                info = start_s3(args.dir, args.json)
            else:
                if not args.backends:
                    parser.error("start haproxy needs --backends HOST:PORT,...")
                info = start_haproxy(args.dir, args.backends.split(","), args.health, args.json)
            where = info.get("url") or info.get("endpoint")
            print(f"{args.engine} started in {time.monotonic() - started:.2f} s: {where} ({args.dir})")
        elif args.command == "stop":
            started = time.monotonic()
            stop(args.dir)
            print(f"stopped what {args.dir} held in {time.monotonic() - started:.2f} s")
        else:
            restart_postgres(args.dir)
    except EngineError as e:
        print(f"engines.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
