"""bench/farm_sim.py's end of run: the database read after the managers stopped (SQLite read-only, or PostgreSQL
through psql; the schema of src/store/migrations.cpp and src/store/pg_migrations.cpp), the exactly-once checks
against it and against the simulator's own log, and the idle-to-busy latencies."""

import bisect
import csv
import hashlib
import io
import os
import shutil
import sqlite3
import subprocess
import tempfile

FINAL_JOB_STATES = ("completed", "failed", "canceled")
DELIVERING = ("accepted", "trusted")
REPLICA_CHECK = 2  # domain::kReplicaCheck: a second worker's render of a frame under dispute


class Db:
    """Rows of the store, as lists of tuples of Python values."""

    def __init__(self, sqlite_path=None, pg_url=None):
        self.sqlite_path = sqlite_path
        self.pg_url = pg_url
        self.conn = None
        self.tmp = None
        if sqlite_path:
            try:
                self.conn = sqlite3.connect("file:%s?mode=ro" % sqlite_path, uri=True)
                self.conn.execute("SELECT count(*) FROM jobs").fetchone()
            except sqlite3.Error:
                # A WAL left by a killed manager wants a writable -shm: read a copy instead.
                self.tmp = tempfile.mkdtemp(prefix="farm-sim-db-")
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(sqlite_path + suffix):
                        shutil.copy(sqlite_path + suffix, os.path.join(self.tmp, "m.db" + suffix))
                self.conn = sqlite3.connect(os.path.join(self.tmp, "m.db"))

    def rows(self, sql, ints=()):
        if self.conn is not None:
            return [tuple(r) for r in self.conn.execute(sql).fetchall()]
        p = subprocess.run(["psql", self.pg_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                            "COPY (%s) TO STDOUT WITH (FORMAT csv)" % sql], capture_output=True, text=True,
                           timeout=300, check=False)
        if p.returncode != 0:
            raise RuntimeError("psql: %s" % p.stderr.strip())
        out = []
        for r in csv.reader(io.StringIO(p.stdout)):
            out.append(tuple(int(v) if i in ints and v != "" else v for i, v in enumerate(r)))
        return out

    def close(self):
        if self.conn is not None:
            self.conn.close()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def split_ints(text):
    return [int(x) for x in str(text).split(",") if x.strip()]


def read_store(db):
    jobs = db.rows("SELECT id, name, state, user_id, message FROM jobs", ints=(0, 3))
    frames = db.rows("SELECT job_id, number, state, task_id, output_id FROM frames", ints=(0, 1, 3, 4))
    outputs = db.rows("SELECT id, job_id, frame, task_id, node_id, sha256, verdict, replica_of, blob_key, credited "
                      "FROM outputs", ints=(0, 1, 2, 3, 4, 7, 9))
    tasks = db.rows("SELECT id, job_id, kind, state, frames, node_id, level, output_id FROM tasks",
                    ints=(0, 1, 5, 6, 7))
    delivered_events = db.rows("SELECT created_ms FROM events WHERE type = 'frame' AND data LIKE "
                               "'%\"state\":\"delivered\"%'", ints=(0,))
    return {"jobs": jobs, "frames": frames, "outputs": outputs, "tasks": tasks,
            "delivered_ms": sorted(int(r[0]) for r in delivered_events)}


class Checks:
    """The exactly-once checks. `problems` lists what failed, first ones first."""

    def __init__(self):
        self.problems = []
        self.lost = 0
        self.duplicated = 0
        self.double_leases = 0
        self.in_flight = 0
        self.delivered = 0

    def problem(self, text):
        self.problems.append(text)


