#!/usr/bin/env python3
"""Benchmark: what verification catches (issue #4). Builds honest and cheated outputs of the example scene and runs
the verifier's real check (src/verifier/check.cpp, through build/bench/bench_check) on each many times; every
trial draws new regions. Prints a Markdown section for bench/RESULTS.md and writes the raw figures as JSON.

    python3 bench/detection.py [--trials 100] [--files 10] [--out DIR] [--quick] [--keep]

Steps:
1. the example scene (examples/make_scene.py, 480x270, 24 samples, 24 frames, PNG) and an "other scene": the same
   set animated over 48 frames, so that its frame N shows the objects and camera at other positions;
2. honest frames: plain `blender -b scene -Y --factory-startup -noaudio -o DIR/f_#### -s A -e B -a`;
3. the cheats, `--files` outputs each (other frames N, or other seeds), each checked trials/files times with the
   default policy (2 uniform + 1 detail-weighted 28 px regions, 2 px margin), next to what the pixels predict;
4. partial tampering: the tamper files, uniform regions only, k in {1, 3, 6} regions of 20, 28, 68 px, measured
   against the exact formula for uniformly drawn regions;
5. the verifier's CPU per check against the CPU of rendering a frame.

The predictions read the PNGs with Python's zlib (no third-party modules). A pixel "fails hard" where some channel
differs from the honest frame by more than image::Tolerance{}.hard_fail (0.004, i.e. 2 or more of 255): one such
pixel in a region's interior rejects the frame. Pixels off by less are "off": more than max(2, 0.1% of the interior)
of them make the region borderline (inconclusive, escalated), never a rejection.

Run it alone on the machine (`flock /tmp/inferix-cpu.lock python3 bench/detection.py` where others benchmark too):
the CPU figures assume nothing else is running.
"""

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BENCH_CHECK = os.path.join(ROOT, "build", "bench", "bench_check")

WIDTH, HEIGHT, SAMPLES, FRAMES = 480, 270, 24, 24
OTHER_FRAMES = 48           # the other scene: same set and settings, animated over 48 frames instead of 24
HARD_FAIL = 0.004           # image::Tolerance{}.hard_fail
FAIL = 1e-6                 # image::Tolerance{}.fail
FAIL_FRACTION = 0.001       # image::Tolerance{}.fail_fraction
FAIL_PIXELS_FLOOR = 2       # image::Tolerance{}.fail_pixels_floor
DETAIL_FLOOR = 0.05         # image::DrawDetailedRegions's floor
DEFAULT_POLICY = {"regions": 2, "detail_regions": 1, "region_size": 28, "margin": 2}
SWEEP_K = (1, 3, 6)
SWEEP_SIZES = (20, 28, 68)
TAMPER_W, TAMPER_H = 152, 85  # 12920 px: 9.97% of 480x270
TAMPER_COLOURS = ((1, 0, 1), (0, 1, 0), (0, 1, 1), (1, 1, 0), (1, 0, 0), (0, 0, 1), (1, 0.5, 0), (0.5, 0, 1))
# Blender stamps Frame zero-padded to the digits of the scene's frame_end, and `-e B` sets frame_end: the honest
# `-a` render must end on a frame with as many digits as the scene's end (24), or its metadata would differ from
# the verifier's re-render ("4" against "04") and every honest frame would be rejected at layer 1.
LAST_NEEDED = FRAMES - 1

CHEATS = [
    # label, how it is made (for the table)
    ("honest", "honest frame N as rendered (control: must always be accepted)"),
    ("noise", "uniform noise, 4 channels uint8 (oiiotool --pattern noise, seed per file)"),
    ("black", "black frame, alpha 1 (oiiotool --pattern constant)"),
    ("quarter", "frame N rendered with samples // 4 (6 of 24)"),
    ("quarter+meta", "quarter, with its samples metadata forged to the honest frame's"),
    ("other-frame", "honest frame N+1 submitted as N"),
    ("other-frame+meta", "other-frame, with its Frame metadata forged to N"),
    ("other-scene", "frame N of the other scene (same set animated over 48 frames; same metadata)"),
    ("tamper", "honest frame N, a 152x85 rect (10%% of the area) at a random place filled with a solid colour"),
    ("replay", "honest frame N-1 (an output already submitted for another task) submitted as N"),
    ("replay+meta", "replay, with its Frame metadata forged to N"),
    ("hash-mismatch", "honest frame N, reported SHA-256 of another file (frame N+1)"),
]


