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
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            with self._open("PUT", "/api/v1/files/" + sha256, f, "application/octet-stream", length=size) as r:
                r.read()

    def worker_blender_versions(self):
        """The Blender version each worker reported when it registered (GET /api/v1/workers), banned ones left
        out, as `inferix submit` takes them."""
        nodes = self.call("GET", "/api/v1/workers").get("nodes", [])
        return [n["capabilities"].get("blender_version", "") for n in nodes
                if n.get("role") == "worker" and not n.get("banned") and isinstance(n.get("capabilities"), dict)]

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
    if e.code == 401:
        return "the manager refused the API token (%s); check the token in the add-on's preferences" % (
            message or "unauthenticated")
    return "%s %s: %s" % (method, path.split("?")[0], message or "HTTP %d %s" % (e.code, e.reason))


def major_minor(version):
    """(major, minor) of a version such as "3.4.1" or "4.0.2 LTS"; (0, 0) when it does not start with one."""
    m = re.match(r"\s*(\d+)\.(\d+)", version or "")
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def blender_version_problems(scene_version, worker_versions):
    """The CLI's Blender version check (src/client/commands.cpp CheckBlenderVersions), as problems in
    scene_checks.preflight's form: the scene saved by (major, minor) `scene_version`, compared with the newest
    of the workers' reported versions, major.minor only."""
    scene = tuple(scene_version[:2])
    newest = max([major_minor(v) for v in worker_versions] + [(0, 0)])
    if newest == (0, 0):
        return [{"code": "no_workers", "fatal": False, "message": (
            "no worker has registered yet, so the scene's Blender version could not be compared with theirs")}]
    if scene > newest:
        return [{"code": "newer_blender", "fatal": True, "message": (
            "the scene was saved by Blender %d.%d, newer than any worker's (%d.%d); Blender opens newer files "
            "without complaint but may render them wrong. Save it with Blender %d.%d, or wait for workers with a "
            "newer Blender" % (scene + newest + newest))}]
    return []


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
