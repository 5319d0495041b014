#!/usr/bin/env bash
# The prepared GPU check (issue #17): run it on any machine with a GPU that a session can reach, and record what
# it prints in docs/decisions.md ("Facts measured here"). It changes nothing on the machine and needs no network.
#   usage: scripts/gpu-check.sh [OUT_DIR]   (default: a temporary folder; BLENDER: the Blender to try)
# What it finds out, each step independent of the others:
#   1. the machine: CPU, memory, the GPUs the kernel and the vendor tools see (nvidia-smi, rocm-smi), the
#      device nodes a sandbox would have to show (/dev/nvidia*, /dev/dri/renderD*, /dev/kfd);
#   2. the CUDA toolkit (nvcc) and HIP (hipcc), which Debian's Blender needs to build its GPU kernels;
#   3. what Cycles in this Blender lists per device type (_cycles.available_devices);
#   4. one small frame rendered on each GPU device type Cycles lists, and the same frame on the CPU: the time
#      each took (the first GPU render includes building the kernels, when Blender has to) and how far the GPU
#      frame is from the CPU frame (a GPU and a CPU render differ: determinism classes follow the device).
#   5. Inferix's own view: `inferix worker --list-devices`, the machine's device answer in the format of
#      tests/data/devices/ (to record it as a fixture), and one job of 2 frames through a local network whose
#      worker and verifier lend the first GPU (--device), with the worker's log line of what Cycles' preferences
#      said inside the sandboxed Blender (the device enabled, and nothing else).
set -uo pipefail

cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d /tmp/inferix-gpu-check-XXXXXX)}
blender=${BLENDER:-blender}
mkdir -p "$out"
echo "gpu-check: results in $out"

section() { printf '\n== %s\n' "$*"; }

section "machine"
uname -srm
grep -m1 'model name' /proc/cpuinfo || true
echo "cores: $(nproc)"
grep MemTotal /proc/meminfo || true
if command -v lspci >/dev/null 2>&1; then
  lspci | grep -Ei 'vga|3d|display' || echo "lspci: no display or 3D controller"
else
  echo "lspci: not installed (apt-get install pciutils)"
fi
echo "device nodes: $(ls /dev/nvidia* /dev/dri/renderD* /dev/kfd 2>/dev/null | tr '\n' ' ')"

section "vendor tools"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=index,name,memory.total,driver_version,pci.bus_id --format=csv || true
else
  echo "nvidia-smi: not found"
fi
if command -v rocm-smi >/dev/null 2>&1; then rocm-smi --showproductname --showmeminfo vram || true; else
  echo "rocm-smi: not found"
fi

section "GPU compilers (Debian's Blender builds its kernels with them on first use)"
for tool in nvcc hipcc; do
  if command -v "$tool" >/dev/null 2>&1; then "$tool" --version | tail -2; else echo "$tool: not found"; fi
done

section "Blender"
if ! command -v "$blender" >/dev/null 2>&1; then
  echo "$blender: not found; set BLENDER"
  exit 0
fi
"$blender" --version | head -1

# Steps 3 and 4 in one Blender: list the devices, then render the same small frame per device type.
cat >"$out/gpu_check.py" <<'PY'
import json
import os
import sys
import time

import _cycles
import bpy

out = sys.argv[sys.argv.index("--") + 1]
listed = {}
for kind in ("CPU", "CUDA", "OPTIX", "HIP", "ONEAPI", "METAL"):
    try:
        devices = _cycles.available_devices(kind)
    except Exception as e:  # an unknown type in this build
        listed[kind] = "error: %s" % e
        continue
    # Every type's list holds the CPU too; keep the devices of the type itself.
    listed[kind] = [{"name": d[0], "type": d[1], "id": d[2]} for d in devices if kind == "CPU" or d[1] == kind]
print("DEVICES " + json.dumps(listed), flush=True)

scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 320, 180, 100
scene.cycles.samples = 32
scene.cycles.use_denoising = False  # Debian's Blender has no OpenImageDenoise; the frames compare undenoised
scene.render.image_settings.file_format = "OPEN_EXR"
prefs = bpy.context.preferences.addons["cycles"].preferences
results = {}
for kind, devices in listed.items():
    if not isinstance(devices, list) or not devices:
        continue
    if kind == "CPU":
        scene.cycles.device = "CPU"
    else:
        prefs.compute_device_type = kind
        prefs.refresh_devices()
        for d in prefs.devices:
            d.use = d.type == kind
        scene.cycles.device = "GPU"
    path = os.path.join(out, "frame_%s.exr" % kind)
    scene.render.filepath = path
    started = time.time()
    try:
        bpy.ops.render.render(write_still=True)
        results[kind] = {"seconds": round(time.time() - started, 2), "file": path}
    except Exception as e:
        results[kind] = {"error": str(e), "seconds": round(time.time() - started, 2)}
    print("RENDER %s %s" % (kind, json.dumps(results[kind])), flush=True)
