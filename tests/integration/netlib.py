"""Helpers for integration tests: a real local network of inferix processes on 127.0.0.1."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

INFERIX = os.environ.get("INFERIX_BIN", "inferix")
SOURCE_DIR = os.environ.get("INFERIX_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
HERE = os.path.dirname(os.path.abspath(__file__))
# The nodes the tests start keep their Blender version cache in the build tree, not in the user's ~/.cache: each
# fake Blender a test writes would otherwise leave an entry there.
os.environ.setdefault("XDG_CACHE_HOME", os.path.join(SOURCE_DIR, "build", "test-cache"))
# Node.js tools run quietly: no telemetry, update notices, funding or audit requests.
NODE_ENV = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true",
                NO_UPDATE_NOTIFIER="1", NPM_CONFIG_UPDATE_NOTIFIER="false", NPM_CONFIG_FUND="false",
                NPM_CONFIG_AUDIT="false")


def artifacts_dir(name, fresh=False):
    """Where a test keeps what a person may want to look at (screenshots): $INFERIX_ARTIFACTS_DIR/NAME, by default
    build/test-artifacts/NAME in the source tree; emptied first when `fresh`."""
    root = os.environ.get("INFERIX_ARTIFACTS_DIR") or os.path.join(SOURCE_DIR, "build", "test-artifacts")
    path = os.path.join(root, name)
    if fresh:
        shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)
    return path


def ensure_node_modules(folder):
    """Installs a test folder's pinned npm packages (its package-lock.json) unless they are there and current."""
    installed = os.path.join(folder, "node_modules", ".package-lock.json")
    lock = os.path.join(folder, "package-lock.json")
    if os.path.exists(installed) and os.path.getmtime(installed) >= os.path.getmtime(lock):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise AssertionError("npm (Node.js) is required for the tests in %s; run scripts/install-deps.sh" % folder)
    p = subprocess.run([npm, "ci", "--prefix", folder], capture_output=True, text=True, env=NODE_ENV, timeout=600)
    if p.returncode != 0:
        raise AssertionError("npm ci --prefix %s failed:\n%s%s" % (folder, p.stdout, p.stderr))


