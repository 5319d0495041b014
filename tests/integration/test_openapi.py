"""DESIGN.md section 4: docs/api/openapi.yaml is a valid OpenAPI description, and a real manager answers as it says.

The linter (Redocly CLI), the YAML-to-JSON conversion and Ed25519 signing run on Node.js from tests/openapi/
(`npm ci` there when its node_modules is missing). No Blender is needed: the test plays worker and verifier
itself over the API, with its own Ed25519 keys.
"""

import hashlib
import hmac
import json
import os
import re
import shutil
import struct
import subprocess
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import zlib

from netlib import NODE_ENV, SOURCE_DIR, Network, ensure_node_modules

OPENAPI_DIR = os.path.join(SOURCE_DIR, "tests", "openapi")
SPEC_FILE = os.path.join(SOURCE_DIR, "docs", "api", "openapi.yaml")
METHODS = ("get", "put", "post", "delete", "patch")
ERROR_CODES_BY_STATUS = {400: "invalid_argument", 401: "unauthenticated", 403: "permission_denied",
                         404: "not_found", 409: "conflict", 413: "too_large"}


def node(script, *args):
    p = subprocess.run(["node", os.path.join(OPENAPI_DIR, script), *args], capture_output=True, text=True,
                       env=NODE_ENV, timeout=60)
    if p.returncode != 0:
        raise AssertionError("node %s failed:\n%s%s" % (script, p.stdout, p.stderr))
    return p.stdout


# A JSON Schema checker for the keywords docs/api/openapi.yaml uses; an unknown keyword is an error, so that
# the spec cannot quietly outgrow the check.
KNOWN_KEYWORDS = {"$ref", "allOf", "anyOf", "oneOf", "type", "const", "enum", "pattern", "minLength", "maxLength",
                  "minimum", "maximum", "exclusiveMinimum", "minItems", "maxItems", "items", "required",
                  "properties", "additionalProperties", "description", "format", "default", "examples",
                  "contentMediaType", "contentSchema"}


def resolve(spec, ref):
    node_ = spec
    for part in ref[2:].split("/"):
        node_ = node_[part.replace("~1", "/").replace("~0", "~")]
    return node_


def is_type(value, name):
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise AssertionError("unknown type " + name)


def check_schema(spec, schema, value, where="$"):
    """Returns the list of ways `value` violates `schema` (empty when it conforms)."""
    errors = []
    unknown = set(schema) - KNOWN_KEYWORDS
    if unknown:
        return ["%s: the test's schema checker lacks %s" % (where, sorted(unknown))]
    if "$ref" in schema:
        errors += check_schema(spec, resolve(spec, schema["$ref"]), value, where)
    for sub in schema.get("allOf", []):
        errors += check_schema(spec, sub, value, where)
    if "anyOf" in schema and all(check_schema(spec, s, value, where) for s in schema["anyOf"]):
        errors.append("%s: matches none of anyOf" % where)
    if "oneOf" in schema and sum(not check_schema(spec, s, value, where) for s in schema["oneOf"]) != 1:
        errors.append("%s: does not match exactly one of oneOf" % where)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(is_type(value, t) for t in types):
            return errors + ["%s: %r is not of type %s" % (where, value, types)]
    if "const" in schema and value != schema["const"]:
        errors.append("%s: %r is not %r" % (where, value, schema["const"]))
    if "enum" in schema and value not in schema["enum"]:
        errors.append("%s: %r is not one of %s" % (where, value, schema["enum"]))
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append("%s: %r does not match %s" % (where, value, schema["pattern"]))
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            errors.append("%s: length %d out of bounds" % (where, len(value)))
        if "contentMediaType" in schema:
            if schema["contentMediaType"] != "application/json":
                return errors + ["%s: the test's schema checker lacks contentMediaType %s" % (
                    where, schema["contentMediaType"])]
            try:
                decoded = json.loads(value)
            except ValueError:
                errors.append("%s: %r is not JSON" % (where, value))
            else:
                errors += check_schema(spec, schema.get("contentSchema", {}), decoded, where + "<json>")
    if is_type(value, "number"):
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            errors.append("%s: %r out of bounds" % (where, value))
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            errors.append("%s: %r out of bounds" % (where, value))
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            errors.append("%s: %d items, out of bounds" % (where, len(value)))
        if "items" in schema:
            for i, item in enumerate(value):
                errors += check_schema(spec, schema["items"], item, "%s[%d]" % (where, i))
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errors.append("%s: required field %r is missing" % (where, name))
        props = schema.get("properties", {})
        for name, item in value.items():
            if name in props:
                errors += check_schema(spec, props[name], item, where + "." + name)
            elif schema.get("additionalProperties") is False:
                errors.append("%s: field %r is not allowed" % (where, name))
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += check_schema(spec, schema["additionalProperties"], item, where + "." + name)
    return errors


def parse_event_stream(text):
    """The blocks of a text/event-stream body, each as an object of its fields (`retry` as a number), the way
    the spec's itemSchema describes them."""
    items = []
    for block in text.split("\n\n"):
        if not block:
            continue
        item = {}
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name in item:
                raise AssertionError("field %r twice in one block: %r" % (name, block))
            item[name] = int(value) if name == "retry" else value
        items.append(item)
    return items