def log(msg):
    print("[detection %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd, log_path=None):
    """Runs a command to completion; returns (wall, CPU of it and its waited-for descendants)."""
    cpu0, t0 = children_cpu(), time.monotonic()
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        p = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL)
    finally:
        if log_path:
            out.close()
    if p.returncode != 0:
        raise RuntimeError("command failed (%d): %s%s" % (p.returncode, " ".join(cmd),
                                                          "; log: " + log_path if log_path else ""))
    return time.monotonic() - t0, children_cpu() - cpu0


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# PNG reading (8-bit, non-interlaced: what Blender and oiiotool write here)

class Png:
    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        if data[:8] != b"\x89PNG\r\n\x1a\n":
            raise ValueError(path + ": not a PNG")
        pos, idat, hdr, self.text = 8, [], None, {}
        while pos < len(data):
            n, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + n]
            pos += 12 + n
            if kind == b"IHDR":
                hdr = struct.unpack(">IIBBBBB", body)
            elif kind == b"IDAT":
                idat.append(body)
            elif kind == b"tEXt":
                key, _, value = body.partition(b"\0")
                self.text[key.decode("latin-1")] = value.decode("latin-1")
            elif kind == b"IEND":
                break
        w, h, depth, ctype, _, _, interlace = hdr
        if depth != 8 or interlace or ctype not in (0, 2, 4, 6):
            raise ValueError(path + ": unsupported PNG (depth %d, colour type %d, interlace %d)" % (depth, ctype,
                                                                                                   interlace))
        c = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
        raw = zlib.decompress(b"".join(idat))
        stride = w * c
        out = bytearray(h * stride)
        prev = bytearray(stride)
        i = 0
        for y in range(h):
            ft = raw[i]
            line = bytearray(raw[i + 1:i + 1 + stride])
            i += 1 + stride
            if ft == 1:
                for x in range(c, stride):
                    line[x] = (line[x] + line[x - c]) & 255
            elif ft == 2:
                line = bytearray((a + b) & 255 for a, b in zip(line, prev))
            elif ft == 3:
                for x in range(stride):
                    left = line[x - c] if x >= c else 0
                    line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
            elif ft == 4:
                for x in range(stride):
                    a = line[x - c] if x >= c else 0
                    b = prev[x]
                    cc = prev[x - c] if x >= c else 0
                    p = a + b - cc
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
                    line[x] = (line[x] + (a if pa <= pb and pa <= pc else (b if pb <= pc else cc))) & 255
            out[y * stride:(y + 1) * stride] = line
            prev = line
        self.w, self.h, self.c, self.px = w, h, c, bytes(out)

    def render_metadata(self):
        """The keys the verifier compares (src/image/image.cpp): Frame, Scene, Camera, cycles.*.samples."""
        return {k: v for k, v in self.text.items()
                if k in ("Frame", "Scene", "Camera") or (k.startswith("cycles.") and k.endswith(".samples"))}


def masks(sub, ref):
    """Per pixel of `sub` against `ref`: 2 where some channel differs by more than HARD_FAIL, 1 where by more than
    FAIL only, else 0."""
    hard = min(d for d in range(256) if d / 255.0 > HARD_FAIL)
    soft = min(d for d in range(256) if d / 255.0 > FAIL)
    c = sub.c
    a, b = sub.px, ref.px
    out = bytearray(sub.w * sub.h)
    for i in range(sub.w * sub.h):
        j = i * c
        m = max(abs(a[j + k] - b[j + k]) for k in range(c))
        out[i] = 2 if m >= hard else (1 if m >= soft else 0)
    return out


def sat_of(values, w, h):
    """Summed-area table, (w+1) x (h+1), of a per-pixel list."""
    stride = w + 1
    sat = [0] * (stride * (h + 1))
    for y in range(h):
        row = 0
        base = y * w
        for x in range(w):
            row += values[base + x]
            sat[(y + 1) * stride + x + 1] = sat[y * stride + x + 1] + row
    return sat


def box(sat, w, x0, y0, x1, y1):
    s = w + 1
    return sat[y1 * s + x1] - sat[y0 * s + x1] - sat[y1 * s + x0] + sat[y0 * s + x0]


