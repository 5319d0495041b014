"""Issue #12: scenes as artists make them, through a real network (manager, worker, verifier, real Blender).

The corpus of ../shared/scenes (see its README): Blender files other people made (the glTF-Blender-IO test suite,
saved by Blender 2.78 to 5.2) and a production layout whose shot uses textures, an HDRI and a linked library from
sibling folders. Each scene gets what a user expects: those that can render are delivered equal to plain Blender's
render of the same file (at a reduced size, --resolution-percentage, where the scene is large), the others are
refused at preflight with the right cause, before anything is uploaded, and files saved by newer Blenders are
refused from their header without any Blender opening them. Plus Blender's default Cycles scene (denoising on,
which Debian's Blender cannot do) and a generated project with every kind of dependency: nested libraries, an
image sequence, UDIM tiles and a texture referenced by an absolute path.
"""

import json
import os
import shutil
import subprocess
import time
import unittest

from netlib import SOURCE_DIR, Network, images_match, make_scene


def scenes_dir():
    """The shared corpus: $INFERIX_SCENES_DIR, or ../shared/scenes beside the checkout."""
    for candidate in (os.environ.get("INFERIX_SCENES_DIR"), os.path.join(SOURCE_DIR, "..", "shared", "scenes"),
                      "/work/shared/scenes"):
        if candidate and os.path.isdir(os.path.join(candidate, "gltf")):
            return os.path.abspath(candidate)
    return None


SCENES = scenes_dir()
PERCENT = "10"  # the corpus's 1920x1080 scenes render at 192x108


