"""Black-box: HTTPS served by gordo itself. A test CA and server certificates made here with
the openssl CLI; SNI picks the certificate; ffmpeg decodes the stream over https; HLS over
https; SIGHUP swaps the certificate while a viewer keeps playing; bad TLS input (garbage,
plain HTTP, a truncated ClientHello, an idle handshake) is closed and counted while a viewer
on another connection keeps receiving; one log line says whether kernel TLS is used."""
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from harness import GORDO, Gordo, capture, wait_for

HANDSHAKE_TIMEOUT = 2  # --tls-handshake-timeout of these tests, seconds


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60, **kw)


def make_ca(d):
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-days", "2", "-subj", "/CN=gordo test CA")


def make_cert(d, stem, cn, sans):
    """A server certificate signed by the test CA, for `sans` (DNS:..., IP:...)."""
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{d}/{stem}.key", "-out", f"{d}/{stem}.csr", "-subj", f"/CN={cn}")
    with open(f"{d}/{stem}.ext", "w") as f:
        f.write(f"subjectAltName={','.join(sans)}\n")
    run("openssl", "x509", "-req", "-in", f"{d}/{stem}.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key",
        "-set_serial", str(int(time.time() * 1000)), "-out", f"{d}/{stem}.crt", "-days", "2",
        "-extfile", f"{d}/{stem}.ext")


