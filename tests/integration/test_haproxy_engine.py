"""Issue #15: the HAProxy of tests/engines/engines.py, as the tests of several managers put it in front of them.

Two small HTTP servers stand in for managers (GET /api/v1/health and a path that names the server): requests go
round robin to both; one that refuses connections costs no request an error; a killed one is marked down by the
health checks and the other takes every request; stop leaves no process.
"""

import http.server
import os
import socket
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engines"))
import engines  # noqa: E402  pylint: disable=wrong-import-position

# Generous: the checks run every 0.3 s; this only bounds a hang.
MARKED_DOWN_WITHIN_S = 30


def start_backend(name):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            body = (b'{"status": "ok"}' if self.path == "/api/v1/health" else name.encode())
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # HAProxy closes its health checks with a reset

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


class HaproxyEngineTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="inferix-haproxy-")
        self.addCleanup(lambda: __import__("shutil").rmtree(self.dir, ignore_errors=True))
        self.folder = os.path.join(self.dir, "haproxy")
        self.addCleanup(engines.stop, self.folder)

    def backend(self, name):
        server = start_backend(name)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return server

    def test_round_robin_and_a_killed_backend_is_routed_around(self):
        a, b = self.backend("a"), self.backend("b")
        info = engines.start_haproxy(self.folder, [f"127.0.0.1:{s.server_port}" for s in (a, b)])
        self.assertTrue(info["url"].startswith("http://127.0.0.1:"))
        answers = [get(info["url"] + "/who") for _ in range(6)]
        self.assertEqual(sorted(answers), [(200, "a")] * 3 + [(200, "b")] * 3)

        b.shutdown()
        b.server_close()
        deadline = time.monotonic() + MARKED_DOWN_WITHIN_S
        while engines.haproxy_servers(self.folder)["m1"] != "DOWN" and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(engines.haproxy_servers(self.folder), {"m0": "UP", "m1": "DOWN"})
        self.assertEqual([get(info["url"] + "/who") for _ in range(4)], [(200, "a")] * 4)

    def test_a_backend_that_refuses_connections_costs_no_request_an_error(self):
        a = self.backend("a")
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            dead = s.getsockname()[1]
        info = engines.start_haproxy(self.folder, [f"127.0.0.1:{a.server_port}", f"127.0.0.1:{dead}"])
        # Right after the start both count as up: a request sent to the dead one is retried on the other.
        self.assertEqual([get(info["url"] + "/who") for _ in range(10)], [(200, "a")] * 10)

    def test_stop_leaves_no_process(self):
        a = self.backend("a")
        info = engines.start_haproxy(self.folder, [f"127.0.0.1:{a.server_port}"])
        self.assertTrue(engines.alive(info["pid"]))
        engines.stop(self.folder)
        self.assertFalse(engines.alive(info["pid"]))
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", info["port"]), timeout=5).close()

    def test_bad_backend_is_refused_with_its_name(self):
        with self.assertRaisesRegex(engines.EngineError, "'nonsense' is not host:port"):
            engines.start_haproxy(self.folder, ["nonsense"])


if __name__ == "__main__":
    unittest.main()
