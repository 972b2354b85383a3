"""Black-box: tools/gordo-load against a real gordo, a missing mount and a closed port, its
viewers from addresses of their own (--source, as gordo's access log sees them), and over
HTTPS (--tls) through nginx terminating TLS in front of gordo."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import nginx
from harness import GORDO, Gordo, make_media, port_bound, wait_for

GORDO_LOAD = os.environ.get("GORDO_LOAD", os.path.join(os.path.dirname(GORDO), "gordo-load"))


def load(url, *args, timeout=60):
    return subprocess.run([GORDO_LOAD, url, "--json", *args], capture_output=True, text=True, timeout=timeout)


def access_peers(path):
    """The client addresses in a gordo access log, sorted as addresses."""
    with open(path) as f:
        return sorted((line.split(" ", 1)[0] for line in f), key=socket.inet_aton)


def cpu_seconds(pid):
    """User + system CPU seconds of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class SlowServer:
    """An HTTP server that sends `data` (looped) to each viewer at `bytes_per_s`. Use as a
    context manager; it gives its port."""

    def __init__(self, data, bytes_per_s, lose_every=0):
        self.data, self.bytes_per_s, self.lose_every = data, bytes_per_s, lose_every
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)  # so that the accepting thread sees `stopping`
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.accept)]

    def __enter__(self):
        self.threads[0].start()
        return self.listener.getsockname()[1]

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join()
        self.listener.close()

    def accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            conn.settimeout(10)
            t = threading.Thread(target=self.serve, args=(conn,))
            self.threads.append(t)
            t.start()

    def serve(self, conn):
        step = 188 * 7
        with conn:
            try:
                head = b""
                while b"\r\n\r\n" not in head:
                    head += conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n\r\n")
                begin, sent, steps = time.monotonic(), 0, 0
                while not self.stopping.is_set():
                    at = sent % len(self.data)
                    piece = self.data[at:at + step]
                    steps += 1
                    if self.lose_every and steps % self.lose_every == 0:
                        piece = piece[188:]  # a packet lost on the way
                    conn.sendall(piece)
                    sent += len(self.data[at:at + step])
                    ahead = begin + sent / self.bytes_per_s - time.monotonic()
                    if ahead > 0:
                        self.stopping.wait(ahead)  # paces the stream, not a synchronisation
            except OSError:
                pass


