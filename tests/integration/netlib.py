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
# What the nodes' Blender is and renders is asked here once per cache, so that no test times a node's first start
# with it in: the engines probe (issue #17) renders a tiny Eevee frame, about 7 s of CPU. Later runs read the cache.
if shutil.which(INFERIX) or os.path.exists(INFERIX):
    subprocess.run([INFERIX, "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600,
                   check=False)
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

    def enroll(self, role, owner=None):
        """A one-time enrollment token; with `owner` (a user's name), the node it enrolls is that user's."""
        return self.admin("enroll", "create", "--role", role, *(("--owner", owner) if owner else ()))

    def start_node(self, role, name, blender="blender", extra=(), owner=None):
        token = self.enroll(role, owner)
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


# --- Several managers on shared engines (issue #15): PostgreSQL, an S3 object store and HAProxy in front ---

ENGINES_DIR = os.path.join(SOURCE_DIR, "tests", "engines")


def engines_module():
    """tests/engines/engines.py, imported."""
    import sys  # pylint: disable=import-outside-toplevel
    if ENGINES_DIR not in sys.path:
        sys.path.insert(0, ENGINES_DIR)
    import engines  # noqa: E402  pylint: disable=import-outside-toplevel,import-error
    return engines


def engine_info(variable):
    """The JSON file of a running engine that $variable names (INFERIX_TEST_POSTGRES, INFERIX_TEST_S3), or None."""
    path = os.environ.get(variable)
    if not path:
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def psql(url, sql):
    """Runs SQL with psql; its unaligned output (rows of |-separated values), or AssertionError."""
    p = subprocess.run(["psql", url, "-X", "-v", "ON_ERROR_STOP=1", "-Atc", sql], capture_output=True, text=True,
                       timeout=60, check=False)
    if p.returncode != 0:
        raise AssertionError("psql %s failed: %s" % (sql, p.stderr))
    return p.stdout


def fresh_database(server_url, prefix="it"):
    """A new, empty database on the PostgreSQL server of `server_url` (its URL names the database postgres)."""
    import uuid  # pylint: disable=import-outside-toplevel
    name = "%s_%s" % (prefix, uuid.uuid4().hex[:12])
    psql(server_url, "CREATE DATABASE " + name)
    return server_url.rsplit("/", 1)[0] + "/" + name


def fresh_bucket(s3_info, prefix="it"):
    """A new, empty bucket on the S3 store of `s3_info` (engines.py's s3.json); its name."""
    import uuid  # pylint: disable=import-outside-toplevel
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:12])
    client = engines_module().s3_client(s3_info)
    try:
        client.create_bucket(Bucket=name)
    finally:
        client.close()
    return name


def put_presigned(slot, data, timeout=120):
    """PUTs `data` to an upload slot's URL (POST .../upload's answer: "url", "headers"): (status, body)."""
    req = urllib.request.Request(slot["url"], data=data, method="PUT", headers=dict(slot.get("headers") or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Cluster(Network):
    """Several managers on one PostgreSQL database and one S3 bucket, behind HAProxy: `url` is the balancer's, so
    nodes, the CLI and `call` reach any manager; `manager_url(i)` reaches one."""

    def __init__(self, store_url, s3_info, bucket, managers=2, lease_ms=60000, heartbeat_ms=2000):
        super().__init__(lease_ms=lease_ms, heartbeat_ms=heartbeat_ms)
        self.store_url = store_url
        self.blobs = "s3://%s?endpoint=%s&region=%s" % (bucket, s3_info["endpoint"], s3_info["region"])
        os.environ["AWS_ACCESS_KEY_ID"] = s3_info["access_key"]
        os.environ["AWS_SECRET_ACCESS_KEY"] = s3_info["secret_key"]
        self.managers = [None] * managers
        self.manager_urls = [None] * managers
        self.haproxy_dir = os.path.join(self.dir, "haproxy")
        for i in range(managers):
            self.start_manager_at(i)
        info = engines_module().start_haproxy(self.haproxy_dir, [u.split("://", 1)[1] for u in self.manager_urls])
        self.url = info["url"]

    def start_manager_at(self, i, extra=()):
        """Starts (or restarts, on its port) manager i with its own data folder."""
        data = os.path.join(self.dir, "manager%d" % i)
        os.makedirs(data, exist_ok=True)
        url_file = os.path.join(data, "manager.url")
        if os.path.exists(url_file):
            os.remove(url_file)
        port = self.manager_urls[i].rsplit(":", 1)[1] if self.manager_urls[i] else "0"
        p = self.spawn("manager%d" % i, ["manager", "--listen", "127.0.0.1:" + port, "--data", data, "--store",
                                         self.store_url, "--blobs", self.blobs, "--lease-ms", str(self.lease_ms),
                                         "--heartbeat-ms", str(self.heartbeat_ms), *extra])
        self.managers[i] = p
        deadline = time.time() + 60
        while time.time() < deadline:
            if os.path.exists(url_file):
                with open(url_file) as f:
                    text = f.read()
                if text.endswith("\n"):
                    self.manager_urls[i] = text.strip()
                    return p
            if p.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("manager %d did not start; log:\n%s" % (i, self.log("manager%d" % i)))

    def manager_call(self, i, method, path, token=None, body=None, timeout=30):
        """`call` sent to manager i itself rather than through the balancer."""
        url, self.url = self.url, self.manager_urls[i]
        try:
            return self.call(method, path, token, body, timeout)
        finally:
            self.url = url

    def admin(self, *args):
        out = subprocess.run([INFERIX, "admin", *args, "--store", self.store_url], check=True, capture_output=True,
                             text=True)
        secret = out.stdout.strip()
        self.issued = getattr(self, "issued", []) + [secret]
        return secret

    def stop(self):
        super().stop()
        try:
            engines_module().stop(self.haproxy_dir)
        except Exception:  # pylint: disable=broad-except
            pass


class EventFollower:
    """A client following GET /api/v1/events on a thread, as EventSource does: it reconnects after every answer or
    failure with the Last-Event-ID it last saw. `events` is every (id, type, data) received, in order; `gaps`
    counts failed connections (a killed manager behind the balancer)."""

    def __init__(self, url, token, query=""):
        import threading  # pylint: disable=import-outside-toplevel
        self.url, self.token, self.query = url, token, query
        self.events = []
        self.failures = 0
        self.last_id = None
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            headers = {"Authorization": "Bearer " + self.token}
            if self.last_id is not None:
                headers["Last-Event-ID"] = str(self.last_id)
            req = urllib.request.Request(self.url + "/api/v1/events" + self.query, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    text = r.read().decode()
            except (urllib.error.URLError, OSError, ValueError):
                self.failures += 1
                time.sleep(0.2)
                continue
            for block in text.split("\n\n"):
                fields = {}
                for line in block.split("\n"):
                    if ":" in line:
                        name, value = line.split(":", 1)
                        fields[name] = value[1:] if value.startswith(" ") else value
                if "id" in fields:
                    self.last_id = int(fields["id"])
                    self.events.append((self.last_id, fields.get("event", ""), fields.get("data", "")))

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=90)
