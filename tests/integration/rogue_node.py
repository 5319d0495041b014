#!/usr/bin/python3
"""A cheating worker, for tests only (never part of the product).

It speaks the real Inferix node protocol exactly as `inferix worker` does (src/net/manager_client.cpp,
src/agent/node_agent.cpp, src/worker/worker.cpp): it enrolls with a one-time enrollment token, keeps an Ed25519
key and its node credentials in `<data>/node.json`, long-polls `POST /api/v1/tasks/claim`, fetches the scene by
content hash, sends heartbeats, uploads every frame through the signed URL the manager issues, reports it signed,
and reports the task done. But every frame it delivers is a cheat of the kind `--cheat` names:

    noise          random noise of the right size, format, channels and depth (no render at all)
    black          a black frame of the right size, format, channels and depth (no render at all)
    quarter        the right frame rendered with a quarter of the scene's samples
    other-frame    frame N+1 (N-1 for the scene's last frame) delivered as frame N
    other-scene    frame N of another scene (--other-scene, the same resolution)
    tamper         the right frame with a centred rectangle of 10% of its area inverted
    replay         the first frame rendered honestly; for every later frame the very same object again (same
                   bytes, same SHA-256; first it tries the same blob key, which the API must refuse), reported
                   no faster than that honest render took
    hash-mismatch  the right frame rendered, its SHA-256 reported, but different bytes uploaded (the honest file
                   with bytes appended: the pixels still decode to the right image, only the hash can tell)

Rendered cheats (quarter, other-frame, other-scene) get their render metadata (Frame, Scene, Camera, samples)
rewritten to what the honest frame would say, so that a verifier has to look at pixels to catch them
(--honest-metadata leaves Blender's metadata as it is).

Renders use `blender -b SCENE -Y --factory-startup -noaudio` with the task's output format applied as the
worker's driver does (src/render/blender/driver.py apply_format), without a sandbox: the test's scenes are its
own.

It keeps claiming until the manager refuses it. When an API call answers 401/403 with a message saying the node
is banned it prints one JSON line {"banned": true, "reason": "..."} to stdout and exits 3. SIGTERM (or SIGINT)
makes it stop and exit 0; --max-frames N makes it exit 0 after reporting N frames. Every claim and report is
logged to stderr.

    rogue_node.py --manager URL --token ENROLL_TOKEN --data DIR --cheat KIND [--other-scene PATH]
                  [--max-frames N] [--name NAME] [--blender PATH] [--honest-metadata]
"""

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

