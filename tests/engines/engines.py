#!/usr/bin/env python3
"""Real engines for the tests: PostgreSQL 15, Ceph's RADOS Gateway (S3) and HAProxy, each in a folder of its own.

A library and a command line. Every engine listens on 127.0.0.1 only, on a free port, and keeps its data,
sockets, logs and pid files in the folder it is given; it is stopped by pid (never by name) and `stop` fails when
a process of the folder is still alive afterwards. What each start wrote is kept in DIR/state.json, so `stop
--dir DIR` stops whatever DIR holds, and a start first stops what an earlier, interrupted run left in DIR.

    engines.py start postgres --dir DIR --json FILE     FILE: {"url", "data_dir", "pg_ctl", "pid", "restart_cmd"}
    engines.py start s3 --dir DIR --json FILE           FILE: {"endpoint", "region", "access_key", "secret_key",
                                                               "bucket"}; the bucket exists
    engines.py start haproxy --dir DIR --backends HOST:PORT,... [--health PATH] --json FILE
                                                        FILE: {"url", "port", "pid"}
    engines.py restart-postgres --dir DIR               returns once the server accepts connections again
    engines.py stop --dir DIR                           also removes the JSON file its start wrote

Needs (scripts/install-deps.sh): postgresql-15, ceph-mon, ceph-osd, radosgw, haproxy, python3-boto3.
Standard library only, except boto3 to create the test bucket. The engines are in engine_{postgres,s3,haproxy}.py,
what they share in engine_base.py; tests import this module.
"""

import argparse
import sys
import time

# The library, for tests: `sys.path.insert(0, "tests/engines"); import engines`.
from engine_base import EngineError, alive, free_port, kill_by_pids, stop  # noqa: F401
from engine_haproxy import haproxy_servers, start_haproxy  # noqa: F401
from engine_postgres import restart_postgres, start_postgres  # noqa: F401
from engine_s3 import s3_client, start_s3  # noqa: F401


# A free port is picked before the engine binds it: another program may take it meanwhile. A start that fails
# stops what it started, so it can simply be tried again.
START_ATTEMPTS = 3


def _start_with_retries(args):
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            if args.engine == "postgres":
                return start_postgres(args.dir, args.json)
            if args.engine == "s3":
                return start_s3(args.dir, args.json)
            return start_haproxy(args.dir, args.backends.split(","), args.health, args.json)
        except EngineError as e:
            if attempt == START_ATTEMPTS or "is missing" in str(e) or "is not host:port" in str(e):
                raise
            print(f"engines.py: attempt {attempt} failed, trying again: {e}", file=sys.stderr)
    raise AssertionError("unreachable")


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
    if args.command == "start" and args.engine == "haproxy" and not args.backends:
        parser.error("start haproxy needs --backends HOST:PORT,...")
    try:
        if args.command == "start":
            started = time.monotonic()
            info = _start_with_retries(args)
            where = info.get("url") or info.get("endpoint")
            print(f"{args.engine} started in {time.monotonic() - started:.2f} s: {where} ({args.dir})")
        elif args.command == "stop":
            started = time.monotonic()
            engine = stop(args.dir)
            if engine:
                print(f"{engine} stopped in {time.monotonic() - started:.2f} s ({args.dir})")
            else:
                print(f"{args.dir} held no engine started by engines.py: nothing to stop")
        else:
            restart_postgres(args.dir)
    except EngineError as e:
        print(f"engines.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
