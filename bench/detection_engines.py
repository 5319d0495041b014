#!/usr/bin/env python3
"""Benchmark: what verification catches and costs for engines whose render regions cost a whole frame (issue #12:
Eevee and Workbench). Runs the verifier's real check (src/verifier/check.cpp, through build/bench/bench_check) on
honest and cheated outputs, and prints a Markdown section for bench/RESULTS.md (raw figures as JSON in --out).

    python3 bench/detection_engines.py [--engines BLENDER_EEVEE,BLENDER_WORKBENCH] [--files 6] [--trials 30]
                                       [--corpus DIR] [--out DIR] [--quick]

For each engine:
1. the example scene (examples/make_scene.py --engine E, 480x270, 64 Eevee samples, 24 frames, PNG) and an
   "other scene" (the same set animated over 48 frames); honest frames from plain `blender -b -a`;
2. the cheats of bench/detection.py: noise, black, quarter (a quarter of the Eevee samples; Workbench: its
   anti-aliasing off), other frame and replay with the Frame metadata forged, other scene, a 10% solid
   rectangle, a hash mismatch;
3. calibration: the worst tile of every honest check and every cheat for each reduced configuration (size
   factor, samples divisor), with only reduced checks (--exact-rate 0);
4. detection at the default policy: the reduced check alone (exact rate 0), the exact whole frame alone (rate 1),
   and what the default exact rate gives (drawn per check);
5. cost: the verifier's Blender CPU per check (reduced, exact, and the region check Cycles gets, which is what
   these engines got before) against the CPU of rendering a frame.
With --corpus, the same costs for ../shared/scenes/gltf/14_transmission.blend (Eevee, 1920x1080), the frame the
issue measured (21 s to render, 57 s to verify with regions).

Run it alone on the machine: the CPU figures assume nothing else is running.
"""

import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import detection  # noqa: E402  the PNG reader, oiiotool and timing helpers, Wilson intervals

ROOT = detection.ROOT
BENCH_CHECK = detection.BENCH_CHECK
WIDTH, HEIGHT, SAMPLES, FRAMES, OTHER_FRAMES = 480, 270, 64, 24, 48
TAMPER_W, TAMPER_H = detection.TAMPER_W, detection.TAMPER_H
DEFAULT = {"reduce_factor": 4, "samples_divisor": 4, "exact_rate": 0.05, "tile_pass": None, "tile_fail": None}
CONFIGS = [(4, 4), (4, 1), (2, 4)]  # (reduce factor, samples divisor) calibrated
CHEATS = ["honest", "noise", "black", "quarter", "other-frame+meta", "other-scene", "tamper", "replay+meta",
          "hash-mismatch"]
WORST = re.compile(r"worst ([0-9.]+)")
log = detection.log
run = detection.run
oiio = detection.oiio


def make_scene(path, engine, frames, logp):
    return run(["blender", "-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python",
                os.path.join(ROOT, "examples", "make_scene.py"), "--", path, "--engine", engine, "--width",
                str(WIDTH), "--height", str(HEIGHT), "--samples", str(SAMPLES), "--frames", str(frames)], logp)


def quarter_expr(engine):
    if engine == "BLENDER_EEVEE":
        return "import bpy; s = bpy.context.scene; s.eevee.taa_render_samples //= 4"
    return "import bpy; bpy.context.scene.display.render_aa = 'OFF'"


