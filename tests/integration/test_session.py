"""Issue #6, the dashboard's side of the manager: signing in with the API token gives an HttpOnly, SameSite=Strict
session cookie that stands in for the token (also across a manager restart) until sign-out; with the cookie a
request from another site changes nothing; sessions are per user; the page and its files are served with a strict
policy; images and videos come through signed URLs as what they are, everything else as bytes to save.

Most of it needs no Blender: the manager alone, on 127.0.0.1. The last class renders a tiny scene for real."""

import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import struct
import time
import unittest
import urllib.parse

from netlib import Network, make_scene
from test_tls import make_certificates

COOKIE_SET = re.compile(r"^inferix_session=([0-9a-f]{64}); Max-Age=43200; Path=/; HttpOnly; SameSite=Strict$")
COOKIE_CLEARED = "inferix_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"
SESSION_ENDED = "your session has ended"


class Answer:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw

    @property
    def json(self):
        return json.loads(self.raw)

    def __repr__(self):
        return "%d %s %r" % (self.status, dict(self.headers), self.raw[:400])


def request(net, method, path, token=None, cookie=None, body=None, headers=None, timeout=60):
    """One request with http.client, so that headers (Cookie, Origin, Sec-Fetch-Site) and the path go out as
    given; nothing is normalized or added but Host."""
    u = urllib.parse.urlsplit(net.url)
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout, context=net.ssl_context)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    h = dict(headers or {})
    if cookie:
        h["Cookie"] = cookie
    if token:
        h["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json" if not isinstance(body, bytes) else "application/octet-stream")
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return Answer(r.status, r.headers, r.read())
    finally:
        conn.close()


def sign_in(net, token):
    """POST /session; returns the Cookie header value a browser would send back."""
    a = request(net, "POST", "/api/v1/session", body={"token": token})
    assert a.status == 200, a
    m = COOKIE_SET.match(a.headers["Set-Cookie"])
    assert m, a.headers["Set-Cookie"]
    return "inferix_session=" + m.group(1)


def create_job(net, token, name="queued job", frames="1-3"):
    """A real job, queued: a file that passes the main file's magic check, uploaded, then POST /jobs."""
    content = b"BLENDER-v304" + os.urandom(32)
    sha = hashlib.sha256(content).hexdigest()
    a = request(net, "PUT", "/api/v1/files/" + sha, token=token, body=content)
    assert a.status == 201, a
    a = request(net, "POST", "/api/v1/jobs", token=token,
                body={"name": name, "main": "shot.blend", "frames": frames,
                      "files": [{"path": "shot.blend", "sha256": sha}]})
    assert a.status == 201, a
    return a.json


def events(net, path, token=None, cookie=None, last_id=0):
    """GET /events (one long-poll batch) as (id, type, data)."""
    a = request(net, "GET", path, token=token, cookie=cookie, headers={"Last-Event-ID": str(last_id)})
    assert a.status == 200, a
    assert a.headers["Content-Type"].startswith("text/event-stream"), a
    out = []
    for block in a.raw.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "id" in fields:
            out.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
    return out


class SessionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = Network()
        cls.addClassCleanup(cls.net.cleanup)  # also when the set-up below fails
        cls.net.start_manager(extra=("--long-poll-ms", "300"))
        cls.alice = cls.net.user_token("alice")
        cls.bob = cls.net.user_token("bob")

    def call(self, method, path, **kw):
        return request(self.net, method, path, **kw)

    def assert_error(self, answer, status, code, words=""):
        self.assertEqual(answer.status, status, answer)
        self.assertEqual(answer.json["error"]["code"], code, answer)
        self.assertIn(words, answer.json["error"]["message"], answer)

    def test_sign_in_sets_a_strict_http_only_cookie_that_stands_in_for_the_token(self):
        before_ms = time.time() * 1000
        a = self.call("POST", "/api/v1/session", body={"token": self.alice})
        self.assertEqual(a.status, 200, a)
        me = self.call("GET", "/api/v1/whoami", token=self.alice).json
        self.assertEqual((a.json["id"], a.json["name"]), (me["id"], "alice"))
        self.assertAlmostEqual(a.json["expires_ms"], before_ms + 12 * 3600 * 1000, delta=60_000)
        # Exactly one cookie, with exactly these flags (no Secure: this manager speaks plain HTTP).
        self.assertEqual(len(a.headers.get_all("Set-Cookie")), 1, a)
        m = COOKIE_SET.match(a.headers["Set-Cookie"])
        self.assertTrue(m, a.headers["Set-Cookie"])
        self.assertNotIn(self.alice[4:], a.headers["Set-Cookie"])  # a fresh secret, not the token
        self.assertEqual(a.headers["Cache-Control"], "no-store")
        self.assertNotIn(self.alice, a.raw.decode())
        cookie = "inferix_session=" + m.group(1)
        self.assertNotEqual(sign_in(self.net, self.alice), cookie)  # each sign-in is a new session

        # The cookie authenticates what the dashboard reads, with the same answers as the token.
        for path in ("/api/v1/whoami", "/api/v1/jobs", "/api/v1/workers"):
            by_cookie = self.call("GET", path, cookie=cookie)
            self.assertEqual(by_cookie.status, 200, (path, by_cookie))
            self.assertEqual(by_cookie.json, self.call("GET", path, token=self.alice).json, path)
        self.assertEqual(self.call("GET", "/api/v1/session", cookie=cookie).json, dict(me, signed_in=True))
        # Also among other cookies, and on the event stream (EventSource cannot send a header).
        self.assertEqual(self.call("GET", "/api/v1/whoami", cookie="theme=dark; " + cookie + "; x=1").status, 200)
        job = create_job(self.net, self.alice, "seen by the cookie")
        seen = events(self.net, "/api/v1/events?job=%d" % job["id"], cookie=cookie)
        self.assertEqual([e[1:] for e in seen], [("job", {"job_id": job["id"], "state": "queued", "message": ""})])
        self.assertEqual(self.call("GET", "/api/v1/whoami", cookie=cookie).json["last_event_id"], seen[-1][0])
        # The bearer token still works on its own, and wins over a cookie sent along.
        self.assertEqual(self.call("GET", "/api/v1/whoami", token=self.alice).status, 200)
        self.assertEqual(self.call("GET", "/api/v1/whoami", token=self.bob, cookie=cookie).json["name"], "bob")

    def test_a_wrong_token_gets_no_cookie(self):
        worker_like = "ixn_" + "1" * 64
        for body, status in (({"token": "ixu_" + "0" * 64}, 401), ({"token": worker_like}, 401),
                             ({"token": self.net.enroll("worker")}, 401), ({"token": ""}, 401),
                             ({"token": self.alice.upper()}, 401), ({"token": "Bearer " + self.alice}, 401),
                             ({}, 400), ({"token": 5}, 400), ({"token": self.alice, "remember": True}, 400), (b"{", 400)):
            with self.subTest(body=body):
                a = self.call("POST", "/api/v1/session", body=body)
                self.assertEqual(a.status, status, a)
                self.assertIsNone(a.headers["Set-Cookie"], a)
                self.assertNotIn(self.alice[4:], a.raw.decode())
        # A token in the Authorization header does not sign in either: the token goes in the body.
        a = self.call("POST", "/api/v1/session", token=self.alice, body={})
        self.assertEqual((a.status, a.headers["Set-Cookie"]), (400, None), a)

    def test_another_site_cannot_sign_a_visitor_in(self):
        # Login CSRF: a form on another site posts the attacker's token as text/plain; the browser adds Origin.
        form_body = ('{"token":"a=","token":"%s"}' % self.alice).encode()
        for headers in ({"Origin": "http://evil.example", "Content-Type": "text/plain"},
                        {"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"},
                        {"Origin": "null", "Content-Type": "text/plain"}):
            with self.subTest(headers=headers):
                a = request(self.net, "POST", "/api/v1/session", body=form_body, headers=headers)
                self.assertEqual(a.status, 403, a)
                self.assertEqual(a.json["error"]["code"], "permission_denied")
                self.assertIsNone(a.headers["Set-Cookie"], a)
        # The dashboard's own page signs in.
        host = urllib.parse.urlsplit(self.net.url).netloc
        a = request(self.net, "POST", "/api/v1/session", body={"token": self.alice},
                    headers={"Origin": "http://" + host, "Sec-Fetch-Site": "same-origin"})
        self.assertEqual(a.status, 200, a)
        self.assertIsNotNone(a.headers["Set-Cookie"])

    def test_a_forged_or_garbage_cookie_is_refused(self):
        for value in ("0" * 64, "garbage", self.alice, self.alice[4:], "../../etc", "a" * 5000):
            for method, path in (("GET", "/api/v1/whoami"), ("GET", "/api/v1/jobs"), ("POST", "/api/v1/jobs"),
                                 ("DELETE", "/api/v1/session")):
                with self.subTest(value=value[:10], path=path, method=method):
                    a = self.call(method, path, cookie="inferix_session=" + value, body={} if method == "POST" else None)
                    self.assert_error(a, 401, "unauthenticated", SESSION_ENDED)
                    self.assertIsNone(a.headers["Set-Cookie"])
            self.assertEqual(self.call("GET", "/api/v1/session", cookie="inferix_session=" + value).json,
                             {"signed_in": False})
        # An empty cookie is no cookie: the usual "a token is required".
        self.assert_error(self.call("GET", "/api/v1/whoami", cookie="inferix_session="), 401, "unauthenticated")

    def test_a_request_from_another_site_with_the_cookie_changes_nothing(self):
        cookie = sign_in(self.net, self.alice)
        job = create_job(self.net, self.alice, "not to be canceled by evil")
        cancel = "/api/v1/jobs/%d/cancel" % job["id"]
        port = urllib.parse.urlsplit(self.net.url).port
        other_sites = ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                       {"Origin": "null"}, {"Origin": "http://127.0.0.1:%d" % (port + 1)},
                       {"Origin": "http://localhost:%d" % port}, {"Sec-Fetch-Site": "same-site"},
                       {"Origin": self.net.url, "Sec-Fetch-Site": "cross-site"},
                       {"Origin": self.net.url + ".evil.example"}, {"Origin": "ftp://127.0.0.1:%d" % port})
        jobs_before = self.call("GET", "/api/v1/jobs", token=self.alice).json["jobs"]
        for headers in other_sites:
            with self.subTest(headers=headers):
                self.assert_error(self.call("POST", cancel, cookie=cookie, headers=headers, body={}), 403,
                                  "permission_denied", "another site")
                self.assert_error(self.call("POST", "/api/v1/jobs", cookie=cookie, headers=headers,
                                            body={"name": "evil", "main": "a.blend", "frames": "1", "files": []}),
                                  403, "permission_denied")
                self.assert_error(self.call("DELETE", "/api/v1/session", cookie=cookie, headers=headers), 403,
                                  "permission_denied")
                self.assert_error(self.call("PUT", "/api/v1/files/" + "0" * 64, cookie=cookie, headers=headers,
                                            body=b"x"), 403, "permission_denied")
        # Nothing changed: the job is still queued, no job was added, the session still works.
        now = self.call("GET", "/api/v1/jobs/%d" % job["id"], cookie=cookie).json
        self.assertEqual((now["state"], now["started_ms"]), ("queued", 0))  # no worker here: never started
        self.assertEqual(self.call("GET", "/api/v1/jobs", token=self.alice).json["jobs"], jobs_before)
        self.assertEqual(events(self.net, "/api/v1/events?job=%d" % job["id"], token=self.alice)[-1][2]["state"],
                         "queued")
        # Reading is allowed from anywhere (what a page can read back is the browser's CORS business: no
        # Access-Control-Allow-Origin is ever sent).
        a = self.call("GET", "/api/v1/whoami", cookie=cookie, headers={"Origin": "http://evil.example",
                                                                        "Sec-Fetch-Site": "cross-site"})
        self.assertEqual(a.status, 200, a)
        self.assertIsNone(a.headers["Access-Control-Allow-Origin"])
        # The same request from the dashboard's own page works.
        a = self.call("POST", cancel, cookie=cookie, body={},
                      headers={"Origin": self.net.url, "Sec-Fetch-Site": "same-origin"})
        self.assertEqual((a.status, a.json["state"], a.json["message"]), (200, "canceled", "canceled by alice"), a)
        # Behind a reverse proxy that rewrites Host (nginx's default), the page's Origin is the public name and
        # Host the manager's address: the browser's Sec-Fetch-Site decides.
        job3 = create_job(self.net, self.alice, "canceled through a proxy")
        a = self.call("POST", "/api/v1/jobs/%d/cancel" % job3["id"], cookie=cookie, body={},
                      headers={"Origin": "https://farm.example", "Sec-Fetch-Site": "same-origin"})
        self.assertEqual((a.status, a.json["state"]), (200, "canceled"), a)
        # A request with neither header is not a browser's request from another site: allowed.
        job2 = create_job(self.net, self.alice, "canceled without Origin")
        a = self.call("POST", "/api/v1/jobs/%d/cancel" % job2["id"], cookie=cookie, body={})
        self.assertEqual((a.status, a.json["state"]), (200, "canceled"), a)
        a = self.call("POST", "/api/v1/jobs/%d/cancel" % job2["id"], cookie=cookie, body={},
                      headers={"Sec-Fetch-Site": "none"})  # typed into the address bar, a bookmark
        self.assertEqual(a.status, 200, a)

    def test_one_users_session_cannot_see_anothers_jobs(self):
        alice = sign_in(self.net, self.alice)
        bobs = create_job(self.net, self.bob, "bob's secret shot")
        same_origin = {"Origin": self.net.url}
        for method, path in (("GET", "/api/v1/jobs/%d" % bobs["id"]), ("GET", "/api/v1/jobs/%d/outputs" % bobs["id"]),
                             ("GET", "/api/v1/events?job=%d" % bobs["id"]),
                             ("POST", "/api/v1/jobs/%d/cancel" % bobs["id"])):
            with self.subTest(path=path):
                self.assert_error(self.call(method, path, cookie=alice, headers=same_origin,
                                            body={} if method == "POST" else None), 404, "not_found")
        self.assertNotIn(bobs["id"], [j["id"] for j in self.call("GET", "/api/v1/jobs", cookie=alice).json["jobs"]])
        mine = events(self.net, "/api/v1/events", cookie=alice)
        self.assertNotIn(bobs["id"], [e[2]["job_id"] for e in mine])
        self.assertNotIn("bob's secret shot", json.dumps(self.call("GET", "/api/v1/workers", cookie=alice).json))
        self.assertEqual(self.call("GET", "/api/v1/jobs/%d" % bobs["id"], token=self.bob).json["state"], "queued")
        self.assertEqual(self.call("GET", "/api/v1/whoami", cookie=alice).json["name"], "alice")

    def test_sign_out_ends_the_session(self):
        first, second = sign_in(self.net, self.bob), sign_in(self.net, self.bob)
        a = self.call("DELETE", "/api/v1/session", cookie=first, headers={"Origin": self.net.url})
        self.assertEqual((a.status, a.json), (200, {"status": "signed out"}), a)
        self.assertEqual(a.headers.get_all("Set-Cookie"), [COOKIE_CLEARED])
        self.assert_error(self.call("GET", "/api/v1/whoami", cookie=first), 401, "unauthenticated", SESSION_ENDED)
        self.assert_error(self.call("DELETE", "/api/v1/session", cookie=first), 401, "unauthenticated")
        self.assertEqual(self.call("GET", "/api/v1/session", cookie=first).json, {"signed_in": False})
        # Another session of the same user is its own.
        self.assertEqual(self.call("GET", "/api/v1/whoami", cookie=second).status, 200)
        # Signing out needs credentials; with the token it only clears the browser's cookie.
        self.assert_error(self.call("DELETE", "/api/v1/session"), 401, "unauthenticated")
        a = self.call("DELETE", "/api/v1/session", token=self.bob)
        self.assertEqual((a.status, a.headers["Set-Cookie"]), (200, COOKIE_CLEARED), a)
        self.assertEqual(self.call("GET", "/api/v1/whoami", cookie=second).status, 200)
        self.assertEqual(self.call("GET", "/api/v1/whoami", token=self.bob).status, 200)  # the token lives on

    def test_the_dashboard_page_and_its_files(self):
        for path in ("/", "/index.html"):
            with self.subTest(path=path):
                a = self.call("GET", path)
                self.assertEqual((a.status, a.headers["Content-Type"]), (200, "text/html; charset=utf-8"), a)
                csp = a.headers["Content-Security-Policy"] or ""
                directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
                self.assertEqual(directives.get("default-src"), ["'none'"], csp)
                self.assertEqual(directives.get("script-src"), ["'self'"], csp)  # no inline script
                self.assertEqual(directives.get("frame-ancestors"), ["'none'"], csp)
                self.assertNotIn("'unsafe-inline'", csp)
                self.assertNotIn("'unsafe-eval'", csp)
                self.assertEqual(a.headers["X-Frame-Options"], "DENY")
                self.assertEqual(a.headers["X-Content-Type-Options"], "nosniff")
                self.assertIsNone(a.headers["Set-Cookie"])
                page = a.raw.decode()
                self.assertIn("/assets/app.js", page)
                # Every asset is served locally: nothing from the internet.
                self.assertEqual(re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page), [])
                head = self.call("HEAD", path)
                self.assertEqual((head.status, head.raw, head.headers["Content-Type"]),
                                 (200, b"", "text/html; charset=utf-8"))
        for name, ctype in (("app.js", "text/javascript; charset=utf-8"), ("style.css", "text/css; charset=utf-8"),
                            ("favicon.svg", "image/svg+xml")):
            with self.subTest(asset=name):
                a = self.call("GET", "/assets/" + name)
                self.assertEqual((a.status, a.headers["Content-Type"]), (200, ctype), a)
                self.assertEqual(a.headers["X-Content-Type-Options"], "nosniff")
                self.assertTrue(a.raw)
        for path in ("/nope", "/assets/../x", "/assets/..%2Fx", "/assets/%2e%2e/index.html", "/assets/",
                     "/assets/nope.js", "/assets/sub/app.js", "/assets//app.js", "/index.htm", "/api/v1",
                     "/api", "/.git/config", "/assets/index.html", "//etc/passwd"):
            with self.subTest(path=path):
                self.assert_error(self.call("GET", path), 404, "not_found")
        for method, path in (("POST", "/"), ("PUT", "/"), ("DELETE", "/index.html"), ("POST", "/assets/app.js"),
                             ("POST", "/nope")):
            with self.subTest(method=method, path=path):
                self.assert_error(self.call(method, path, body={}), 400, "invalid_argument")
        # The page needs no sign-in; with a session cookie it is the same page.
        self.assertEqual(self.call("GET", "/", cookie=sign_in(self.net, self.bob)).raw, self.call("GET", "/").raw)