def png_text(path):
    """The text chunks of a PNG (Blender's metadata: File, Frame, Scene, ...)."""
    import struct
    import zlib
    out = {}
    with open(path, "rb") as f:
        data = f.read()
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            out[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            flag, _method, rest = rest[0], rest[1], rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _translated, _, text = rest.partition(b"\0")
            out[key.decode("latin-1")] = (zlib.decompress(text) if flag else text).decode("utf-8")
        pos += 12 + length
    return out


@unittest.skipIf(SCENES is None, "the shared scene corpus (../shared/scenes) is not beside this checkout")
class SceneCorpusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = Network()
        cls.addClassCleanup(cls.net.cleanup)
        cls.net.start_manager()
        cls.token = cls.net.user_token("artist")
        cls.net.start_node("worker", "worker-1")
        cls.net.start_node("verifier", "verifier-1")
        cls.work = os.path.join(cls.net.dir, "work")
        os.makedirs(cls.work)
        # The client's Blender, which writes down every scene it is asked to open: files saved by newer Blenders
        # must be refused from their header, never opened.
        cls.opened = os.path.join(cls.work, "opened.txt")
        cls.client_blender = os.path.join(cls.work, "client-blender")
        with open(cls.client_blender, "w") as f:
            f.write('#!/bin/sh\nfor a in "$@"; do case "$a" in *.blend) echo "$a" >> "%s";; esac; done\n'
                    'exec /usr/bin/blender "$@"\n' % cls.opened)
        os.chmod(cls.client_blender, 0o755)

    def submit(self, scene, frames, *extra, download=None):
        args = ["submit", scene, "--frames", frames, "--json", "--blender", self.client_blender, *extra]
        if download:
            args += ["--wait", "--download", download]
        r = self.net.cli(self.token, *args, timeout=900)
        try:
            return r.returncode, json.loads(r.stdout) if r.stdout.strip() else {}, r.stderr
        except ValueError:
            self.fail("not JSON: %r %r" % (r.stdout, r.stderr))

    def reference(self, scene, frame, out, percent=None, denoise=True):
        """Plain Blender's render of the frame: what the network must deliver."""
        expr = "import bpy; s = bpy.context.scene"
        if percent:
            expr += "; s.render.resolution_percentage = %s" % percent
        if not denoise:
            expr += "; s.cycles.use_denoising = False"
        path = os.path.join(out, "ref_%04d.png" % frame)
        subprocess.run(["blender", "-b", scene, "-Y", "--factory-startup", "-noaudio", "--python-expr", expr,
                        "-o", os.path.join(out, "ref_####"), "-F", "PNG", "-f", str(frame)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return path

    def assert_renders_as_blender(self, scene, frames, *extra, percent=None, denoise=True):
        name = os.path.splitext(os.path.basename(scene))[0]
        out = os.path.join(self.work, name + "-" + str(len(os.listdir(self.work))))
        code, result, stderr = self.submit(scene, ",".join(str(f) for f in frames), *extra, download=out)
        self.assertEqual(code, 0, "%s: %s %s" % (scene, result, stderr))
        self.assertEqual(result["state"], "completed", result)
        for frame in frames:
            got = os.path.join(out, "%s_%04d.png" % (name, frame))
            ok, report = images_match(self.reference(scene, frame, out, percent, denoise), got)
            self.assertTrue(ok, "%s frame %d differs from plain Blender's:\n%s" % (scene, frame, report))
            # The delivered image names the artist's file, never the worker's folder.
            self.assertEqual(png_text(got).get("File"), os.path.abspath(scene), got)
        return result

    def assert_refused(self, scene, code, words):
        before = self.net.call("GET", "/api/v1/jobs", self.token)[1]["jobs"]
        exit_code, result, _ = self.submit(scene, "1")
        self.assertEqual(exit_code, 2, result)
        message = result["error"]["message"]
        self.assertIn("[%s]" % code, message)
        for w in words:
            self.assertIn(w, message)
        self.assertEqual(self.net.call("GET", "/api/v1/jobs", self.token)[1]["jobs"], before, "nothing was queued")
        return message

    def test_production_layout_renders_from_its_sibling_folders(self):
        scene = os.path.join(SCENES, "project", "shots", "shot.blend")
        result = self.assert_renders_as_blender(scene, [1, 2, 3])
        # Uploaded as they lie: relative to the project folder, nothing moved or packed.
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % result["job_id"], self.token)
        self.assertEqual(job["root"], os.path.join(SCENES, "project"))
        self.assertEqual(job["main"], "shots/shot.blend")
        self.assertEqual(sorted(f["path"] for f in job["files"]),
                         ["lib/props.blend", "shots/shot.blend", "textures/marble.png", "textures/sky.exr",
                          "textures/wood.png"])

    def test_textures_beside_the_scene_cycles(self):
        self.assert_renders_as_blender(os.path.join(SCENES, "gltf", "08_clearcoat.blend"), [1],
                                       "--resolution-percentage", PERCENT, percent=PERCENT)

    def test_eevee_scene(self):
        self.assert_renders_as_blender(os.path.join(SCENES, "gltf", "14_transmission.blend"), [1],
                                       "--resolution-percentage", PERCENT, percent=PERCENT)

    def test_no_camera_is_refused(self):
        self.assert_refused(os.path.join(SCENES, "gltf", "21_scene.blend"), "no_camera", ["no active camera"])

    def test_missing_files_are_named(self):
        self.assert_refused(os.path.join(SCENES, "gltf", "01_missing_textures.blend"), "missing_file",
                            ["MissingTexture.png", "is missing"])
        message = self.assert_refused(os.path.join(SCENES, "gltf", "01_cube.blend"), "missing_file",
                                      ["//../environments/field.hdr", "library", "//../pbr_node/glTF2.blend"])
        self.assertEqual(message.count("[missing_file]"), 2, message)

    def test_newer_blenders_are_refused_from_the_header(self):
        for name, version in (("24_vertex_color_and_factor", "4.2"), ("22_node_groups", "5.2")):
            scene = os.path.join(SCENES, "gltf", name + ".blend")
            self.assert_refused(scene, "newer_blender", ["saved by Blender " + version, "this network has 3.4"])
            opened = open(self.opened).read() if os.path.exists(self.opened) else ""
            self.assertNotIn(scene, opened, "no Blender may open a file saved by a newer one")

    def test_default_cycles_scene_needs_the_users_consent_to_render_without_denoiser(self):
        scene = os.path.join(self.work, "default", "untitled.blend")
        os.makedirs(os.path.dirname(scene))
        subprocess.run(["blender", "-b", "--factory-startup", "-noaudio", "--python-exit-code", "1",
                        "--python-expr", "import bpy; bpy.context.scene.render.engine = 'CYCLES'; "
                        "bpy.ops.wm.save_as_mainfile(filepath=%r)" % scene],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.assert_refused(scene, "denoiser", ["OpenImageDenoise", "no worker of this network has",
                                                "--without-denoiser"])
        result = self.assert_renders_as_blender(scene, [1], "--without-denoiser", "--resolution-percentage",
                                                PERCENT, percent=PERCENT, denoise=False)
        self.assertIn("denoising off", " ".join(w["message"] for w in result["warnings"]))
        # Not one failed render on the way.
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % result["job_id"], self.token)
        self.assertEqual([f.get("failures", 0) for f in job["frames"]], [0])
        self.assertTrue(job["without_denoiser"])

    def test_every_kind_of_dependency_from_anywhere(self):
        # Nested libraries, an image sequence, UDIM tiles, and a texture referenced by an absolute path outside
        # the project: each one shows in the frames.
        made = os.path.join(self.work, "made")
        subprocess.run(["blender", "-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python",
                        os.path.join(SOURCE_DIR, "tests", "data", "scenes", "make_project.py"), "--", made],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        scene = os.path.join(made, "proj", "shots", "shot.blend")
        result = self.assert_renders_as_blender(scene, [1, 2, 3])
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % result["job_id"], self.token)
        self.assertEqual(job["root"], made)
        self.assertEqual(sorted(f["path"] for f in job["files"]),
                         ["assets/sky.png", "proj/lib/props.blend", "proj/lib/set.blend", "proj/shots/shot.blend",
                          "proj/tex/seq/f_0001.png", "proj/tex/seq/f_0002.png", "proj/tex/seq/f_0003.png",
                          "proj/tex/udim.1001.png", "proj/tex/udim.1002.png"])
        # The same project with one UDIM tile gone: refused, naming the tile.
        os.remove(os.path.join(made, "proj", "tex", "udim.1002.png"))
        self.assert_refused(scene, "missing_file", ["image udim.1001.png", "udim.1002.png"])
        shutil.rmtree(made)


NEWER_BLENDER = """#!/bin/sh
# A worker's second Blender build, for tests: it says it is 3.6.0 and otherwise is this machine's Blender; it marks
# each scene it opens in Blender's log (stderr), so the test sees which build rendered.
if [ "$1" = "--version" ]; then echo "Blender 3.6.0"; exit 0; fi
echo "INFERIX-TEST-BUILD-3.6 $*" >&2
exec /usr/bin/blender "$@"
"""


class BlenderBuildsTest(unittest.TestCase):
    """A worker lends two Blender builds; a scene saved by the newer one goes only to a worker that has it and is
    rendered, and verified, with that build."""

    @classmethod
    def setUpClass(cls):
        cls.net = Network()
        cls.addClassCleanup(cls.net.cleanup)
        cls.net.start_manager()
        cls.token = cls.net.user_token("artist")
        cls.newer = os.path.join(cls.net.dir, "blender-3.6", "blender")
        os.makedirs(os.path.dirname(cls.newer))
        with open(cls.newer, "w") as f:
            f.write(NEWER_BLENDER)
        os.chmod(cls.newer, 0o755)
        cls.net.start_node("worker", "old-worker")  # Debian's Blender only
        cls.net.start_node("worker", "two-builds", blender="/usr/bin/blender", extra=("--blender", cls.newer))
        cls.net.start_node("verifier", "verifier-3.6", blender=cls.newer)
        cls.net.start_node("verifier", "verifier-3.4")

    def submit(self, scene):
        r = self.net.cli(self.token, "submit", scene, "--frames", "1-4", "--chunk", "1", "--wait", "--json",
                         "--blender", self.newer, timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        status, job = self.net.call("GET", "/api/v1/jobs/%d" % json.loads(r.stdout)["job_id"], self.token)
        return job

    def workers(self):
        status, body = self.net.call("GET", "/api/v1/workers", self.token)
        return {n["name"]: n for n in body["nodes"]}

    def test_a_scene_goes_to_a_build_as_new_as_the_blender_that_saved_it(self):
        # Both builds are described, with versions and denoisers, never paths. A worker's first start probes each
        # build's engines (a few seconds each, more on a loaded machine) before it registers.
        deadline = time.time() + 180
        builds = []
        while time.time() < deadline:
            builds = self.workers().get("two-builds", {}).get("capabilities", {}).get("blenders", [])
            if len(builds) == 2:
                break
            time.sleep(0.2)
        self.assertEqual([b["version"] for b in builds], ["3.4.1", "3.6.0"])
        self.assertNotIn(self.newer, json.dumps(builds))
        scene = os.path.join(self.net.dir, "saved-by-3.6.blend")
        make_scene(os.path.join(self.net.dir, "base.blend"), frames=4, width=64, height=48, samples=4)
        with open(os.path.join(self.net.dir, "base.blend"), "rb") as f:
            data = f.read()
        self.assertEqual(data[:12], b"BLENDER-v304")
        with open(scene, "wb") as f:
            f.write(data[:9] + b"306" + data[12:])  # as if Blender 3.6 had saved it
        job = self.submit(scene)
        self.assertEqual((job["state"], job["blender_version"]), ("completed", "3.6"))
        for frame in job["frames"]:
            self.assertEqual(frame["output"]["worker"], "two-builds", frame)
            self.assertEqual(frame["output"]["class"], "blender 3.6.0 / %s / cpu" % os.uname().machine, frame)
            self.assertEqual((frame["verdict"], frame["output"]["verifier"]), ("accepted", "verifier-3.6"), frame)
        # Rendered by the 3.6 build: its mark is in the worker's Blender log for the job.
        with open(os.path.join(self.net.node_dir("two-builds"), "jobs", str(job["id"]), "blender.log"),
                  errors="replace") as f:
            self.assertIn("INFERIX-TEST-BUILD-3.6", f.read())
        # A scene saved by 3.4 may go to either worker; on the one with two builds, its 3.4 build renders it.
        job = self.submit(os.path.join(self.net.dir, "base.blend"))
        self.assertEqual((job["state"], job["blender_version"]), ("completed", "3.4"))
        for frame in job["frames"]:
            self.assertTrue(frame["output"]["class"].startswith("blender 3.4.1 /"), frame)


if __name__ == "__main__":
    unittest.main()