def check_store(store, submitted, reports, blobs_dir, checks):
    """`submitted`: {job name: {"frames": [...], ...}} of the jobs the users' POST /jobs created. `reports`: the
    frame reports the managers acknowledged. `blobs_dir`: the file: object store (None: not checked)."""
    jobs_by_name = {}
    for j in store["jobs"]:
        jobs_by_name[j[1]] = j
    frames_of = {}
    for f in store["frames"]:
        frames_of.setdefault(f[0], {})[f[1]] = f
    outputs = {o[0]: o for o in store["outputs"]}
    delivering = {}
    for o in store["outputs"]:
        if o[7] == 0 and (o[6] in DELIVERING or o[9]):  # accepted or trusted, or credited
            delivering.setdefault((o[1], o[2]), []).append(o)
    blob_checked = 0

    for name, sub in sorted(submitted.items()):
        job = jobs_by_name.get(name)
        want = sub["frames"]
        if job is None:
            checks.lost += len(want)
            checks.problem("job %s (frames %s) was created but is not in the database" % (name, sub["spec"]))
            continue
        job_id, _, state, _, message = job
        sub["db_state"] = state
        if state in ("failed", "canceled"):
            checks.problem("job %d ended %s: %s" % (job_id, state, (message or "")[:300]))
        rows = frames_of.get(job_id, {})
        for n in want:
            f = rows.get(n)
            if f is None:
                checks.lost += 1
                checks.problem("job %d frame %d: no such frame in the database" % (job_id, n))
                continue
            fstate, out_id = f[2], f[4]
            many = delivering.get((job_id, n), [])
            if len(many) > 1:
                checks.duplicated += 1
                checks.problem("job %d frame %d: %d outputs delivered (%s)" % (
                    job_id, n, len(many), ", ".join("output %d by node %d, %s" % (o[0], o[4], o[6]) for o in many)))
            if fstate == "delivered":
                checks.delivered += 1
                o = outputs.get(out_id)
                if o is None or o[1] != job_id or o[2] != n or o[6] not in DELIVERING or not o[9]:
                    checks.lost += 1
                    checks.problem("job %d frame %d is delivered with output %d, which is %s" % (
                        job_id, n, out_id, "missing" if o is None else "of job %d frame %d, %s, %s" % (
                            o[1], o[2], o[6], "credited" if o[9] else "not credited")))
                    continue
                if blobs_dir:
                    path = os.path.join(blobs_dir, o[8])
                    try:
                        with open(path, "rb") as fh:
                            got = hashlib.sha256(fh.read()).hexdigest()
                    except OSError:
                        got = None
                    blob_checked += 1
                    if got != o[5]:
                        checks.lost += 1
                        checks.problem("job %d frame %d: the delivered object %s %s" % (
                            job_id, n, o[8], "is missing" if got is None else "has another SHA-256"))
            elif fstate in ("failed", "canceled"):
                checks.lost += 1
                checks.problem("job %d frame %d ended %s" % (job_id, n, fstate))
            elif state in FINAL_JOB_STATES:
                checks.lost += 1
                checks.problem("job %d is %s but its frame %d is %s" % (job_id, state, n, fstate))
            else:
                checks.in_flight += 1
        extra = sorted(set(rows) - set(want))
        if extra:
            checks.problem("job %d has frames it was not given: %s" % (job_id, extra[:10]))

    # Leases as the database holds them: the frames of a job's active render tasks never overlap, and a frame
    # being rendered belongs to one active task.
    active = {}
    tasks = {t[0]: t for t in store["tasks"]}
    for t in store["tasks"]:
        tid, job_id, kind, state, frames, node, level = t[:7]
        if kind != "render" or state != "active" or level == REPLICA_CHECK:
            continue
        for n in split_ints(frames):
            other = active.get((job_id, n))
            if other is not None:
                checks.double_leases += 1
                checks.problem("database: job %d frame %d is in two active render tasks: %d (node %d) and %d "
                               "(node %d)" % (job_id, n, other[0], other[5], tid, node))
            else:
                active[(job_id, n)] = t
    for f in store["frames"]:
        if f[2] != "rendering":
            continue
        t = tasks.get(f[3])
        if t is None or t[3] != "active" or f[1] not in split_ints(t[4]):
            checks.problem("database: job %d frame %d is rendering in task %d, which is %s" % (
                f[0], f[1], f[3], "missing" if t is None else "%s with frames %s" % (t[3], t[4])))

    # Every report a manager acknowledged is in the database, as it was reported.
    by_task_frame = {(o[3], o[2]): o for o in store["outputs"]}
    for node_id, task_id, job_id, frame, sha, status, _ in reports:
        o = by_task_frame.get((task_id, frame))
        if o is None:
            checks.lost += 1
            checks.problem("the report of task %d frame %d (job %d, node %d) was acknowledged (%s) but no "
                           "output records it" % (task_id, frame, job_id, node_id, status))
        elif o[5] != sha or o[4] != node_id:
            checks.problem("task %d frame %d: the output recorded (node %d, %s) is not the one reported (node %d, "
                           "%s)" % (task_id, frame, o[4], o[5][:12], node_id, sha[:12]))
    return blob_checked