def positions(w, h, size):
    """DrawRegions's lattice with align 1: the region's top-left x0 in [0, w - size], y0 in [0, h - size]."""
    size = min(size, w, h)
    return [(x0, y0) for y0 in range(h - size + 1) for x0 in range(w - size + 1)], size


def region_outcomes(mask, w, h, size, margin):
    """For every lattice position: 'H' (an interior pixel fails hard: rejected), 'S' (more off pixels than the
    tolerance allows: borderline) or 'P' (passes)."""
    hard_sat = sat_of([1 if v == 2 else 0 for v in mask], w, h)
    off_sat = sat_of([1 if v else 0 for v in mask], w, h)
    pos, size = positions(w, h, size)
    interior = (size - 2 * margin) ** 2
    allowed = max(FAIL_PIXELS_FLOOR, int(math.floor(FAIL_FRACTION * interior)))
    out = []
    for x0, y0 in pos:
        r = (x0 + margin, y0 + margin, x0 + size - margin, y0 + size - margin)
        if box(hard_sat, w, *r) > 0:
            out.append("H")
        elif box(off_sat, w, *r) > allowed:
            out.append("S")
        else:
            out.append("P")
    return out


def detail_weights(img, size, margin):
    """image::DrawDetailedRegions's weight of every lattice position (step 1: the frame is small), floor included."""
    w, h, c = img.w, img.h, img.c
    colour = min(c, 3)
    px = img.px
    d = [0] * (w * h)
    for y in range(h):
        for x in range(w):
            i = (y * w + x) * c
            s = 0
            for k in range(colour):
                v = px[i + k]
                if x + 1 < w:
                    s += abs(px[i + c + k] - v)
                if y + 1 < h:
                    s += abs(px[i + w * c + k] - v)
            d[y * w + x] = s
    sat = sat_of(d, w, h)
    pos, size = positions(w, h, size)
    weights = [box(sat, w, x0 + margin, y0 + margin, x0 + size - margin, y0 + size - margin) / 255.0
               for x0, y0 in pos]
    extra = DETAIL_FLOOR * sum(weights) / len(weights) + 1e-12
    return [v + extra for v in weights]


def predict(outcomes_u, weights_d, k_u, k_d):
    """Verdict probabilities for k_u uniform and k_d detail regions, each drawn independently."""
    n = len(outcomes_u)
    pu = {o: outcomes_u.count(o) / n for o in "HSP"}
    pd = {"H": 0.0, "S": 0.0, "P": 0.0}
    if k_d:
        total = sum(weights_d)
        for o, wgt in zip(outcomes_u, weights_d):
            pd[o] += wgt / total
    not_hard = (1 - pu["H"]) ** k_u * (1 - pd["H"]) ** k_d
    accept = pu["P"] ** k_u * pd["P"] ** k_d
    return {"rejected": 1 - not_hard, "inconclusive": max(0.0, not_hard - accept), "accepted": accept,
            "q_uniform": pu["H"], "q_detail": pd["H"] if k_d else None}


def rect_q(rect, size, margin, w, h):
    """P(a uniformly drawn region's interior overlaps `rect`), counted exactly over DrawRegions's lattice."""
    rx, ry, rw, rh = rect

    def count(r0, rlen, extent):
        lo = max(0, r0 - size + margin + 1)   # x0 + size - margin > r0
        hi = min(extent - size, r0 + rlen - margin - 1)  # x0 + margin < r0 + rlen
        return max(0, hi - lo + 1)

    return count(rx, rw, w) * count(ry, rh, h) / ((w - size + 1) * (h - size + 1))


# ---------------------------------------------------------------------------------------------------------------
# Making the scenes, the honest frames and the cheats

def blender_version():
    try:
        out = subprocess.run(["blender", "--version"], capture_output=True, text=True).stdout
        return out.splitlines()[0].strip()
    except (OSError, IndexError):
        return "blender (version unknown)"


def make_scene(path, frames, logp):
    return run(["blender", "-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python",
                os.path.join(ROOT, "examples", "make_scene.py"), "--", path, "--width", str(WIDTH), "--height",
                str(HEIGHT), "--samples", str(SAMPLES), "--frames", str(frames)], logp)


def frame_path(d, prefix, n):
    return os.path.join(d, "%s_%04d.png" % (prefix, n))


