"""An S3 store for the tests: Ceph's RADOS Gateway on a one-node cluster in a folder (tests/engines).

One monitor, one OSD on the in-memory object store, the gateway with the beast frontend. Settings and order of
steps from ../shared/research/object-storage.md (measured on Debian 12, ceph 16.2).
"""

import os
import secrets
import sys
import time
import urllib.error
import urllib.request
import uuid

from engine_base import (STOPPERS, EngineError, fresh_folder, free_port, kill_by_pids, program, read_pid, run,
                         state_path, stops_on_failure, wait_for, write_json)

S3_REGION = "us-east-1"
S3_BUCKET = "inferix-test"

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



@stops_on_failure
def start_s3(folder, json_path=None):
    """A one-node Ceph cluster and its RADOS Gateway in `folder`, a user with generated keys and the bucket
    `inferix-test`; returns the s3.json contents. The objects live in the OSD's memory."""
    tools = {tool: program(tool, package) for tool, package in (
        ("monmaptool", "ceph-mon"), ("ceph-mon", "ceph-mon"), ("ceph-osd", "ceph-osd"), ("radosgw", "radosgw"),
        ("radosgw-admin", "radosgw"), ("ceph", "ceph-mon"))}
    folder = fresh_folder(folder)
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
    write_json(state_path(folder), state)
    c = ["-c", conf]
    monmap = os.path.join(folder, "monmap")
    run(["monmaptool", "--create", "--fsid", fsid, "--addv", "a", f"[v2:127.0.0.1:{mon_port}]", monmap],
         "monmaptool")
    run([tools["ceph-mon"]] + c + ["-i", "a", "--mkfs", "--monmap", monmap], "ceph-mon --mkfs",
         os.path.join(folder, "mon.a.log"))
    run([tools["ceph-mon"]] + c + ["-i", "a"], "ceph-mon", os.path.join(folder, "mon.a.log"))
    osd_uuid = str(uuid.uuid4())
    osd_id = run([tools["ceph"]] + c + ["--connect-timeout", "30", "osd", "new", osd_uuid], "ceph osd new",
                  os.path.join(folder, "mon.a.log")).strip()
    if osd_id != "0":
        raise EngineError(f"ceph osd new gave id {osd_id!r}, expected 0 on a fresh cluster")
    # Without --osd-uuid the monitor ignores the OSD's boot and it stays "booting" for ever.
    run([tools["ceph-osd"]] + c + ["-i", "0", "--mkfs", "--osd-uuid", osd_uuid], "ceph-osd --mkfs",
         os.path.join(folder, "osd.0.log"))
    run([tools["ceph-osd"]] + c + ["-i", "0"], "ceph-osd", os.path.join(folder, "osd.0.log"))
    run([tools["radosgw"]] + c + ["-n", "client.rgw.a"], "radosgw", os.path.join(folder, "client.rgw.a.log"))
    endpoint = f"http://127.0.0.1:{rgw_port}"
    wait_for(lambda: _http_answers(endpoint), "The RADOS Gateway", os.path.join(folder, "client.rgw.a.log"))
    state["pids"] = {name: read_pid(path) for name, path in state["pid_files"].items()}
    write_json(state_path(folder), state)
    access_key = "INFERIX" + secrets.token_hex(7).upper()
    secret_key = secrets.token_urlsafe(30)
    run([tools["radosgw-admin"]] + c + ["user", "create", "--uid", "inferix-test", "--display-name", "inferix tests",
                                  "--access-key", access_key, "--secret-key", secret_key], "radosgw-admin user create")
    info = {"endpoint": endpoint, "region": S3_REGION, "access_key": access_key, "secret_key": secret_key,
            "bucket": S3_BUCKET}
    s3_client(info).create_bucket(Bucket=S3_BUCKET)
    state["start_s"] = round(time.monotonic() - started, 2)
    write_json(state_path(folder), state)
    if json_path:
        write_json(json_path, info)
    return info


def s3_client(info, secret_key=None):
    """A boto3 S3 client for an s3.json (path-style, SigV4): the independent client of the tests."""
    try:
        import boto3  # pylint: disable=import-outside-toplevel  (only the S3 parts need it)
        from botocore.config import Config  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        raise EngineError(f"boto3 is missing for {sys.executable}: install python3-boto3 "
                          "(scripts/install-deps.sh)") from e

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
        pid = read_pid(state["pid_files"][name]) or state.get("pids", {}).get(name, 0)
        survivors += kill_by_pids([(pid, state["conf"])])
    return survivors


STOPPERS["s3"] = _stop_s3