CHEATS = ("noise", "black", "quarter", "other-frame", "other-scene", "tamper", "replay", "hash-mismatch")
EXIT_BANNED = 3
EXIT_REFUSED = 2  # credentials refused for another reason than a ban
EXTENSIONS = {"PNG": ".png", "OPEN_EXR": ".exr", "JPEG": ".jpg"}
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class Banned(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Stopped(BaseException):
    """SIGTERM or SIGINT: not an Exception, so that no `except Exception` swallows it."""


class Refused(Exception):
    """A non-2xx answer other than a ban."""

    def __init__(self, status, code, message):
        super().__init__("HTTP %d %s: %s" % (status, code, message))
        self.status = status
        self.code = code
        self.message = message


class Log:
    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()

    def __call__(self, fmt, *args):
        text = fmt % args if args else fmt
        with self.lock:
            sys.stderr.write("%s rogue %s: %s\n" % (time.strftime("%H:%M:%S"), self.name, text))
            sys.stderr.flush()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def frame_report_message(task_id, frame, sha256, key):
    """domain::FrameReportMessage: what a node signs when it reports a frame."""
    return "inferix-frame-v1|%d|%d|%s|%s" % (task_id, frame, sha256, key)


def is_safe_relative(path):
    if not path or path.startswith("/") or "\\" in path or "\0" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


class Api:
    """JSON over HTTP to the manager, like net::ApiClient. Transport failures and 502/503/504 are retried with
    backoff; a ban raises Banned; any other refusal raises Refused."""

    def __init__(self, url, stopping, log):
        self.url = url.rstrip("/")
        self.token = ""
        self.stopping = stopping
        self.log = log

    def _request(self, method, path, data, headers, timeout):
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def call(self, method, path, body=None, timeout=30, auth=True, raw=None, content_type=None):
        headers = {}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif content_type:
            headers["Content-Type"] = content_type
        if auth and self.token:
            headers["Authorization"] = "Bearer " + self.token
        backoff = 0.5
        while True:
            if self.stopping():
                raise Stopped()
            try:
                status, payload = self._request(method, path, data, headers, timeout)
            except (urllib.error.URLError, OSError) as e:  # refused, reset, timed out
                self.log("%s %s: %s; retrying in %.1f s", method, path.split("?")[0], e, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if status in (502, 503, 504):
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if 200 <= status < 300:
                if status == 204 or not payload:
                    return status, None
                try:
                    return status, json.loads(payload)
                except ValueError:
                    return status, payload
            code, message = "", payload[:500].decode("utf-8", "replace")
            try:
                err = json.loads(payload)["error"]
                code, message = err.get("code", ""), err.get("message", message)
            except (ValueError, KeyError, TypeError):
                pass
            if status in (401, 403) and "banned" in message.lower():
                raise Banned(message)
            raise Refused(status, code, message)

    def download(self, path_and_query, dest):
        part = dest + ".download"
        status, payload = self._request("GET", path_and_query, None, {}, 120)
        if status != 200:
            raise Refused(status, "", "download of %s failed" % os.path.basename(dest))
        with open(part, "wb") as f:
            f.write(payload)
        os.replace(part, dest)


class Heartbeat(threading.Thread):
    """Extends a task's lease every heartbeat_ms, as the worker's Heartbeater does; notes cancel/abort and bans."""

    def __init__(self, rogue, task_id, interval_ms):
        super().__init__(daemon=True)
        self.rogue = rogue
        self.task_id = task_id
        self.interval = max(0.1, interval_ms / 1000.0)
        self.done = threading.Event()
        self.stop_task = False

    def run(self):
        while not self.done.wait(self.interval):
            try:
                _, answer = self.rogue.api.call("POST", "/api/v1/tasks/%d/heartbeat" % self.task_id, {}, timeout=20)
                action = (answer or {}).get("action", "continue")
                if action != "continue":
                    self.rogue.log("task %d: manager says %s", self.task_id, action)
                    self.stop_task = True
                    self.rogue.kill_blender()
            except Banned as e:
                self.rogue.banned = e.reason
                self.stop_task = True
                self.rogue.kill_blender()
                return
            except Refused as e:
                self.rogue.log("task %d: heartbeat refused: %s", self.task_id, e)
            except Stopped:
                return

    def finish(self):
        self.done.set()
        if self.is_alive():
            self.join(timeout=2 if self.rogue.stop else 30)


# Runs inside Blender. Mirrors src/render/blender/driver.py: the task's format applied as apply_format does,
# the exact output path, frame_set then render with write_still. Cheats: samples divided, and images that are
# written without rendering (noise, black) through the scene's own output settings (Image.save_render).
BLENDER_SCRIPT = r'''
import json, random, sys, time
import bpy
cfg = json.loads(CONFIG)
scene = bpy.context.scene
r = scene.render
im = r.image_settings

def set_if_valid(struct, name, value):
    if value == "" or getattr(struct, name) == value:
        return
    try:
        setattr(struct, name, value)
    except TypeError:
        pass

def samples_of(scene):
    if scene.render.engine == "CYCLES":
        return scene.cycles.samples
    if hasattr(scene, "eevee"):
        return scene.eevee.taa_render_samples
    return 0

def set_samples(scene, n):
    if scene.render.engine == "CYCLES":
        scene.cycles.samples = n
    elif hasattr(scene, "eevee"):
        scene.eevee.taa_render_samples = n

info = {
    "width": r.resolution_x * r.resolution_percentage // 100,
    "height": r.resolution_y * r.resolution_percentage // 100,
    "frame_start": scene.frame_start, "frame_end": scene.frame_end,
    "samples": samples_of(scene), "scene": scene.name,
    "camera": scene.camera.name if scene.camera else "",
    "file_format": im.file_format, "seconds": {},
}
fmt = cfg.get("format") or ""
state_format, state_mode, state_depth = im.file_format, im.color_mode, im.color_depth
if fmt and fmt != state_format:
    im.file_format = fmt
    set_if_valid(im, "color_mode", state_mode)
    if fmt == "OPEN_EXR":
        set_if_valid(im, "color_depth",
                     state_depth if state_format in ("OPEN_EXR", "OPEN_EXR_MULTILAYER") else "16")
    elif fmt == "PNG":
        set_if_valid(im, "color_depth", state_depth if state_depth in ("8", "16") else "8")
div = int(cfg.get("samples_div") or 1)
if div > 1:
    set_samples(scene, max(1, samples_of(scene) // div))
w, h = info["width"], info["height"]
for item in cfg.get("items", []):
    path, mode = item["path"], item["mode"]
    started = time.monotonic()
    if mode == "render":
        r.filepath = path
        r.use_file_extension = False
        frame = int(item["render_frame"])
        if item.get("neighbour"):  # another frame of the same scene: the next one, or the one before the last
            frame = frame + 1 if frame + 1 <= scene.frame_end else frame - 1
        scene.frame_set(frame)
        result = bpy.ops.render.render(write_still=True)
        if "FINISHED" not in result:
            raise RuntimeError("render of frame %d did not finish" % item["render_frame"])
    else:
        img = bpy.data.images.new("rogue", w, h, alpha=True, float_buffer=(im.file_format == "OPEN_EXR"))
        if mode == "noise":
            rnd = random.Random(item.get("seed", 0))
            px = [rnd.random() for _ in range(w * h * 4)]
            px[3::4] = [1.0] * (w * h)
        else:
            px = [0.0, 0.0, 0.0, 1.0] * (w * h)
        img.pixels.foreach_set(px)
        img.save_render(path, scene=scene)
        bpy.data.images.remove(img)
    info["seconds"][path] = time.monotonic() - started
with open(cfg["info_path"], "w") as f:
    json.dump(info, f)
'''


class Rogue:
    def __init__(self, args):
        self.args = args
        self.log = Log(args.name)
        self.stop = False
        self.banned = None
        self.api = Api(args.manager, lambda: self.stop, self.log)
        self.data = os.path.abspath(args.data)
        self.cache = os.path.join(self.data, "cache")
        self.blender_proc = None
        self.blender_lock = threading.RLock()
        self.private_key = None
        self.reported = 0
        self.replayed = None  # the object re-reported by the replay cheat: path, sha256, key, task, frame
        self.replay_pace = 0.0  # seconds its one honest render took (Blender start included)
        self.scene_info = {}  # job id -> the job scene's facts
        self.held_task = None

    # --- credentials ---

    def enroll(self):
        os.makedirs(self.data, exist_ok=True)
        path = os.path.join(self.data, "node.json")
        if os.path.exists(path):
            with open(path) as f:
                saved = json.load(f)
        else:
            if not self.args.token:
                raise SystemExit("this node has no credentials in %s; pass --token" % self.data)
            key = Ed25519PrivateKey.generate()
            seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption()).hex()
            public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw).hex()
            _, answer = self.api.call("POST", "/api/v1/nodes/register", {
                "enrollment_token": self.args.token, "name": self.args.name, "role": "worker",
                "public_key": public, "capabilities": self.describe_machine()}, auth=False)
            saved = {"node_id": answer["node_id"], "node_token": answer["node_token"], "private_key": seed,
                     "public_key": public, "manager": self.api.url}
            fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(saved, f, indent=2)
            os.replace(path + ".tmp", path)
        self.api.token = saved["node_token"]
        self.private_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(saved["private_key"]))
        self.log("enrolled as node %s, cheat %s", saved["node_id"], self.args.cheat)

    def describe_machine(self):
        version = ""
        try:
            out = subprocess.run([self.args.blender, "--version"], capture_output=True, text=True, timeout=60).stdout
            first = out.splitlines()[0] if out else ""
            version = first[len("Blender "):] if first.startswith("Blender ") else first
        except (OSError, subprocess.SubprocessError):
            pass
        memory = 0
        try:
            memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            pass
        # The same machine description as agent::DescribeMachine: the manager derives the node's determinism class
        # (Blender version, architecture, device) from it, and only a verifier of that class checks its frames.
        return {"cpu_threads": os.cpu_count() or 1, "memory_bytes": memory, "gpus": [],
                "blender": self.args.blender, "blender_version": version, "arch": os.uname().machine,
                "device": "cpu"}

    def sign(self, task_id, frame, sha256, key):
        return self.private_key.sign(frame_report_message(task_id, frame, sha256, key).encode()).hex()

    # --- Blender ---

    def kill_blender(self):
        with self.blender_lock:
            if self.blender_proc is not None and self.blender_proc.poll() is None:
                self.blender_proc.terminate()

    def blender(self, scene, job_dir, fmt, items, samples_div=1):
        """Runs one Blender over `items`; returns the scene's facts (and seconds per written path)."""
        info_path = os.path.join(job_dir, "blender-info.json")
        if os.path.exists(info_path):
            os.remove(info_path)
        config = {"format": fmt, "items": items, "samples_div": samples_div, "info_path": info_path}
        expr = "CONFIG = %r\n" % json.dumps(config) + BLENDER_SCRIPT
        cmd = [self.args.blender, "-b", scene, "-Y", "--factory-startup", "-noaudio", "--python-exit-code", "1",
               "--python-expr", expr]
        with open(os.path.join(job_dir, "blender.log"), "ab") as logf:
            with self.blender_lock:
                if self.stop or self.banned:
                    raise Stopped() if self.stop else Banned(self.banned)
                self.blender_proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                                     stdin=subprocess.DEVNULL, cwd=job_dir)
            rc = self.blender_proc.wait()
        with self.blender_lock:
            self.blender_proc = None
        if self.stop:
            raise Stopped()
        if self.banned:
            raise Banned(self.banned)
        if rc != 0 or not os.path.exists(info_path):
            raise RuntimeError("Blender failed (exit %d); see %s" % (rc, os.path.join(job_dir, "blender.log")))
        with open(info_path) as f:
            return json.load(f)

    def oiiotool(self, *args):
        p = subprocess.run(["oiiotool", *args], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("oiiotool %s failed: %s" % (" ".join(args), p.stderr.strip()))
        return p.stdout

    def metadata(self, path):
        out = self.oiiotool("--info", "-v", path)
        found = {}
        for line in out.splitlines()[2:]:
            m = re.match(r'^\s+([^:]+): "(.*)"$', line)
            if m:
                found[m.group(1)] = m.group(2)
        return found

    def forge_metadata(self, path, info, frame):
        """Rewrites the render metadata a verifier may compare (Frame, Scene, Camera, samples) to the honest
        frame's values, where the file carries them."""
        if self.args.honest_metadata:
            return path
        digits = len(str(abs(info["frame_end"])))
        want = {"Frame": "%0*d" % (digits, frame), "Scene": info["scene"], "Camera": info["camera"]}
        have = self.metadata(path)
        attribs = []
        for key, value in have.items():
            target = want.get(key)
            if key.startswith("cycles.") and key.endswith(".samples"):
                target = str(info["samples"])
            if target is not None and target != value:
                attribs += ["--attrib:type=string", key, target]
        if not attribs:
            return path
        root, ext = os.path.splitext(path)
        forged = root + ".forged" + ext
        self.oiiotool(path, *attribs, "-o", forged)
        return forged

    # --- the task ---

    def fetch_scene(self, job_id, scene):
        job_dir = os.path.join(self.data, "jobs", str(job_id))
        scene_dir = os.path.join(job_dir, "scene")
        os.makedirs(self.cache, exist_ok=True)
        os.makedirs(scene_dir, exist_ok=True)
        for f in scene.get("files", []):
            sha, rel = f.get("sha256", ""), f.get("path", "")
            if not SHA256_RE.match(sha) or not is_safe_relative(rel):
                raise RuntimeError("task names an unsafe scene file %r" % rel)
            cached = os.path.join(self.cache, sha)
            if not os.path.exists(cached):
                part = os.path.join(self.cache, sha + ".part")
                self.api.download(f["url"], part)
                if sha256_file(part) != sha:
                    os.remove(part)
                    raise RuntimeError("scene file %s arrived damaged" % rel)
                os.replace(part, cached)
            dest = os.path.join(scene_dir, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if not os.path.exists(dest):
                try:
                    os.link(cached, dest)
                except OSError:
                    shutil.copyfile(cached, dest)
        return job_dir, os.path.join(scene_dir, scene.get("main", ""))

    def cached_hashes(self):
        try:
            return [n for n in os.listdir(self.cache) if SHA256_RE.match(n)][:1000]
        except OSError:
            return []

    def job_info(self, job_id, scene, job_dir, fmt):
        if job_id not in self.scene_info:
            self.scene_info[job_id] = self.blender(scene, job_dir, fmt, [])
        return self.scene_info[job_id]

    def make_outputs(self, task, job_dir, scene, out_dir):
        """The cheat's files for the task's frames: a list of dicts (frame, path to upload, sha256 to report,
        render seconds, and for replay the object re-reported)."""
        cheat = self.args.cheat
        fmt = task.get("format") or "PNG"
        ext = EXTENSIONS.get(fmt, ".png")
        frames = [int(n) for n in task.get("frames", [])]
        job_id = int(task["job_id"])

        def path_of(frame, tag=""):
            return os.path.join(out_dir, "frame_%04d%s%s" % (frame, tag, ext))

        outputs = []
        if cheat in ("noise", "black"):
            items = [{"mode": cheat, "path": path_of(n), "seed": job_id * 100003 + n} for n in frames]
            info = self.blender(scene, job_dir, fmt, items)
            self.scene_info.setdefault(job_id, info)
            for it, n in zip(items, frames):
                outputs.append({"frame": n, "path": it["path"], "seconds": info["seconds"].get(it["path"], 0.0)})
        elif cheat in ("quarter", "other-frame", "tamper", "hash-mismatch"):
            items = [{"mode": "render", "render_frame": n, "neighbour": cheat == "other-frame", "path": path_of(n)}
                     for n in frames]
            got = self.blender(scene, job_dir, fmt, items, samples_div=4 if cheat == "quarter" else 1)
            info = self.scene_info.setdefault(job_id, got)  # the scene's facts (samples before the division)
            for it, n in zip(items, frames):
                path = it["path"]
                out = {"frame": n, "path": path, "seconds": got["seconds"].get(path, 0.0)}
                if cheat in ("quarter", "other-frame"):
                    out["path"] = self.forge_metadata(path, info, n)
                elif cheat == "tamper":
                    out["path"] = self.tamper(path, info, path_of(n, ".tampered"))
                elif cheat == "hash-mismatch":
                    out["sha256"] = sha256_file(path)  # what is reported: the honest render's hash
                    altered = path_of(n, ".altered")
                    shutil.copyfile(path, altered)
                    with open(altered, "ab") as f:  # trailing bytes: the same pixels, another object
                        f.write(b"\0inferix-rogue-node\0")
                    out["path"] = altered
                outputs.append(out)
        elif cheat == "other-scene":
            other = os.path.abspath(self.args.other_scene)
            info = self.job_info(job_id, scene, job_dir, fmt)
            items = [{"mode": "render", "render_frame": n, "path": path_of(n)} for n in frames]
            got = self.blender(other, job_dir, fmt, items)
            if (got["width"], got["height"]) != (info["width"], info["height"]):
                self.log("warning: --other-scene renders %dx%d, the task's scene %dx%d", got["width"],
                         got["height"], info["width"], info["height"])
            for it, n in zip(items, frames):
                outputs.append({"frame": n, "path": self.forge_metadata(it["path"], info, n),
                                "seconds": got["seconds"].get(it["path"], 0.0)})
        elif cheat == "replay":
            todo = frames if self.replayed is None else []
            if todo:
                # Only the first frame is rendered (honestly); it is what every later frame replays.
                first = todo[0]
                started = time.monotonic()
                got = self.blender(scene, job_dir, fmt, [{"mode": "render", "render_frame": first,
                                                          "path": path_of(first)}])
                self.replay_pace = time.monotonic() - started
                outputs.append({"frame": first, "path": path_of(first), "seconds": got["seconds"].get(
                    path_of(first), 0.0), "replay_source": True})
                frames = frames[1:]
            for n in frames:
                outputs.append({"frame": n, "replay": True})
        for out in outputs:
            if "path" in out and "sha256" not in out:
                out["sha256"] = sha256_file(out["path"])
        return outputs

    def tamper(self, path, info, dest):
        """Inverts the colour of a centred rectangle of 10% of the frame's area (alpha kept)."""
        w, h = info["width"], info["height"]
        rw = max(1, min(w, int(round(w * math.sqrt(0.1)))))
        rh = max(1, min(h, int(round(w * h * 0.1 / rw))))
        x, y = (w - rw) // 2, (h - rh) // 2
        # --paste takes the foreground first, then the background it is pasted into.
        self.oiiotool(path, "--cut", "%dx%d+%d+%d" % (rw, rh, x, y), "--invert", path, "--paste",
                      "+%d+%d" % (x, y), "-o", dest)
        return dest

    def upload_and_report(self, task_id, frame, path, sha256, seconds):
        base = "/api/v1/tasks/%d/frames/%d" % (task_id, frame)
        _, slot = self.api.call("POST", base + "/upload", {})
        with open(path, "rb") as f:
            payload = f.read()
        self.api.call("PUT", slot["url"], raw=payload, auth=False, content_type="application/octet-stream",
                      timeout=120)
        return self.report(task_id, frame, sha256, slot["key"], seconds)

    def report(self, task_id, frame, sha256, key, seconds):
        _, answer = self.api.call("POST", "/api/v1/tasks/%d/frames/%d" % (task_id, frame), {
            "sha256": sha256, "key": key, "render_seconds": seconds,
            "signature": self.sign(task_id, frame, sha256, key)})
        status = (answer or {}).get("status", "")
        self.log("reported task %d frame %d: sha256 %s key %s (%s)", task_id, frame, sha256[:12], key, status)
        return key

    def deliver(self, task_id, out):
        frame = out["frame"]
        if out.get("replay"):
            src = self.replayed
            # Timing camouflage: a replayed frame is reported no faster than an honest render of it would be.
            self.sleep(self.replay_pace)
            # "The same object" at its strongest: the same blob key. Keys name their task and frame, so the
            # manager must refuse this; then the same bytes and SHA-256 under the key it issues.
            try:
                self.report(task_id, frame, src["sha256"], src["key"], 0.5)
                self.log("replay: the manager took object %s again for task %d frame %d", src["key"], task_id,
                         frame)
                return
            except Refused as e:
                self.log("replay: reusing key %s refused (%s); uploading the same bytes again", src["key"], e)
            self.upload_and_report(task_id, frame, src["path"], src["sha256"], 0.5)
            return
        key = self.upload_and_report(task_id, frame, out["path"], out["sha256"], out.get("seconds", 0.0))
        if out.get("replay_source"):
            self.replayed = {"path": out["path"], "sha256": out["sha256"], "key": key, "task": task_id,
                             "frame": frame}

    def sleep(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.banned:
                raise Banned(self.banned)
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def run_task(self, task):
        task_id = int(task["task_id"])
        job_id = int(task["job_id"])
        self.log("claimed task %d (%s of job %d, frames %s, format %s)", task_id, task.get("kind", "render"),
                 job_id, json.dumps(task.get("frames", [])), task.get("format", ""))
        self.held_task = task_id
        beat = Heartbeat(self, task_id, int(task.get("heartbeat_ms", 10000)))
        beat.start()
        try:
            job_dir, scene = self.fetch_scene(job_id, task.get("scene", {}))
            out_dir = os.path.join(job_dir, "work", "task-%d" % task_id)
            os.makedirs(out_dir, exist_ok=True)
            try:
                outputs = self.make_outputs(task, job_dir, scene, out_dir)
            except RuntimeError as e:
                self.log("task %d: %s", task_id, e)
                self.api.call("POST", "/api/v1/tasks/%d/fail" % task_id, {"error": "rogue: %s" % e})
                return
            for out in outputs:
                if self.banned:
                    raise Banned(self.banned)
                if beat.stop_task:
                    self.log("task %d stopped (canceled or lease lost)", task_id)
                    return
                if self.args.max_frames and self.reported >= self.args.max_frames:
                    break
                self.deliver(task_id, out)
                self.reported += 1
            self.api.call("POST", "/api/v1/tasks/%d/done" % task_id, {})
            self.log("task %d done (%d frames reported so far)", task_id, self.reported)
        except Refused as e:
            self.log("task %d: refused: %s; dropping it", task_id, e)
        except Stopped:
            beat.finish()
            self.give_back_held_task()
            raise
        finally:
            beat.finish()
            self.held_task = None
        if self.banned:
            raise Banned(self.banned)

    def run(self):
        self.enroll()
        while True:
            if self.args.max_frames and self.reported >= self.args.max_frames:
                self.log("reported %d frames (--max-frames); stopping", self.reported)
                return 0
            try:
                status, task = self.api.call("POST", "/api/v1/tasks/claim", {"cached": self.cached_hashes()},
                                             timeout=40)
            except Refused as e:
                if e.status in (401, 403):
                    self.log("the manager refuses this node: %s", e)
                    return EXIT_REFUSED
                self.log("claim failed: %s", e)
                time.sleep(1)
                continue
            if status == 204 or not task:
                continue
            if task.get("kind", "render") != "render":
                self.log("ignoring a %s task", task.get("kind"))
                continue
            self.run_task(task)

    def on_signal(self, signum, _frame):
        if self.stop:
            return
        self.stop = True
        self.kill_blender()
        raise Stopped()

    def give_back_held_task(self):
        """On SIGTERM: gives the held task back at once, so its frames need not wait for the lease to expire."""
        task_id, self.held_task = self.held_task, None
        if task_id is None:
            return
        try:
            self.api._request("POST", "/api/v1/tasks/%d/fail" % task_id, b'{"error": "rogue stopped"}',
                              {"Authorization": "Bearer " + self.api.token, "Content-Type": "application/json"}, 5)
        except (urllib.error.URLError, OSError):
            pass


def main():
    p = argparse.ArgumentParser(description="A cheating Inferix worker, for tests only.")
    p.add_argument("--manager", required=True)
    p.add_argument("--token", default="", help="one-time enrollment token (first start only)")
    p.add_argument("--data", required=True)
    p.add_argument("--cheat", required=True, choices=CHEATS)
    p.add_argument("--other-scene", help="the .blend the other-scene cheat renders instead")
    p.add_argument("--max-frames", type=int, default=0, help="exit 0 after reporting this many frames")
    p.add_argument("--name", default="rogue")
    p.add_argument("--blender", default="blender")
    p.add_argument("--honest-metadata", action="store_true",
                   help="leave Blender's render metadata as it is (do not forge Frame, samples, ...)")
    args = p.parse_args()
    if args.cheat == "other-scene" and not args.other_scene:
        p.error("--cheat other-scene needs --other-scene PATH")
    rogue = Rogue(args)
    signal.signal(signal.SIGTERM, rogue.on_signal)
    signal.signal(signal.SIGINT, rogue.on_signal)
    try:
        return rogue.run()
    except Banned as e:
        rogue.log("banned: %s", e.reason)
        sys.stdout.write(json.dumps({"banned": True, "reason": e.reason}) + "\n")
        sys.stdout.flush()
        return EXIT_BANNED
    except Stopped:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        rogue.log("stopped")
        return 0
    except Refused as e:
        rogue.log("the manager refuses this node: %s", e)
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