def oiio(args, logp):
    run(["oiiotool", "--no-autopremult", "--iconfig", "oiio:UnassociatedAlpha", "1", *args], logp)


def build(tmp, files, logp):
    """Makes everything; returns (scene, entries, facts). An entry: label, frame, path, reported sha or None, info."""
    facts = {}
    scene = os.path.join(tmp, "example.blend")
    other = os.path.join(tmp, "other.blend")
    log("making the scenes")
    make_scene(scene, FRAMES, logp)
    make_scene(other, OTHER_FRAMES, logp)
    # Frames N checked: N-1 and N+1 must exist; the honest render ends on LAST_NEEDED (see its comment).
    ns = [LAST_NEEDED - 1 - 2 * (files - 1 - i) for i in range(files)]
    first, last = ns[0] - 1, LAST_NEEDED
    if first < 1 or len(str(last)) != len(str(FRAMES)):
        raise SystemExit("--files %d does not fit the %d-frame scene" % (files, FRAMES))
    facts["frames_checked"] = ns
    honest = os.path.join(tmp, "honest")
    os.makedirs(honest)
    log("rendering honest frames %d-%d" % (first, last))
    wall, cpu = run(["blender", "-b", scene, "-Y", "--factory-startup", "-noaudio", "-o",
                     os.path.join(honest, "f_####"), "-s", str(first), "-e", str(last), "-a"], logp)
    starts = []
    for _ in range(2):
        starts.append(run(["blender", "-b", scene, "-Y", "--factory-startup", "-noaudio", "--python-expr", "pass"],
                          logp)[1])
    count = last - first + 1
    facts["render"] = {"frames": "%d-%d" % (first, last), "count": count, "wall_s": wall, "cpu_s": cpu,
                       "blender_start_cpu_s": starts,
                       "cpu_per_frame_s": (cpu - sum(starts) / len(starts)) / count}

    cheats = os.path.join(tmp, "cheats")
    os.makedirs(cheats)
    frame_list = ",".join(str(n) for n in ns)
    log("rendering frames %s with a quarter of the samples" % frame_list)
    run(["blender", "-b", scene, "-Y", "--factory-startup", "-noaudio", "-o", os.path.join(cheats, "quarter_####"),
         "--python-expr", "import bpy; bpy.context.scene.cycles.samples //= 4", "-f", frame_list], logp)
    log("rendering frames %s of the other scene" % frame_list)
    run(["blender", "-b", other, "-Y", "--factory-startup", "-noaudio", "-o", os.path.join(cheats, "other_####"),
         "-f", frame_list], logp)

    rng = random.Random(4)
    entries = []
    for i, n in enumerate(ns):
        real = frame_path(honest, "f", n)
        meta = Png(real).render_metadata()
        frame_meta = meta.get("Frame", "")
        samples_keys = [k for k in meta if k.startswith("cycles.")]
        entries.append(("honest", n, real, None, {}))
        p = os.path.join(cheats, "noise_%04d.png" % n)
        oiio(["--pattern", "noise:type=uniform:min=0:max=1:seed=%d" % (100 + i), "%dx%d" % (WIDTH, HEIGHT), "4",
              "-d", "uint8", "-o", p], logp)
        entries.append(("noise", n, p, None, {"seed": 100 + i}))
        p = os.path.join(cheats, "black.png")
        if not os.path.exists(p):
            oiio(["--pattern", "constant:color=0,0,0,1", "%dx%d" % (WIDTH, HEIGHT), "4", "-d", "uint8", "-o", p], logp)
        entries.append(("black", n, p, None, {}))
        q = frame_path(cheats, "quarter", n)
        entries.append(("quarter", n, q, None, {}))
        p = os.path.join(cheats, "quarter_meta_%04d.png" % n)
        args = [q]
        for k in samples_keys:
            args += ["--sattrib", k, meta[k]]
        oiio(args + ["-o", p], logp)
        entries.append(("quarter+meta", n, p, None, {}))
        nxt = frame_path(honest, "f", n + 1)
        entries.append(("other-frame", n, nxt, None, {"submitted_frame": n + 1}))
        p = os.path.join(cheats, "next_meta_%04d.png" % n)
        oiio([nxt, "--sattrib", "Frame", frame_meta, "-o", p], logp)
        entries.append(("other-frame+meta", n, p, None, {"submitted_frame": n + 1}))
        entries.append(("other-scene", n, frame_path(cheats, "other", n), None, {}))
        # Tamper: a solid colour that differs by more than the tolerance on every pixel it covers.
        x, y = rng.randint(0, WIDTH - TAMPER_W), rng.randint(0, HEIGHT - TAMPER_H)
        p = os.path.join(cheats, "tamper_%04d.png" % n)
        honest_img = Png(real)
        for colour in rng.sample(TAMPER_COLOURS, len(TAMPER_COLOURS)):
            oiio([real, "--fill:color=%g,%g,%g,1" % colour, "%dx%d+%d+%d" % (TAMPER_W, TAMPER_H, x, y), "-o", p],
                 logp)
            m = masks(Png(p), honest_img)
            inside = sum(1 for yy in range(y, y + TAMPER_H) for xx in range(x, x + TAMPER_W)
                         if m[yy * WIDTH + xx] == 2)
            outside = sum(1 for v in m if v) - sum(1 for yy in range(y, y + TAMPER_H)
                                                   for xx in range(x, x + TAMPER_W) if m[yy * WIDTH + xx])
            if inside == TAMPER_W * TAMPER_H:
                break
        entries.append(("tamper", n, p, None, {"rect": [x, y, TAMPER_W, TAMPER_H], "colour": list(colour),
                                               "hard_pixels_in_rect": inside, "pixels_changed_outside": outside}))
        prv = frame_path(honest, "f", n - 1)
        entries.append(("replay", n, prv, None, {"submitted_frame": n - 1}))
        p = os.path.join(cheats, "prev_meta_%04d.png" % n)
        oiio([prv, "--sattrib", "Frame", frame_meta, "-o", p], logp)
        entries.append(("replay+meta", n, p, None, {"submitted_frame": n - 1}))
        entries.append(("hash-mismatch", n, real, sha256(nxt), {"reported_sha256_of": nxt}))
    return scene, entries, facts