def build(tmp, engine, files, logp):
    scene = os.path.join(tmp, "scene.blend")
    other = os.path.join(tmp, "other.blend")
    make_scene(scene, engine, FRAMES, logp)
    make_scene(other, engine, OTHER_FRAMES, logp)
    ns = [FRAMES - 2 - 2 * (files - 1 - i) for i in range(files)]  # N-1 and N+1 rendered too
    first, last = ns[0] - 1, FRAMES - 1
    honest = os.path.join(tmp, "honest")
    os.makedirs(honest)
    log("%s: rendering honest frames %d-%d" % (engine, first, last))
    wall, cpu = run(["blender", "-b", scene, "-Y", "--factory-startup", "-noaudio", "-o",
                     os.path.join(honest, "f_####"), "-s", str(first), "-e", str(last), "-a"], logp)
    start_cpu = run(["blender", "-b", scene, "-Y", "--factory-startup", "-noaudio", "--python-expr", "pass"],
                    logp)[1]
    count = last - first + 1
    render = {"count": count, "wall_s": wall, "cpu_s": cpu, "cpu_per_frame_s": (cpu - start_cpu) / count}
    cheats = os.path.join(tmp, "cheats")
    os.makedirs(cheats)
    frame_list = ",".join(str(n) for n in ns)
    run(["blender", "-b", scene, "-Y", "--factory-startup", "-noaudio", "-o", os.path.join(cheats, "quarter_####"),
         "--python-expr", quarter_expr(engine), "-f", frame_list], logp)
    run(["blender", "-b", other, "-Y", "--factory-startup", "-noaudio", "-o", os.path.join(cheats, "other_####"),
         "-f", frame_list], logp)
    rng = random.Random(4)
    entries = []
    for i, n in enumerate(ns):
        real = detection.frame_path(honest, "f", n)
        frame_meta = detection.Png(real).render_metadata().get("Frame", "")
        entries.append(("honest", n, real, None))
        p = os.path.join(cheats, "noise_%04d.png" % n)
        oiio(["--pattern", "noise:type=uniform:min=0:max=1:seed=%d" % (100 + i), "%dx%d" % (WIDTH, HEIGHT), "4",
              "-d", "uint8", "-o", p], logp)
        entries.append(("noise", n, p, None))
        p = os.path.join(cheats, "black.png")
        if not os.path.exists(p):
            oiio(["--pattern", "constant:color=0,0,0,1", "%dx%d" % (WIDTH, HEIGHT), "4", "-d", "uint8", "-o", p],
                 logp)
        entries.append(("black", n, p, None))
        entries.append(("quarter", n, detection.frame_path(cheats, "quarter", n), None))
        nxt = detection.frame_path(honest, "f", n + 1)
        p = os.path.join(cheats, "next_meta_%04d.png" % n)
        oiio([nxt, "--sattrib", "Frame", frame_meta, "-o", p], logp)
        entries.append(("other-frame+meta", n, p, None))
        entries.append(("other-scene", n, detection.frame_path(cheats, "other", n), None))
        x, y = rng.randint(0, WIDTH - TAMPER_W), rng.randint(0, HEIGHT - TAMPER_H)
        colour = rng.choice(detection.TAMPER_COLOURS)
        p = os.path.join(cheats, "tamper_%04d.png" % n)
        oiio([real, "--fill:color=%g,%g,%g,1" % colour, "%dx%d+%d+%d" % (TAMPER_W, TAMPER_H, x, y), "-o", p], logp)
        entries.append(("tamper", n, p, None))
        prv = detection.frame_path(honest, "f", n - 1)
        p = os.path.join(cheats, "prev_meta_%04d.png" % n)
        oiio([prv, "--sattrib", "Frame", frame_meta, "-o", p], logp)
        entries.append(("replay+meta", n, p, None))
        entries.append(("hash-mismatch", n, real, detection.sha256(nxt)))
    return scene, entries, render


def bench_check(scene, work, entries, trials, seed, **options):
    """Runs bench_check over the entries; returns (results by label, Blender CPU per check)."""
    cmd = [BENCH_CHECK, "--scene", scene, "--work", work, "--trials", str(trials), "--seed", str(seed), "--details"]
    for key, value in options.items():
        if value is True:
            cmd.append("--" + key.replace("_", "-"))
        elif value is not None and value is not False:
            cmd += ["--" + key.replace("_", "-"), str(value)]
    os.makedirs(work, exist_ok=True)
    lines = "".join("\t".join([label, str(n), "PNG", path] + ([reported] if reported else [])) + "\n"
                    for label, n, path, reported in entries)
    with open(os.path.join(work, "bench_check.stderr"), "ab") as err:
        p = subprocess.run(cmd, input=lines, stdout=subprocess.PIPE, stderr=err, text=True)
    results = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    if p.returncode != 0 or len(results) != len(entries):
        raise RuntimeError("bench_check failed (rc %d, %d of %d results); see %s/bench_check.stderr" % (
            p.returncode, len(results), len(entries), work))
    by_label = {}
    for r in results:
        agg = by_label.setdefault(r["label"], {"trials": 0, "accepted": 0, "rejected": 0, "inconclusive": 0,
                                               "cpu_seconds": 0.0, "worst": [], "first_reason": ""})
        for k in ("trials", "accepted", "rejected", "inconclusive", "cpu_seconds"):
            agg[k] += r[k]
        agg["worst"] += [float(m.group(1)) for d in r.get("details", []) for m in [WORST.search(d)] if m]
        if not agg["first_reason"] and r["first_reason"]:
            agg["first_reason"] = r["first_reason"]
    return by_label