def tiny_png(width, height):
    """A real RGB PNG of random pixels (the manager makes previews and videos from delivered frames)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + os.urandom(3 * width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class OpenApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ensure_node_modules(OPENAPI_DIR)
        cls.spec = json.loads(node("yaml2json.mjs", SPEC_FILE))
        cls.ops = {}
        for path, item in cls.spec["paths"].items():
            for method in METHODS:
                if method in item:
                    cls.ops[item[method]["operationId"]] = (method.upper(), path, item[method])
        cls.succeeded = set()  # operations answered with a documented 2xx
        cls.media_seen = set()  # (operation, media type) of those answers
        cls.net = Network()
        try:
            cls.net.start_manager(extra=("--long-poll-ms", "300"))
            with open(os.path.join(cls.net.manager_dir, "url-secret")) as f:
                cls.url_secret = f.read()
            cls.alice = cls.net.user_token("alice")
            cls.bob = cls.net.user_token("bob")
            cls.worker = cls.register("worker", "worker-1")
            cls.verifier = cls.register("verifier", "verifier-1")
        except BaseException:
            cls.net.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.cleanup()

    @classmethod
    def register(cls, role, name):
        keys = json.loads(node("ed25519.mjs", "keygen"))
        body = {"enrollment_token": cls.net.enroll(role, owner="alice" if role == "worker" else None), "name": name,
                "role": role,
                "public_key": keys["public_hex"],
                "capabilities": {"cpu_threads": 2, "memory_bytes": 1 << 30, "gpus": [], "blender": "blender",
                                 "blender_version": "3.4.1"}}
        answer = cls.checked(None, "registerNode", body=body, expect=201)
        return {"id": answer["node_id"], "token": answer["node_token"], "private_hex": keys["private_hex"],
                "name": name}

    # ---- HTTP and spec plumbing ----

    def http(self, method, path, token=None, body=None, raw=None, auth=None, timeout=30, headers=None):
        """One request; returns (status, answer headers, raw body)."""
        headers = dict(headers or {})
        data = None
        if raw is not None:
            data = raw
            headers["Content-Type"] = "application/octet-stream"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth is not None:
            headers["Authorization"] = auth
        elif token:
            headers["Authorization"] = "Bearer " + token
        req = urllib.request.Request(self.net.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def response_spec(self, op, status):
        responses = op["responses"]
        self.assertIn(str(status), responses,
                      "%s answered %d, which the spec does not document" % (op["operationId"], status))
        response = responses[str(status)]
        if "$ref" in response:
            response = resolve(self.spec, response["$ref"])
        return response

    def request_schema(self, op, media="application/json"):
        body = op.get("requestBody")
        if body is None:
            return None
        if "$ref" in body:
            body = resolve(self.spec, body["$ref"])
        return body["content"].get(media, {}).get("schema")

    @classmethod
    def checked(cls, test, op_id, params=None, token=None, body=None, raw=None, auth=None, query="", path=None,
                expect=None, code=None, headers=None):
        """Calls an operation and checks the answer against the spec: the status is documented for it, the body
        matches the documented schema and media type (a text/event-stream body: each block its itemSchema), the
        documented response headers match theirs. `expect`: the status required; `code`: the error code.
        Returns the parsed JSON body (or the raw bytes for a non-JSON answer, None for no body); the answer's
        headers are left in `last_headers`."""
        # setUpClass has no test instance yet: borrow one for the assertions (any existing method name will do).
        self = test or cls("run")
        method, template, op = cls.ops[op_id]
        if path is None:
            path = "/api/v1" + template.format(**(params or {}))
        status, answer_headers, raw_answer = self.http(method, path + query, token, body, raw, auth,
                                                       headers=headers)
        cls.last_headers = answer_headers
        ctype = answer_headers.get("Content-Type", "")
        where = "%s %s%s -> %d %s" % (method, path, query, status, raw_answer[:300])
        if expect is not None:
            self.assertEqual(status, expect, where)
        response = self.response_spec(op, status)
        for name, header in response.get("headers", {}).items():
            value = answer_headers.get(name)
            if value is None:
                self.assertFalse(header.get("required"), "%s: header %s is missing" % (where, name))
            else:
                self.assertEqual(check_schema(cls.spec, header["schema"], value), [], "%s: %s" % (where, name))
        content = response.get("content")
        if not content:
            self.assertEqual(raw_answer, b"", where)
            answer = None
        else:
            media = ctype.split(";")[0]
            self.assertIn(media, content, where)  # one of the documented media types
            if 200 <= status < 300:
                cls.media_seen.add((op_id, media))
            if media == "application/json":
                answer = json.loads(raw_answer)
                errors = check_schema(cls.spec, content[media]["schema"], answer)
                self.assertEqual(errors, [], where)
            elif media == "text/event-stream":
                answer = raw_answer
                for item in parse_event_stream(raw_answer.decode()):
                    self.assertEqual(check_schema(cls.spec, content[media]["itemSchema"], item), [], where)
            else:
                answer = raw_answer
        if 200 <= status < 300:
            cls.succeeded.add(op_id)
            if body is not None:
                schema = self.request_schema(op)
                self.assertEqual(check_schema(cls.spec, schema, body), [],
                                 "%s: the spec refuses a body the server accepted: %r" % (op_id, body))
        else:
            self.assertEqual(set(answer), {"error"}, where)
            self.assertEqual(set(answer["error"]), {"code", "message"}, where)
            self.assertTrue(answer["error"]["message"], where)
            if status in ERROR_CODES_BY_STATUS:
                self.assertEqual(answer["error"]["code"], ERROR_CODES_BY_STATUS[status], where)
            if code is not None:
                self.assertEqual(answer["error"]["code"], code, where)
        return answer

    def call(self, op_id, **kw):
        return self.checked(self, op_id, **kw)

    def stream(self, token, query="", last_id=None, expect=200, code=None):
        """GET /events (with `last_id` as Last-Event-ID); returns its events as (id, type, parsed data)."""
        headers = {} if last_id is None else {"Last-Event-ID": str(last_id)}
        answer = self.call("streamEvents", token=token, query=query, headers=headers, expect=expect, code=code)
        if expect != 200:
            return answer
        text = answer.decode()
        self.assertTrue(text.startswith("retry: 500\n\n") and text.endswith("\n\n"), text)
        events = [(int(b["id"]), b["event"], json.loads(b["data"])) for b in parse_event_stream(text)[1:]]
        self.assertEqual([e[0] for e in events], sorted({e[0] for e in events}), text)  # increasing ids
        return events

    def sign(self, node_, message):
        return node("ed25519.mjs", "sign", node_["private_hex"], message).strip()

    def signed_query(self, method, key, expires):
        # The signed payload (blob/signed_url.cpp): method, key, expiry and the URL's terms (none here: no size
        # limit, no node, no digest).
        sig = hmac.new(self.url_secret.encode(), ("%s\n%s\n%d\n0\n\n" % (method, key, expires)).encode(),
                       hashlib.sha256).hexdigest()
        return "?method=%s&expires=%d&sig=%s" % (method, expires, sig)

    def deliver(self, job_id, frame):
        """Plays worker-1 and verifier-1 for one frame of a job: claimed, rendered (a random PNG), accepted."""
        worker, verifier = self.worker, self.verifier
        task = self.call("claimTask", token=worker["token"], body={}, expect=200)
        self.assertEqual((task["job_id"], task["frames"]), (job_id, [frame]))
        tid = {"task_id": task["task_id"]}
        slot = self.call("frameUploadUrl", params=dict(tid, frame=frame), token=worker["token"], expect=200)
        image = tiny_png(4, 4)
        sha = hashlib.sha256(image).hexdigest()
        path, query = slot["url"].split("?")
        self.call("putBlob", path=path, query="?" + query, raw=image, expect=200)
        report = {"sha256": sha, "key": slot["key"], "signature": self.sign(
            worker, "inferix-frame-v1|%d|%d|%s|%s" % (task["task_id"], frame, sha, slot["key"]))}
        self.call("reportFrame", params=dict(tid, frame=frame), token=worker["token"], body=report, expect=200)
        self.call("completeTask", params=tid, token=worker["token"], expect=200)
        check = self.call("claimTask", token=verifier["token"], body={}, expect=200)
        self.assertEqual((check["job_id"], check["frames"]), (job_id, [frame]))
        verdict = {"verdict": "accepted", "signature": self.sign(
            verifier, "inferix-verdict-v1|%d|accepted" % check["task_id"])}
        self.call("reportVerdict", params={"task_id": check["task_id"]}, token=verifier["token"], body=verdict,
                  expect=200)

    def sign_in(self, token):
        """POST /session; returns the session cookie as a Cookie header sends it."""
        self.call("signIn", body={"token": token}, expect=200)
        cookie = self.last_headers["Set-Cookie"].split(";")[0]
        self.assertTrue(cookie.startswith("inferix_session="), cookie)
        return cookie

    def create_job(self, token, name, content, frames, chunk, **extra):
        content = b"BLENDER-v304" + content  # the manager checks the main file's magic bytes
        sha = hashlib.sha256(content).hexdigest()
        self.call("uploadFile", params={"sha256": sha}, token=token, raw=content, expect=201)
        body = {"name": name, "main": "shot.blend", "files": [{"path": "shot.blend", "sha256": sha,
                                                                 "size": len(content)}],
                "frames": frames, "chunk_size": chunk, **extra}
        return self.call("createJob", token=token, body=body, expect=201)

    # ---- the tests ----

    def test_linter_accepts_the_spec(self):
        p = subprocess.run(["npm", "run", "--silent", "--prefix", OPENAPI_DIR, "lint"], capture_output=True,
                           text=True, env=NODE_ENV, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("valid", p.stdout + p.stderr)

    def test_spec_documents_the_error_shape_and_states(self):
        s = self.spec["components"]["schemas"]
        self.assertEqual(s["JobState"]["enum"], ["queued", "active", "completed", "failed", "canceled"])
        self.assertEqual(s["FrameState"]["enum"],
                         ["queued", "rendering", "verifying", "delivered", "failed", "canceled"])
        self.assertEqual(s["Verdict"]["enum"], ["pending", "accepted", "trusted", "rejected"])
        for op_id, (method, path, op) in self.ops.items():
            for status, response in op["responses"].items():
                if status[0] in "45" or status == "default":
                    if "$ref" in response:
                        response = resolve(self.spec, response["$ref"])
                    self.assertEqual(response["content"]["application/json"]["schema"],
                                     {"$ref": "#/components/schemas/Error"}, (op_id, status))

    def test_the_whole_protocol_as_documented(self):
        alice, bob, worker, verifier = self.alice, self.bob, self.worker, self.verifier
        health = self.call("getHealth", expect=200)
        self.assertEqual(health["status"], "ok")
        self.assertEqual(health["limits"]["too_large"], 0)
        me = self.call("whoami", token=alice, expect=200)
        # The metrics are an operator's (the tests' users are operators unless made otherwise).
        metrics = self.call("getMetrics", token=alice, expect=200).decode()
        self.assertEqual(self.last_headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        self.assertIn('inferix_http_requests_total{route="/api/v1/whoami",method="GET",code="2xx"} ', metrics)
        self.assertIn('\ninferix_nodes{role="worker",state="idle"} ', metrics)
        self.call("getMetrics", token=self.net.user_token("carol", operator=False), expect=403,
                  code="permission_denied")
        # No event of hers yet: the latest is the network's (the nodes joining), where following from now starts.
        joined = self.stream(alice, query="?workers=1", last_id=0)
        self.assertEqual({e[1] for e in joined}, {"worker"})
        self.assertEqual((me["name"], me["last_event_id"]), ("alice", joined[-1][0]))
        # The dashboard signs in with the token; its session cookie then stands in for it.
        signed_in = self.call("signIn", body={"token": alice}, expect=200)
        self.assertEqual((signed_in["id"], signed_in["name"]), (me["id"], "alice"))
        self.assertAlmostEqual(signed_in["expires_ms"] / 1000, time.time() + 12 * 3600, delta=120)
        cookie = {"Cookie": self.last_headers["Set-Cookie"].split(";")[0]}
        self.assertEqual(self.call("whoami", headers=cookie, expect=200), me)
        # The Authorization header wins over the cookie.
        self.assertEqual(self.call("whoami", token=bob, headers=cookie, expect=200)["name"], "bob")
        # Nothing to verify yet: the claim long-polls (--long-poll-ms 300), then answers 204.
        started = time.time()
        self.call("claimTask", token=verifier["token"], body={}, expect=204)
        self.assertGreaterEqual(time.time() - started, 0.25)
        # No event for bob (he never has a job): the event stream long-polls too, then ends with none.
        started = time.time()
        self.assertEqual(self.stream(bob), [])
        self.assertGreaterEqual(time.time() - started, 0.25)

        # A node started again says what it lends now: here two Blender builds, the default first. The scene
        # (saved by 3.4, its header says) goes to the oldest build that can open it, named in the claim.
        caps = {"cpu_threads": 2, "memory_bytes": 1 << 30, "gpus": [], "blender": "blender",
                "blender_version": "3.4.1", "blenders": [{"version": "3.4.1", "denoisers": []},
                                                         {"version": "4.2.3 LTS", "denoisers": ["OPENIMAGEDENOISE"]}]}
        updated = self.call("updateNodeCapabilities", token=worker["token"], body={"capabilities": caps}, expect=200)
        self.assertEqual((updated["node_id"], updated["class"], updated["capabilities"]["blenders"][1]["version"]),
                         (worker["id"], "blender 3.4.1 / unknown / cpu", "4.2.3 LTS"))
        self.call("updateNodeCapabilities", token=worker["token"], expect=400,
                  body={"capabilities": dict(caps, blenders=[{"version": 42}])})
        self.call("updateNodeCapabilities", token=alice, body={"capabilities": caps}, expect=401)

        # Files: "do you have it" counts only the user's own uploads.
        # Not really a .blend: the manager reads only its magic bytes (the test's worker renders nothing).
        scene = b"BLENDER-v304 " + os.urandom(16)
        sha = hashlib.sha256(scene).hexdigest()
        self.assertEqual(self.call("checkFiles", token=alice, body={"sha256": [sha]}, expect=200)["missing"], [sha])
        self.call("uploadFile", params={"sha256": sha}, token=alice, raw=scene, expect=201)
        self.assertEqual(self.call("checkFiles", token=alice, body={"sha256": [sha]}, expect=200)["missing"], [])
        self.assertEqual(self.call("checkFiles", token=bob, body={"sha256": [sha]}, expect=200)["missing"], [sha])
        # Where to upload (the file adapter: the manager's own PUT); completing a file the user has is harmless.
        self.assertEqual(self.call("startFileUpload", params={"sha256": sha}, token=bob, body={"size": len(scene)},
                                   expect=200)["url"], "/api/v1/files/" + sha)
        self.assertTrue(self.call("startFileUpload", params={"sha256": sha}, token=alice,
                                  body={"size": len(scene)}, expect=200)["have"])
        self.call("completeFileUpload", params={"sha256": sha}, token=alice, body={"key": "files/" + sha},
                  expect=201)
        self.call("fileUploadPart", params={"sha256": sha}, token=alice, expect=400,
                  body={"key": "uploads/%s/1_ab" % sha, "upload_id": "x", "number": 1, "sha256": sha})

        # A one-frame job, rendered by "worker", verified by "verifier", delivered.
        job = self.call("createJob", token=alice, expect=201,
                        body={"name": "shot", "main": "shot.blend",
                              "files": [{"path": "shot.blend", "sha256": sha, "size": len(scene)}],
                              "frames": "5", "format": "png", "chunk_size": 1, "priority": 0, "fps": 12.5})
        self.assertEqual((job["state"], job["format"], job["frames_spec"], job["fps"], job["video"]),
                         ("queued", "PNG", "5", 12.5, "none"))
        jobs = self.call("listJobs", headers=cookie, expect=200)["jobs"]
        self.assertEqual([j["id"] for j in jobs], [job["id"]])
        self.assertEqual((jobs[0]["owner"], jobs[0]["progress"]),
                         ("alice", {"total": 1, "queued": 1, "rendering": 0, "verifying": 0, "delivered": 0,
                                    "rendered": 0, "failed": 0, "canceled": 0, "eta_s": None}))
        self.assertEqual(self.call("listJobs", token=bob, expect=200)["jobs"], [])
        nodes = self.call("listNodes", token=bob, expect=200)["nodes"]
        # ("spare" is the verifier the credentials test enrolls when it runs first.)
        self.assertEqual([(n["name"], n["role"]) for n in nodes if n["name"] != "spare"],
                         [("worker-1", "worker"), ("verifier-1", "verifier")])

        # Events: without Last-Event-ID from the user's first; the job's creation is the latest.
        job_query = "?job=%d" % job["id"]
        created = ("job", {"job_id": job["id"], "state": "queued", "message": ""})
        mine = self.stream(alice)
        self.assertEqual(mine[-1][1:], created)
        self.assertEqual(self.stream(alice, query=job_query), [mine[-1]])
        first_id = mine[-1][0]
        self.assertEqual(self.call("whoami", headers=cookie, expect=200)["last_event_id"], first_id)
        self.assertEqual(self.stream(alice, last_id=first_id), [])  # where a client following from now starts
        self.assertEqual(self.stream(alice, query=job_query, last_id=0), [mine[-1]])
        self.assertEqual(self.stream(alice, query=job_query + "&last_event_id=0"), [mine[-1]])
        # last_event_id is read only when the header is absent.
        self.assertEqual(self.stream(alice, query=job_query + "&last_event_id=bad", last_id=0), [mine[-1]])
        # Nothing after it yet: the long-poll ends with no event.
        self.assertEqual(self.stream(alice, query=job_query, last_id=first_id), [])
        self.stream(alice, query=job_query, last_id="x", expect=400)
        self.stream(alice, query=job_query, last_id="-1", expect=400)
        self.stream(alice, query="?last_event_id=1e3", expect=400)
        self.stream(alice, query="?job=abc", expect=400)
        self.stream(alice, query="?job=999999", expect=404)
        self.stream(bob, query=job_query, expect=404)  # another user's job
        # The network's events (workers=1), for any user: so far the nodes joining, each named by id only.
        network = self.stream(bob, query="?workers=1", last_id=0)
        self.assertEqual({e[1] for e in network}, {"worker"})
        by_name = {n["name"]: n["id"] for n in nodes}
        self.assertLessEqual({by_name["worker-1"], by_name["verifier-1"]}, {e[2]["worker_id"] for e in network})
        self.assertEqual(self.stream(bob, query="?workers=0", last_id=0), [])  # bob's own: none
        self.stream(bob, query="?workers=2", expect=400)
        self.stream(alice, query=job_query + "&workers=1", expect=400)

        task = self.call("claimTask", token=worker["token"], body={"cached": [sha]}, expect=200)
        self.assertEqual((task["blender"], task["denoise"]), ("3.4.1", True))
        self.assertEqual(job["blender_version"], "3.4")
        self.assertEqual((task["kind"], task["job_id"], task["frames"], task["format"]), ("render", job["id"], [5], "PNG"))
        self.assertNotIn("output", task)
        # The worker is busy with it; only alice, whose job it is, sees which job.
        for user, job_id, job_name in ((alice, job["id"], "shot"), (bob, None, None)):
            nodes = {n["name"]: n for n in self.call("listNodes", token=user, expect=200)["nodes"]}
            # A node of one unnamed slot (this test's worker claims without naming one): its task's slot is "".
            current = {"kind": "render", "frames": [5], "job_id": job_id, "job_name": job_name, "slot": ""}
            self.assertEqual((nodes["worker-1"]["state"], nodes["worker-1"]["current_task"]), ("busy", current))
            self.assertEqual(nodes["worker-1"]["tasks"], [current])
            self.assertIn(nodes["verifier-1"]["state"], ("idle", "offline"))
            self.assertIsNone(nodes["verifier-1"]["current_task"])
        got = self.call("getBlob", path=task["scene"]["files"][0]["url"].split("?")[0],
                        query="?" + task["scene"]["files"][0]["url"].split("?")[1], expect=200)
        self.assertEqual(got, scene)
        tid = {"task_id": task["task_id"]}
        # A heartbeat's body is its progress (issue #14); bodies of done and cancel are not read.
        self.assertEqual(self.call("heartbeat", params=tid, token=worker["token"], body={"progress": 1},
                                   expect=200), {"action": "continue"})
        image = tiny_png(5, 3)  # odd sizes: the video pads them to even
        image_sha = hashlib.sha256(image).hexdigest()
        # An upload URL is asked for with the frame's digest and size (issue #15): the URL allows that size.
        self.call("frameUploadUrl", params=dict(tid, frame=5), token=worker["token"], body={"x": 1}, expect=400)
        slot = self.call("frameUploadUrl", params=dict(tid, frame=5), token=worker["token"],
                         body={"sha256": image_sha, "size": len(image)}, expect=200)
        self.assertEqual(slot["max_bytes"], len(image))
        self.assertTrue(slot["key"].startswith("outputs/%d/%d_5_" % (job["id"], task["task_id"])), slot)
        path, query = slot["url"].split("?")
        stored = self.call("putBlob", path=path, query="?" + query, raw=image, expect=200)
        self.assertEqual(stored, {"key": slot["key"], "sha256": image_sha, "size": len(image)})
        report = {"sha256": image_sha, "key": slot["key"], "render_seconds": 0.25,
                  "signature": self.sign(worker, "inferix-frame-v1|%d|5|%s|%s" % (task["task_id"], image_sha,
                                                                                 slot["key"]))}
        rp = dict(tid, frame=5)
        self.assertEqual(self.call("reportFrame", params=rp, token=worker["token"], body=report, expect=200),
                         {"status": "recorded"})
        self.assertEqual(self.call("reportFrame", params=rp, token=worker["token"], body=report, expect=200),
                         {"status": "duplicate"})
        # A report signed by another key is refused.
        forged = dict(report, signature=self.sign(verifier, "inferix-frame-v1|%d|5|%s|%s" % (
            task["task_id"], image_sha, slot["key"])))
        self.call("reportFrame", params=rp, token=worker["token"], body=forged, expect=403)
        self.assertEqual(self.call("completeTask", params=tid, token=worker["token"], body={}, expect=200),
                         {"status": "done"})
        self.call("completeTask", params=tid, token=worker["token"], expect=200)  # idempotent
        detail = self.call("getJob", params={"job_id": job["id"]}, token=alice, expect=200)
        self.assertEqual((detail["frames"][0]["state"], detail["frames"][0]["verdict"]), ("verifying", "pending"))
        self.assertEqual(detail["frames"][0]["output"]["worker"], "worker-1")
        self.assertNotIn("url", detail["frames"][0]["output"])  # not delivered yet
        self.assertEqual((detail["progress"]["rendered"], detail["progress"]["eta_s"], detail["video_url"]),
                         (1, None, None))
        self.call("getJob", params={"job_id": job["id"]}, token=bob, expect=404)

        check = self.call("claimTask", token=verifier["token"], body={"cached": []}, expect=200)
        self.assertEqual((check["kind"], check["frames"]), ("verify", [5]))
        nodes = {n["name"]: n for n in self.call("listNodes", token=bob, expect=200)["nodes"]}
        self.assertEqual((nodes["verifier-1"]["state"], nodes["verifier-1"]["current_task"]),
                         ("busy", {"kind": "verify", "frames": [5], "job_id": None, "job_name": None, "slot": ""}))
        self.assertEqual(nodes["worker-1"]["current_task"], None)
        self.assertEqual((check["output"]["sha256"], check["output"]["node_id"]), (image_sha, worker["id"]))
        path, query = check["output"]["url"].split("?")
        self.assertEqual(self.call("getBlob", path=path, query="?" + query, expect=200), image)
        vid = {"task_id": check["task_id"]}
        # A verify task ends only with a verdict.
        self.call("completeTask", params=vid, token=verifier["token"], body={}, expect=400)
        self.call("failTask", params=vid, token=verifier["token"], body={"error": "no"}, expect=400)
        self.call("reportVerdict", params=vid, token=worker["token"], expect=403,
                  body={"verdict": "accepted", "signature": "00" * 64})
        verdict = {"verdict": "accepted", "detail": "test", "verify_seconds": 0.1,
                   "signature": self.sign(verifier, "inferix-verdict-v1|%d|accepted" % check["task_id"])}
        self.assertEqual(self.call("reportVerdict", params=vid, token=verifier["token"], body=verdict, expect=200),
                         {"status": "recorded"})
        detail = self.call("getJob", params={"job_id": job["id"]}, headers=cookie, expect=200)
        self.assertEqual((detail["state"], detail["owner"]), ("completed", "alice"))
        self.assertEqual((detail["progress"]["rendered"], detail["progress"]["delivered"], detail["progress"]["eta_s"]),
                         (1, 1, None))  # a job that has ended has no estimate
        self.assertEqual((detail["frames"][0]["state"], detail["frames"][0]["verdict"]), ("delivered", "accepted"))
        self.assertEqual(detail["frames"][0]["output"]["verifier"], "verifier-1")
        # A delivered frame's image through a signed URL: bytes to save, never shown as anything else; with a
        # safe `name` it is downloaded as that file.
        path, query = detail["frames"][0]["output"]["url"].split("?")
        self.assertEqual(self.call("getBlob", path=path, query="?" + query, expect=200), image)
        self.assertEqual(self.last_headers["Content-Type"], "application/octet-stream")
        self.assertNotIn("Content-Disposition", self.last_headers)
        self.call("getBlob", path=path, query="?%s&name=frame_0005.png" % query, expect=200)
        self.assertEqual(self.last_headers["Content-Disposition"], 'attachment; filename="frame_0005.png"')
        for bad in ("../x", ".hidden", 'a"b', "a b", "a/b", "a;b", "x" * 201, ""):
            self.call("getBlob", path=path, query="?%s&name=%s" % (query, urllib.parse.quote(bad, safe="")),
                      expect=200)
            self.assertNotIn("Content-Disposition", self.last_headers, bad)
        outputs = self.call("listJobOutputs", params={"job_id": job["id"]}, token=alice, expect=200)
        self.assertEqual([(o["frame"], o["sha256"], o["verdict"]) for o in outputs["outputs"]],
                         [(5, image_sha, "accepted")])
        self.assertIn(outputs["video"], ("pending", "ready", "failed"))  # made on a background thread
        path, query = outputs["outputs"][0]["url"].split("?")
        self.assertEqual(self.call("getBlob", path=path, query="?" + query, expect=200), image)

        # The job's events after its creation, followed (reconnecting with the last id) until its video event.
        story = self.stream(alice, query=job_query, last_id=first_id)
        deadline = time.time() + 120
        while not any(e[1] == "video" for e in story):
            self.assertLess(time.time(), deadline, story)
            story += self.stream(alice, query=job_query, last_id=story[-1][0] if story else first_id)
        self.assertEqual([e[0] for e in story], sorted({e[0] for e in story}))
        self.assertGreater(story[0][0], first_id)
        w = worker["id"]
        # Frame events name the output, the worker and its determinism class; the verdict's carries the method.
        frames = [dict(e[2]) for e in story if e[1] == "frame"]
        # The preview, made on the background thread before the video, is announced.
        self.assertEqual([e[2] for e in story if e[1] == "preview"], [
            {"job_id": job["id"], "frame": 5, "output_id": detail["frames"][0]["output"]["output_id"]}])
        delivered_method = frames[1].pop("method", None)
        self.assertEqual([e[1:] for e in story[:-1] if e[1] == "job"], [
            ("job", {"job_id": job["id"], "state": "active", "message": ""}),
            ("job", {"job_id": job["id"], "state": "completed", "message": ""})])
        common = {"job_id": job["id"], "frame": 5, "worker_id": w, "output_id": detail["frames"][0]["output"]["output_id"],
                  "class": frames[0].get("class")}
        self.assertEqual(frames, [dict(common, state="verifying", verdict="pending"),
                                  dict(common, state="delivered", verdict="accepted")])
        self.assertEqual(delivered_method["level"], 0)  # a new worker: layer 2 with the normal regions
        self.assertEqual(delivered_method["verifier"], "verifier-1")
        video_event = story[-1][2]
        # The per-user stream holds the same events.
        self.assertEqual([e for e in self.stream(alice, last_id=first_id) if e[2]["job_id"] == job["id"]], story)
        # Previews are made before the video (one background thread, in order): both are there now. The video
        # needs FFmpeg on the manager's PATH.
        outputs = self.call("listJobOutputs", params={"job_id": job["id"]}, token=alice, expect=200)
        path, query = outputs["outputs"][0]["preview_url"].split("?")
        preview = self.call("getBlob", path=path, query="?" + query, expect=200)
        self.assertEqual((preview[:8], struct.unpack(">II", preview[16:24])), (image[:8], (5, 3)))  # not scaled up
        self.assertEqual(self.last_headers["Content-Type"], "image/png")  # the manager's own file: shown
        detail = self.call("getJob", params={"job_id": job["id"]}, token=alice, expect=200)
        self.assertEqual(detail["video"], outputs["video"])
        path, query = detail["frames"][0]["output"]["preview_url"].split("?")
        self.assertEqual(self.call("getBlob", path=path, query="?" + query, expect=200), preview)
        if shutil.which("ffmpeg"):
            self.assertEqual(video_event, {"job_id": job["id"], "video": "ready"})
            self.assertEqual(outputs["video"], "ready")
            for video_url in (outputs["video_url"], detail["video_url"]):
                path, query = video_url.split("?")
                self.assertEqual(self.call("getBlob", path=path, query="?" + query, expect=200)[4:8], b"ftyp")
                self.assertEqual(self.last_headers["Content-Type"], "video/mp4")
            self.call("getBlob", path=path, query="?%s&name=shot.mp4" % query, expect=200)
            self.assertEqual(self.last_headers["Content-Disposition"], 'attachment; filename="shot.mp4"')
            self.assertIn(("getBlob", "video/mp4"), self.media_seen)
        else:
            self.assertEqual((video_event["video"], outputs["video"], outputs["video_url"], detail["video_url"]),
                             ("failed", "failed", None, None))
            self.assertIn("ffmpeg", video_event["message"])
        self.assertTrue({("getBlob", "application/octet-stream"), ("getBlob", "image/png")} <= self.media_seen)
        self.call("listJobOutputs", params={"job_id": job["id"]}, token=bob, expect=404)
        self.assertEqual(self.call("cancelJob", params={"job_id": job["id"]}, token=alice, expect=200)["state"],
                         "completed")  # an ended job stays as it is

        # A failed task goes back to the queue; a canceled job's task hears "cancel" on its heartbeat.
        job2 = self.create_job(alice, "two", b"second scene " + os.urandom(16), "1-2", 2, format="EXR")
        first = self.call("claimTask", token=worker["token"], body={"cached": None}, expect=200)
        self.assertEqual((first["job_id"], first["frames"], first["format"]), (job2["id"], [1, 2], "OPEN_EXR"))
        self.assertEqual(self.call("failTask", params={"task_id": first["task_id"]}, token=worker["token"],
                                   body={"error": "boom"}, expect=200), {"status": "failed"})
        again = self.call("claimTask", token=worker["token"], body={}, expect=200)
        self.assertEqual((again["job_id"], again["frames"]), (job2["id"], [1, 2]))
        self.assertNotEqual(again["task_id"], first["task_id"])
        self.assertEqual(self.call("heartbeat", params={"task_id": first["task_id"]}, token=worker["token"],
                                   expect=200), {"action": "abort"})  # that task is over
        # Handed back (its owner needs the machine): no failure counted; the frames go back to the queue.
        self.assertEqual(self.call("releaseTask", params={"task_id": again["task_id"]}, token=worker["token"],
                                   body={"reason": "its owner is using the machine"}, expect=200),
                         {"status": "released"})
        self.call("releaseTask", params={"task_id": again["task_id"]}, token=worker["token"],
                  body={"reason": "again"}, expect=200)  # idempotent
        self.assertEqual([f["failures"] for f in self.call("getJob", params={"job_id": job2["id"]}, token=alice,
                                                          expect=200)["frames"]], [1, 1])
        # A worker that says it takes no work gets none, and the workers page says why; then it takes work again.
        said = self.call("setNodeAvailability", token=worker["token"],
                         body={"availability": "owner busy", "reason": "its owner is using the machine"}, expect=200)
        self.assertEqual(said, {"availability": "owner busy", "reason": "its owner is using the machine"})
        shown = next(n for n in self.call("listNodes", token=alice, expect=200)["nodes"] if n["id"] == worker["id"])
        self.assertEqual((shown["state"], shown["why"]), ("owner busy", "its owner is using the machine"))
        self.call("claimTask", token=worker["token"], body={}, expect=204)
        own = self.call("getOwnNode", token=worker["token"], expect=200)
        self.assertEqual((own["id"], own["state"], own["availability"]), (worker["id"], "owner busy", "owner busy"))
        self.assertNotIn("check_rate", own)
        self.assertNotIn("trusted", {o["verdict"] for o in own["outputs"]})
        # Its owner (alice enrolled it with --owner) sees the same on her "My nodes"; bob, no node of hers.
        mine = self.call("listOwnNodes", token=alice, expect=200)["nodes"]
        self.assertEqual([(n["id"], n["state"], n["reason"]) for n in mine],
                         [(worker["id"], "owner busy", "its owner is using the machine")])
        self.assertEqual(mine[0]["machine"]["cpu_threads"], 2)
        self.assertEqual(self.call("listOwnNodes", token=self.bob, expect=200), {"nodes": []})
        # The books (issue #18): a grant, read back as the user's credits, of one job or all.
        self.net.admin("credits", "grant", "--user", "bob", "--amount", "3")
        self.assertEqual(self.call("getCredits", token=self.bob, expect=200)["available"], 3_000_000)
        self.assertEqual(self.call("getCredits", token=self.bob, query="?job=%d" % job2["id"], expect=200)["postings"],
                         [])
        self.call("getCredits", token=self.bob, query="?job=x", expect=400)
        self.call("setNodeAvailability", token=worker["token"], body={"availability": "asleep"}, expect=400)
        self.call("setNodeAvailability", token=worker["token"], body={"availability": ""}, expect=200)
        again = self.call("claimTask", token=worker["token"], body={}, expect=200)
        self.assertEqual((again["job_id"], again["frames"]), (job2["id"], [1, 2]))
        canceled = self.call("cancelJob", params={"job_id": job2["id"]}, token=alice, body={"why": 1}, expect=200)
        self.assertEqual(canceled["state"], "canceled")
        self.assertEqual(self.call("heartbeat", params={"task_id": again["task_id"]}, token=worker["token"],
                                   expect=200), {"action": "cancel"})
        detail = self.call("getJob", params={"job_id": job2["id"]}, token=alice, expect=200)
        self.assertEqual([(f["state"], f["failures"]) for f in detail["frames"]], [("canceled", 1), ("canceled", 1)])
        self.assertIn("worker-1: boom", detail["frames"][0]["errors"])
        self.assertEqual((detail["fps"], detail["video"]), (24, "none"))  # the default fps; no video when canceled
        # A failed render is not an event; the cancel is.
        self.assertEqual([e[1:] for e in self.stream(alice, query="?job=%d" % job2["id"])], [
            ("job", {"job_id": job2["id"], "state": "queued", "message": ""}),
            ("job", {"job_id": job2["id"], "state": "active", "message": ""}),
            ("job", {"job_id": job2["id"], "state": "canceled", "message": "canceled by alice"})])
        self.call("completeTask", params={"task_id": again["task_id"]}, token=worker["token"], expect=409)

        # A job with a frame delivered and one still open has an estimate of the time left.
        job3 = self.create_job(alice, "three", b"third scene " + os.urandom(16), "1-2", 1)
        self.deliver(job3["id"], 1)
        progress = self.call("getJob", params={"job_id": job3["id"]}, token=alice, expect=200)["progress"]
        self.assertEqual((progress["delivered"], progress["rendered"], progress["queued"]), (1, 1, 1))
        self.assertIsInstance(progress["eta_s"], (int, float))
        self.assertGreaterEqual(progress["eta_s"], 0)
        self.assertEqual(float(progress["eta_s"]).is_integer(), True)  # whole seconds
        self.assertEqual(self.call("cancelJob", params={"job_id": job3["id"]}, headers=dict(
            cookie, Origin=self.net.url), expect=200)["state"], "canceled")  # same origin: the dashboard's own
        self.assertIsNone(self.call("getJob", params={"job_id": job3["id"]}, token=alice, expect=200)
                          ["progress"]["eta_s"])

        # Signing out ends the session; the browser is told to drop the cookie.
        self.assertEqual(self.call("getSession", headers=cookie, expect=200)["signed_in"], True)
        self.assertEqual(self.call("signOut", headers=cookie, expect=200), {"status": "signed out"})
        self.assertEqual(self.last_headers["Set-Cookie"], "inferix_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict")
        self.call("whoami", headers=cookie, expect=401)
        self.assertEqual(self.call("getSession", headers=cookie, expect=200), {"signed_in": False})
        self.call("signOut", headers=cookie, expect=401)

        # Every operation of the spec was answered with a documented success at least once.
        # Parts of a multipart upload exist only with an S3 store (test_s3_uploads.py covers them).
        self.assertEqual(sorted(set(self.ops) - self.succeeded - {"fileUploadPart"}), [])

    def test_credentials_are_required_as_documented(self):
        params = {"job_id": 1, "task_id": 1, "frame": 1, "sha256": "0" * 64, "key": "files/" + "0" * 64}
        user_like_node = "ixn_" + "0" * 64
        session = self.sign_in(self.bob)
        for op_id, (method, path, op) in sorted(self.ops.items()):
            schemes = {name for req in op.get("security", []) for name in req}
            body = {} if self.request_schema(op) is not None else None
            raw = b"x" if self.request_schema(op, "application/octet-stream") is not None else None
            kw = dict(params=params, body=body, raw=raw)
            with self.subTest(op=op_id):
                if schemes == {"userToken", "sessionCookie"}:
                    self.call(op_id, expect=401, **kw)
                    self.call(op_id, token="ixu_" + "0" * 64, expect=401, **kw)
                    self.call(op_id, token=self.worker["token"], expect=401, **kw)
                    self.call(op_id, auth="Basic YWxpY2U6c2VjcmV0", expect=401, **kw)
                    # A session cookie that is not one (forged, garbage, empty) is no credential either.
                    for cookie in ("inferix_session=" + "0" * 64, "a=b; inferix_session=garbage", "inferix_session="):
                        self.call(op_id, headers={"Cookie": cookie}, expect=401, **kw)
                    # A real session from another site's page changes nothing: 403 before the request is read.
                    if method not in ("GET", "HEAD"):
                        for other_site in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                                           {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
                            self.call(op_id, headers=dict(other_site, Cookie=session), expect=403,
                                      code="permission_denied", **kw)
                elif op_id == "getSession":
                    # Never an error: without a live session it says so. The Authorization header is not read.
                    for headers in ({}, {"Cookie": "inferix_session=" + "0" * 64}, {"Cookie": "inferix_session="},
                                    {"Authorization": "Bearer " + self.bob}):
                        self.assertEqual(self.call(op_id, headers=headers, expect=200), {"signed_in": False})
                    me = self.call("whoami", token=self.bob, expect=200)
                    self.assertEqual(self.call(op_id, headers={"Cookie": session}, expect=200),
                                     dict(me, signed_in=True))
                elif op_id == "signIn":
                    for token in ("ixu_" + "0" * 64, self.worker["token"], self.net.enroll("worker"), "", "Bearer " + self.bob):
                        self.call(op_id, body={"token": token}, expect=401)
                        self.assertNotIn("Set-Cookie", self.last_headers)
                    self.call(op_id, body={"token": self.bob}, expect=200)
                elif schemes == {"nodeToken"}:
                    self.call(op_id, expect=401, **kw)
                    self.call(op_id, token=user_like_node, expect=401, **kw)
                    self.call(op_id, token=self.alice, expect=401, **kw)
                    self.call(op_id, auth="Bearer", expect=401, **kw)
                elif schemes == {"signedUrlMethod", "signedUrlExpires", "signedUrlSig"}:
                    key = params["key"]
                    now = int(time.time())
                    self.call(op_id, expect=403, **kw)
                    self.call(op_id, query="?method=%s&expires=%d&sig=%s" % (method, now + 60, "0" * 64),
                              expect=403, **kw)
                    self.call(op_id, query=self.signed_query(method, key, now - 10), expect=403, **kw)  # expired
                    other = "PUT" if method == "GET" else "GET"
                    self.call(op_id, query=self.signed_query(other, key, now + 60), expect=403, **kw)
                    self.call(op_id, query=self.signed_query(method, "files/" + "1" * 64, now + 60), expect=403, **kw)
                    # Correctly signed for an invalid key: 400.
                    self.call(op_id, path="/api/v1/blobs/files/UPPER", query=self.signed_query(method, "files/UPPER",
                                                                                             now + 60),
                              expect=400, **kw)
                    if method == "GET":  # correctly signed, nothing there
                        self.call(op_id, query=self.signed_query("GET", key, now + 60), expect=404, **kw)
                    else:  # correctly signed, empty body
                        self.call(op_id, query=self.signed_query("PUT", key, now + 60), expect=400,
                                  **dict(kw, raw=b""))
                elif op_id == "registerNode":
                    body = {"enrollment_token": "ixe_" + "0" * 64, "name": "n", "role": "worker",
                            "public_key": "a" * 64}
                    self.call(op_id, body=body, expect=401)
                    token = self.net.enroll("verifier")
                    # The wrong role is refused and does not use the token up; the right role does, once.
                    self.call(op_id, body=dict(body, enrollment_token=token), expect=403)
                    self.call(op_id, body=dict(body, enrollment_token=token, role="verifier", name="spare"),
                              expect=201)
                    self.call(op_id, body=dict(body, enrollment_token=token, role="verifier"), expect=401)
                    self.call(op_id, body=dict(body, public_key="A" * 64), expect=400)
                    self.call(op_id, body=dict(body, role="admin"), expect=400)
                    self.call(op_id, body=dict(body, name=""), expect=400)
                elif op_id == "getHealth":
                    self.call(op_id, expect=200)
                else:
                    self.fail("%s: security %s is not covered by this test" % (op_id, sorted(schemes)))

    def test_bad_bodies_are_refused_as_documented(self):
        credentials = {"userToken": self.alice, "nodeToken": self.worker["token"]}
        params = {"job_id": 1, "task_id": 999999, "frame": 1, "sha256": "0" * 64}
        checked = []
        for op_id, (method, path, op) in sorted(self.ops.items()):
            schema = self.request_schema(op)
            if schema is None:
                continue
            if "$ref" in schema:
                schema = resolve(self.spec, schema["$ref"])
            schemes = {name for req in op.get("security", []) for name in req}
            token = self.verifier["token"] if op_id == "reportVerdict" else \
                next((credentials[s] for s in schemes if s in credentials), None)
            kw = dict(params=params, token=token)
            with self.subTest(op=op_id):
                if schema.get("additionalProperties") is not False:
                    # An open schema: the server does not read the body (checked in the protocol test).
                    self.assertEqual(op["requestBody"], {"$ref": "#/components/requestBodies/Ignored"}, op_id)
                    continue
                checked.append(op_id)
                for bad in ({"no_such_field": 1}, [], "text", 5):
                    self.assertTrue(check_schema(self.spec, schema, bad), (op_id, bad))
                    answer = self.call(op_id, body=bad, expect=400, **kw)
                    if isinstance(bad, dict):
                        self.assertIn("unknown field", answer["error"]["message"])
                self.call(op_id, raw=b"{not json", expect=400, **kw)
                if schema.get("required"):
                    self.assertTrue(check_schema(self.spec, schema, {}))
                    self.assertIn("missing field", self.call(op_id, body={}, expect=400, **kw)["error"]["message"])
                    # A field of the wrong type.
                    first = schema["required"][0]
                    field = schema.get("properties", {}).get(first, {})
                    if "$ref" in field:
                        field = resolve(self.spec, field["$ref"])
                    wrong = "text" if field.get("type") == "object" else {"nested": True}
                    self.call(op_id, body={first: wrong}, expect=400, **kw)
        self.assertEqual(sorted(checked), ["checkFiles", "claimTask", "completeFileUpload", "createJob", "failTask",
                                           "fileUploadPart", "frameUploadUrl", "heartbeat", "registerNode",
                                           "releaseTask", "reportFrame", "reportVerdict", "setNodeAvailability",
                                           "signIn", "startFileUpload", "updateNodeCapabilities"])
        # Values the spec's patterns and bounds refuse, the server refuses too.
        good_sha = hashlib.sha256(b"x").hexdigest()
        for op_id, body in (
                ("checkFiles", {"sha256": [good_sha.upper()]}),
                ("checkFiles", {"sha256": ["abc"]}),
                ("createJob", {"name": "n", "main": "a.blend", "frames": "1",
                               "files": [{"path": "a.blend", "sha256": good_sha, "mtime": 1}]}),
                ("createJob", {"name": "n", "main": "a.blend", "frames": "1", "format": "TIFF",
                               "files": [{"path": "a.blend", "sha256": good_sha}]}),
                ("createJob", {"name": "n", "main": "a.blend", "frames": "1", "chunk_size": 0,
                               "files": [{"path": "a.blend", "sha256": good_sha}]}),
                ("createJob", {"name": "", "main": "a.blend", "frames": "1",
                               "files": [{"path": "a.blend", "sha256": good_sha}]}),
                ("createJob", {"name": "n", "main": "a.blend", "frames": "1", "files": []}),
                ("createJob", {"name": "n", "main": "a.blend", "frames": "1", "fps": 0,
                               "files": [{"path": "a.blend", "sha256": good_sha}]}),
                ("createJob", {"name": "n", "main": "a.blend", "frames": "1", "fps": 1000.5,
                               "files": [{"path": "a.blend", "sha256": good_sha}]}),
                ("createJob", {"name": "n", "main": "a.blend", "frames": "1", "fps": "24",
                               "files": [{"path": "a.blend", "sha256": good_sha}]}),
                ("createJob", {"name": "n", "main": "a.blend", "frames": "1", "denoisers": ["NLM"],
                               "files": [{"path": "a.blend", "sha256": good_sha}]}),
                ("createJob", {"name": "n", "main": "a.blend", "frames": "1", "resolution_percentage": 101,
                               "files": [{"path": "a.blend", "sha256": good_sha}]}),
                ("reportVerdict", {"verdict": "maybe", "signature": "00" * 64}),
        ):
            with self.subTest(op=op_id, body=body):
                schema = self.request_schema(self.ops[op_id][2])
                self.assertTrue(check_schema(self.spec, schema, body), (op_id, body))
                token = self.verifier["token"] if op_id == "reportVerdict" else self.alice
                # reportVerdict checks the signature first, then the task (404), then the verdict.
                expect = 403 if op_id == "reportVerdict" else 400
                self.call(op_id, params=params, token=token, body=body, expect=expect)
        # A file that was never uploaded cannot be part of a job.
        self.call("createJob", token=self.alice, expect=400,
                  body={"name": "n", "main": "a.blend", "frames": "1", "files": [{"path": "a.blend",
                                                                                     "sha256": "f" * 64}]})
        # Bad path parameters: a task id that is not a number is 404, a frame that is not one is 400.
        w = self.worker["token"]
        self.call("heartbeat", path="/api/v1/tasks/abc/heartbeat", token=w, expect=404)
        self.call("heartbeat", params={"task_id": 999999}, token=w, expect=404)
        self.call("frameUploadUrl", path="/api/v1/tasks/1/frames/one/upload", token=w, expect=400)
        self.call("getJob", path="/api/v1/jobs/abc", token=self.alice, expect=404)
        self.call("uploadFile", params={"sha256": "0" * 64}, token=self.alice, raw=b"not that", expect=400)
        self.call("uploadFile", params={"sha256": "NOTAHASH"}, token=self.alice, raw=b"x", expect=400)

    def test_what_the_spec_does_not_describe_is_404(self):
        a = self.alice
        for path, token in (("/api/v1/not-in-spec", a), ("/api/v1/jobs/1/frames", a), ("/api/v1/files", a),
                            ("/api/v1/nodes", a), ("/api/v1/sessions", a), ("/api/v1/session/1", a),
                            ("/api/v1/tasks", self.worker["token"]),
                            ("/api/v1/tasks/1/frames/1/upload/again", self.worker["token"]),
                            ("/api/v1/tasks/1/what", self.worker["token"])):
            for method in ("GET", "POST"):
                with self.subTest(path=path, method=method):
                    status, _, raw = self.http(method, path, token=token, body={} if method == "POST" else None)
                    self.assertEqual(status, 404, raw)
                    self.assertEqual(json.loads(raw)["error"]["code"], "not_found")
        # Outside /api/v1/ is the dashboard (info.description): its page and files, any other path 404, and
        # only GET and HEAD.
        for path in ("/api/v2/health", "/api/v1", "/healthz", "/assets/", "/assets/nope.js", "/assets/index.html",
                     "/assets/a/b", "/index.htm", "/health"):
            for method, expect, code in (("GET", 404, "not_found"), ("POST", 400, "invalid_argument"),
                                         ("PUT", 400, "invalid_argument"), ("DELETE", 400, "invalid_argument")):
                with self.subTest(path=path, method=method):
                    status, _, raw = self.http(method, path, token=a, body={} if method in ("POST", "PUT") else None)
                    self.assertEqual(status, expect, raw)
                    self.assertEqual(json.loads(raw)["error"]["code"], code)
        for path in ("/", "/index.html"):
            status, headers, raw = self.http("GET", path)
            self.assertEqual((status, headers["Content-Type"]), (200, "text/html; charset=utf-8"), path)
            self.assertIn(b"<html", raw.lower())
            self.assertEqual(self.http("POST", path, body={})[0], 400)
        # Without credentials an unknown path outside /health, /nodes/register, /tasks and /blobs is 401 (the spec
        # says so in info.description): the manager authenticates before it routes.
        self.assertEqual(self.http("GET", "/api/v1/not-in-spec")[0], 401)
        # Methods the spec does not list on its paths are 404 (with the credentials of the path's operations).
        own_job = self.create_job(a, "for 404s", b"scene for 404s " + os.urandom(8), "1", 1)
        params = {"job_id": own_job["id"], "task_id": 1, "frame": 1, "sha256": "0" * 64}
        templates = []
        for template, item in self.spec["paths"].items():
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
            templates.append((re.compile(pattern), item))
        for template, item in self.spec["paths"].items():
            if template.startswith("/blobs/"):
                continue  # a signed URL names its method: any other is 403 (documented on the path)
            concrete = template.format(**params)
            schemes = {name for m in METHODS if m in item for req in item[m].get("security", []) for name in req}
            token = self.worker["token"] if "nodeToken" in schemes else a
            for method in METHODS:
                if any(p.match(concrete) and method in it for p, it in templates):
                    continue
                with self.subTest(path=concrete, method=method):
                    status, _, raw = self.http(method.upper(), "/api/v1" + concrete, token=token,
                                               body={} if method in ("post", "put", "patch") else None)
                    self.assertEqual(status, 404, raw)
                    self.assertEqual(json.loads(raw)["error"]["code"], "not_found")


if __name__ == "__main__":
    unittest.main()