def analyse(entries, honest_dir):
    """Pixel facts and the predicted verdicts of the default policy, per entry (cached per file and frame)."""
    cache, refs, dweights = {}, {}, {}
    pol = DEFAULT_POLICY
    for label, n, path, reported, info in entries:
        key = (path, n)
        if key not in cache:
            if n not in refs:
                refs[n] = Png(frame_path(honest_dir, "f", n))
            ref, sub = refs[n], Png(path)
            m = masks(sub, ref)
            outcomes = region_outcomes(m, sub.w, sub.h, pol["region_size"], pol["margin"])
            if path not in dweights:
                dweights[path] = detail_weights(sub, pol["region_size"], pol["margin"])
            pred = predict(outcomes, dweights[path], pol["regions"], pol["detail_regions"])
            meta_ok = all(sub.render_metadata().get(k, v) == v for k, v in ref.render_metadata().items())
            if not meta_ok:
                pred = {"rejected": 1.0, "inconclusive": 0.0, "accepted": 0.0, "q_uniform": pred["q_uniform"],
                        "q_detail": pred["q_detail"]}
            cache[key] = {"hard_fraction": m.count(2) / len(m), "off_fraction": (len(m) - m.count(0)) / len(m),
                          "metadata_matches": meta_ok, "predicted": pred}
        facts = dict(cache[key])
        if reported is not None and reported != sha256(path):
            facts["predicted"] = {"rejected": 1.0, "inconclusive": 0.0, "accepted": 0.0, "q_uniform": None,
                                  "q_detail": None}
        info.update(facts)


# ---------------------------------------------------------------------------------------------------------------
# Running the check

def bench_check(scene, work, lines, trials, seed, policy):
    cmd = [BENCH_CHECK, "--scene", scene, "--work", work, "--trials", str(trials), "--seed", str(seed),
           "--regions", str(policy["regions"]), "--detail-regions", str(policy["detail_regions"]),
           "--region-size", str(policy["region_size"]), "--margin", str(policy["margin"])]
    os.makedirs(work, exist_ok=True)
    cpu0, t0 = children_cpu(), time.monotonic()
    with open(os.path.join(work, "bench_check.stderr"), "wb") as err:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
        p.stdin.write("".join("\t".join(str(f) for f in line) + "\n" for line in lines))
        p.stdin.close()
        results = []
        for out in p.stdout:
            r = json.loads(out)
            results.append(r)
            log("  %-17s %s trials: %d rejected, %d inconclusive, %d accepted" % (
                r["label"], r["trials"], r["rejected"], r["inconclusive"], r["accepted"]))
        rc = p.wait()
    if rc != 0 or len(results) != len(lines):
        raise RuntimeError("bench_check failed (rc %d, %d of %d results); see %s" % (
            rc, len(results), len(lines), os.path.join(work, "bench_check.stderr")))
    return results, time.monotonic() - t0, children_cpu() - cpu0