def cpu_per_check(by_label, labels=("honest",)):
    trials = sum(by_label[l]["trials"] for l in labels if l in by_label)
    cpu = sum(by_label[l]["cpu_seconds"] for l in labels if l in by_label)
    return cpu / trials if trials else None


def measure_engine(engine, tmp, args, logp):
    scene, entries, render = build(tmp, engine, args.files, logp)
    out = {"engine": engine, "render": render}
    honest = [e for e in entries if e[0] == "honest"]
    if engine == "BLENDER_WORKBENCH":
        # Workbench frames are always checked exactly (a reduced render costs as much as the frame).
        log("%s: exact whole-frame checks (the default for Workbench)" % engine)
        out["exact"] = bench_check(scene, os.path.join(tmp, "exact"), entries, args.trials, 31)
        log("%s: region checks (what these engines got before)" % engine)
        out["regions"] = bench_check(scene, os.path.join(tmp, "regions"), honest, 2, 41, force_regions=True)
        return out
    # Calibration: the worst tile of each check, reduced only.
    calibration = {}
    for factor, divisor in CONFIGS:
        log("%s: calibrating reduce factor %d, samples / %d" % (engine, factor, divisor))
        r = bench_check(scene, os.path.join(tmp, "cal-%d-%d" % (factor, divisor)), entries, 1, 11,
                        exact_rate=0, reduce_factor=factor, samples_divisor=divisor, tile_pass=1.0, tile_fail=1.0)
        calibration["%dx/%d" % (factor, divisor)] = {
            label: {"worst_min": min(v["worst"]) if v["worst"] else None,
                    "worst_max": max(v["worst"]) if v["worst"] else None,
                    "layer1_rejected": v["rejected"], "trials": v["trials"]}
            for label, v in r.items()}
        calibration["%dx/%d" % (factor, divisor)]["cpu_per_check_s"] = cpu_per_check(r, tuple(CHEATS))
    out["calibration"] = calibration
    # Detection at the default policy (the defaults of verifier::CheckRequest and image::ReducedTolerance).
    log("%s: reduced checks only" % engine)
    out["reduced"] = bench_check(scene, os.path.join(tmp, "reduced"), entries, args.trials, 21, exact_rate=0)
    log("%s: exact whole-frame checks only" % engine)
    exact_trials = 1  # per file: each exact check starts a Blender of its own
    out["exact"] = bench_check(scene, os.path.join(tmp, "exact"), entries, exact_trials, 31, exact_rate=1)
    log("%s: region checks (what these engines got before)" % engine)
    out["regions"] = bench_check(scene, os.path.join(tmp, "regions"), honest, 2, 41, force_regions=True)
    return out


