"""Issue #14, limits before work: a body is not read before its sender is authenticated, connections and slow
clients cannot exhaust the manager, and a large upload does not stall other requests. The manager is real, on
127.0.0.1, with its limits lowered by flags so that each test runs in seconds."""

import hashlib
import json
import http.client
import os
import socket
import threading
import time
import unittest

from netlib import Network

MIB = 1 << 20


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for process %d" % pid)


def read_answer(sock, timeout=10):
    """Reads one HTTP answer from a raw socket; returns (status, head, body)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, head.decode("latin-1"), body


class HostileLimitsTest(unittest.TestCase):
    def start(self, *flags):
        self.net = Network()
        self.addCleanup(self.net.cleanup)
        self.net.start_manager(extra=flags)
        self.host, self.port = self.net.url.rsplit("/", 1)[1].split(":")
        self.port = int(self.port)

    def connect(self, source="127.0.0.1"):
        sock = socket.create_connection((self.host, self.port), timeout=10, source_address=(source, 0))
        self.addCleanup(sock.close)
        return sock

    def limits(self):
        """The manager's refusal counters, asked from another address than the tests' connections."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10, source_address=("127.0.0.2", 0))
        try:
            conn.request("GET", "/api/v1/health")
            answer = conn.getresponse()
            self.assertEqual(answer.status, 200)
            return json.loads(answer.read())["limits"]
        finally:
            conn.close()

    def test_unauthenticated_large_body_is_refused_before_it_is_read(self):
        self.start()
        pid = self.net.manager.pid
        before = rss_kib(pid)
        sha = "0" * 64
        sock = self.connect()
        sock.sendall(("PUT /api/v1/files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                      % (sha, 1 << 30)).encode())
        # The answer comes from the head alone: not one body byte was sent.
        status, head, body = read_answer(sock)
        self.assertEqual(status, 401, head)
        self.assertIn(b"token", body)
        # The client goes on sending its 1 GiB regardless; the manager discards what it must and closes.
        chunk = os.urandom(MIB)
        peak = before
        sent = 0
        try:
            while sent < (1 << 30):
                sock.sendall(chunk)
                sent += len(chunk)
                if sent % (16 * MIB) == 0:
                    peak = max(peak, rss_kib(pid))
        except OSError:
            pass  # closed by the manager, as it should be
        peak = max(peak, rss_kib(pid))
        self.assertLess(sent, 1 << 30, "the manager took the whole unauthenticated body")
        self.assertLess(peak - before, 64 * 1024, "manager memory grew by %d KiB" % (peak - before))
        self.assertGreaterEqual(self.limits()["unauthenticated_before_body"], 1)
        # A scene upload with a token still works (spooled to disk, not memory), and leaves nothing spooled.
        token = self.net.user_token("alice")
        data = os.urandom(3 * MIB)
        status, answer = self.net.call("PUT", "/api/v1/files/" + hashlib.sha256(data).hexdigest(), token, body=data)
        self.assertEqual(status, 201, answer)
        self.assertEqual(os.listdir(os.path.join(self.net.manager_dir, "spool")), [])
        status, answer = self.net.call("PUT", "/api/v1/files/" + sha, token, body=data)
        self.assertEqual(status, 400, answer)
        self.assertIn("SHA-256", answer["error"]["message"])

    def test_many_half_open_connections_do_not_stop_health(self):
        self.start("--max-connections-per-address", "20", "--header-timeout-ms", "2000")
        held = []
        for _ in range(20):
            sock = self.connect()
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHo")  # half a request, never finished
            held.append(sock)
        time.sleep(0.2)  # the manager has accepted them all
        refused = [self.connect() for _ in range(10)]
        for sock in refused:
            status, head, _ = read_answer(sock)
            self.assertEqual(status, 429, head)
            self.assertIn("Retry-After:", head)
        # Another client (another address) is served while they hold their connections.
        fresh = http.client.HTTPConnection(self.host, self.port, timeout=10, source_address=("127.0.0.2", 0))
        fresh.request("GET", "/api/v1/health")
        answer = fresh.getresponse()
        self.assertEqual(answer.status, 200)
        answer.read()
        fresh.close()
        # The half-sent requests run out of time as a whole: 408, and their connections close.
        for sock in held:
            status, head, _ = read_answer(sock, timeout=10)
            self.assertEqual(status, 408, head)
        limits = self.limits()
        self.assertGreaterEqual(limits["connections_refused_per_address"], 10)
        self.assertGreaterEqual(limits["header_timeouts"], 20)
        self.assertIsNone(self.net.manager.poll())
        self.assertLess(self.net.log("manager").count("connection refused"), 5, "refusals flood the log")

    def test_slow_body_is_cut_off(self):
        self.start("--body-timeout-ms", "1500", "--min-body-rate", "1000")
        token = self.net.user_token("alice")
        sock = self.connect()
        sock.sendall(("PUT /api/v1/files/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                      "Content-Length: 1000000\r\n\r\n" % ("1" * 64, token)).encode())
        started = time.monotonic()
        try:
            for _ in range(40):  # a byte every 0.25 s: reads keep coming, the body never will
                sock.sendall(b"x")
                time.sleep(0.25)
        except OSError:
            pass
        status, head, body = read_answer(sock)
        self.assertEqual(status, 408, head)
        self.assertIn(b"too slowly", body)
        self.assertLess(time.monotonic() - started, 10.5)
        self.assertGreaterEqual(self.limits()["body_timeouts"], 1)

    def test_large_upload_does_not_stall_other_requests(self):
        self.start()
        token = self.net.user_token("alice")
        data = os.urandom(256 * MIB)
        sha = hashlib.sha256(data).hexdigest()
        upload = self.connect()
        upload.sendall(("PUT /api/v1/files/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                        "Content-Length: %d\r\n\r\n" % (sha, token, len(data))).encode())
        upload.sendall(data)
        # The body is all sent: the manager now finishes hashing and stores it. A health check sent now is
        # answered before the upload is.
        health = self.connect("127.0.0.2")
        health.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        order = []
        lock = threading.Lock()

        def wait(name, sock):
            status, head, _ = read_answer(sock, timeout=120)
            with lock:
                order.append((name, status))

        threads = [threading.Thread(target=wait, args=("upload", upload)),
                   threading.Thread(target=wait, args=("health", health))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(order, [("health", 200), ("upload", 201)])
        status, answer = self.net.call("POST", "/api/v1/files/check", token, body={"sha256": [sha]})
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["missing"], [])


if __name__ == "__main__":
    unittest.main()
