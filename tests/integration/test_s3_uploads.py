"""Issue #15: scene files go straight to the object store; the manager carries no scene bytes with S3.

A real manager with --blobs s3://... on the RADOS Gateway of the `s3` ctest fixture ($INFERIX_TEST_S3), the real
CLI, and raw HTTP where a test must send what no honest client sends. Each test uses bytes of its own, so the
shared bucket never holds them before (keys are content-addressed: files/<sha256>).
"""

import hashlib
import http.server
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engines"))
import engines  # noqa: E402  pylint: disable=wrong-import-position
from netlib import INFERIX, Network, engine_info  # noqa: E402  pylint: disable=wrong-import-position

PROJECT = "/work/shared/scenes/project"
for candidate in (os.environ.get("INFERIX_SCENES_DIR"),
                  os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "scenes")):
    if candidate and os.path.isdir(os.path.join(candidate, "project")):
        PROJECT = os.path.join(os.path.abspath(candidate), "project")
NO_CORPUS = "the shared scene corpus (../shared/scenes) is not beside this checkout"
MiB = 1 << 20


def addon_client():
    """The Blender add-on's client.py (no bpy needed), as a plain module."""
    spec = importlib.util.spec_from_file_location(
        "inferix_addon_client", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "addon",
                                             "inferix", "client.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def put(url, body, headers):
    """A PUT straight to the object store; (status, body)."""
    req = urllib.request.Request(url, data=body, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


class S3UploadsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.info = engine_info("INFERIX_TEST_S3")
        if cls.info is None:
            raise unittest.SkipTest("set INFERIX_TEST_S3 to an s3.json of tests/engines/engines.py "
                                    "(ctest's `s3` fixture does)")
        cls.s3 = engines.s3_client(cls.info)
        cls.addClassCleanup(cls.s3.close)
        os.environ["AWS_ACCESS_KEY_ID"] = cls.info["access_key"]
        os.environ["AWS_SECRET_ACCESS_KEY"] = cls.info["secret_key"]
        cls.net = Network()
        cls.addClassCleanup(cls.net.cleanup)
        blobs = "s3://%s?endpoint=%s&region=%s" % (cls.info["bucket"], cls.info["endpoint"], cls.info["region"])
        # A request body over 64 KiB is refused (413) by this manager: scene files (the .blend files are ~500 KB)
        # can only have reached the store past it.
        cls.net.start_manager(["--blobs", blobs, "--multipart-threshold-mb", "5", "--quota-stored-bytes",
                               str(100 * MiB), "--max-body-bytes", str(64 * 1024)])
        cls.token = cls.net.user_token("artist")

    def stored(self, sha):
        """The object under files/<sha> (its bytes), or None."""
        try:
            return self.s3.get_object(Bucket=self.info["bucket"], Key="files/" + sha)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def missing(self, token, *hashes):
        status, body = self.net.call("POST", "/api/v1/files/check", token, {"sha256": list(hashes)})
        self.assertEqual(status, 200, body)
        return body["missing"]

    def manager_took_no_scene_bytes(self):
        """The manager refuses a scene body (--max-body-bytes 64 KiB): what the store holds went past it."""
        data = os.urandom(100_000)
        status, _ = self.net.call("PUT", "/api/v1/files/" + hashlib.sha256(data).hexdigest(), self.token, body=data)
        self.assertEqual(status, 413)

    @unittest.skipUnless(os.path.isdir(PROJECT), NO_CORPUS)
    def test_a_scene_of_several_files_goes_straight_to_the_store(self):
        # The corpus's production layout with one file of this test's own, so that at least one is new to the
        # bucket (the others may be there from another run: each user still shows the bytes, to a staged key).
        project = os.path.join(self.net.dir, "project-several")
        shutil.copytree(PROJECT, project, copy_function=shutil.copyfile)
        with open(os.path.join(project, "textures", "wood.png"), "ab") as f:
            f.write(os.urandom(64))
        r = self.net.cli(self.token, "submit", os.path.join(project, "shots", "shot.blend"), "--frames", "1",
                         "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job_id = json.loads(r.stdout)["job_id"]
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % job_id, self.token)
        self.assertEqual(status, 200, job)
        self.assertEqual(len(job["files"]), 5)
        for f in job["files"]:
            with open(os.path.join(project, f["path"]), "rb") as local:
                self.assertEqual(self.stored(f["sha256"]), local.read(), f["path"])
        self.assertEqual(self.missing(self.token, *[f["sha256"] for f in job["files"]]), [])
        # Nothing was left under uploads/ by these files.
        for f in job["files"]:
            listed = self.s3.list_objects_v2(Bucket=self.info["bucket"], Prefix="uploads/" + f["sha256"] + "/")
            self.assertEqual(listed.get("KeyCount", 0), 0, f["path"])
        self.manager_took_no_scene_bytes()

    def test_a_body_that_differs_from_its_digest_is_refused_by_the_store_and_not_recorded(self):
        data = os.urandom(50_000)
        sha = hashlib.sha256(data).hexdigest()
        status, answer = self.net.call("POST", "/api/v1/files/%s/upload" % sha, self.token, {"size": len(data)})
        self.assertEqual(status, 200, answer)
        self.assertFalse(answer["have"])
        self.assertTrue(answer["url"].startswith(self.info["endpoint"]), answer)
        other = os.urandom(len(data))
        code, body, _ = put(answer["url"], other, answer["headers"])
        self.assertEqual(code // 100, 4, body)  # the store checked the signed digest
        status, done = self.net.call("POST", "/api/v1/files/%s/complete" % sha, self.token, {"key": answer["key"]})
        self.assertEqual(status, 404, done)
        self.assertEqual(self.missing(self.token, sha), [sha])
        self.assertIsNone(self.stored(sha))
        # Without the headers the URL signs, the store refuses even the right body.
        code, body, _ = put(answer["url"], data, {})
        self.assertEqual(code, 403, body)
        # The right body with the headers passes, and completing records it.
        code, body, _ = put(answer["url"], data, answer["headers"])
        self.assertEqual(code, 200, body)
        status, done = self.net.call("POST", "/api/v1/files/%s/complete" % sha, self.token, {"key": answer["key"]})
        self.assertEqual(status, 201, done)
        self.assertEqual(done["size"], len(data))
        self.assertEqual(self.missing(self.token, sha), [])

    @unittest.skipUnless(os.path.isdir(PROJECT), NO_CORPUS)
    def test_a_file_over_the_threshold_goes_in_parts_through_the_cli(self):
        project = os.path.join(self.net.dir, "project-large")
        shutil.copytree(PROJECT, project, copy_function=shutil.copyfile)
        large = os.urandom(11 * MiB)
        with open(os.path.join(project, "textures", "sky.exr"), "wb") as f:
            f.write(large)
        sha = hashlib.sha256(large).hexdigest()
        r = self.net.cli(self.token, "submit", os.path.join(project, "shots", "shot.blend"), "--frames", "1",
                         "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.missing(self.token, sha), [])
        self.assertEqual(self.stored(sha), large)
        head = self.s3.head_object(Bucket=self.info["bucket"], Key="files/" + sha)
        self.assertEqual(head["Metadata"].get("sha256"), sha)
        self.assertIn("-", head["ETag"], "a multipart object")
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.info["bucket"], Prefix="uploads/" + sha + "/")
                         .get("KeyCount", 0), 0, "the staged upload is removed")
        self.manager_took_no_scene_bytes()

    def multipart(self, data, claimed_sha):
        """Uploads `data` in parts as the upload of `claimed_sha`; returns the completion's (status, body)."""
        status, answer = self.net.call("POST", "/api/v1/files/%s/upload" % claimed_sha, self.token,
                                       {"size": len(data)})
        self.assertEqual(status, 200, answer)
        mp = answer["multipart"]
        self.assertEqual(mp["part_size"], 5 * MiB)
        self.assertEqual(mp["parts"], 3)
        parts = []
        for number in range(1, mp["parts"] + 1):
            chunk = data[(number - 1) * mp["part_size"]:number * mp["part_size"]]
            status, part = self.net.call("POST", "/api/v1/files/%s/part" % claimed_sha, self.token,
                                         {"key": mp["key"], "upload_id": mp["upload_id"], "number": number,
                                          "sha256": hashlib.sha256(chunk).hexdigest()})
            self.assertEqual(status, 200, part)
            if number == 1:
                # The part's URL signs its digest: the store refuses another body.
                code, body, _ = put(part["url"], os.urandom(len(chunk)), part["headers"])
                self.assertEqual(code // 100, 4, body)
            code, body, headers = put(part["url"], chunk, part["headers"])
            self.assertEqual(code, 200, body)
            parts.append({"number": number, "etag": headers["ETag"]})
        return self.net.call("POST", "/api/v1/files/%s/complete" % claimed_sha, self.token,
                             {"key": mp["key"], "upload_id": mp["upload_id"], "parts": parts})

    def test_parts_that_join_into_other_bytes_are_deleted_and_not_recorded(self):
        data = os.urandom(11 * MiB)
        claimed = hashlib.sha256(os.urandom(32)).hexdigest()
        status, body = self.multipart(data, claimed)
        self.assertEqual(status, 400, body)
        self.assertIn("nothing was stored", body["error"]["message"])
        self.assertEqual(self.missing(self.token, claimed), [claimed])
        self.assertIsNone(self.stored(claimed))
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.info["bucket"], Prefix="uploads/" + claimed + "/")
                         .get("KeyCount", 0), 0)
        # The same parts under their own digest are recorded; a repeated completion is answered the same.
        sha = hashlib.sha256(data).hexdigest()
        status, body = self.multipart(data, sha)
        self.assertEqual(status, 201, body)
        self.assertEqual(self.missing(self.token, sha), [])
        self.assertEqual(self.stored(sha), data)

    def test_joined_parts_whose_check_never_ran_do_not_pass_for_a_checked_upload(self):
        data = os.urandom(6 * MiB)
        claimed = hashlib.sha256(os.urandom(32)).hexdigest()
        status, answer = self.net.call("POST", "/api/v1/files/%s/upload" % claimed, self.token, {"size": len(data)})
        self.assertEqual(status, 200, answer)
        mp = answer["multipart"]
        # The parts joined behind the manager's back (as if it stopped before its check): the staged object is there.
        bucket = self.info["bucket"]
        etag = self.s3.upload_part(Bucket=bucket, Key=mp["key"], UploadId=mp["upload_id"], PartNumber=1,
                                   Body=data)["ETag"]
        self.s3.complete_multipart_upload(Bucket=bucket, Key=mp["key"], UploadId=mp["upload_id"],
                                          MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        status, body = self.net.call("POST", "/api/v1/files/%s/complete" % claimed, self.token, {"key": mp["key"]})
        self.assertEqual(status, 404, body)
        self.assertEqual(self.missing(self.token, claimed), [claimed])
        self.assertIsNone(self.stored(claimed))
        # Completing it as the multipart upload it is runs the check, which deletes it.
        status, body = self.net.call("POST", "/api/v1/files/%s/complete" % claimed, self.token,
                                     {"key": mp["key"], "upload_id": mp["upload_id"],
                                      "parts": [{"number": 1, "etag": etag}]})
        self.assertEqual(status, 400, body)
        self.assertIsNone(self.stored(claimed))
        self.assertEqual(self.s3.list_objects_v2(Bucket=bucket, Prefix="uploads/" + claimed + "/")
                         .get("KeyCount", 0), 0)

    def test_the_quota_refuses_an_upload_over_it_before_any_byte(self):
        sha = hashlib.sha256(b"too large").hexdigest()
        status, body = self.net.call("POST", "/api/v1/files/%s/upload" % sha, self.token, {"size": 101 * MiB})
        self.assertEqual(status, 403, body)
        self.assertIn("quota", body["error"]["message"])
        listed = self.s3.list_objects_v2(Bucket=self.info["bucket"], Prefix="uploads/" + sha + "/")
        self.assertEqual(listed.get("KeyCount", 0), 0)
        uploads = self.s3.list_multipart_uploads(Bucket=self.info["bucket"], Prefix="uploads/" + sha + "/")
        self.assertEqual(uploads.get("Uploads", []), [])

    def test_a_file_the_store_holds_is_still_shown_by_the_next_user_to_a_staged_key(self):
        data = os.urandom(3000)
        sha = hashlib.sha256(data).hexdigest()
        for token in (self.token, self.net.user_token("second")):
            status, answer = self.net.call("POST", "/api/v1/files/%s/upload" % sha, token, {"size": len(data)})
            self.assertEqual(status, 200, answer)
            code, body, _ = put(answer["url"], data, answer["headers"])
            self.assertEqual(code, 200, body)
            status, done = self.net.call("POST", "/api/v1/files/%s/complete" % sha, token, {"key": answer["key"]})
            self.assertEqual(status, 201, done)
            self.assertEqual(self.missing(token, sha), [])
        self.assertTrue(answer["key"].startswith("uploads/%s/" % sha), answer)  # the second user's
        self.assertEqual(self.stored(sha), data)
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.info["bucket"], Prefix="uploads/" + sha + "/")
                         .get("KeyCount", 0), 0, "the staged copy is removed")

    def test_the_addon_uploads_straight_to_the_store_in_parts_and_whole(self):
        api = addon_client().Api(self.net.url, self.token)
        for size in (11 * MiB, 4000):
            data = os.urandom(size)
            sha = hashlib.sha256(data).hexdigest()
            path = os.path.join(self.net.dir, "addon-%d.bin" % size)
            with open(path, "wb") as f:
                f.write(data)
            api.upload_file(sha, path)
            self.assertEqual(api.missing_files([sha]), [])
            self.assertEqual(self.stored(sha), data)
        self.manager_took_no_scene_bytes()

    def test_completing_another_users_upload_is_refused(self):
        data = os.urandom(1000)
        sha = hashlib.sha256(data).hexdigest()
        other = self.net.user_token("other")
        status, answer = self.net.call("POST", "/api/v1/files/%s/upload" % sha, self.token, {"size": len(data)})
        self.assertEqual(status, 200, answer)
        staged = "uploads/%s/999_ab" % sha
        status, body = self.net.call("POST", "/api/v1/files/%s/complete" % sha, other, {"key": staged})
        self.assertEqual(status, 400, body)