class SessionRestartTest(unittest.TestCase):
    def setUp(self):
        self.net = Network()

    def tearDown(self):
        self.net.cleanup()

    def test_a_session_survives_a_manager_restart_but_not_its_sign_out(self):
        self.net.start_manager(extra=("--long-poll-ms", "300"))
        token = self.net.user_token("carol")
        kept, ended = sign_in(self.net, token), sign_in(self.net, token)
        self.assertEqual(request(self.net, "DELETE", "/api/v1/session", cookie=ended).status, 200)
        self.net.manager.send_signal(signal.SIGTERM)
        self.net.manager.wait(timeout=20)
        self.net.start_manager()
        a = request(self.net, "GET", "/api/v1/whoami", cookie=kept)
        self.assertEqual((a.status, a.json["name"]), (200, "carol"), a)
        self.assertEqual(request(self.net, "GET", "/api/v1/whoami", cookie=ended).status, 401)
        # The manager keeps only the sessions' hashes: no secret of a cookie in its data.
        secret = kept.split("=", 1)[1]
        for root, _, files in os.walk(self.net.manager_dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    self.assertNotIn(secret.encode(), f.read(), name)


class SessionOverTlsTest(unittest.TestCase):
    def setUp(self):
        self.net = Network()

    def tearDown(self):
        self.net.cleanup()

    def test_the_cookie_is_secure_over_https(self):
        certs = make_certificates(self.net.dir)
        self.net.start_manager(extra=("--tls-cert", certs["server.pem"], "--tls-key", certs["server.key"]))
        self.net.ssl_context = ssl.create_default_context(cafile=certs["ca.pem"])
        token = self.net.user_token("tess")
        a = request(self.net, "POST", "/api/v1/session", body={"token": token})
        self.assertEqual(a.status, 200, a)
        self.assertRegex(a.headers["Set-Cookie"], r"^inferix_session=[0-9a-f]{64}; Max-Age=43200; Path=/; HttpOnly; "
                                                  r"SameSite=Strict; Secure$")
        cookie = a.headers["Set-Cookie"].split(";")[0]
        self.assertEqual(request(self.net, "GET", "/api/v1/whoami", cookie=cookie).json["name"], "tess")
        origin = {"Origin": self.net.url}  # https://127.0.0.1:PORT, as the page's own
        a = request(self.net, "DELETE", "/api/v1/session", cookie=cookie, headers=origin)
        self.assertEqual((a.status, a.headers["Set-Cookie"]), (200, COOKIE_CLEARED + "; Secure"), a)


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    return struct.unpack(">II", data[16:24])


class DashboardRenderTest(unittest.TestCase):
    """A tiny scene rendered for real: what the dashboard shows of it - previews, frames and the video through
    signed URLs, the `preview` events, the workers' states."""

    LONG_POLL_MS, LEASE_MS = 1000, 8000

    def setUp(self):
        self.net = Network(lease_ms=self.LEASE_MS, heartbeat_ms=1000)

    def tearDown(self):
        self.net.cleanup()

    def assert_blob_headers(self, a, ctype):
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.headers["Content-Type"], ctype)
        self.assertEqual(a.headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(a.headers["Content-Security-Policy"], "default-src 'none'; sandbox")
        self.assertEqual(a.headers["Cache-Control"], "private, max-age=3600")

    def test_previews_frames_and_video_through_signed_urls(self):
        started = time.time()
        scene_dir = os.path.join(self.net.dir, "scene")
        os.makedirs(scene_dir)
        scene = make_scene(os.path.join(scene_dir, "tiny.blend"), frames=2, width=64, height=48, samples=4)
        self.net.start_manager(extra=("--long-poll-ms", str(self.LONG_POLL_MS)))
        token, other = self.net.user_token("dana"), self.net.user_token("eve")
        cookie, others = sign_in(self.net, token), sign_in(self.net, other)
        nodes_started = time.time()
        self.net.start_node("worker", "worker", extra=("--threads", "1"))
        self.net.start_node("verifier", "verifier")
        r = self.net.cli(token, "submit", scene, "--frames", "1-2", "--chunk", "1", "--name", "tiny")
        self.assertEqual(r.returncode, 0, r.stderr)
        job_id = int(r.stdout.split()[0])

        # While it renders the worker is busy; its task names the job to its owner only.
        seen_busy, seen_by_other = None, None
        deadline = time.time() + 120
        while True:
            job = request(self.net, "GET", "/api/v1/jobs/%d" % job_id, cookie=cookie).json
            if job["state"] in ("completed", "failed", "canceled"):
                break
            self.assertLess(time.time(), deadline, job)
            for c in (cookie, others):
                for n in request(self.net, "GET", "/api/v1/workers", cookie=c).json["nodes"]:
                    if n["name"] == "worker" and n["state"] == "busy" and n["current_task"]["kind"] == "render":
                        if c == cookie:
                            seen_busy = n["current_task"]
                        else:
                            seen_by_other = n["current_task"]
            time.sleep(0.2)
        self.assertEqual(job["state"], "completed", job)
        self.assertIsNotNone(seen_busy, "the worker was never seen busy")
        self.assertEqual((seen_busy["job_id"], seen_busy["job_name"]), (job_id, "tiny"))
        if seen_by_other is not None:
            self.assertEqual((seen_by_other["job_id"], seen_by_other["job_name"]), (None, None))
        self.assertEqual((job["owner"], job["progress"]["rendered"], job["progress"]["delivered"],
                          job["progress"]["eta_s"]), ("dana", 2, 2, None))

        # The video and every preview are made on the manager's background thread: wait for them.
        def ready(j):
            return j["video"] != "pending" and all(f["output"]["preview_url"] for f in j["frames"])
        job = self.net.wait_job(token, job_id, timeout=60, until=ready)
        job = request(self.net, "GET", "/api/v1/jobs/%d" % job_id, cookie=cookie).json  # as the dashboard
        # Submitted, then started when a worker took the first frame, then finished.
        self.assertTrue(0 < job["created_ms"] <= job["started_ms"] <= job["finished_ms"], job)
        for f in job["frames"]:
            out = f["output"]
            self.assertEqual(f["state"], "delivered")
            # The frame: bytes to save, never shown as what they hold (a worker made them).
            a = request(self.net, "GET", out["url"])
            self.assert_blob_headers(a, "application/octet-stream")
            self.assertEqual(hashlib.sha256(a.raw).hexdigest(), out["sha256"])
            self.assertEqual(png_size(a.raw), (64, 48))
            self.assertIsNone(a.headers["Content-Disposition"])
            name = "frame_%04d.png" % f["frame"]
            a = request(self.net, "GET", out["url"] + "&name=" + name)
            self.assert_blob_headers(a, "application/octet-stream")
            self.assertEqual(a.headers["Content-Disposition"], 'attachment; filename="%s"' % name)
            for bad in ("../x", 'a"b', "a b", ".hidden", "a;b", "x/y", "\r\nSet-Cookie: x=1", "é.png", ""):
                a = request(self.net, "GET", out["url"] + "&name=" + urllib.parse.quote(bad, safe=""))
                self.assert_blob_headers(a, "application/octet-stream")
                self.assertIsNone(a.headers["Content-Disposition"], bad)
                self.assertIsNone(a.headers["Set-Cookie"], bad)
            # The name is not signed, the rest is: a changed signature is still refused.
            changed = out["url"][:-1] + ("1" if out["url"].endswith("0") else "0")
            self.assertEqual(request(self.net, "GET", changed + "&name=" + name).status, 403)
            # The preview: the manager's own PNG, shown as an image.
            a = request(self.net, "GET", out["preview_url"])
            self.assert_blob_headers(a, "image/png")
            self.assertEqual(png_size(a.raw), (64, 48))  # never scaled up
            a = request(self.net, "GET", out["preview_url"] + "&name=preview.png")
            self.assertEqual(a.headers["Content-Disposition"], 'attachment; filename="preview.png"')
        if shutil.which("ffmpeg"):
            self.assertEqual(job["video"], "ready", job)
            a = request(self.net, "GET", job["video_url"])
            self.assert_blob_headers(a, "video/mp4")
            self.assertEqual(a.raw[4:8], b"ftyp")
            whole = a.raw
            self.assertEqual(a.headers["Accept-Ranges"], "bytes")
            a = request(self.net, "GET", job["video_url"] + "&name=tiny.mp4")
            self.assertEqual(a.headers["Content-Disposition"], 'attachment; filename="tiny.mp4"')
            # A player seeks with byte ranges: the part asked for, with the same type and headers.
            a = request(self.net, "GET", job["video_url"], headers={"Range": "bytes=8-107"})
            self.assertEqual(a.status, 206, a)
            self.assertEqual(a.headers["Content-Range"], "bytes 8-107/%d" % len(whole))
            self.assertEqual(a.raw, whole[8:108])
            self.assertEqual(a.headers["Content-Type"], "video/mp4")
            self.assertEqual(a.headers["X-Content-Type-Options"], "nosniff")
            a = request(self.net, "GET", job["video_url"], headers={"Range": "bytes=%d-" % len(whole)})
            self.assertEqual((a.status, a.headers["Content-Range"]), (416, "bytes */%d" % len(whole)), a)
        else:
            self.assertEqual((job["video"], job["video_url"]), ("failed", None))

        # Each thumbnail was announced on the stream, after its frame's delivery, naming the delivered output.
        story = events(self.net, "/api/v1/events?job=%d" % job_id, cookie=cookie)
        previews = [(e[0], e[2]) for e in story if e[1] == "preview"]
        self.assertEqual(sorted(p[1]["frame"] for p in previews), [1, 2], story)
        for event_id, data in previews:
            frame = next(f for f in job["frames"] if f["frame"] == data["frame"])
            self.assertEqual(data, {"job_id": job_id, "frame": frame["frame"],
                                    "output_id": frame["output"]["output_id"]})
            delivered = [e[0] for e in story if e[1] == "frame" and e[2]["frame"] == data["frame"]
                         and e[2]["state"] == "delivered"]
            self.assertLess(delivered[-1], event_id)
        self.assertEqual([e for e in events(self.net, "/api/v1/events", cookie=others)
                          if e[2].get("job_id") == job_id], [])  # not another user's

        # The workers page: capabilities with the CPU model, and each node's state.
        nodes = {n["name"]: n for n in request(self.net, "GET", "/api/v1/workers", cookie=cookie).json["nodes"]}
        self.assertIsInstance(nodes["worker"]["capabilities"]["cpu_model"], str)
        try:
            with open("/proc/cpuinfo") as f:
                has_model = "model name" in f.read()
        except OSError:
            has_model = False
        if has_model:  # x86 Linux: the same machine's model
            self.assertTrue(nodes["worker"]["capabilities"]["cpu_model"])
        self.assertEqual((nodes["worker"]["accepted"], nodes["worker"]["current_task"]), (2, None))
        # Both nodes keep asking for work: idle, not offline, also once --long-poll-ms + --lease-ms have passed
        # since they registered.
        # (Their claims record last_seen_ms: before that fix, every node looked offline this long after it
        # registered.)
        wait = nodes_started + (self.LONG_POLL_MS + self.LEASE_MS) / 1000 + 2 - time.time()
        if wait > 0:
            time.sleep(wait)
        nodes = {n["name"]: n for n in request(self.net, "GET", "/api/v1/workers", cookie=cookie).json["nodes"]}
        self.assertEqual([(n["name"], n["state"]) for n in nodes.values()], [("worker", "idle"), ("verifier", "idle")])
        self.assertLess(time.time() - started, 120)


if __name__ == "__main__":
    unittest.main()