def check_holds(holds, checks):
    """Double leases from the simulator's log: for each frame of a job (render) or verify task, the nodes that
    held it, in the order their claims were answered; a holder whose lease still worked (a request asserting
    it, sent after the next holder's claim was answered, was accepted) held it together with the next one."""
    by_key = {}
    for key, node, claimed, last_ok in holds:
        by_key.setdefault(tuple(key), []).append((claimed, last_ok, node))
    found = 0
    for key, hs in by_key.items():
        hs.sort(key=lambda h: h[0])
        for a, b in zip(hs, hs[1:]):
            if a[1] is not None and a[1] > b[0]:
                found += 1
                if found <= 10:
                    what = ("job %d frame %d" % (key[1], key[2])) if key[0] == "r" else "verify task %d" % key[1]
                    checks.problem("%s was leased to node #%d and, %.0f ms later, to node #%d while the first "
                                   "still used its lease %.0f ms after that" % (
                                       what, a[2], (b[0] - a[0]) * 1e3, b[2], (a[1] - b[0]) * 1e3))
    checks.double_leases += found
    return found


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def idle_to_busy(submissions, verdicts, claims, idle, window):
    """Latencies (seconds) from a task becoming claimable to a worker that was waiting holding it.

    Claimable moments the simulator knows: a job's POST /jobs being sent (its tasks are committed before the
    answer; the submission's own round trip is counted in), and a verdict "rejected" being sent (the frame is
    queued again in the verdict's transaction). For each such moment t0 in the measurement window, w = the workers
    idle at t0 (long-polling: from the end of their last task, or their start, to their next claim's answer).
    A job of k tasks gives the first min(k, w) of its tasks' first claims; a rejection gives the frame's next
    claim when w >= 1. Each sample is the claim's answer at the worker minus t0."""
    t0, t_end = window
    starts = sorted(s for _, s, _ in idle)
    ends = sorted(e for _, _, e in idle if e is not None)

    def idle_at(t):
        return bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t)

    claims_of_job = {}
    for node, task_id, job_id, frames, answered in claims:
        claims_of_job.setdefault(job_id, []).append((answered, task_id, frames))
    for cl in claims_of_job.values():
        cl.sort()
    samples = {"submit": [], "requeue": []}
    for sub in submissions:
        t = sub["t_sent"]
        if sub.get("job_id") is None or not t0 <= t <= t_end:
            continue
        w = idle_at(t)
        take = min(sub["tasks"], w)
        seen = set()
        for answered, task_id, _ in claims_of_job.get(sub["job_id"], []):
            if len(seen) >= take:
                break
            if task_id in seen or answered < t:
                continue
            seen.add(task_id)
            samples["submit"].append(answered - t)
    for task_id, job_id, frame, output_id, level, verdict, sent, answered in verdicts:
        if verdict != "rejected" or level == REPLICA_CHECK or not t0 <= sent <= t_end or idle_at(sent) < 1:
            continue
        for c_answered, c_task, frames in claims_of_job.get(job_id, []):
            if c_answered > sent and frame in frames:
                samples["requeue"].append(c_answered - sent)
                break
    return samples