def older_manager(url):
    """A proxy to the manager at `url` that answers 404 to POST /files/{sha256}/upload, as a manager older than
    the route does; returns (server, its URL, the paths it forwarded)."""
    forwarded = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def forward(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            forwarded.append((self.command, self.path))
            if self.command == "POST" and self.path.endswith("/upload"):
                status, headers, answer = 404, {"Content-Type": "application/json"}, b'{"error":{"code":"not_found",' \
                    b'"message":"no such route"}}'
            else:
                req = urllib.request.Request(url + self.path, data=body if body else None, method=self.command,
                                             headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                try:
                    with urllib.request.urlopen(req, timeout=60) as r:
                        status, headers, answer = r.status, dict(r.headers), r.read()
                except urllib.error.HTTPError as e:
                    status, headers, answer = e.code, dict(e.headers), e.read()
            self.send_response(status)
            for k, v in headers.items():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_DELETE = forward

        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d" % server.server_address[1], forwarded


class FileAdapterUploadsTest(unittest.TestCase):
    """With the file adapter the answer names the manager's own PUT, which works as before."""

    @classmethod
    def setUpClass(cls):
        cls.net = Network()
        cls.addClassCleanup(cls.net.cleanup)
        cls.net.start_manager()
        cls.token = cls.net.user_token("artist")

    def test_the_answer_names_the_managers_put_and_the_older_put_still_works(self):
        data = os.urandom(2000)
        sha = hashlib.sha256(data).hexdigest()
        status, answer = self.net.call("POST", "/api/v1/files/%s/upload" % sha, self.token, {"size": len(data)})
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["url"], "/api/v1/files/" + sha)
        self.assertFalse(answer["complete"])
        status, body = self.net.call("PUT", answer["url"], self.token, body=data)
        self.assertEqual(status, 201, body)
        status, body = self.net.call("POST", "/api/v1/files/check", self.token, {"sha256": [sha]})
        self.assertEqual(body["missing"], [])
        status, answer = self.net.call("POST", "/api/v1/files/%s/upload" % sha, self.token, {"size": len(data)})
        self.assertEqual((status, answer["have"]), (200, True))
        status, body = self.net.call("POST", "/api/v1/files/%s/complete" % sha, self.token,
                                     {"key": "files/" + sha})
        self.assertEqual(status, 201, body)  # the user has it: nothing to do

    @unittest.skipUnless(os.path.isdir(PROJECT), NO_CORPUS)
    def test_the_cli_falls_back_to_the_old_put_with_an_older_manager(self):
        server, url, forwarded = older_manager(self.net.url)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        project = os.path.join(self.net.dir, "project-older")
        shutil.copytree(PROJECT, project, copy_function=shutil.copyfile)
        with open(os.path.join(project, "textures", "wood.png"), "ab") as f:
            f.write(os.urandom(64))
        env = dict(os.environ, INFERIX_MANAGER=url, INFERIX_TOKEN=self.token)
        r = subprocess.run([INFERIX, "submit", os.path.join(project, "shots", "shot.blend"), "--frames", "1",
                            "--json"], capture_output=True, text=True, env=env, timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        puts = [p for m, p in forwarded if m == "PUT" and p.startswith("/api/v1/files/")]
        self.assertEqual(len(puts), 5, forwarded)
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % json.loads(r.stdout)["job_id"], self.token)
        self.assertEqual((status, len(job["files"])), (200, 5), job)
        # The add-on falls back the same way.
        data = os.urandom(5000)
        sha = hashlib.sha256(data).hexdigest()
        path = os.path.join(self.net.dir, "addon-older.bin")
        with open(path, "wb") as f:
            f.write(data)
        api = addon_client().Api(url, self.token)
        api.upload_file(sha, path)
        self.assertIn(("PUT", "/api/v1/files/" + sha), forwarded)
        self.assertEqual(api.missing_files([sha]), [])


if __name__ == "__main__":
    unittest.main()