PY

section "Cycles devices, and one 320x180 frame (32 samples) per device type"
"$blender" -b --factory-startup -noaudio --python-exit-code 1 --python "$out/gpu_check.py" -- "$out" \
  >"$out/blender.log" 2>&1
status=$?
grep -E '^(DEVICES|RENDER) ' "$out/blender.log" || true
[ "$status" -eq 0 ] || echo "Blender exited with status $status; its log: $out/blender.log"

# How far each GPU frame is from the CPU frame: the largest difference of any channel, and the share of pixels
# that differ (OpenImageIO's oiiotool, from scripts/install-deps.sh).
if [ -f "$out/frame_CPU.exr" ] && command -v oiiotool >/dev/null 2>&1; then
  for f in "$out"/frame_*.exr; do
    [ "$f" = "$out/frame_CPU.exr" ] && continue
    echo "$(basename "$f") against the CPU frame:"
    oiiotool "$out/frame_CPU.exr" "$f" --diff 2>&1 | grep -Ei 'mean error|max error|pixels' || true
  done
fi
if ! grep -q '^RENDER \(CUDA\|OPTIX\|HIP\|ONEAPI\|METAL\) ' "$out/blender.log"; then
  echo "gpu-check: Cycles lists no GPU device here: CPU only"
fi

section "Inferix: devices, and a frame on the first GPU through a worker and a verifier of its class"
inferix=${INFERIX:-$(command -v inferix || echo build/apps/inferix/inferix)}
if [ ! -x "$inferix" ] && ! command -v "$inferix" >/dev/null 2>&1; then
  echo "no inferix binary (set INFERIX): skipped"
  exit 0
fi
"$inferix" worker --list-devices --blender "$blender" || true
# The device answer in the fixtures' format (tests/data/devices/README.md).
python3 - "$out/blender.log" "$out/device-answer.json" <<'PY' || true
import json, os, re, subprocess, sys
log, dest = sys.argv[1], sys.argv[2]
cycles = {}
for line in open(log, errors="replace"):
    if line.startswith("DEVICES "):
        listed = json.loads(line[len("DEVICES "):])  # {type: [{name, type, id}]}: as Cycles' own lists
        cycles = {t: [[d.get("name", ""), d.get("type", ""), d.get("id", ""), False] for d in devices]
                  for t, devices in listed.items() if t != "CPU"}
smi = ""
try:
    smi = subprocess.run(["nvidia-smi", "--query-gpu=index,name,memory.total,pci.bus_id",
                          "--format=csv,noheader,nounits"], capture_output=True, text=True).stdout
except OSError:
    pass
minors = {}
for bus in os.listdir("/proc/driver/nvidia/gpus") if os.path.isdir("/proc/driver/nvidia/gpus") else []:
    text = open(os.path.join("/proc/driver/nvidia/gpus", bus, "information")).read()
    m = re.search(r"Device Minor:\s*(\d+)", text)
    if m:
        minors[bus.lower()[:10] if len(bus) > 10 else bus.lower()] = int(m.group(1))
json.dump({"cycles": cycles, "nvidia_smi": smi, "nvidia_minors": minors}, open(dest, "w"), indent=2)
print("device answer:", dest)
PY
first=$("$inferix" worker --list-devices --blender "$blender" 2>/dev/null | sed -n '/^lent by/,$p' | awk 'NR==2 {print $1}')
if [ -z "$first" ] || [ "$first" = cpu ]; then
  echo "no GPU lent by --device auto: the Inferix step is skipped"
  exit 0
fi
net="$out/network"
mkdir -p "$net"
"$blender" -b --factory-startup -noaudio --python "$(dirname "$0")/../examples/make_scene.py" -- "$net/gpu.blend" \
  --width 160 --height 90 --samples 32 --frames 2 >"$net/make_scene.log" 2>&1 || true
timeout 900 "$inferix" render "$net/gpu.blend" --frames 1-2 --workers 1 --device "$first" --output "$net/out" \
  --state "$net/state" --blender "$blender" 2>&1 | tail -n 20 || echo "inferix render on $first failed"
grep -h "Blender renders on" "$net"/state/*.log 2>/dev/null || true
