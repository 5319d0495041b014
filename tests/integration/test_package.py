"""Issue #17: the Debian package (scripts/build-package.sh, docs/packaging.md) on this machine: built from this
build's binary, installed with apt, its files, user and systemd units checked; a manager, a verifier and a worker
started as their units start them (the installed binary as the inferix user, the unit's ExecStart, Environment=,
EnvironmentFile= and capability settings) render and deliver a frame; then purged, and nothing of it is left.

It needs root (CI runs as root) and a machine without Inferix installed, and it installs nothing else: it is
skipped, saying why, otherwise. Whatever happens, its cleanups stop what it started and purge the package."""

import json
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import zipfile

from netlib import INFERIX, SOURCE_DIR, make_scene

ROLES = ("manager", "worker", "verifier")
LEFT_BEHIND = ("/usr/bin/inferix", "/usr/lib/inferix", "/usr/share/inferix", "/usr/share/doc/inferix", "/etc/inferix",
               "/var/lib/inferix", "/var/cache/inferix") + tuple("/lib/systemd/system/inferix-%s.service" % r
                                                                 for r in ROLES)
# What systemd gives a system service of User=inferix before the unit's own environment (systemd.exec(5)).
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"


def run(cmd, **kw):
    kw.setdefault("timeout", 300)
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


def installed_state():
    """dpkg's status of the inferix package ("install ok installed", "deinstall ok config-files"), or ""."""
    return run(["dpkg-query", "-W", "-f=${Status}", "inferix"]).stdout.strip()


def parse_unit(path):
    """A systemd unit as {section: [(key, value), ...]} (comments and blank lines left out)."""
    sections, current = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                current = sections.setdefault(line.strip("[]"), [])
            else:
                key, value = line.split("=", 1)
                current.append((key.strip(), value.strip()))
    return sections


def parse_env_file(path):
    """An EnvironmentFile= as systemd reads it: KEY=VALUE lines; comments, blank lines and quotes left out."""
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            key, value = line.split("=", 1)
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            env[key.strip()] = value
    return env


def expand_exec(line, env):
    """ExecStart='s words as systemd expands them: a word that is $NAME alone becomes that variable's words (none
    when unset); ${NAME} is replaced in place, as one word."""
    argv = []
    for word in shlex.split(line):
        alone = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if alone:
            argv += env.get(alone.group(1), "").split()
        else:
            argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), word))
    return argv


class PackageTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("installs a Debian package system-wide: needs root (CI runs as root)")
        tools = ("apt-get", "dpkg-deb", "dpkg-shlibdeps", "objcopy", "setpriv")
        missing = [t for t in tools if shutil.which(t) is None]
        if missing:
            self.skipTest("needs %s (dpkg-dev, binutils, util-linux: scripts/install-deps.sh)" % ", ".join(missing))
        if installed_state():
            self.skipTest("an inferix package is on this machine (%s): the test would replace and purge it"
                          % installed_state())
        try:
            pwd.getpwnam("inferix")
            self.skipTest("a user inferix exists here: the package's purge would remove it")
        except KeyError:
            pass
        there = [p for p in LEFT_BEHIND if os.path.lexists(p)]
        if there:
            self.skipTest("%s exist here: the package would take them over" % ", ".join(there))
        self.dir = tempfile.mkdtemp(prefix="inferix-package-")
        os.chmod(self.dir, 0o755)  # the scene is the client's (root's); the nodes download their own copies
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.procs = {}

    # --- what the test started, and the package, go whatever happens -------------------------------------------

    def stop(self, role):
        p = self.procs.get(role)
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return None if p is None else p.returncode

    def purge_whatever_is_left(self):
        for role in ("worker", "verifier", "manager"):
            self.stop(role)
        if installed_state():
            run(["apt-get", "remove", "--purge", "-y", "inferix"],
                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        # The machine had none of these before the test (setUp): a failed purge leaves nothing behind either.
        if run(["getent", "passwd", "inferix"]).returncode == 0:
            run(["deluser", "--system", "inferix"])
        if run(["getent", "group", "inferix"]).returncode == 0:
            run(["delgroup", "--system", "inferix"])
        for path in LEFT_BEHIND:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.lexists(path):
                os.remove(path)

    def log(self, role):
        try:
            with open(os.path.join(self.dir, role + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # --- a service started as its unit starts it ------------------------------------------------------------------

    def start_as_unit(self, role):
        """Starts inferix-ROLE.service's ExecStart as systemd would, without systemd (none runs here): the user,
        groups, environment (systemd's own, then Environment=, then EnvironmentFile=), umask, working directory,
        no new privileges and no capabilities, output to a log file that JOURNAL_STREAM names, as systemd names
        its journal stream."""
        unit = parse_unit("/lib/systemd/system/inferix-%s.service" % role)
        service = dict(unit["Service"])
        user = pwd.getpwnam(service["User"])
        env = {"PATH": SYSTEMD_PATH, "HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name,
               "SHELL": user.pw_shell, "STATE_DIRECTORY": "/var/lib/" + service["StateDirectory"]}
        if "CacheDirectory" in service:
            env["CACHE_DIRECTORY"] = "/var/cache/" + service["CacheDirectory"]
        for key, value in unit["Service"]:
            if key == "Environment":
                name, val = value.split("=", 1)
                env[name] = val
        env.update(parse_env_file(service["EnvironmentFile"]))
        argv = expand_exec(service["ExecStart"], env)
        self.assertEqual(service.get("NoNewPrivileges"), "yes")
        self.assertEqual(service.get("CapabilityBoundingSet"), "")
        setpriv = ["setpriv", "--reuid", user.pw_name, "--regid", service["Group"], "--init-groups",
                   "--no-new-privs", "--bounding-set", "-all", "--inh-caps", "-all", "--"]
        log = open(os.path.join(self.dir, role + ".log"), "ab")  # pylint: disable=consider-using-with
        self.addCleanup(log.close)
        st = os.fstat(log.fileno())
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        self.procs[role] = subprocess.Popen(setpriv + argv, env=env, cwd="/", stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, umask=int(service["UMask"], 8))
        return argv

    def as_inferix(self, *args):
        r = run(["setpriv", "--reuid", "inferix", "--regid", "inferix", "--init-groups", "--", *args],
                env={"PATH": SYSTEMD_PATH, "HOME": "/var/lib/inferix"}, cwd="/")
        self.assertEqual(r.returncode, 0, "%s: %s%s" % (args, r.stdout, r.stderr))
        return r.stdout.strip()

    def set_env(self, role, **values):
        """Adds settings to /etc/inferix/ROLE.env, as its owner would."""
        with open("/etc/inferix/%s.env" % role, "a", encoding="utf-8") as f:
            for key, value in values.items():
                f.write("%s=%s\n" % (key, value))

    # --- the test ---------------------------------------------------------------------------------------------------

    def build_package(self):
        addon = os.path.join(self.dir, "inferix-addon.zip")
        r = run(["python3", os.path.join(SOURCE_DIR, "scripts", "build_addon.py"), addon])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = run(["bash", os.path.join(SOURCE_DIR, "scripts", "build-package.sh"), "--binary", os.path.abspath(INFERIX),
                 "--addon", addon, "--out", self.dir, "--compress", "gzip"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        deb = r.stdout.strip().splitlines()[-1]
        self.assertRegex(os.path.basename(deb), r"^inferix_\d+\.\d+\.\d+_[a-z0-9]+\.deb$")
        depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
        names = {d.strip().split()[0] for d in depends.split(",")}
        # The programs it runs, and the libraries dpkg-shlibdeps found that the binary and its image module link.
        for name in ("blender", "bubblewrap", "ffmpeg", "adduser", "libc6", "libcurl4", "libsqlite3-0"):
            self.assertIn(name, names, depends)
        self.assertTrue([n for n in names if n.startswith("libopenimageio")], depends)
        return deb

    def test_install_render_as_the_units_do_and_purge(self):
        deb = self.build_package()
        # Installing it must not install anything else: the machine would not be left as it was found.
        sim = run(["apt-get", "install", "-s", "--no-install-recommends", deb])
        self.assertEqual(sim.returncode, 0, sim.stdout + sim.stderr)
        others = [line.split()[1] for line in sim.stdout.splitlines()
                  if line.startswith("Inst ") and line.split()[1] != "inferix"]
        if others:
            self.skipTest("installing the package would also install %s, absent here" % ", ".join(others))

        self.addCleanup(self.purge_whatever_is_left)
        apt_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = run(["apt-get", "install", "-y", "--no-install-recommends", "./" + os.path.basename(deb)], cwd=self.dir,
                env=apt_env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(installed_state(), "install ok installed")

        self.check_files_and_user()
        self.check_units()
        self.render_a_frame_through_the_units()

        r = run(["apt-get", "remove", "--purge", "-y", "inferix"], env=apt_env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(installed_state(), "")
        self.assertEqual([p for p in LEFT_BEHIND if os.path.lexists(p)], [])
        self.assertNotEqual(run(["getent", "passwd", "inferix"]).returncode, 0, "the user inferix is left")
        self.assertNotEqual(run(["getent", "group", "inferix"]).returncode, 0, "the group inferix is left")
        with open("/etc/group", encoding="utf-8") as f:
            self.assertNotRegex(f.read(), r"[:,]inferix(,|$)", "inferix is left in a group")

    def check_files_and_user(self):
        files = set(run(["dpkg", "-L", "inferix"]).stdout.split())
        for path in ("/usr/bin/inferix", "/usr/lib/inferix/libinferix_image_oiio.so",
                     "/usr/share/inferix/inferix-addon.zip", "/usr/share/doc/inferix/README.md",
                     "/usr/share/doc/inferix/packaging.md", "/usr/share/doc/inferix/operations.md",
                     *("/lib/systemd/system/inferix-%s.service" % r for r in ROLES)):
            self.assertIn(path, files)
        with zipfile.ZipFile("/usr/share/inferix/inferix-addon.zip") as z:
            self.assertIsNone(z.testzip())
            self.assertIn("inferix/__init__.py", z.namelist())
        # The settings are conffiles (kept on upgrade, removed on purge), readable by root only (tokens).
        conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "inferix"]).stdout.split()
        for role in ROLES:
            path = "/etc/inferix/%s.env" % role
            self.assertIn(path, conffiles)
            st = os.stat(path)
            self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o600), path)
        user = pwd.getpwnam("inferix")
        self.assertLess(user.pw_uid, 1000)  # a system user
        self.assertEqual((user.pw_dir, user.pw_shell), ("/var/lib/inferix", "/usr/sbin/nologin"))
        for role in ROLES:
            st = os.stat("/var/lib/inferix/" + role)
            self.assertEqual((st.st_uid, st.st_mode & 0o777), (user.pw_uid, 0o700), role)
        # --version as operators run it: the version and commit of this build, and the Blender it finds.
        ours = run([INFERIX, "--version"]).stdout.splitlines()[0]
        text = self.as_inferix("/usr/bin/inferix", "--version")
        self.assertEqual(text.splitlines()[0], ours)
        self.assertRegex(ours, r"^inferix \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown.*)\)$")
        self.assertRegex(text, r"\nblender: /usr/bin/blender, Blender \d+\.\d+")

    def check_units(self):
        for role in ROLES:
            path = "/lib/systemd/system/inferix-%s.service" % role
            # systemd's own check (it needs no running systemd); the package systemd, in scripts/install-deps.sh.
            if shutil.which("systemd-analyze"):
                r = run(["systemd-analyze", "verify", path])
                self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""), path)
            else:
                print("systemd-analyze is not installed: %s checked by this test's reading only" % path)
            unit = parse_unit(path)
            service = dict(unit["Service"])
            self.assertEqual(service["User"], "inferix")
            self.assertEqual(service["Restart"], "on-failure")
            self.assertEqual(service["EnvironmentFile"], "/etc/inferix/%s.env" % role)
            self.assertEqual(service["StateDirectory"], "inferix/" + role)
            self.assertTrue(service["ExecStart"].startswith("/usr/bin/inferix %s " % role), service["ExecStart"])
            self.assertNotIn("StandardOutput", service)  # the journal, systemd's default
            self.assertEqual(dict(unit["Install"])["WantedBy"], "multi-user.target")
            if role != "manager":
                # Each of these breaks the nodes' bubblewrap sandbox or hides the GPUs (docs/packaging.md).
                for key in ("RestrictNamespaces", "ProtectHostname", "ProtectKernelTunables", "ProtectKernelLogs",
                            "ProtectProc", "ProcSubset", "PrivateDevices", "ProtectClock", "DeviceAllow",
                            "MemoryDenyWriteExecute"):
                    self.assertNotIn(key, service, path)
                # bwrap brings up the sandbox's loopback through netlink.
                self.assertIn("AF_NETLINK", service["RestrictAddressFamilies"].split(), path)

    def render_a_frame_through_the_units(self):
        scene_dir = os.path.join(self.dir, "scene")
        os.makedirs(scene_dir)
        scene = make_scene(os.path.join(scene_dir, "shot.blend"), frames=1, width=96, height=72, samples=4)

        # The manager, on a free port of this machine; its URL file tells where.
        self.set_env("manager", INFERIX_LISTEN="127.0.0.1:0")
        self.start_as_unit("manager")
        url_file = "/var/lib/inferix/manager/manager.url"
        deadline = time.time() + 30
        while not (os.path.exists(url_file) and open(url_file, encoding="utf-8").read().endswith("\n")):
            self.assertIsNone(self.procs["manager"].poll(), self.log("manager"))
            self.assertLess(time.time(), deadline, self.log("manager"))
            time.sleep(0.05)
        with open(url_file, encoding="utf-8") as f:
            url = f.read().strip()
        # The operator's commands, as the inferix user (docs/packaging.md): the database stays its own.
        admin = ("/usr/bin/inferix", "admin")
        data = ("--data", "/var/lib/inferix/manager")
        token = self.as_inferix(*admin, "token", "create", "--user", "alice", *data)
        for role in ("verifier", "worker"):
            enrollment = self.as_inferix(*admin, "enroll", "create", "--role", role, *data)
            self.set_env(role, INFERIX_MANAGER=url, INFERIX_TOKEN=enrollment)
        self.set_env("worker", INFERIX_WORKER_ARGS="--name packaged-worker --threads 2")
        self.start_as_unit("verifier")
        self.start_as_unit("worker")

        out = os.path.join(self.dir, "out")
        client_env = dict(os.environ, INFERIX_MANAGER=url, INFERIX_TOKEN=token)
        r = run(["/usr/bin/inferix", "submit", scene, "--frames", "1", "--wait", "--download", out, "--json"],
                env=client_env, timeout=180)
        logs = "".join("\n--- %s\n%s" % (role, self.log(role)[-3000:]) for role in ROLES)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + logs)
        self.assertEqual(json.loads(r.stdout)["state"], "completed", r.stdout + logs)
        r = run(["/usr/bin/inferix", "status", str(json.loads(r.stdout)["job_id"]), "--json"], env=client_env)
        frames = json.loads(r.stdout)["frames"]
        self.assertEqual([(f["state"], f["verdict"], f["output"]["worker"]) for f in frames],
                         [("delivered", "accepted", "packaged-worker")], r.stdout)
        self.assertGreater(os.path.getsize(os.path.join(out, "shot_0001.png")), 0)
        # The verifier read the frame with the package's image module, not one of the build tree's.
        with open("/proc/%d/maps" % self.procs["verifier"].pid, encoding="utf-8") as f:
            modules = {line.split()[-1] for line in f if "libinferix_image_oiio" in line}
        self.assertEqual(modules, {"/usr/lib/inferix/libinferix_image_oiio.so"})
        # The worker enrolled as the inferix user, in its state folder.
        self.assertEqual(os.stat("/var/lib/inferix/worker/node.json").st_uid, pwd.getpwnam("inferix").pw_uid)
        # Logged for the journal: each line starts with its syslog priority and has no time of its own.
        for role in ROLES:
            lines = self.log(role).splitlines()
            self.assertIn("<6>", [line[:3] for line in lines], self.log(role)[-3000:])
            self.assertEqual([line for line in lines if line.startswith("[20")], [], role)
        # SIGTERM (systemctl stop) ends each cleanly: exit status 0, which Restart=on-failure does not restart.
        for role in ("worker", "verifier", "manager"):
            self.assertEqual(self.stop(role), 0, self.log(role)[-3000:])


if __name__ == "__main__":
    unittest.main()