def make_scene(path, frames=10, width=160, height=120, samples=16, fmt="PNG", start=1, extra=()):
    """Generates the example scene (dither and adaptive sampling at Blender's defaults) with Blender."""
    cmd = ["blender", "-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python",
           os.path.join(SOURCE_DIR, "examples", "make_scene.py"), "--", path, "--frames", str(frames),
           "--width", str(width), "--height", str(height), "--samples", str(samples), "--format", fmt,
           "--start", str(start), *extra]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def reference_render(scene, out_dir, first, last):
    """Plain `blender -b -a` of the same scene: what the network must deliver."""
    os.makedirs(out_dir, exist_ok=True)
    cmd = ["blender", "-b", scene, "-Y", "--factory-startup", "-noaudio", "-o", os.path.join(out_dir, "ref_####"),
           "-s", str(first), "-e", str(last), "-a"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def images_match(a, b):
    """OpenImageIO's idiff with DESIGN.md section 6's whole-frame tolerance; returns (ok, output)."""
    p = subprocess.run(["idiff", "-fail", "0.000001", "-failpercent", "0.1", "-hardfail", "0.004", a, b],
                       capture_output=True, text=True)
    return p.returncode in (0, 1), p.stdout + p.stderr  # 0: equal, 1: within the warning threshold


class Network:
    """A manager plus nodes, each a real process with its own data folder and log."""

    def __init__(self, lease_ms=60000, heartbeat_ms=2000):
        self.dir = tempfile.mkdtemp(prefix="inferix-it-")
        self.procs = []
        self.manager_dir = os.path.join(self.dir, "manager")
        self.lease_ms = lease_ms
        self.heartbeat_ms = heartbeat_ms
        self.url = None
        self.manager = None
        self.ssl_context = None  # for a manager serving HTTPS: an ssl.SSLContext trusting its CA

    def start_manager(self, extra=None):
        if extra is None:
            extra = getattr(self, "manager_extra", ())
        self.manager_extra = tuple(extra)
        os.makedirs(self.manager_dir, exist_ok=True)
        url_file = os.path.join(self.manager_dir, "manager.url")
        if os.path.exists(url_file):
            os.remove(url_file)
        # A restart keeps the port, so that running nodes find the manager again.
        port = self.url.rsplit(":", 1)[1] if self.url else "0"
        self.manager = self.spawn("manager", ["manager", "--listen", "127.0.0.1:" + port, "--data", self.manager_dir,
                                              "--lease-ms", str(self.lease_ms), "--heartbeat-ms",
                                              str(self.heartbeat_ms), *extra])
        deadline = time.time() + 30
        while time.time() < deadline:
            if os.path.exists(url_file):
                with open(url_file) as f:
                    text = f.read()
                if text.endswith("\n"):
                    self.url = text.strip()
                    return self.url
            if self.manager.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("manager did not start; log:\n" + self.log("manager"))

    def spawn(self, name, args):
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        p = subprocess.Popen([INFERIX] + args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        p.inferix_name = name
        self.procs.append(p)
        return p

    def log(self, name):
        try:
            with open(os.path.join(self.dir, name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def admin(self, *args):
        out = subprocess.run([INFERIX, "admin", *args, "--data", self.manager_dir], check=True, capture_output=True,
                             text=True)
        secret = out.stdout.strip()
        self.issued = getattr(self, "issued", []) + [secret]
        return secret

    def secrets(self):
        """Every secret of this network: user and enrollment tokens it issued, each node's token and private key,
        the manager's URL-signing key."""
        found = list(getattr(self, "issued", []))
        for name in os.listdir(self.dir):
            path = os.path.join(self.dir, name, "node.json")
            if os.path.exists(path):
                with open(path) as f:
                    node = json.load(f)
                found += [node["node_token"], node["private_key"]]
        secret_file = os.path.join(self.manager_dir, "url-secret")
        if os.path.exists(secret_file):
            with open(secret_file, "rb") as f:
                key = f.read()
            found += [key.hex(), key.decode("latin-1")] if key else []
        return [s for s in found if len(s) >= 16]

    def assert_no_secrets(self, *texts):
        """No secret appears in any process's log nor in `texts` (API answers, events, CLI output)."""
        logs = [(name, self.log(name[:-4])) for name in os.listdir(self.dir) if name.endswith(".log")]
        for where, text in logs + [("answer %d" % i, t) for i, t in enumerate(texts)]:
            for secret in self.secrets():
                if secret in text:
                    raise AssertionError("a secret (%s...) appears in %s" % (secret[:6], where))

    def user_token(self, user, operator=True):
        """A new API token of `user`, created if new. Tests' users are operators unless `operator` is False: they
        look at the workers' details (names, trust records), which plain users do not see (issue #14)."""
        return self.admin("token", "create", "--user", user, *(("--operator",) if operator else ()))

    def enroll(self, role):
        return self.admin("enroll", "create", "--role", role)

    def start_node(self, role, name, blender="blender", extra=()):
        token = self.enroll(role)
        data = os.path.join(self.dir, name)
        return self.spawn(name, [role, "--manager", self.url, "--token", token, "--data", data, "--blender", blender,
                                 "--name", name, *extra])

    def node_dir(self, name):
        return os.path.join(self.dir, name)

    def upload_file(self, token, data):
        """Uploads `data` as one of the user's scene files (PUT /files/{sha256}); returns its SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        status, body = self.call("PUT", "/api/v1/files/" + sha, token, body=data)
        assert status in (200, 201), (status, body)
        return sha

    def call(self, method, path, token=None, body=None, timeout=30):
        """A raw API call; returns (status, parsed JSON or None)."""
        data = None
        headers = {}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = "Bearer " + token
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.ssl_context) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw

    def cli(self, token, *args, timeout=600):
        env = dict(os.environ, INFERIX_MANAGER=self.url, INFERIX_TOKEN=token)
        return subprocess.run([INFERIX, *args], capture_output=True, text=True, env=env, timeout=timeout)

    def wait_job(self, token, job_id, timeout=600, until=None):
        deadline = time.time() + timeout
        job = None
        while time.time() < deadline:
            status, job = self.call("GET", "/api/v1/jobs/%d" % job_id, token)
            if status == 200 and (until(job) if until else job["state"] in ("completed", "failed", "canceled")):
                return job
            time.sleep(0.5)
        raise AssertionError("job %d did not reach the expected state in time: %s" % (job_id, json.dumps(job)[:2000]))

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.time() + 10
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def sanitizer_reports(self):
        """Sanitizer findings in any process's log (the sanitizer build, make test-sanitize): a process that hit one
        may have been stopped by the test before anyone noticed."""
        found = []
        for name in sorted(os.listdir(self.dir)):
            if name.endswith(".log"):
                text = self.log(name[:-4])
                for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                               "WARNING: ThreadSanitizer"):
                    if marker in text:
                        at = text.index(marker)
                        found.append("%s: %s" % (name, text[max(0, at - 200):at + 2000]))
        return found

    def cleanup(self):
        self.stop()
        reports = self.sanitizer_reports()
        if os.environ.get("INFERIX_KEEP_TEST_DIRS"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if reports:
            raise AssertionError("sanitizer findings:\n" + "\n".join(reports))
