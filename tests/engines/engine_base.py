"""What the engines of tests/engines share: free ports, processes stopped by pid, each folder's state.json."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

# How long a daemon may take to exit after SIGTERM before it gets SIGKILL.
STOP_GRACE_S = 10.0
START_TIMEOUT_S = 60.0
# engine name -> function(state) that stops it and returns the pids that survived; each engine module adds its own.
STOPPERS = {}


class EngineError(Exception):
    """An engine did not start or stop; the message says which, and where its log is."""


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def program(name, package):
    """The full path of an installed program; daemons live in /usr/sbin, which a user's PATH often lacks."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/sbin"
    found = shutil.which(name, path=path)
    if found is None:
        raise EngineError(f"{name} is missing: install {package} (scripts/install-deps.sh)")
    return found


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


def run(cmd, what, log=None, **kwargs):
    """Runs a setup command; a failure raises EngineError with its output."""
    r = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if r.returncode != 0:
        where = f" (log: {log})" if log else ""
        raise EngineError(f"{what} failed with exit code {r.returncode}{where}: {' '.join(cmd)}\n"
                          f"{(r.stdout + r.stderr)[-4000:]}")
    return r.stdout


def wait_for(check, what, log, timeout_s=START_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise EngineError(f"{what} did not answer within {timeout_s:.0f} s; see {log}")
        time.sleep(0.05)


def state_path(folder):
    return os.path.join(folder, "state.json")


def read_state(folder):
    try:
        with open(state_path(folder), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def write_json(path, value):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def stops_on_failure(start):
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


def fresh_folder(folder):
    """Stops what an earlier run left in `folder`, then empties it."""
    folder = os.path.abspath(folder)
    if os.path.exists(state_path(folder)):
        stop(folder)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    return folder

def read_pid(path):
    try:
        with open(path, encoding="utf-8") as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def stop(folder):
    """Stops the engine that `folder` holds, by pid, and returns its name (None: the folder held none); raises
    EngineError when a process survives."""
    folder = os.path.abspath(folder)
    state = read_state(folder)
    if state.get("engine") not in STOPPERS:
        return None
    survivors = STOPPERS[state["engine"]](state)
    if survivors:
        raise EngineError(f"{state['engine']} in {folder}: pids {survivors} still run after SIGKILL")
    if state.get("json"):
        # A stale file would point at a port that someone else may own by now.
        try:
            os.remove(state["json"])
        except FileNotFoundError:
            pass
    home = state.get("home")
    if home and os.path.abspath(home) != folder:
        shutil.rmtree(home, ignore_errors=True)
    os.remove(state_path(folder))
    return state["engine"]
