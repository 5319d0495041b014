"""Issue #5, TLS: `inferix manager --tls-cert --tls-key` serves HTTPS; workers, verifiers and the CLI verify it
against `--ca`, and a job renders end to end over it. Certificates are made for the test with the openssl CLI: a
CA, and a certificate for 127.0.0.1 signed by it."""

import os
import socket
import ssl
import subprocess
import unittest

from netlib import Network, make_scene


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certificates(folder):
    """ca.pem (a test CA) and server.pem/server.key (127.0.0.1, signed by the CA); other-ca.pem, a CA that did not
    sign it."""
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *curve, "-days", "2", "-keyout", "ca.key", "-out", "ca.pem", "-subj",
            "/CN=Inferix test CA", cwd=folder)
    openssl("req", "-x509", *curve, "-days", "2", "-keyout", "other-ca.key", "-out", "other-ca.pem", "-subj",
            "/CN=Another CA", cwd=folder)
    openssl("req", *curve, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=folder)
    with open(os.path.join(folder, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "server.pem", "-days", "2", "-extfile", "san.ext", cwd=folder)
    return {name: os.path.join(folder, name) for name in ("ca.pem", "other-ca.pem", "server.pem", "server.key")}


class TlsTest(unittest.TestCase):
    def setUp(self):
        self.net = Network(heartbeat_ms=1000)
        self.certs = make_certificates(self.net.dir)

    def tearDown(self):
        self.net.cleanup()

    def test_a_job_renders_over_https_verified_against_the_ca(self):
        scene = make_scene(os.path.join(self.net.dir, "tls.blend"), frames=2, width=96, height=64, samples=4)
        url = self.net.start_manager(extra=("--tls-cert", self.certs["server.pem"], "--tls-key",
                                            self.certs["server.key"], "--long-poll-ms", "1000"))
        self.assertTrue(url.startswith("https://127.0.0.1:"), url)
        self.net.ssl_context = ssl.create_default_context(cafile=self.certs["ca.pem"])
        token = self.net.user_token("tess")
        ca = ("--ca", self.certs["ca.pem"])
        self.net.start_node("worker", "worker", extra=("--threads", "1", *ca))
        self.net.start_node("verifier", "verifier", extra=ca)
        r = self.net.cli(token, "submit", scene, "--frames", "1-2", "--wait", *ca, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job_id = int(r.stdout.split()[0])
        job = self.net.wait_job(token, job_id, timeout=120)
        self.assertEqual(job["state"], "completed", job.get("message"))
        out = os.path.join(self.net.dir, "out")
        r = self.net.cli(token, "download", str(job_id), out, *ca)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(sorted(f for f in os.listdir(out) if f.endswith(".png")), ["tls_0001.png", "tls_0002.png"])

        # A client that does not trust the CA refuses the manager, and says why.
        r = self.net.cli(token, "status", str(job_id), "--ca", self.certs["other-ca.pem"])
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stderr.lower(), "certificate|ssl|tls")
        # Plain HTTP to the HTTPS port gets no answer: the manager does not fall back to cleartext.
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                answer = s.recv(100)
            except OSError:
                answer = b""
        self.assertFalse(answer.startswith(b"HTTP/"), answer)
        # And it still serves HTTPS after that.
        status, body = self.net.call("GET", "/api/v1/health")
        self.assertEqual(status, 200, body)

    def test_a_missing_or_wrong_key_stops_the_manager_with_the_cause(self):
        for extra, words in ((("--tls-cert", self.certs["server.pem"]), "both"),
                             (("--tls-cert", self.certs["server.pem"], "--tls-key", self.certs["ca.pem"]), "key"),
                             (("--tls-cert", os.path.join(self.net.dir, "nope.pem"), "--tls-key",
                               self.certs["server.key"]), "certificate")):
            with self.subTest(extra=extra):
                data = os.path.join(self.net.dir, "m-%d" % len(os.listdir(self.net.dir)))
                r = subprocess.run([os.environ.get("INFERIX_BIN", "inferix"), "manager", "--listen", "127.0.0.1:0",
                                    "--data", data, *extra], capture_output=True, text=True,
                                   timeout=30)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(words, (r.stdout + r.stderr).lower())


if __name__ == "__main__":
    unittest.main()
