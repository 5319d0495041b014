#!/usr/bin/env python3
"""Benchmark: `inferix render` (one worker, verification on) against plain `blender -b -a` of the same frames of
the example scene, run one after the other in the same invocation. Prints wall and CPU time and their ratios.

    python3 bench/render_overhead.py [--frames 1-12] [--repeat 3] [--inferix build/apps/inferix/inferix]

CPU time is that of every process each command started, its descendants included (the network's nodes and the
sandboxed Blenders they start and kill): each command runs in a cgroup of its own (cgroup v1 cpuacct, as root).
Where no cgroup can be made, it falls back to getrusage(RUSAGE_CHILDREN), which misses processes killed before
their parent waited for them, and says so.
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


CGROUP_ROOT = "/sys/fs/cgroup/cpuacct"


def measure(cmd):
    group = os.path.join(CGROUP_ROOT, "inferix-bench-%d-%d" % (os.getpid(), time.monotonic_ns()))
    try:
        os.mkdir(group)
    except OSError:
        group = None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    if group:
        def enter():
            with open(os.path.join(group, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=enter)
    else:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - start
    if group:
        time.sleep(0.5)  # let killed descendants finish exiting
        with open(os.path.join(group, "cpuacct.usage")) as f:
            cpu = int(f.read()) / 1e9
        try:
            os.rmdir(group)
        except OSError:
            pass
        return wall, cpu, "cgroup"
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, "rusage (descendants killed unwaited are missed)"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", default="1-12")
    parser.add_argument("--inferix", default=os.path.join(ROOT, "build", "apps", "inferix", "inferix"))
    parser.add_argument("--width", type=int, default=480)
    parser.add_argument("--height", type=int, default=270)
    parser.add_argument("--samples", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each (default 3)")
    parser.add_argument("--compare-inferix", default="",
                        help="another inferix binary (an earlier build) run in the same alternation")
    parser.add_argument("--manager-option", action="append", default=[],
                        help="verification policy for the local manager, e.g. --manager-option=--trust-bound=0")
    args = parser.parse_args()
    first, last = (int(x) for x in args.frames.split("-"))
    tmp = tempfile.mkdtemp(prefix="inferix-bench-")
    try:
        scene = os.path.join(tmp, "example.blend")
        subprocess.run(["blender", "-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python",
                        os.path.join(ROOT, "examples", "make_scene.py"), "--", scene, "--width", str(args.width),
                        "--height", str(args.height), "--samples", str(args.samples), "--frames", "24"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base_cmd = ["blender", "-b", scene, "-Y", "--factory-startup", "-noaudio", "-o",
                    os.path.join(tmp, "ref", "f_####"), "-s", str(first), "-e", str(last), "-a"]
        net_cmd = [args.inferix, "render", scene, "--frames", args.frames, "-o", os.path.join(tmp, "out"),
                   "--workers", "1", *("--manager-option=" + o for o in args.manager_option)]
        other_cmd = [args.compare_inferix] + net_cmd[1:] if args.compare_inferix else None
        other_total = [0.0, 0.0]
        frames = last - first + 1
        print("scene: example, %dx%d, %d samples, frames %s (%d), %d cores" % (
            args.width, args.height, args.samples, args.frames, frames, os.cpu_count()))
        # Baseline and Inferix alternate, so that a slow spell of the machine (this VM's speed drifts by 10%
        # from one minute to the next) weighs on both alike; the totals give the ratio.
        totals = [0.0, 0.0, 0.0, 0.0]
        how = ""
        for run in range(args.repeat):
            base_wall, base_cpu, how = measure(base_cmd)
            shutil.rmtree(os.path.join(tmp, "out"), ignore_errors=True)
            net_wall, net_cpu, _ = measure(net_cmd)
            for i, v in enumerate((base_wall, base_cpu, net_wall, net_cpu)):
                totals[i] += v
            print("run %d: blender -b -a wall %6.1f s cpu %6.1f s | inferix render wall %6.1f s cpu %6.1f s | "
                  "ratio wall %.3f cpu %.3f" % (run + 1, base_wall, base_cpu, net_wall, net_cpu,
                                                 net_wall / base_wall, net_cpu / base_cpu), flush=True)
            if other_cmd:
                shutil.rmtree(os.path.join(tmp, "out"), ignore_errors=True)
                other_wall, other_cpu, _ = measure(other_cmd)
                other_total[0] += other_wall
                other_total[1] += other_cpu
                print("       %s: wall %6.1f s cpu %6.1f s | ratio to blender wall %.3f cpu %.3f" % (
                    args.compare_inferix, other_wall, other_cpu, other_wall / base_wall, other_cpu / base_cpu),
                    flush=True)
        print("blender -b -a : wall %7.1f s  cpu %7.1f s  (total of %d runs)" % (totals[0], totals[1], args.repeat))
        print("inferix render: wall %7.1f s  cpu %7.1f s  (1 worker, verifier on)" % (totals[2], totals[3]))
        print("ratio         : wall %7.3f    cpu %7.3f" % (totals[2] / totals[0], totals[3] / totals[1]))
        if other_cmd:
            print("compared build: wall %7.1f s  cpu %7.1f s  ratio wall %.3f cpu %.3f" % (
                other_total[0], other_total[1], other_total[0] / totals[0], other_total[1] / totals[1]))
        print("cpu measured by: " + how)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