class AgainstGordo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        media = make_media(os.path.join(cls.tmp.name, "in.ts"), seconds=4, fmt_args=("-f", "mpegts"))
        cls.media = media
        cls.bits_per_s = os.path.getsize(media) * 8 / 4
        cls.gordo = Gordo("--input", media, "--loop")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.gordo.__exit__(None, None, None)  # stops gordo, checks that it exited 0
        finally:
            cls.tmp.cleanup()

    def test_200_viewers_all_receive_the_stream_and_find_a_keyframe(self):
        cpu_before = cpu_seconds(self.gordo.proc.pid)
        r = load(self.gordo.url, "--viewers", "200", "--rate", "400", "--duration", "4", "--settle", "1",
                 "--server-pid", str(self.gordo.proc.pid), "--verify", "20")
        cpu_used = cpu_seconds(self.gordo.proc.pid) - cpu_before
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        # What the viewers measured, not what they were asked to be: answered 200, received
        # bytes in the measured window, found a keyframe.
        self.assertEqual(s["ok"], 200)
        self.assertEqual(s["receiving"], 200)
        self.assertEqual(s["failures"] + s["closed_early"], 0, s["first_error"])
        self.assertEqual(s["no_keyframe"], 0, "every viewer's stream has a random-access packet")
        # The sample checked all it got: every packet there, the PCRs' timeline unbroken.
        self.assertEqual(s["verified"], 20)
        self.assertEqual((s["verified_broken"], s["cc_breaks"], s["pcr_jumps"]), (0, 0, 0))
        # Live: the sample's PCRs arrive as the source makes them, within a chunk or two of
        # the freshest (78 ms here), not seconds behind.
        self.assertLessEqual(0, s["behind_live_p50_ms"])
        self.assertLessEqual(s["behind_live_p50_ms"], s["behind_live_p99_ms"])
        self.assertLessEqual(s["behind_live_p99_ms"], s["behind_live_max_ms"])
        self.assertLess(s["behind_live_max_ms"], 1000)
        self.assertLessEqual(s["live_offset_min_ms"], s["live_offset_p50_ms"])
        self.assertFalse(s["client_bound"], "200 viewers are nothing to the client")
        # gordo starts every viewer at a keyframe: after the cached PAT and PMT, within the
        # first few packets (PAT, PMT and an SDT may precede it again), not a GOP later.
        self.assertLessEqual(s["keyframe_packet_p99"], 8)
        # Rates: the stream's own (from its PCRs), which every viewer keeps up with.
        self.assertEqual(s["expected_from"], "stream")
        self.assertAlmostEqual(s["expected_mbps"] * 1e6, self.bits_per_s, delta=0.25 * self.bits_per_s)
        self.assertEqual(s["behind"], 0)
        self.assertAlmostEqual(s["rate_p50_mbps"] * 1e6, self.bits_per_s, delta=0.25 * self.bits_per_s)
        self.assertAlmostEqual(s["aggregate_gbps"] * 1e3, 200 * s["rate_p50_mbps"], delta=0.1 * 200 * s["rate_p50_mbps"])
        self.assertAlmostEqual(s["window_s"], 4, delta=0.5)
        self.assertGreater(s["server_rss_mib"], 1)
        # gordo's CPU over the window: some (it served 200 viewers), and no more than this
        # test saw gordo use over the whole run (plus a clock tick of rounding).
        self.assertGreater(s["server_cpu_pct"], 0)
        tick = 1 / os.sysconf("SC_CLK_TCK")
        self.assertLessEqual(s["server_cpu_pct"] / 100 * s["window_s"], cpu_used + 2 * tick)

    def test_a_server_slow_for_every_viewer_shows_them_all_behind(self):
        # Serves the TS file to everyone at half its rate: the viewers agree with each
        # other, but not with the rate the stream's PCRs give.
        with open(self.media, "rb") as f:
            data = f.read()
        with SlowServer(data, self.bits_per_s / 8 / 2) as port:
            r = load(f"http://127.0.0.1:{port}/slow.ts", "--viewers", "4", "--duration", "3", "--settle", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual(s["receiving"], 4)
        self.assertEqual(s["expected_from"], "stream")
        self.assertAlmostEqual(s["expected_mbps"] * 1e6, self.bits_per_s, delta=0.25 * self.bits_per_s)
        self.assertAlmostEqual(s["rate_p50_mbps"] * 1e6, self.bits_per_s / 2, delta=0.25 * self.bits_per_s / 2)
        self.assertEqual(s["behind"], 4)
        # At half the rate they fall half a second further behind live every second: 1.5 s
        # over the 3 s window.
        self.assertGreater(s["behind_live_max_ms"], 1000)

    def test_a_stream_that_loses_packets_is_seen_broken_by_the_verified_sample(self):
        with open(self.media, "rb") as f:
            data = f.read()
        with SlowServer(data, self.bits_per_s / 8, lose_every=20) as port:
            r = load(f"http://127.0.0.1:{port}/lossy.ts", "--viewers", "6", "--verify", "3", "--duration", "2",
                     "--settle", "0.5")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual((s["receiving"], s["verified"], s["verified_broken"]), (6, 3, 3))
        self.assertGreater(s["cc_breaks"], 3)

    @unittest.skipUnless(shutil.which("strace"), "strace is not installed")
    def test_unverified_viewers_count_bytes_the_kernel_drops(self):
        trace = os.path.join(self.tmp.name, "recv.trace")
        r = subprocess.run(["strace", "-f", "-e", "trace=recvfrom", "-o", trace, GORDO_LOAD, self.gordo.url,
                            "--json", "--viewers", "8", "--verify", "1", "--duration", "2", "--settle", "0",
                            "--recv", "epoll"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual((s["receiving"], s["no_keyframe"], s["verified"]), (8, 0, 1))
        with open(trace) as f:
            recvs = [line for line in f if "recvfrom(" in line and "= -1" not in line]
        dropped = [line for line in recvs if "MSG_TRUNC" in line]
        # Seven viewers each read their head and first keyframe, then only count; the one
        # verified viewer reads all it gets.
        self.assertGreater(len(dropped), len(recvs) / 2, f"{len(dropped)} of {len(recvs)} recvs dropped")

    def test_counting_on_io_uring_and_on_epoll_measure_the_same(self):
        results = {}
        for mode in ("uring", "epoll"):
            r = load(self.gordo.url, "--viewers", "40", "--verify", "2", "--duration", "3", "--settle", "0.5",
                     "--recv", mode)
            if mode == "uring" and "--recv uring: io_uring" in r.stderr:
                self.skipTest(r.stderr.strip())  # io_uring disabled here (seccomp, a sysctl)
            self.assertEqual(r.returncode, 0, r.stderr)
            s = results[mode] = json.loads(r.stdout)
            self.assertEqual((s["receiving"], s["no_keyframe"], s["behind"], s["failures"]), (40, 0, 0, 0), mode)
        # What the counting viewers received (p50: all but two count), by the kernel's
        # figures either way: neither more nor less than the stream's rate.
        for key in ("rate_p50_mbps", "aggregate_gbps"):
            self.assertAlmostEqual(results["uring"][key], results["epoll"][key], delta=0.1 * results["epoll"][key])
        self.assertAlmostEqual(results["uring"]["rate_p50_mbps"], results["uring"]["expected_mbps"],
                               delta=0.25 * results["uring"]["expected_mbps"])
        r = load(self.gordo.url, "--recv", "carrier-pigeon")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--recv is auto, uring or epoll", r.stderr)

    def test_strict_exits_3_on_a_client_bound_run(self):
        args = ("--viewers", "4", "--duration", "1", "--settle", "0", "--client-limit", "0")
        r = load(self.gordo.url, *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIs(json.loads(r.stdout)["client_bound"], True)
        self.assertIn("client-bound", r.stderr)
        r = load(self.gordo.url, *args, "--strict")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("--strict: exit 3", r.stderr)

    def test_table_and_progress_line(self):
        r = subprocess.run([GORDO_LOAD, self.gordo.url, "--viewers", "5", "--duration", "1.5", "--settle", "0"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("| ttfb_p99_ms", r.stdout)
        self.assertIn("| behind", r.stdout)
        self.assertIn("viewers      5/5", r.stderr)  # the progress line
        self.assertIn("Gbit/s", r.stderr)

    def test_source_gives_each_viewer_its_own_address(self):
        # gordo's access log has each viewer's address, one line as it leaves.
        log = os.path.join(self.tmp.name, "source-access.log")
        with Gordo("--input", self.media, "--loop", "--access-log", log) as g:
            r = load(g.url, "--viewers", "20", "--duration", "2", "--settle", "0.5", "--source", "127.7.0.0/24")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual((s["ok"], s["receiving"], s["no_keyframe"]), (20, 20, 0), s["first_error"])
        self.assertEqual(s["failures"] + s["closed_early"], 0, s["first_error"])
        self.assertEqual(access_peers(log), [f"127.7.0.{j}" for j in range(1, 21)])

    def test_source_for_hls_viewers_on_every_connection(self):
        log = os.path.join(self.tmp.name, "source-hls-access.log")
        with Gordo("--input", self.media, "--loop", "--hls", "--access-log", log) as g:
            playlist = next(u for u in g.urls if u.endswith(".m3u8"))
            r = load(playlist, "--hls", "--viewers", "3", "--duration", "2", "--settle", "1", "--source",
                     "127.7.1.0/29")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual((s["playing"], s["errors"]), (3, 0), s["first_error"])
        # Every request of a viewer, on its keep-alive connection, from its own address.
        self.assertEqual(set(access_peers(log)), {"127.7.1.1", "127.7.1.2", "127.7.1.3"})

    def test_source_too_small_for_the_viewers(self):
        r = load(self.gordo.url, "--source", "127.7.0.0/30", "--viewers", "5")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--source 127.7.0.0/30 has 2 host addresses, fewer than --viewers 5: a /29 has enough",
                      r.stderr)
        self.assertEqual(r.stdout, "")

    def test_a_missing_mount_counts_as_failures(self):
        r = load(self.gordo.url.replace("/live.ts", "/nope.ts"), "--viewers", "10", "--duration", "1")
        self.assertEqual(r.returncode, 1)
        s = json.loads(r.stdout)
        self.assertEqual(s["failures"], 10)
        self.assertEqual(s["first_error"], "HTTP 404")


# nginx terminating TLS before a gordo, as perf/bench's nginx-tls runs it: the body as gordo
# sends it (no HTTP chunks, which gordo-load's MPEG-TS checks would see as lost sync).
TLS_PROXY_CONF = """user root;
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    location / {{ proxy_pass http://127.0.0.1:{origin}; proxy_buffering off; chunked_transfer_encoding off; }}
  }}
}}
"""


@unittest.skipIf(nginx.available(), nginx.available())
class OverTls(unittest.TestCase):
    """gordo-load --tls: handshakes, a decrypted and checked sample, the rest counted."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        media = make_media(os.path.join(cls.tmp.name, "in.ts"), seconds=4, fmt_args=("-f", "mpegts"))
        cls.gordo = Gordo("--input", media, "--loop")
        try:
            cls.ca, cert, key = nginx.make_certificate(cls.tmp.name, "127.0.0.1")
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                cls.port = s.getsockname()[1]
            conf = os.path.join(cls.tmp.name, "nginx.conf")
            with open(conf, "w") as f:
                f.write(TLS_PROXY_CONF.format(dir=cls.tmp.name, port=cls.port, cert=cert, key=key,
                                              origin=cls.gordo.port))
            cls.nginx = subprocess.Popen([nginx.NGINX, "-p", cls.tmp.name, "-c", conf, "-e",
                                          os.path.join(cls.tmp.name, "error.log")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for(lambda: port_bound(cls.port), 10, "nginx listening")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if getattr(cls, "nginx", None):
                cls.nginx.send_signal(signal.SIGTERM)
                cls.nginx.wait(20)
            cls.gordo.__exit__(None, None, None)
        finally:
            cls.tmp.cleanup()

    def test_viewers_over_https_receive_and_a_sample_is_checked(self):
        url = f"https://127.0.0.1:{self.port}/live.ts"
        r = load(url, "--viewers", "20", "--rate", "200", "--duration", "3", "--settle", "1",
                 "--verify", "4", "--tls-ca", self.ca)
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual((s["ok"], s["receiving"]), (20, 20), s["first_error"])
        self.assertEqual(s["failures"] + s["closed_early"] + s["handshake_failures"], 0, s["first_error"])
        self.assertGreater(s["aggregate_gbps"], 0)
        # The sample decrypted what it received: a keyframe each, and the stream's rate from
        # its PCRs, which every viewer (the 16 that only counted TLS records too) keeps up with.
        self.assertEqual(s["verified"], 4)
        self.assertEqual(s["no_keyframe"], 0)
        self.assertEqual(s["expected_from"], "stream")
        self.assertEqual(s["behind"], 0)
        self.assertTrue(s["tls_protocol"].startswith("TLSv1."), s["tls_protocol"])
        # Records of up to 16 KiB cost 22-29 bytes each; nginx's smaller ones a little more.
        self.assertGreater(s["tls_overhead_pct"], 0)
        self.assertLess(s["tls_overhead_pct"], 5)
        self.assertGreater(s["handshake_p50_ms"], 0)
        self.assertGreaterEqual(s["ttfb_p50_ms"], s["handshake_p50_ms"])

    def test_a_certificate_that_does_not_verify_is_a_handshake_failure(self):
        other = os.path.join(self.tmp.name, "other")
        os.mkdir(other)
        ca, _, _ = nginx.make_certificate(other, "127.0.0.1")
        r = load(f"https://127.0.0.1:{self.port}/live.ts", "--viewers", "3", "--duration", "1", "--tls-ca", ca)
        self.assertEqual(r.returncode, 1)
        s = json.loads(r.stdout)
        self.assertEqual((s["failures"], s["handshake_failures"]), (3, 3))
        self.assertIn("certificate", s["first_error"])


def gordo_has_tls():
    r = subprocess.run([GORDO, "--help"], capture_output=True, text=True)
    return "--tls-listen" in r.stdout


@unittest.skipUnless(gordo_has_tls(), "this gordo has no --tls-listen")
class AgainstGordoTls(unittest.TestCase):
    def test_viewers_of_gordo_s_own_tls_listener(self):
        with tempfile.TemporaryDirectory() as tmp:
            media = make_media(os.path.join(tmp, "in.ts"), seconds=4, fmt_args=("-f", "mpegts"))
            ca, cert, key = nginx.make_certificate(tmp, "127.0.0.1")
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            with Gordo("--input", media, "--loop", "--tls-listen", f"127.0.0.1:{port}", "--tls-cert", cert,
                       "--tls-key", key):
                r = load(f"https://127.0.0.1:{port}/live.ts", "--viewers", "20", "--rate", "200", "--duration", "3",
                         "--settle", "1", "--verify", "4", "--tls-ca", ca)
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual((s["ok"], s["receiving"], s["verified"]), (20, 20, 4), s["first_error"])
        self.assertEqual(s["failures"] + s["closed_early"] + s["handshake_failures"], 0, s["first_error"])
        self.assertEqual((s["no_keyframe"], s["expected_from"], s["behind"]), (0, "stream", 0))


class AgainstNothing(unittest.TestCase):
    def test_a_closed_port_reports_failures_instead_of_hanging(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # bound, never listening: connections are refused
            r = load(f"http://127.0.0.1:{port}/live.ts", "--viewers", "50", "--duration", "30", timeout=20)
        self.assertEqual(r.returncode, 1)
        s = json.loads(r.stdout)
        self.assertEqual(s["failures"], 50)
        self.assertEqual(s["ok"], 0)
        self.assertIn("refused", s["first_error"])

    def test_bad_arguments(self):
        url = "http://127.0.0.1:1/"
        for args in (["ftp://x/"], [url, "--viewers", "0"], [url, "--rate", "x"],
                     [url, "--client-limit", "120"], [url, "--client-limit", "nan"],
                     [url, "--source", "127.7.0.0"], [url, "--source", "127.7.0.0/33"],
                     [url, "--source", "fd00::/64"], [url, "--source", "127.7.0.9/24"],
                     [url, "--source", "127.7.0.1/32", "--viewers", "2"],
                     ["http://[::1]:1/", "--source", "127.7.0.0/24", "--viewers", "1"]):
            r = subprocess.run([GORDO_LOAD, *args], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.stderr.startswith("gordo-load: "), r.stderr)

    def test_a_source_network_that_is_not_local_fails_its_viewers(self):
        with open("/proc/sys/net/ipv4/ip_nonlocal_bind") as f:
            if f.read().strip() != "0":
                self.skipTest("net.ipv4.ip_nonlocal_bind is set: any address binds")
        # 198.51.100.0/24 is TEST-NET-2 (RFC 5737): no host has it, so each bind fails, a
        # failure of that viewer like a refused connect.
        r = load("http://127.0.0.1:1/live.ts", "--viewers", "3", "--duration", "1", "--source", "198.51.100.0/29",
                 timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual((s["ok"], s["failures"]), (0, 3))
        self.assertEqual(s["first_error"], "bind: Cannot assign requested address")


if __name__ == "__main__":
    unittest.main()
