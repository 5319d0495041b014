"""The manager's HTTP API as the add-on uses it (docs/api/openapi.yaml). Standard library only, and no bpy: these
functions run on the add-on's background thread, never on Blender's main thread.

Every call carries `Authorization: Bearer <token>`; the token never appears in an error message or a log line.
"""

import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 30  # seconds per socket operation, not per transfer
CHUNK = 1 << 20


class ApiError(Exception):
    """A failed call, with a message a person can act on (the manager's own message where it sent one)."""


class _NoSuchRoute(Exception):
    """POST /files/{sha256}/upload answered 404: a manager older than direct uploads."""


def _store_put(url, body, length, headers):
    """A PUT to an object store's presigned URL with exactly the headers it signs (no token: the URL is the
    credential); returns (status, ETag). 412: the store holds the object already."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ApiError("the manager sent an upload URL that is not http(s)")
    headers = dict(headers, **{"Content-Length": str(length)})
    req = urllib.request.Request(url, data=body, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            r.read()
            return r.status, r.headers.get("ETag", "")
    except urllib.error.HTTPError as e:
        if e.code == 412:
            return 412, ""
        raise ApiError("the object store refused the upload (HTTP %d %s)" % (e.code, e.reason)) from None
    except (urllib.error.URLError, OSError) as e:
        raise ApiError("cannot reach the object store (%s)" % getattr(e, "reason", e)) from None


class Api:
    def __init__(self, url, token):
        self.url = (url or "").strip().rstrip("/")
        self.token = (token or "").strip()
        if not self.url:
            raise ApiError("no manager URL: set it in Edit > Preferences > Add-ons > Inferix")
        if urllib.parse.urlsplit(self.url).scheme not in ("http", "https"):
            raise ApiError("the manager URL %s does not start with http:// or https://" % self.url)
        if not self.token:
            raise ApiError("no API token: set it in Edit > Preferences > Add-ons > Inferix")

    def _open(self, method, path, body=None, content_type=None, auth=True, length=None):
        headers = {}
        if auth:
            headers["Authorization"] = "Bearer " + self.token
        if content_type:
            headers["Content-Type"] = content_type
        if length is not None:
            headers["Content-Length"] = str(length)
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            return urllib.request.urlopen(req, timeout=TIMEOUT)
        except urllib.error.HTTPError as e:
            if e.code == 404 and method == "POST" and path.endswith("/upload"):
                raise _NoSuchRoute() from None
            raise ApiError(_error_message(e, method, path)) from None
        except urllib.error.URLError as e:
            raise ApiError("cannot reach the manager at %s (%s); check the URL in the add-on's preferences and that "
                           "the manager runs" % (self.url, e.reason)) from None
        except OSError as e:
            raise ApiError("cannot reach the manager at %s (%s)" % (self.url, e)) from None

    def call(self, method, path, body=None):
        """A JSON call; returns the parsed answer."""
        data = json.dumps(body).encode() if body is not None else None
        try:
            with self._open(method, path, data, "application/json" if data is not None else None) as r:
                raw = r.read()
        except OSError as e:
            raise ApiError("the manager at %s stopped answering (%s)" % (self.url, e)) from None
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise ApiError("the manager at %s answered %s %s with something that is not JSON; is the URL an "
                           "Inferix manager?" % (self.url, method, path)) from None

    def missing_files(self, hashes):
        return self.call("POST", "/api/v1/files/check", {"sha256": list(hashes)}).get("missing", [])

    def upload_file(self, sha256, path):
        """Uploads one scene file where the manager says (POST /files/{sha256}/upload, as `inferix submit` does):
        to the manager, or straight to its object store, in parts when large (docs/object-storage.md "Scene
        uploads"). A manager older than that route (404) gets the file with PUT /files/{sha256}."""
        size = os.path.getsize(path)
        try:
            answer = self.call("POST", "/api/v1/files/%s/upload" % sha256, {"size": size})
        except _NoSuchRoute:
            answer = {"url": "/api/v1/files/" + sha256, "complete": False}
        if answer.get("have"):
            return
        if isinstance(answer.get("multipart"), dict):
            self._upload_parts(sha256, path, answer["multipart"])
            return
        url = answer.get("url") or ""
        if not urllib.parse.urlsplit(url).scheme:
            with open(path, "rb") as f:
                with self._open("PUT", url, f, "application/octet-stream", length=size) as r:
                    r.read()
        else:
            # 412: the store holds the file already (someone else's upload meanwhile); completing checks it.
            with open(path, "rb") as f:
                _store_put(url, f, size, answer.get("headers") or {})
        if answer.get("complete"):
            self.call("POST", "/api/v1/files/%s/complete" % sha256, {"key": answer.get("key", "")})

    def _upload_parts(self, sha256, path, multipart):
        parts = []
        size = int(multipart.get("part_size") or 0)
        if size <= 0:
            raise ApiError("the manager's answer names no multipart upload")
        with open(path, "rb") as f:
            number = 1
            while True:
                chunk = f.read(size)
                if not chunk and number > 1:
                    break
                part = self.call("POST", "/api/v1/files/%s/part" % sha256,
                                 {"key": multipart["key"], "upload_id": multipart["upload_id"], "number": number,
                                  "sha256": hashlib.sha256(chunk).hexdigest()})
                _, etag = _store_put(part.get("url", ""), chunk, len(chunk), part.get("headers") or {})
                parts.append({"number": number, "etag": etag})
                if len(chunk) < size:
                    break
                number += 1
        self.call("POST", "/api/v1/files/%s/complete" % sha256,
                  {"key": multipart["key"], "upload_id": multipart["upload_id"], "parts": parts})

    def worker_builds(self):
        """The Blender builds of the registered workers (GET /api/v1/workers), banned ones left out, as
        `inferix submit` takes them (src/client/scene_plan.cpp NetworkBuilds): [{"version", "denoisers", "engines"}]
        ("engines" None: a worker that did not say, taken to render every engine)."""
        nodes = self.call("GET", "/api/v1/workers").get("nodes", [])
        builds = []
        for n in nodes:
            caps = n.get("capabilities")
            if n.get("role") != "worker" or n.get("banned") or not isinstance(caps, dict):
                continue
            listed = [b for b in caps.get("blenders") or [] if isinstance(b, dict) and isinstance(b.get("version"), str)]
            engines = names(caps.get("engines"))
            for b in listed:
                builds.append({"version": b["version"],
                               "denoisers": [d for d in b.get("denoisers") or [] if isinstance(d, str)],
                               "engines": names(b["engines"]) if "engines" in b else engines})
            if not listed and isinstance(caps.get("blender_version"), str):
                builds.append({"version": caps["blender_version"], "denoisers": [], "engines": engines})
        return builds

    def create_job(self, spec):
        return self.call("POST", "/api/v1/jobs", spec)

    def jobs(self):
        return self.call("GET", "/api/v1/jobs").get("jobs", [])

    def outputs(self, job_id):
        return self.call("GET", "/api/v1/jobs/%d/outputs" % int(job_id))

    def fetch(self, url, dest, sha256=None):
        """Downloads a signed URL (an absolute path on the manager: no token sent) into `dest`, written whole or
        not at all; checks the content's SHA-256 when given."""
        if urllib.parse.urlsplit(url).scheme:
            raise ApiError("the manager sent a download URL on another host; refusing it")
        tmp = dest + ".part"
        digest = hashlib.sha256()
        try:
            with self._open("GET", url, auth=False) as r, open(tmp, "wb") as out:
                while True:
                    block = r.read(CHUNK)
                    if not block:
                        break
                    digest.update(block)
                    out.write(block)
            if sha256 and digest.hexdigest() != sha256:
                raise ApiError("%s arrived damaged (its SHA-256 differs from the manager's); download it again"
                               % os.path.basename(dest))
            os.replace(tmp, dest)
        except OSError as e:
            raise ApiError("cannot write %s: %s" % (dest, e)) from None
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return dest


# What moves, hides or reorders text on a terminal or in a label: C0 and C1 controls (ESC among them), DEL, bidi
# controls, line and paragraph separators, the byte order mark.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match):
    c = match.group(0)
    return _NAMED.get(c) or ("\\x%02x" % ord(c) if ord(c) < 0x80 else "\\u%04x" % ord(c))


def safe_text(text, limit=500):
    """Text that users and nodes sent (job and worker names, messages) as the add-on may show or print it:
    control characters, escape sequences and bidi controls written as escapes (\\x1b, \\u202e), and at most
    `limit` characters of it, then a marker that says how many were left out."""
    text = "" if text is None else str(text)
    shown = _UNSAFE.sub(_escape, text[:limit])
    return shown + ("...[+%d characters]" % (len(text) - limit) if len(text) > limit else "")


def _error_message(e, method, path):
    try:
        raw = e.read()
    except OSError:
        raw = b""
    message = ""
    try:
        message = (json.loads(raw).get("error") or {}).get("message") or ""
    except (ValueError, AttributeError):
        pass
    message = safe_text(message, 2000)
    if e.code == 401:
        return "the manager refused the API token (%s); check the token in the add-on's preferences" % (
            message or "unauthenticated")
    return "%s %s: %s" % (method, path.split("?")[0], message or "HTTP %d %s" % (e.code, e.reason))


def major_minor(version):
    """(major, minor) of a version such as "3.4.1" or "4.0.2 LTS"; (0, 0) when it does not start with one."""
    m = re.match(r"\s*(\d+)\.(\d+)", version or "")
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def blender_version_problems(saved, builds):
    """The CLI's Blender version check (src/client/scene_plan.cpp), as problems in scene_checks.preflight's form:
    `saved` lists (what, (major, minor)) for the scene and each library it links, compared with the newest of
    the workers' builds, major.minor only."""
    versions = [b["version"] for b in builds]
    newest = max([major_minor(v) for v in versions] + [(0, 0)])
    if newest == (0, 0):
        return [{"code": "no_workers", "fatal": False, "message": (
            "no worker has registered yet, so the scene's Blender version could not be compared with theirs")}]
    problems = []
    listed = ", ".join(sorted(set(v for v in versions if v))) or "none"
    for what, version in saved:
        version = tuple(version[:2])
        if version > newest:
            problems.append({"code": "newer_blender", "fatal": True, "message": (
                "%s was saved by Blender %d.%d, newer than any worker's Blender (this network has %s); Blender "
                "would open it without complaint and may render it wrong. Save it with Blender %d.%d or older, or "
                "wait for workers with Blender %d.%d or newer" % ((what,) + version + (listed,) + newest + version))})
    return problems


DENOISER_NAMES = {"OPENIMAGEDENOISE": "OpenImageDenoise", "OPTIX": "OptiX"}
ENGINE_NAMES = {"CYCLES": "Cycles", "BLENDER_EEVEE": "Eevee", "BLENDER_EEVEE_NEXT": "Eevee Next",
                "BLENDER_WORKBENCH": "Workbench"}


def names(value):
    """The strings of a list from the manager; None for anything else (not said)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) and value else None


def engine_problems(engine, builds):
    """The CLI's engine check (issue #17): a scene whose render engine no worker's build renders is refused
    before anything is uploaded."""
    if not engine or not builds or any(b["engines"] is None or engine in b["engines"] for b in builds):
        return []
    theirs = sorted({ENGINE_NAMES.get(e, e) for b in builds for e in b["engines"]})
    name = ENGINE_NAMES.get(engine, engine)
    return [{"code": "engine", "fatal": True, "message": (
        "the scene renders with %s (%s), which no worker of this network renders (they render %s). Render it with "
        "an engine they have (Render Properties > Render Engine), or wait for a worker that renders %s" % (
            name, engine, ", ".join(theirs), name))}]


def denoiser_problems(needed, scene_version, builds, without_denoiser):
    """The CLI's denoiser check: the denoisers the scene asks for against the workers' builds (one new enough
    and with every one of them), as problems; `without_denoiser` is the user's acceptance of frames rendered with
    denoising off."""
    if not needed:
        return []
    wanted = " and ".join(DENOISER_NAMES.get(d, d) for d in needed)
    someone_has = any(major_minor(b["version"]) >= tuple(scene_version[:2]) and all(d in b["denoisers"] for d in needed)
                      for b in builds)
    if without_denoiser:
        return [{"code": "denoiser", "fatal": False, "message": (
            "the scene asks for denoising (%s); as you chose (Render without denoiser), every frame is rendered with "
            "denoising off%s" % (wanted, ", though some workers have it" if someone_has else ""))}]
    if someone_has or not builds:
        return []
    return [{"code": "denoiser", "fatal": True, "message": (
        "the scene asks for denoising (%s), which no worker of this network has (their Blender: %s); its frames "
        "would be delivered without denoising. Tick \"Render without denoiser\" to accept that, or turn denoising "
        "off in the scene (Render Properties > Sampling > Denoise)" % (
            wanted, ", ".join(sorted(set(b["version"] for b in builds)))))}]


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
