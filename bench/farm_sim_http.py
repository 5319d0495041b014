"""bench/farm_sim.py's plumbing: raw HTTP/1.1 keep-alive connections on asyncio streams (one per simulated node,
as bench/load.py does), the node protocol's signatures (Ed25519), and the tiny real PNG files a simulated render
delivers. Standard library only; Ed25519 comes from the `cryptography` package when it is there (Debian 12's
python3-cryptography, which the integration tests use too), else from a slow pure-Python fallback."""

import asyncio
import hashlib
import json
import struct
import time
import zlib

now = time.monotonic  # CLOCK_MONOTONIC: one clock for every process of the simulation on this machine


class Transport(Exception):
    """The exchange failed below HTTP: refused, reset, closed early, timed out. `sent` is False when the request
    certainly never reached a server (the connection could not be made)."""

    def __init__(self, message, sent=True):
        super().__init__(message)
        self.sent = sent


class Conn:
    """One keep-alive HTTP/1.1 connection to one of `addrs` (the managers, (host, port) each), made lazily from
    `local_ip` (nodes are spread over 127.x.y.z source addresses, as real nodes come from many hosts). Requests
    on one connection are serialised (a lock); `failover` moves it to the next address."""

    def __init__(self, addrs, index=0, local_ip=None):
        self.addrs = addrs
        self.index = index % len(addrs)
        self.local_ip = local_ip
        self.reader = None
        self.writer = None
        self.lock = asyncio.Lock()
        self.requests = 0
        self.last_seconds = 0.0  # the last exchange's time, from its turn on the connection to its answer

    @property
    def address(self):
        return self.addrs[self.index]

    def close(self):
        if self.writer is not None:
            try:
                self.writer.transport.abort()
            except Exception:  # noqa: BLE001 - closing whatever state it is in
                pass
        self.reader = self.writer = None

    def failover(self):
        self.close()
        self.index = (self.index + 1) % len(self.addrs)

    async def _connect(self, timeout):
        host, port = self.addrs[self.index]
        kw = {"local_addr": (self.local_ip, 0)} if self.local_ip else {}
        try:
            # asyncio.timeout, not wait_for: wait_for (3.11) may swallow a cancellation that meets a result.
            async with asyncio.timeout(timeout):
                self.reader, self.writer = await asyncio.open_connection(host, port, limit=1 << 20, **kw)
        except (OSError, asyncio.TimeoutError) as e:
            self.reader = self.writer = None
            raise Transport("connect to %s:%d: %s" % (host, port, e or type(e).__name__), sent=False) from e

    async def request(self, method, path, body=b"", headers=None, timeout=60.0):
        """(status, headers with lower-case names, body bytes). A request on a reused connection that the server
        had closed while it idled (EOF before any byte of an answer) is sent once more on a fresh connection."""
        async with self.lock:
            for attempt in (0, 1):
                fresh = self.writer is None
                if fresh:
                    try:
                        await self._connect(min(timeout, 10.0))
                    except Transport as e:
                        e.sent = attempt == 1  # the first try on the old connection may have reached it
                        raise
                got = [False]
                started = time.monotonic()
                try:
                    async with asyncio.timeout(timeout):
                        answer = await self._exchange(method, path, body, headers, got)
                    self.last_seconds = time.monotonic() - started
                    return answer
                except asyncio.TimeoutError as e:
                    self.close()
                    raise Transport("%s %s: no answer in %.0f s" % (method, path.split("?")[0], timeout)) from e
                except asyncio.CancelledError:
                    self.close()  # half an exchange: the connection cannot be used again
                    raise
                except (OSError, EOFError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
                    self.close()
                    if fresh or got[0] or attempt == 1:
                        raise Transport("%s %s: %s" % (method, path.split("?")[0], e or type(e).__name__)) from e
            raise AssertionError("unreachable")

    async def _exchange(self, method, path, body, headers, got):
        host, port = self.addrs[self.index]
        head = ["%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: %d\r\n" % (method, path, host, port, len(body))]
        if headers:
            for k, v in headers.items():
                head.append("%s: %s\r\n" % (k, v))
        head.append("\r\n")
        self.writer.write("".join(head).encode("latin-1") + body)
        await self.writer.drain()
        self.requests += 1
        reader = self.reader
        line = await reader.readline()
        if not line:
            raise EOFError("connection closed before an answer")
        got[0] = True
        status = int(line.split(None, 2)[1])
        hdrs = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise EOFError("connection closed in the answer's headers")
            name, _, value = line.decode("latin-1").partition(":")
            hdrs[name.strip().lower()] = value.strip()
        if hdrs.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            payload = b"".join(parts)
        elif "content-length" in hdrs:
            n = int(hdrs["content-length"])
            payload = await reader.readexactly(n) if n else b""
        elif status in (204, 304) or method == "HEAD" or 100 <= status < 200:
            payload = b""
        else:
            payload = await reader.read()
            self.close()
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return status, hdrs, payload


def error_text(payload):
    """The message of an API error answer ({"error": {"code", "message"}}), or the start of the body."""
    try:
        err = json.loads(payload)["error"]
        return "%s: %s" % (err.get("code", ""), err.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return payload[:300].decode("utf-8", "replace")


def parse_json(payload):
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return None


# --- Ed25519 ---

try:
    from cryptography.hazmat.primitives import serialization as _ser
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey as _Ed

    class SigningKey:
        """A node's Ed25519 key: public_hex for enrollment, sign(text) -> hex signature."""

        def __init__(self):
            self._key = _Ed.generate()
            self.public_hex = self._key.public_key().public_bytes(_ser.Encoding.Raw, _ser.PublicFormat.Raw).hex()

        def sign(self, text):
            return self._key.sign(text.encode()).hex()

    ED25519 = "cryptography"
except ImportError:  # pragma: no cover - the slow fallback (RFC 8032's reference arithmetic)
    import os as _os

    _P = 2 ** 255 - 19
    _L = 2 ** 252 + 27742317777372353535851937790883648493
    _D = -121665 * pow(121666, _P - 2, _P) % _P

    def _add(a, b):
        x1, y1, z1, t1 = a
        x2, y2, z2, t2 = b
        aa = (y1 - x1) * (y2 - x2) % _P
        bb = (y1 + x1) * (y2 + x2) % _P
        cc = 2 * t1 * t2 * _D % _P
        dd = 2 * z1 * z2 % _P
        e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
        return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)

    def _mul(s, p):
        q = (0, 1, 1, 0)
        while s:
            if s & 1:
                q = _add(q, p)
            p = _add(p, p)
            s >>= 1
        return q

    _GY = 4 * pow(5, _P - 2, _P) % _P
    _GX2 = (_GY * _GY - 1) * pow(_D * _GY * _GY + 1, _P - 2, _P) % _P
    _GX = pow(_GX2, (_P + 3) // 8, _P)
    if (_GX * _GX - _GX2) % _P:
        _GX = _GX * pow(2, (_P - 1) // 4, _P) % _P
    if _GX & 1:
        _GX = _P - _GX
    _G = (_GX, _GY, 1, _GX * _GY % _P)

    def _encode(p):
        zi = pow(p[2], _P - 2, _P)
        x, y = p[0] * zi % _P, p[1] * zi % _P
        return (y | ((x & 1) << 255)).to_bytes(32, "little")

    class SigningKey:
        def __init__(self):
            seed = _os.urandom(32)
            h = hashlib.sha512(seed).digest()
            a = int.from_bytes(h[:32], "little")
            a &= (1 << 254) - 8
            a |= 1 << 254
            self._a, self._prefix = a, h[32:]
            self._pub = _encode(_mul(a, _G))
            self.public_hex = self._pub.hex()

        def sign(self, text):
            m = text.encode()
            r = int.from_bytes(hashlib.sha512(self._prefix + m).digest(), "little") % _L
            rs = _encode(_mul(r, _G))
            k = int.from_bytes(hashlib.sha512(rs + self._pub + m).digest(), "little") % _L
            return (rs + ((r + k * self._a) % _L).to_bytes(32, "little")).hex()

    ED25519 = "pure-python"


def frame_report_message(task_id, frame, sha256, key):
    """domain::FrameReportMessage: what a node signs when it reports a frame."""
    return "inferix-frame-v1|%d|%d|%s|%s" % (task_id, frame, sha256, key)


def verdict_message(task_id, verdict):
    """domain::VerdictMessage: what a verifier signs with its verdict."""
    return "inferix-verdict-v1|%d|%s" % (task_id, verdict)


# --- PNG ---

_IDAT = {}


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def make_png(width, height, text):
    """A valid 8-bit RGB PNG of width x height (a flat grey-blue picture, compressed once per size) whose tEXt
    chunk carries `text`: every simulated render is a different file with its own SHA-256."""
    width, height = max(1, width), max(1, height)
    idat = _IDAT.get((width, height))
    if idat is None:
        row = b"\x00" + b"\x40\x60\x90" * width
        idat = _IDAT[(width, height)] = _chunk(b"IDAT", zlib.compress(row * height, 9))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            _chunk(b"tEXt", b"Comment\x00" + text.encode()) + idat + _chunk(b"IEND", b""))