def measure_corpus(path, tmp, logp):
    """The cost of checking one frame of a big Eevee scene, each way, against rendering it."""
    log("corpus: rendering %s frame 1" % path)
    out_dir = os.path.join(tmp, "corpus")
    os.makedirs(out_dir)
    wall, cpu = run(["blender", "-b", path, "-Y", "--factory-startup", "-noaudio", "-o",
                     os.path.join(out_dir, "f_####"), "-F", "PNG", "-f", "1"], logp)
    start_cpu = run(["blender", "-b", path, "-Y", "--factory-startup", "-noaudio", "--python-expr", "pass"],
                    logp)[1]
    entry = [("honest", 1, detection.frame_path(out_dir, "f", 1), None)]
    result = {"scene": path, "render_wall_s": wall, "render_cpu_s": cpu - start_cpu}
    for label, opts, trials in (("reduced", {"exact_rate": 0}, 3), ("exact", {"exact_rate": 1}, 1),
                                ("regions", {"force_regions": True}, 1)):
        log("corpus: %s check" % label)
        # The first check of a warm process also loads the scene and compiles shaders: a separate warm-up line.
        r = bench_check(path, os.path.join(tmp, "corpus-" + label), [("warmup",) + entry[0][1:]] + entry, trials,
                        51, **opts)
        result[label] = {"cpu_per_check_s": cpu_per_check(r), "verdicts": {k: r["honest"][k] for k in (
            "accepted", "rejected", "inconclusive")}, "worst": r["honest"]["worst"]}
    return result


def rate(v, key="rejected"):
    return v[key] / v["trials"] if v["trials"] else 0.0