def closed_on(s):
    """True once the server closes `s` (a FIN or a reset), having sent nothing."""
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_cert(port, servername, ca):
    """(subject CN, verify code) of the certificate gordo shows for `servername`."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", servername,
                        "-CAfile", ca, "-alpn", "http/1.1"], input="", capture_output=True, text=True,
                       timeout=20)
    cn = re.search(r"subject=.*CN ?= ?([^,\n/]+)", r.stdout)
    code = re.search(r"Verify return code: (\d+)", r.stdout)
    alpn = re.search(r"ALPN protocol: (\S+)", r.stdout)
    return (cn.group(1).strip() if cn else None, int(code.group(1)) if code else None,
            alpn.group(1) if alpn else None)


class TlsViewer(threading.Thread):
    """A viewer over TLS in a thread, recording when its bytes arrived."""

    def __init__(self, port, path, seconds, ca, servername="a.test", stall=None, rcvbuf=None):
        super().__init__()
        self.port, self.path, self.seconds, self.stall, self.rcvbuf = port, path, seconds, stall, rcvbuf
        self.ctx = ssl.create_default_context(cafile=ca)
        self.servername = servername
        self.arrivals, self.data, self.closed, self.error = [], bytearray(), False, None
        self.started = threading.Event()
        self.start()

    def run(self):
        try:
            raw = socket.socket()
            if self.rcvbuf:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
            raw.settimeout(10)
            raw.connect(("127.0.0.1", self.port))
            with self.ctx.wrap_socket(raw, server_hostname=self.servername) as s:
                s.sendall(f"GET {self.path} HTTP/1.1\r\nHost: {self.servername}\r\n\r\n".encode())
                begin = self.begin = time.monotonic()
                while (left := begin + self.seconds - time.monotonic()) > 0:
                    if self.stall and begin + self.stall[0] <= time.monotonic() < begin + sum(self.stall):
                        time.sleep(begin + sum(self.stall) - time.monotonic())
                        continue
                    s.settimeout(min(left, 0.2))
                    try:
                        chunk = s.recv(1 << 16)
                    except socket.timeout:
                        continue
                    if not chunk:
                        self.closed = True
                        break
                    self.arrivals.append(time.monotonic())
                    self.data += chunk
                    self.started.set()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e
        self.started.set()

    def longest_gap(self, after=0.0):
        times = [t for t in self.arrivals if t >= after]
        return max((b - a for a, b in zip(times, times[1:])), default=0)

    def bytes_after(self, t):
        return len([x for x in self.arrivals if x >= t])


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.dir = cls.tmp.name
        make_ca(d)
        make_cert(d, "a", "a.test", ["DNS:a.test", "IP:127.0.0.1"])
        make_cert(d, "b", "b.test", ["DNS:b.test", "DNS:*.b.test"])
        cls.ca = f"{d}/ca.crt"
        cls.tls_port = free_port()
        cls.g = Gordo("--hls", "--hls-segment", "1s", "--tls-listen", f"127.0.0.1:{cls.tls_port}",
                      "--tls-cert", f"{d}/a.crt", "--tls-key", f"{d}/a.key",
                      "--tls-cert", f"{d}/b.crt", "--tls-key", f"{d}/b.key",
                      "--tls-handshake-timeout", str(HANDSHAKE_TIMEOUT))
        cls.g.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.g.__exit__(None, None, None)
        cls.tmp.cleanup()

    def stats(self):
        return json.loads(self.g.admin_get("/stats")[2])

    def tls_total(self, key):
        return sum(w[key] for w in self.stats()["workers"])

    def test_1_sni_picks_the_certificate_and_alpn_is_http11(self):
        self.assertEqual(served_cert(self.tls_port, "a.test", self.ca), ("a.test", 0, "http/1.1"))
        self.assertEqual(served_cert(self.tls_port, "b.test", self.ca), ("b.test", 0, "http/1.1"))
        self.assertEqual(served_cert(self.tls_port, "x.b.test", self.ca)[0], "b.test")  # wildcard
        self.assertEqual(served_cert(self.tls_port, "other.org", self.ca)[0], "a.test")  # the first

    def test_2_ffmpeg_decodes_over_https(self):
        r = subprocess.run(["ffmpeg", "-v", "error", "-ca_file", self.ca, "-tls_verify", "1",
                            "-i", f"https://127.0.0.1:{self.tls_port}/live.ts", "-t", "4", "-f", "null", "-"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.strip(), "")

    def test_3_hls_playlist_and_segment_over_https(self):
        base = f"https://127.0.0.1:{self.tls_port}"

        def get(url):
            return subprocess.run(["curl", "-sS", "--cacert", self.ca, url], capture_output=True, text=True,
                                  timeout=20).stdout

        multivariant = get(f"{base}/live.m3u8")
        media = next(line for line in multivariant.splitlines() if line and not line.startswith("#"))
        self.assertEqual(media, "live.ts/index.m3u8")
        text = wait_for(lambda: (t := get(f"{base}/live.ts/index.m3u8")) and "#EXTINF" in t and t,
                        timeout=20, what="an HLS media playlist with a segment over https")
        segment = next(line for line in text.splitlines() if line and not line.startswith("#"))
        url = f"{base}/live.ts/{segment}"
        r = subprocess.run(["curl", "-sS", "--cacert", self.ca, "-o", "-", "-w", "%{http_code}", url],
                           capture_output=True, timeout=20)
        self.assertTrue(r.stdout.endswith(b"200"), r.stderr)
        body = r.stdout[:-3]
        self.assertGreater(len(body), 1000)
        self.assertEqual(body[0], 0x47)  # MPEG-TS sync byte
        # Keep-alive and pipelining: three requests in one record, three answers.
        ctx = ssl.create_default_context(cafile=self.ca)
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.tls_port), timeout=10),
                             server_hostname="a.test") as s:
            s.sendall(b"GET /live.m3u8 HTTP/1.1\r\nHost: a.test\r\n\r\n" * 3)
            data = b""
            while data.count(b"HTTP/1.1 200 OK") < 3 or not data.endswith(b"index.m3u8\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 3, data)

    def test_4_bad_input_is_closed_and_counted_while_a_viewer_plays(self):
        viewer = TlsViewer(self.tls_port, "/live.ts", HANDSHAKE_TIMEOUT + 5, self.ca)
        self.assertTrue(viewer.started.wait(10))
        failed_before = self.tls_total("tls_failed")
        begin = time.monotonic()
        # Garbage.
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=5) as s:
            s.sendall(b"\x17" + os.urandom(300))
            self.assertEqual(closed_on(s), True)
        # Garbage that starts like a handshake record: OpenSSL's own error path, which may
        # say so in an alert record (0x15) before the close.
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=5) as s:
            s.sendall(b"\x16\x03\x01\x00\x05" + os.urandom(300))
            said = b""
            try:
                while chunk := s.recv(100):
                    said += chunk
            except ConnectionResetError:
                pass
            self.assertTrue(said == b"" or said[0] == 0x15, said)
        # Plain HTTP on the TLS port: a plain 400 that says so.
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=5) as s:
            s.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer)
        self.assertIn(b"https://", answer)
        # A truncated ClientHello, then the client goes.
        hello = ssl.MemoryBIO(), ssl.MemoryBIO()
        client = ssl.create_default_context().wrap_bio(*hello, server_hostname="a.test")
        try:
            client.do_handshake()
        except ssl.SSLWantReadError:
            pass
        record = hello[1].read()
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=5) as s:
            s.sendall(record[:40])
        # A handshake that never comes: closed after the timeout.
        idle = socket.create_connection(("127.0.0.1", self.tls_port), timeout=HANDSHAKE_TIMEOUT + 5)
        t0 = time.monotonic()
        self.assertTrue(closed_on(idle))
        self.assertGreaterEqual(time.monotonic() - t0, HANDSHAKE_TIMEOUT - 0.05)
        idle.close()
        wait_for(lambda: self.tls_total("tls_failed") >= failed_before + 5, timeout=5,
                 what="five failed handshakes counted")
        viewer.join()
        self.assertIsNone(viewer.error)
        self.assertFalse(viewer.closed)
        self.assertLess(viewer.longest_gap(after=begin), 1.0)
        self.assertGreater(len(viewer.data), 50_000)

    def test_5_reload_swaps_the_certificate_while_a_viewer_keeps_playing(self):
        viewer = TlsViewer(self.tls_port, "/live.ts", 6, self.ca)
        self.assertTrue(viewer.started.wait(10))
        self.assertEqual(served_cert(self.tls_port, "a.test", self.ca)[0], "a.test")
        d = self.dir
        make_cert(d, "a2", "a2.test", ["DNS:a.test", "IP:127.0.0.1"])
        shutil.copy(f"{d}/a2.crt", f"{d}/a.crt")
        shutil.copy(f"{d}/a2.key", f"{d}/a.key")
        reloaded_at = time.monotonic()
        self.g.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "TLS certificates read again" in self.g.log(), timeout=10, what="the reload")
        self.assertEqual(served_cert(self.tls_port, "a.test", self.ca)[0], "a2.test")
        viewer.join()
        self.assertIsNone(viewer.error)
        self.assertFalse(viewer.closed)
        self.assertGreater(viewer.bytes_after(reloaded_at + 1), 0)
        self.assertLess(viewer.longest_gap(), 1.0)
        # A bad key now: the reload is refused, the running certificate stays.
        shutil.copy(f"{d}/b.key", f"{d}/a.key")
        self.g.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "is not the key of the certificate" in self.g.log(), timeout=10,
                 what="the refused reload")
        self.assertEqual(served_cert(self.tls_port, "a.test", self.ca)[0], "a2.test")
        shutil.copy(f"{d}/a2.key", f"{d}/a.key")

    def test_6_stats_and_the_kernel_tls_line(self):
        viewer = TlsViewer(self.tls_port, "/live.ts", 2, self.ca)
        self.assertTrue(viewer.started.wait(10))
        workers = self.stats()["workers"]
        for key in ("tls_viewers", "tls_ktls", "tls_handshakes", "tls_failed", "tls_bytes_out"):
            self.assertIn(key, workers[0])
        self.assertGreaterEqual(sum(w["tls_viewers"] for w in workers), 1)
        self.assertGreater(sum(w["tls_bytes_out"] for w in workers), 0)
        metrics = self.g.admin_get("/metrics")[2].decode()
        self.assertIn("gordo_worker_tls_handshakes_total", metrics)
        log = self.g.log()
        self.assertEqual(len(re.findall(r"kernel TLS (available|unavailable)", log)), 1, log)
        # The plain port is unchanged.
        status, _, body, _ = capture(self.g.port, "/live.ts", 1)
        self.assertEqual(status, 200)
        self.assertGreater(len(body), 1000)
        viewer.join()
        wait_for(lambda: self.tls_total("tls_viewers") == 0 and self.tls_total("tls_ktls") == 0, timeout=10,
                 what="the TLS viewer gauges back at 0 once the viewers left")
        if not os.path.exists("/proc/net/tls_stat"):
            self.assertIn("kernel TLS unavailable", log)
            self.skipTest("no /proc/net/tls_stat: this kernel has no kTLS; userspace encryption checked")
        self.assertIn("kernel TLS available", log)
        self.assertGreaterEqual(sum(w["tls_ktls"] for w in workers), 1)

    def test_9_small_records_asked_for_by_the_client(self):
        # openssl s_client -maxfraglen 512: the server's records carry at most 512 bytes, 32
        # times the records (and their overhead) of 16 KiB ones; the viewer keeps receiving.
        p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{self.tls_port}", "-servername",
                              "a.test", "-CAfile", self.ca, "-maxfraglen", "512", "-quiet", "-ign_eof"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            p.stdin.write(b"GET /live.ts HTTP/1.1\r\nHost: a.test\r\n\r\n")
            p.stdin.flush()
            got, deadline = 0, time.monotonic() + 20
            while got < 200_000 and time.monotonic() < deadline:
                chunk = p.stdout.read1(65536)
                if not chunk:
                    break
                got += len(chunk)
        finally:
            p.kill()
            _, err = p.communicate(timeout=10)
        self.assertGreaterEqual(got, 200_000, err.decode(errors="replace"))

    def test_10_graceful_closes_say_close_notify(self):
        # OpenSSL 3 clients call a close without close_notify a truncation (curl: exit 56).
        base = f"https://127.0.0.1:{self.tls_port}"
        for path in ("/live.m3u8", "/no-such-mount"):
            r = subprocess.run(["curl", "-sS", "--cacert", self.ca, "-H", "Connection: close", "-o", "/dev/null",
                                f"{base}{path}"], capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 0, (path, r.stderr))
        ctx = ssl.create_default_context(cafile=self.ca)
        raw = socket.create_connection(("127.0.0.1", self.tls_port), timeout=10)
        with ctx.wrap_socket(raw, server_hostname="a.test", suppress_ragged_eofs=False) as s:
            s.sendall(b"GET /nothing HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):  # an EOF without close_notify raises SSLEOFError
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 404"), data)

    def test_8_a_slow_tls_viewer_skips_to_a_keyframe_with_whole_records(self):
        # As test_engine's slow viewer, over TLS: the skip drops plaintext not yet
        # encrypted, and the records already made still go whole (else the client's TLS
        # would fail on a broken record).
        d = self.dir
        with Gordo("--workers", "1", "--max-lag", "1s", "--sndbuf", "16384",
                   "--tls-listen", f"127.0.0.1:{(port := free_port())}",
                   "--tls-cert", f"{d}/b.crt", "--tls-key", f"{d}/b.key") as g:
            normal = TlsViewer(port, "/live.ts", 9, self.ca, servername="b.test")
            slow = TlsViewer(port, "/live.ts", 9, self.ca, servername="b.test", stall=(1, 5), rcvbuf=32768)
            normal.join()
            slow.join()
            workers = json.loads(g.admin_get("/stats")[2])["workers"]
            mounts = json.loads(g.admin_get("/stats")[2])["mounts"]
        self.assertIsNone(slow.error)
        self.assertIsNone(normal.error)
        self.assertFalse(slow.closed)
        self.assertGreaterEqual(mounts[0]["resyncs"], 1)
        self.assertLess(normal.longest_gap(), 1.0)
        self.assertGreater(len([t for t in slow.arrivals if t >= slow.begin + 6.5]), 0,
                           "it receives again once it reads")
        self.assertEqual(sum(w["tls_failed"] for w in workers), 0)

    def test_7_bad_configurations_are_refused_at_start(self):
        d = self.dir
        cases = [
            (["--tls-listen", "127.0.0.1:0"], "needs a --tls-cert"),
            (["--tls-listen", "127.0.0.1:0", "--tls-cert", f"{d}/b.crt"], "give each certificate its key"),
            (["--tls-cert", f"{d}/b.crt", "--tls-key", f"{d}/b.key"], "without --tls-listen"),
            (["--tls-listen", "127.0.0.1:0", "--tls-cert", f"{d}/none.crt", "--tls-key", f"{d}/b.key"],
             "cannot read"),
            (["--tls-listen", "127.0.0.1:0", "--tls-cert", f"{d}/b.crt", "--tls-key", f"{d}/ca.key"],
             "is not the key of the certificate"),
        ]
        for args, words in cases:
            r = subprocess.run([GORDO, "--check-config", *args], capture_output=True, text=True, timeout=20)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(words, r.stderr + r.stdout, args)


if __name__ == "__main__":
    unittest.main()
