"""PostgreSQL 15 for the tests: initdb and pg_ctl in a folder, on 127.0.0.1 and a free port (tests/engines)."""

import os
import pwd
import subprocess
import sys
import tempfile
import time

from engine_base import (START_TIMEOUT_S, STOPPERS, EngineError, alive, fresh_folder, free_port, kill_by_pids,
                         program, read_state, run, state_path, stops_on_failure, wait_for, write_json)

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_CTL = PG_BIN + "/pg_ctl"
PG_ROLE = "inferix"
# The command line that restart_cmd runs.
ENGINES_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "engines.py")


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
    return [program("runuser", "util-linux"), "-u", user.pw_name, "--"] + cmd


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


@stops_on_failure
def start_postgres(folder, json_path=None):
    """initdb and pg_ctl start in `folder` (a fresh cluster); returns the postgres.json contents.

    The cluster: superuser role `inferix` (tests CREATE DATABASE), trust authentication for 127.0.0.1 only,
    TCP on 127.0.0.1 and a free port, its unix socket in the folder. fsync and synchronous_commit are off: the
    data is thrown away with the folder, and a test never survives a power cut."""
    if not os.path.exists(PG_CTL):
        raise EngineError(f"{PG_CTL} is missing: install postgresql-15 (scripts/install-deps.sh)")
    folder = fresh_folder(folder)
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
    run(_as_pg([PG_BIN + "/initdb", "-D", data_dir, "-U", PG_ROLE, "--auth=trust", "--encoding=UTF8",
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
    write_json(state_path(folder), state)
    run(_as_pg([PG_CTL, "-D", data_dir, "-l", log, "-w", "-t", str(int(START_TIMEOUT_S)), "start"], user),
         "pg_ctl start", log)
    wait_for(lambda: _pg_accepts(port), "PostgreSQL", log)
    state["pid"] = _postmaster_pid(data_dir)
    state["start_s"] = round(time.monotonic() - started, 2)
    write_json(state_path(folder), state)
    return _postgres_info(folder, state)


def _postgres_info(folder, state):
    info = {
        "url": f"postgresql://{PG_ROLE}@127.0.0.1:{state['port']}/postgres",
        "data_dir": state["data_dir"],
        "pg_ctl": PG_CTL,
        "pid": state["pid"],
        "restart_cmd": f"{sys.executable} {ENGINES_PY} restart-postgres --dir {folder}",
    }
    if state.get("json"):
        write_json(state["json"], info)
    return info


def restart_postgres(folder):
    """pg_ctl restart; returns once the server accepts connections on its port again (postgres.json gets the
    new pid)."""
    folder = os.path.abspath(folder)
    state = read_state(folder)
    if state.get("engine") != "postgres":
        raise EngineError(f"{folder} holds no PostgreSQL started by engines.py")
    user = pwd.getpwnam(state["user"]) if state.get("user") else None
    run(_as_pg([PG_CTL, "-D", state["data_dir"], "-l", state["log"], "-m", "fast", "-w", "-t",
                 str(int(START_TIMEOUT_S)), "restart"], user), "pg_ctl restart", state["log"])
    wait_for(lambda: _pg_accepts(state["port"]), "PostgreSQL after its restart", state["log"])
    state["pid"] = _postmaster_pid(state["data_dir"])
    write_json(state_path(folder), state)
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


STOPPERS["postgres"] = _stop_postgres