def markdown(results, args, started):
    md = ["### Eevee and Workbench: a reduced whole frame, and the exact whole frame at a drawn rate (issue #12)", ""]
    md.append("Run %s, %.0f s wall, on %d cores (%s; %s). Command: `python3 bench/detection_engines.py%s`." % (
        started, time.time() - results["t0"], os.cpu_count(), detection.blender_version(), platform.machine(),
        "" if not args.corpus else " --corpus " + args.corpus))
    for eng in results["engines"]:
        e, render = eng["engine"], eng["render"]
        md += ["", "#### %s: the example scene (480x270, %d samples, PNG), %d files per cheat" % (
            e, SAMPLES, args.files), ""]
        md.append("Render: %.2f s of CPU per frame (plain `blender -b -a`, Blender's start taken out)." %
                  render["cpu_per_frame_s"])
        if "calibration" not in eng:
            md += ["", "Workbench frames are checked exactly (the whole frame, compared to float rounding):", "",
                   "| cheat | rejected | inconclusive | accepted | first reason |", "|---|---|---|---|---|"]
            for label in CHEATS:
                x = eng["exact"].get(label)
                if x:
                    md.append("| %s | %d | %d | %d of %d | %s |" % (label, x["rejected"], x["inconclusive"],
                                                                    x["accepted"], x["trials"],
                                                                    x["first_reason"][:90].replace("|", "/")))
            exa, reg = cpu_per_check(eng["exact"]), cpu_per_check(eng["regions"])
            md += ["", "Verifier CPU per check of an honest frame: exact %.2f s (%.0f%% of the render), regions as "
                   "Cycles gets them %.2f s (%.0f%%)." % (exa, 100 * exa / render["cpu_per_frame_s"], reg,
                                                         100 * reg / render["cpu_per_frame_s"])]
            continue
        md += ["", "Calibration, reduced checks only: the worst tile (display-referred mean difference over an 8x8 "
               "tile of the reduced frame) of each check, min-max over the files; `-` where layer 1 already "
               "rejected every check.", "",
               "| cheat | " + " | ".join(eng["calibration"].keys()) + " |",
               "|---|" + "---|" * len(eng["calibration"])]
        for label in CHEATS:
            cells = []
            for cfg, cal in eng["calibration"].items():
                v = cal.get(label)
                cells.append("-" if not v or v["worst_min"] is None else "%.4f-%.4f" % (v["worst_min"],
                                                                                         v["worst_max"]))
            md.append("| %s | %s |" % (label, " | ".join(cells)))
        md.append("| verifier CPU per check | %s |" % " | ".join(
            "%.2f s (%.0f%%)" % (cal["cpu_per_check_s"], 100 * cal["cpu_per_check_s"] / render["cpu_per_frame_s"])
            for cal in eng["calibration"].values()))
        md += ["", "Detection per checked frame at the default policy (reduced check: 1/4 of the width and height, "
               "1/4 of Eevee's samples, tiles of 8 px, accepted when every tile is within 0.10, rejected when one "
               "is beyond 0.25, borderline in between, which escalates to the exact whole frame; exact whole "
               "frame drawn with a chance of %.0f%%):" % (100 * DEFAULT["exact_rate"]), "",
               "| cheat | reduced: rejected / inconclusive | exact: rejected | combined detection (rejected or "
               "escalated) | first reason |", "|---|---|---|---|---|"]
        q = DEFAULT["exact_rate"]
        for label in CHEATS:
            r, x = eng["reduced"].get(label), eng["exact"].get(label)
            if not r or not x:
                continue
            # An inconclusive reduced check escalates to the exact whole frame. For honest frames this is the
            # false rejection rate.
            caught_reduced = rate(r) + rate(r, "inconclusive") * rate(x)
            combined = (1 - q) * caught_reduced + q * rate(x)
            md.append("| %s | %s / %s of %d | %s of %d | %s | %s |" % (
                label, r["rejected"], r["inconclusive"], r["trials"], x["rejected"], x["trials"],
                detection.pct(combined), (r["first_reason"] or x["first_reason"])[:90].replace("|", "/")))
        red, exa, reg = (cpu_per_check(eng[k]) for k in ("reduced", "exact", "regions"))
        per_frame = render["cpu_per_frame_s"]
        md += ["", "Verifier CPU per check of an honest frame: reduced %.2f s (%.0f%% of the render), exact %.2f s "
               "(%.0f%%), regions as Cycles gets them %.2f s (%.0f%%). At the default exact rate a check costs "
               "%.0f%% of the render." % (red, 100 * red / per_frame, exa, 100 * exa / per_frame, reg,
                                          100 * reg / per_frame, 100 * ((1 - q) * red + q * exa) / per_frame)]
    if results.get("corpus"):
        c = results["corpus"]
        md += ["", "#### %s (Eevee, 1920x1080, 64 samples)" % os.path.basename(c["scene"]), "",
               "Render %.1f s wall, %.1f s CPU. Verifier CPU per check: reduced %.1f s (%.0f%%), exact %.1f s (%.0f%%), "
               "regions %.1f s (%.0f%%); verdicts on the honest frame: reduced %s, exact %s, regions %s." % (
                   c["render_wall_s"], c["render_cpu_s"], c["reduced"]["cpu_per_check_s"],
                   100 * c["reduced"]["cpu_per_check_s"] / c["render_cpu_s"], c["exact"]["cpu_per_check_s"],
                   100 * c["exact"]["cpu_per_check_s"] / c["render_cpu_s"], c["regions"]["cpu_per_check_s"],
                   100 * c["regions"]["cpu_per_check_s"] / c["render_cpu_s"], c["reduced"]["verdicts"],
                   c["exact"]["verdicts"], c["regions"]["verdicts"])]
    return "\n".join(md) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="BLENDER_EEVEE,BLENDER_WORKBENCH")
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--trials", type=int, default=3, help="reduced checks per file (exact: one per file)")
    parser.add_argument("--corpus", help="the shared scenes folder, for 14_transmission's costs")
    parser.add_argument("--out", help="keep the figures (JSON and Markdown) and the files here")
    parser.add_argument("--quick", action="store_true", help="2 files, 4 trials: a smoke test of this script")
    args = parser.parse_args()
    if args.quick:
        args.files, args.trials = 2, 1
    if not os.path.exists(BENCH_CHECK):
        raise SystemExit("build bench_check first: make build (%s)" % BENCH_CHECK)
    started = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    tmp = args.out or tempfile.mkdtemp(prefix="inferix-detection-engines-")
    os.makedirs(tmp, exist_ok=True)
    logp = os.path.join(tmp, "commands.log")
    results = {"t0": time.time(), "engines": []}
    for engine in args.engines.split(","):
        d = os.path.join(tmp, engine.lower())
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        results["engines"].append(measure_engine(engine, d, args, logp))
    if args.corpus:
        d = os.path.join(tmp, "corpus-run")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        results["corpus"] = measure_corpus(os.path.join(args.corpus, "gltf", "14_transmission.blend"), d, logp)
    md = markdown(results, args, started)
    with open(os.path.join(tmp, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    with open(os.path.join(tmp, "results.md"), "w") as f:
        f.write(md)
    print(md)
    if not args.out:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
