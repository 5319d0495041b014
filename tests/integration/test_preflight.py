"""Issue #3: preflight stops a scene that cannot render at submission, with a message that names the cause."""

import gzip
import hashlib
import os
import subprocess
import time
import unittest

from netlib import SOURCE_DIR, Network, make_scene

CASES = os.path.join(SOURCE_DIR, "tests", "data", "preflight", "make_case.py")


class PreflightTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = Network()
        cls.scenes = os.path.join(cls.net.dir, "scenes")
        os.makedirs(cls.scenes)
        cls.base = make_scene(os.path.join(cls.scenes, "base.blend"), frames=2, samples=4)
        cls.net.start_manager()
        cls.token = cls.net.user_token("erin")
        # A registered worker with Blender 3.4, so the scene's version is compared with it.
        status, body = cls.net.call("POST", "/api/v1/nodes/register", body={
            "enrollment_token": cls.net.enroll("worker"), "name": "w", "role": "worker", "public_key": "ab" * 32,
            "capabilities": {"blender_version": "3.4.1"}})
        assert status == 201, body

    @classmethod
    def tearDownClass(cls):
        cls.net.cleanup()

    def case(self, name):
        out = os.path.join(self.scenes, name + ".blend")
        subprocess.run(["blender", "-b", self.base, "--factory-startup", "-noaudio", "--python-exit-code", "1",
                        "--python", CASES, "--", name, out], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return out

    def submit(self, scene):
        return self.net.cli(self.token, "submit", scene, "--frames", "1-2", timeout=120)

    def assert_refused(self, scene, code, words):
        r = self.submit(scene)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("[%s]" % code, r.stderr)
        for w in words:
            self.assertIn(w, r.stderr)
        self.assertEqual(r.stdout, "")  # no job id: nothing was queued
        status, body = self.net.call("GET", "/api/v1/jobs", self.token)
        self.assertNotIn(os.path.basename(scene), [j["name"] for j in body["jobs"]])

    def test_not_a_blend(self):
        path = os.path.join(self.scenes, "picture.blend")
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        self.assert_refused(path, "not_blend", ["is not a .blend file"])

    def test_unreadable(self):
        path = os.path.join(self.scenes, "truncated.blend")
        with open(self.base, "rb") as f:
            head = f.read(4000)
        with open(path, "wb") as f:
            f.write(head)
        self.assert_refused(path, "unreadable", ["cannot be read", "truncated or damaged", "save it again"])

    def test_no_camera(self):
        self.assert_refused(self.case("no_camera"), "no_camera", ["no active camera"])

    def test_newer_blender(self):
        path = os.path.join(self.scenes, "newer.blend")
        with open(self.base, "rb") as f:
            data = f.read()
        self.assertEqual(data[:12], b"BLENDER-v304")
        with open(path, "wb") as f:
            f.write(data[:9] + b"306" + data[12:])  # as if saved by Blender 3.6
        self.assert_refused(path, "newer_blender", ["saved by Blender 3.6", "this network has 3.4.1"])

    def test_missing_file(self):
        self.assert_refused(self.case("missing_file"), "missing_file", ["textures/wood.png", "is missing"])

    def test_windows_paths_are_named_as_such(self):
        # A scene made on Windows: its drive and network paths name nothing here.
        self.assert_refused(self.case("windows_path"), "missing_file",
                            ["image wood", "C:/Users/artist/textures/wood.png", "a Windows path",
                             "/c/Users/artist/textures/wood.png", "Find Missing Files"])
        self.assert_refused(self.case("unc_path"), "missing_file",
                            ["image wood", "studio-nas", "a Windows network path"])

    def test_private_and_system_files_are_never_uploaded(self):
        # A downloaded scene that points at a file in a hidden folder (as ~/.ssh/id_ed25519 would be) or at the
        # system's own files: refused, and nothing is uploaded.
        self.assert_refused(self.case("private_file"), "private_file", [".private/key.png", "hidden folder"])
        self.assert_refused(self.case("system_file"), "system_file", ["/etc/hostname", "system folders"])
        with open("/etc/hostname", "rb") as f:
            system_sha = hashlib.sha256(f.read()).hexdigest()
        status, body = self.net.call("POST", "/api/v1/files/check", self.token, body={"sha256": [system_sha]})
        self.assertEqual(status, 200)
        self.assertEqual(len(body["missing"]), 1, "the system file was not uploaded")

    def test_a_missing_sound_is_a_warning(self):
        # The frames do not need the sound: the job goes ahead, and the user is told.
        r = self.submit(self.case("missing_sound"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("warning: [missing_file] sound music.wav: //music.wav", r.stderr)
        self.assertIn("the frames do not need it", r.stderr)
        self.net.cli(self.token, "cancel", r.stdout.split()[0])

    def test_unbaked_cache(self):
        self.assert_refused(self.case("unbaked_cache"), "unbaked_cache", ["Cloth", "not baked"])

    def test_python_driver(self):
        self.assert_refused(self.case("python_driver"), "python_driver", ["Python drivers", "getpid"])

    def test_plain_gzip_and_zstd_blends_are_accepted(self):
        gz = os.path.join(self.scenes, "gz.blend")
        with open(self.base, "rb") as f, open(gz, "wb") as out:
            out.write(gzip.compress(f.read()))
        zstd = self.case("compressed")
        with open(zstd, "rb") as f:
            self.assertEqual(f.read(4), b"\x28\xb5\x2f\xfd")
        for scene in (self.base, gz, zstd):
            r = self.submit(scene)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            job_id = int(r.stdout.split()[0])
            self.net.cli(self.token, "cancel", str(job_id))


class EnginePreflightTest(unittest.TestCase):
    """Issue #17: a scene whose render engine no registered worker renders is refused at preflight, before anything
    is uploaded, with a message that names the engine and what the workers render; a worker that renders it makes
    the scene welcome. The first worker is real, lending Cycles only (--engines): it advertises what its Blender
    renders here (a probe at its first start) less what its owner withholds."""

    @classmethod
    def setUpClass(cls):
        cls.net = Network()
        cls.scenes = os.path.join(cls.net.dir, "scenes")
        os.makedirs(cls.scenes)
        cls.eevee = make_scene(os.path.join(cls.scenes, "eevee.blend"), frames=1, width=32, height=24, samples=4,
                               extra=("--engine", "BLENDER_EEVEE"))
        cls.net.start_manager()
        cls.token = cls.net.user_token("erin")
        cls.net.start_node("worker", "cycles-only", extra=("--engines", "CYCLES"))
        deadline = time.time() + 300  # the first start on a machine asks Blender (about 7 s of CPU)
        cls.caps = None
        while cls.caps is None and time.time() < deadline:
            status, body = cls.net.call("GET", "/api/v1/workers", cls.token)
            cls.caps = next((n["capabilities"] for n in body.get("nodes", []) if n.get("name") == "cycles-only"),
                            None)
            time.sleep(0.5)
        assert cls.caps is not None, cls.net.log("cycles-only")

    @classmethod
    def tearDownClass(cls):
        cls.net.cleanup()

    def test_an_engine_no_worker_renders_is_refused_before_upload(self):
        self.assertEqual(self.caps["engines"], ["CYCLES"])
        self.assertEqual(self.caps["blenders"][0]["engines"], ["CYCLES"])
        scenes = [self.eevee]
        corpus = os.path.join(SOURCE_DIR, "..", "shared", "scenes", "gltf", "14_transmission.blend")
        if os.path.exists(corpus):
            scenes.append(corpus)  # the corpus's Eevee scene
        for scene in scenes:
            r = self.net.cli(self.token, "submit", scene, "--frames", "1", timeout=120)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn("[engine] the scene renders with Eevee (BLENDER_EEVEE), which no worker of this network "
                          "renders (they render Cycles)", " ".join(r.stderr.split()))
            self.assertEqual(r.stdout, "")
        status, body = self.net.call("GET", "/api/v1/jobs", self.token)
        self.assertEqual(body["jobs"], [])  # nothing was queued

        # A worker whose Blender renders Eevee registers: the scene is taken, and only such workers render it.
        engines = ["CYCLES", "BLENDER_WORKBENCH", "BLENDER_EEVEE"]
        status, node = self.net.call("POST", "/api/v1/nodes/register", body={
            "enrollment_token": self.net.enroll("worker"), "name": "eevee", "role": "worker", "public_key": "ab" * 32,
            "capabilities": {"blender_version": self.caps["blender_version"], "engines": engines,
                             "blenders": [{"version": self.caps["blender_version"], "engines": engines}]}})
        self.assertEqual(status, 201, node)
        r = self.net.cli(self.token, "submit", self.eevee, "--frames", "1", timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job_id = int(r.stdout.split()[0])
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % job_id, self.token)
        self.assertEqual(job["engine"], "BLENDER_EEVEE")
        self.net.cli(self.token, "cancel", str(job_id))


if __name__ == "__main__":
    unittest.main()
