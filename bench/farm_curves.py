#!/usr/bin/env python3
"""How the manager's costs grow (issue #16, item 4): runs bench/farm_sim.py over a matrix of farm sizes, job sizes
and manager counts, keeps every run's JSON line in bench/farm_curves.json, and plots the curves into
bench/farm_curves.png.

    python3 bench/farm_curves.py [--inferix build/apps/inferix/inferix] [--only SERIES ...] [--quick]
    /usr/bin/python3 bench/farm_curves.py --plot        # the PNG from farm_curves.json (python3-matplotlib)

Series (each point one farm_sim run, one after the other, nothing else running):
  idle       N idle workers (--idle), N = 100, 1,000, 10,000: the manager's memory and CPU per 1,000 idle nodes
  wake       N workers, zero-length renders, 2 jobs of 50 one-frame tasks in flight: idle-to-busy p50/p99 while
             most of the farm waits, N = 100, 1,000, 10,000
  job_size   100 workers, zero-length renders, one job in flight of F one-frame tasks, F = 10, 1,000, 100,000:
             the manager's CPU per delivered frame and frames per second
  managers   200 workers on PostgreSQL, zero-length renders, 1 and 2 managers
A point that fails (farm_sim exits non-zero) is kept with its problems and drawn hollow.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "farm_curves.json")
PLOT = os.path.join(HERE, "farm_curves.png")

# A manager takes at most half its open-file limit in connections (20,000 files here: 9,936): the 10,000-node
# points raise the cap, as an operator of such a farm would (docs/operations.md).
BIG = ["--manager-arg=--max-connections=15000"]
SERIES = {
    "idle": [(n, ["--workers", str(n), "--verifiers", "2", "--idle", "--seconds", "15"] + (BIG if n > 5000 else []))
             for n in (100, 1000, 10000)],
    "wake": [(n, ["--workers", str(n), "--verifiers", "4", "--seconds", "20", "--render-ms", "0", "--chunk", "1",
                  "--frames-per-job", "50", "--jobs-in-flight", "2"] + (BIG if n > 5000 else []))
             for n in (100, 1000, 10000)],
    "job_size": [(f, ["--workers", "100", "--verifiers", "4", "--seconds", "20", "--render-ms", "0", "--chunk", "1",
                      "--frames-per-job", str(f), "--jobs-in-flight", "1", "--users", "1",
                      "--manager-arg=--quota-frames-per-job=100000", "--manager-arg=--quota-frames-in-flight=100000"])
                 for f in (10, 1000, 100000)],
    "managers": [(m, ["--workers", "200", "--verifiers", "4", "--seconds", "20", "--render-ms", "0", "--chunk", "1",
                      "--store", "postgresql", "--managers", str(m)]) for m in (1, 2)],
}


def run(inferix, series, x, args):
    cmd = [sys.executable, os.path.join(HERE, "farm_sim.py"), "--inferix", inferix, *args]
    started = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = p.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {"problems": [p.stderr[-2000:]]}
    return {"series": series, "x": x, "command": "python3 bench/farm_sim.py " + " ".join(args), "exit": p.returncode,
            "wall_s": round(time.time() - started, 1), "when": time.strftime("%Y-%m-%d %H:%M"), "result": result}


def measure(args):
    done = []
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            done = json.load(f)
    for name in args.only or list(SERIES):
        points = SERIES[name][:2] if args.quick else SERIES[name]
        for x, sim_args in points:
            print("%s x=%s ..." % (name, x), file=sys.stderr, flush=True)
            point = run(args.inferix, name, x, sim_args)
            r = point["result"]
            print("  exit %d in %.0f s: tasks/s %s frames/s %s idle->busy p99 %s ms, lost %s dup %s" % (
                point["exit"], point["wall_s"], r.get("tasks_per_s"), r.get("frames_per_s"),
                r.get("idle_to_busy_p99_ms"), r.get("lost"), r.get("duplicated")), file=sys.stderr, flush=True)
            done = [d for d in done if not (d["series"] == name and d["x"] == x)] + [point]
            with open(RESULTS, "w") as f:
                json.dump(done, f, indent=1)


def plot():
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    with open(RESULTS) as f:
        points = json.load(f)

    def series(name, y):
        pts = sorted((p for p in points if p["series"] == name), key=lambda p: p["x"])
        return [(p["x"], y(p["result"]), p["exit"] == 0) for p in pts if y(p["result"]) is not None]

    def draw(ax, data, label, style="o-"):
        if not data:
            return
        ax.plot([d[0] for d in data], [d[1] for d in data], style, label=label)
        for x, y, ok in data:
            if not ok:
                ax.plot([x], [y], "o", markerfacecolor="white", markeredgecolor="red")

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    ax = axes[0][0]
    draw(ax, series("idle", lambda r: r.get("manager_rss_per_1000_nodes_mib")), "MiB per 1,000 idle nodes")
    draw(ax, series("idle", lambda r: (r.get("manager_cores_per_1000_nodes") or 0) * 1000), "milli-cores per 1,000",
         "s--")
    ax.set_xscale("log")
    ax.set_title("Idle workers: manager memory and CPU")
    ax.set_xlabel("idle workers")
    ax.legend()
    ax = axes[0][1]
    draw(ax, series("wake", lambda r: r.get("idle_to_busy_p50_ms")), "p50")
    draw(ax, series("wake", lambda r: r.get("idle_to_busy_p99_ms")), "p99", "s--")
    ax.set_xscale("log")
    ax.set_title("Idle-to-busy latency (ms)")
    ax.set_xlabel("workers")
    ax.legend()
    ax = axes[1][0]
    draw(ax, series("job_size", lambda r: r.get("manager_cpu_ms_per_frame")), "manager CPU ms per frame")
    draw(ax, series("job_size", lambda r: r.get("frames_per_s")), "frames delivered per s", "s--")
    draw(ax, series("job_size", lambda r: r.get("tasks_per_s")), "render tasks per s", "^:")
    ax.set_xscale("log")
    ax.set_title("One job of F frames, 100 workers, zero-length renders")
    ax.set_xlabel("frames in the job")
    ax.legend()
    ax = axes[1][1]
    draw(ax, series("managers", lambda r: r.get("frames_per_s")), "frames delivered per s")
    draw(ax, series("managers", lambda r: r.get("tasks_per_s")), "render tasks per s", "s--")
    ax.set_title("PostgreSQL: 1 and 2 managers, 200 workers")
    ax.set_xlabel("managers")
    ax.set_xticks([1, 2])
    ax.legend()
    fig.suptitle("Inferix farm simulator (bench/farm_curves.py; hollow red: a run whose checks failed)")
    fig.tight_layout()
    fig.savefig(PLOT, dpi=90)
    print(PLOT)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inferix", default=os.path.join(HERE, "..", "build", "apps", "inferix", "inferix"))
    p.add_argument("--only", nargs="*", choices=list(SERIES))
    p.add_argument("--quick", action="store_true", help="the first two points of each series")
    p.add_argument("--plot", action="store_true", help="only draw the PNG from the kept results")
    args = p.parse_args()
    if args.plot:
        plot()
        return 0
    measure(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