def lines_of(entries):
    return [(label, n, "PNG", path) + ((reported,) if reported else ()) for label, n, path, reported, _ in entries]


def wilson(k, n, z=1.96):
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def pct(x, digits=1):
    return "-" if x is None else ("%." + str(digits) + "f%%") % (100 * x)


# ---------------------------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100, help="checks per cheat, spread over its files")
    parser.add_argument("--files", type=int, default=10, help="outputs per cheat (frames or seeds), at most 11")
    parser.add_argument("--out", help="folder for detection.json (default: a new folder under /tmp)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 trials, 2 files, one sweep config")
    parser.add_argument("--keep", action="store_true", help="keep the scenes, frames and cheats (in --out)")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.files = 10, 2
    if not 1 <= args.files <= 11:
        parser.error("--files must be 1 to 11")
    per_file = max(1, int(math.ceil(args.trials / args.files)))
    sweep = [(1, DEFAULT_POLICY["region_size"])] if args.quick else [(k, s) for s in SWEEP_SIZES for k in SWEEP_K]
    if not os.access(BENCH_CHECK, os.X_OK):
        raise SystemExit(BENCH_CHECK + " is missing: build it first (make build)")
    started = datetime.datetime.now()
    t_start = time.monotonic()
    out_dir = args.out or tempfile.mkdtemp(prefix="inferix-detection-")
    os.makedirs(out_dir, exist_ok=True)
    tmp = os.path.join(out_dir, "work") if args.keep else tempfile.mkdtemp(prefix="inferix-detection-work-")
    os.makedirs(tmp, exist_ok=True)
    logp = os.path.join(out_dir, "commands.log")
    try:
        scene, entries, facts = build(tmp, args.files, logp)
        log("analysing pixels (predictions)")
        analyse(entries, os.path.join(tmp, "honest"))

        # The honest control in a run of its own, so that the whole process tree's CPU per check can be read too.
        log("bench_check: honest control, default policy, %d trials per file" % per_file)
        honest_entries = [e for e in entries if e[0] == "honest"]
        cheat_entries = [e for e in entries if e[0] != "honest"]
        h_res, h_wall, h_cpu = bench_check(scene, os.path.join(tmp, "bc-honest"), lines_of(honest_entries),
                                           per_file, 1, DEFAULT_POLICY)
        log("bench_check: cheats, default policy")
        c_res, c_wall, c_cpu = bench_check(scene, os.path.join(tmp, "bc-default"), lines_of(cheat_entries),
                                           per_file, 2, DEFAULT_POLICY)
        default_results = h_res + c_res
        tamper_entries = [e for e in entries if e[0] == "tamper"]
        sweep_results = []
        for i, (k, size) in enumerate(sweep):
            policy = {"regions": k, "detail_regions": 0, "region_size": size, "margin": 2}
            log("bench_check: tamper sweep, %d uniform regions of %d px" % (k, size))
            res, wall, cpu = bench_check(scene, os.path.join(tmp, "bc-sweep-%d-%d" % (k, size)),
                                         lines_of(tamper_entries), per_file, 10 + i, policy)
            qs = [rect_q(e[4]["rect"], size, 2, WIDTH, HEIGHT) for e in tamper_entries]
            formula = sum(1 - (1 - q) ** k for q in qs) / len(qs)
            sweep_results.append({"policy": policy, "results": res, "wall_s": wall, "cpu_s": cpu, "q": qs,
                                  "formula": formula})
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    total_wall = time.monotonic() - t_start

    # --- Summaries
    def summarise(label, results):
        rs = [r for r in results if r["label"] == label]
        s = {k: sum(r[k] for r in rs) for k in ("trials", "rejected", "inconclusive", "accepted", "cpu_seconds")}
        s["first_reason"] = next((r["first_reason"] for r in rs if r["first_reason"]), "")
        s["reasons"] = sorted({r["first_reason"][:60] for r in rs if r["first_reason"]})
        return s

    per_entry = {}
    for label, n, path, reported, info in entries:
        per_entry.setdefault(label, []).append(info)
    rows = []
    for label, how in CHEATS:
        s = summarise(label, default_results)
        infos = per_entry[label]
        pred = sum(i["predicted"]["rejected"] for i in infos) / len(infos)
        hard = sum(i["hard_fraction"] for i in infos) / len(infos)
        rows.append(dict(label=label, how=how.replace("%%", "%"), predicted_rejected=pred, hard_fraction=hard,
                         metadata_matches=all(i["metadata_matches"] for i in infos), **s))
    honest = next(r for r in rows if r["label"] == "honest")
    verify_cpu = honest["cpu_seconds"] / honest["trials"]
    own_cpu = h_cpu / honest["trials"]  # bench_check's own process: the sandboxed Blender is not waited for by it
    render_cpu = facts["render"]["cpu_per_frame_s"]

    result = {
        "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
        "date": started.strftime("%Y-%m-%d %H:%M"), "wall_s": total_wall, "cores": os.cpu_count(),
        "machine": platform.platform(), "blender": blender_version(),
        "scene": {"width": WIDTH, "height": HEIGHT, "samples": SAMPLES, "frames": FRAMES, "format": "PNG",
                  "other_scene_frames": OTHER_FRAMES},
        "trials_per_file": per_file, "files_per_cheat": args.files, "default_policy": DEFAULT_POLICY,
        "facts": facts, "rows": rows,
        "entries": [{"label": l, "frame": n, "file": os.path.basename(p), "reported_sha256": r, **i}
                    for l, n, p, r, i in entries],
        "default_results": default_results, "honest_run": {"wall_s": h_wall, "cpu_s": h_cpu},
        "cheat_run": {"wall_s": c_wall, "cpu_s": c_cpu}, "sweep": sweep_results,
        "verify_cpu_per_check_s": verify_cpu, "bench_check_own_cpu_per_check_s": own_cpu,
        "render_cpu_per_frame_s": render_cpu,
    }
    with open(os.path.join(out_dir, "detection.json"), "w") as f:
        json.dump(result, f, indent=1)

    # --- Markdown
    md = []
    md.append("## Verification detection rates (issue #4)\n")
    md.append("Command:\n\n```sh\nflock /tmp/inferix-cpu.lock python3 bench/detection.py %s\n```\n" %
              " ".join(sys.argv[1:]))
    md.append("Run %s, %.0f s wall, on %d cores (%s; %s). Scene: the example scene (`examples/make_scene.py`, "
              "%dx%d, %d samples, %d frames, PNG); honest frames from plain `blender -b -a` (frames %s). Each cheat is "
              "%d files (frames N = %s, or seeds), each checked %d times by `build/bench/bench_check` (the verifier's "
              "`CheckFrame`, in one warm sandboxed Blender), new regions every trial.\n" % (
                  result["date"], total_wall, os.cpu_count(), result["blender"], platform.machine(), WIDTH, HEIGHT,
                  SAMPLES, FRAMES, facts["render"]["frames"], args.files,
                  ",".join(str(n) for n in facts["frames_checked"]), per_file))
    md.append("### Default policy: 2 uniform + 1 detail-weighted region of %d px, margin %d\n"
              % (DEFAULT_POLICY["region_size"], DEFAULT_POLICY["margin"]))
    md.append("\"Predicted\" is what the pixels imply (every region's outcome counted exactly over the positions it "
              "can take, detail weights as `DrawDetailedRegions` computes them; 100% where the metadata or the "
              "SHA-256 already fails). \"Differing px\" is the share of the frame differing from the honest frame by "
              "more than the hard tolerance (0.004), mean over the files. The 95% interval is Wilson's.\n")
    md.append("| cheat | how it is made | trials | rejected | inconclusive | accepted | detection (95% CI) | "
              "predicted | differing px | first reason |")
    md.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        lo, hi = wilson(r["rejected"], r["trials"])
        reason = r["first_reason"].replace("|", "/")
        if len(reason) > 90:
            reason = reason[:87] + "..."
        md.append("| %s | %s | %d | %d | %d | %d | %s (%s-%s) | %s | %s | %s |" % (
            r["label"], r["how"], r["trials"], r["rejected"], r["inconclusive"], r["accepted"],
            pct(r["rejected"] / r["trials"]), pct(lo), pct(hi), pct(r["predicted_rejected"], 2),
            pct(r["hard_fraction"]), reason or "-"))
    md.append("")
    md.append("Honest control: %d of %d checks rejected (false rejections), %d inconclusive.\n" % (
        honest["rejected"], honest["trials"], honest["inconclusive"]))
    md.append("### Cost\n")
    md.append("| | CPU |")
    md.append("|---|---|")
    md.append("| rendering one frame (`blender -b -a` of %d frames, %.1f s CPU, less a Blender start that renders "
              "nothing, %.1f s) | %.2f s |" % (
                  facts["render"]["count"], facts["render"]["cpu_s"],
                  sum(facts["render"]["blender_start_cpu_s"]) / len(facts["render"]["blender_start_cpu_s"]),
                  render_cpu))
    md.append("| one check of an honest frame: the verifier's warm Blender (3 region renders, one thread each; "
              "bench_check's cpu_seconds / trials) | %.3f s |" % verify_cpu)
    md.append("| one check of an honest frame: bench_check's own process (SHA-256, image reads, detail weights, "
              "comparisons; its start amortised) | %.3f s |" % own_cpu)
    md.append("| **ratio verify / render per checked frame** | **%.3f** (%.3f Blender only) |" % (
        (verify_cpu + own_cpu) / render_cpu, verify_cpu / render_cpu))
    md.append("")
    md.append("### Partial tampering: uniform regions only (`--detail-regions 0`), margin 2\n")
    md.append("%d tampered frames, a %dx%d rect (%.1f%% of the frame) each; formula: P(k) = 1 - (1 - q)^k with q the "
              "exact share of region positions whose interior overlaps the rect, averaged over the rects.\n" % (
                  len(tamper_entries), TAMPER_W, TAMPER_H, 100.0 * TAMPER_W * TAMPER_H / (WIDTH * HEIGHT)))
    md.append("| region (interior) | k | trials | rejected | inconclusive | measured | 95% CI | formula |")
    md.append("|---|---|---|---|---|---|---|---|")
    for s in sweep_results:
        pol = s["policy"]
        t = sum(r["trials"] for r in s["results"])
        rej = sum(r["rejected"] for r in s["results"])
        inc = sum(r["inconclusive"] for r in s["results"])
        lo, hi = wilson(rej, t)
        md.append("| %d px (%d) | %d | %d | %d | %d | %s | %s-%s | %s |" % (
            pol["region_size"], pol["region_size"] - 2 * pol["margin"], pol["regions"], t, rej, inc, pct(rej / t),
            pct(lo), pct(hi), pct(s["formula"])))
    tam = next(r for r in rows if r["label"] == "tamper")
    qs = [rect_q(e[4]["rect"], DEFAULT_POLICY["region_size"], DEFAULT_POLICY["margin"], WIDTH, HEIGHT)
          for e in tamper_entries]
    md.append(("| default: %d px (%d), 2 uniform + 1 detail | 3 | %%d | %%d | %%d | %%s | %%s-%%s | %%s uniform part; "
               "%%s with the detail region |" % (DEFAULT_POLICY["region_size"],
                                                DEFAULT_POLICY["region_size"] - 2 * DEFAULT_POLICY["margin"])) % (
                  tam["trials"], tam["rejected"], tam["inconclusive"], pct(tam["rejected"] / tam["trials"]),
                  pct(wilson(tam["rejected"], tam["trials"])[0]), pct(wilson(tam["rejected"], tam["trials"])[1]),
                  pct(sum(1 - (1 - q) ** 2 for q in qs) / len(qs)), pct(tam["predicted_rejected"])))
    md.append("")
    bad = [e for e in tamper_entries if e[4]["hard_pixels_in_rect"] != TAMPER_W * TAMPER_H
           or e[4]["pixels_changed_outside"]]
    if bad:
        md.append("Note: %d tamper file(s) have rect pixels within the tolerance of the honest ones or changes "
                  "outside the rect: %s\n" % (len(bad), ", ".join(os.path.basename(e[2]) for e in bad)))
    md.append("Raw figures: `%s`.\n" % os.path.join(out_dir, "detection.json"))
    print("\n".join(md))
    log("done in %.0f s; JSON in %s" % (total_wall, out_dir))


if __name__ == "__main__":
    sys.exit(main())
