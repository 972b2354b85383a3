"""Black-box: the serving engine's policies (slow viewers, limits, timeouts, zero-copy,
several workers, io_uring or epoll) seen from real sockets and from the counters gordo logs
when it stops."""
import json
import os
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (ENGINE, GORDO, NO_URING, Gordo, Viewer, capture, capture_async, connect, continuity_breaks, decode_errors,
                     make_media, request, server_counters, split_response, ts_packets, wait_for, write)

MEDIA_SECONDS = 4


def setUpModule():
    global TMP, MEDIA, MEDIA_BYTES_PER_S
    TMP = tempfile.TemporaryDirectory()
    MEDIA = make_media(os.path.join(TMP.name, "in.ts"), seconds=MEDIA_SECONDS, size="640x360",
                       fmt_args=("-b:v", "1500k", "-f", "mpegts"))
    MEDIA_BYTES_PER_S = os.path.getsize(MEDIA) / MEDIA_SECONDS


def tearDownModule():
    TMP.cleanup()


def stopped(g):
    """Stops gordo and returns its counters, checking it exited cleanly."""
    code = g.stop()
    log = g.log()
    assert code == 0, f"gordo exited {code}: {log}"
    assert "still referenced" not in log, log
    return server_counters(log), log


def answer(port, path="/live.ts"):
    """(status, headers) of a GET that asks for no more than the head."""
    with connect(port) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head and (chunk := s.recv(4096)):
            head += chunk
    return split_response(head)[:2]


class SlowViewers(unittest.TestCase):
    # A slow viewer: small socket buffers on both ends (but not so small that TCP's
    # silly-window avoidance throttles it), so that stopping reading for 5 s puts it
    # seconds behind live.
    def run_slow(self, policy):
        with Gordo("--input", MEDIA, "--loop", "--workers", "1", "--max-lag", "1s",
                   "--on-slow", policy, "--sndbuf", "16384") as g:
            normal = Viewer(g.port, "/live.ts", 9)
            slow = Viewer(g.port, "/live.ts", 9, stall=(1, 5), rcvbuf=32768)
            normal.result()
            slow.result()
            counters, log = stopped(g)
        # The normal viewer on the same worker kept the full rate while the other stalled.
        during = normal.bytes_between(1.5, 6)
        self.assertGreater(during, 0.7 * MEDIA_BYTES_PER_S * 4.5,
                           f"normal viewer got {during} bytes in 4.5 s; stream is {MEDIA_BYTES_PER_S:.0f} B/s")
        self.assertFalse(normal.closed)
        status, _, body = normal.result()
        self.assertEqual(status, 200)
        self.assertEqual(continuity_breaks(body), [], "the normal viewer lost nothing")
        return slow, counters

    def test_viewer_that_stops_reading_is_resynced_at_a_keyframe(self):
        slow, counters = self.run_slow("skip-to-keyframe")
        self.assertGreaterEqual(counters["resyncs"], 1)
        self.assertEqual(counters["slow_drops"], 0)
        self.assertFalse(slow.closed, "skip-to-keyframe keeps the viewer connected")
        status, _, body = slow.result()
        self.assertEqual(status, 200)
        self.assertGreater(slow.bytes_between(6, 9), 0.5 * MEDIA_BYTES_PER_S * 3,
                           "it receives again once it reads")
        # Whole TS packets throughout (ts_packets checks every sync byte), and the stream
        # jumps only to a keyframe: the first packet after each jump starts a video access
        # unit flagged random-access.
        packets = ts_packets(body)
        breaks = continuity_breaks(body)
        self.assertGreaterEqual(len(breaks), 1, "it skipped ahead")
        jump = breaks[0]
        pid, start, random_access = packets[jump][:3]
        self.assertEqual(pid, 0x100, "the jump lands on the video stream")
        self.assertTrue(start and random_access, "the jump lands on a keyframe")
        self.assertEqual(decode_errors(write(TMP.name, "slow.ts", body[jump * 188:])), "")

    def test_viewer_that_stops_reading_is_dropped_by_policy(self):
        slow, counters = self.run_slow("drop")
        self.assertGreaterEqual(counters["slow_drops"], 1)
        self.assertEqual(counters["resyncs"], 0)
        self.assertTrue(slow.closed, "drop disconnects the slow viewer")
        _, _, body = slow.result()
        self.assertEqual(continuity_breaks(body), [], "what it got before the drop is whole")

    def test_viewer_that_never_reads_again_is_closed_by_the_write_timeout(self):
        with Gordo("--input", MEDIA, "--loop", "--workers", "1", "--write-timeout", "2",
                   "--sndbuf", "16384") as g:
            stuck = Viewer(g.port, "/live.ts", 8, stall=(0.5, 6), rcvbuf=32768)
            stuck.result()
            counters, _ = stopped(g)
        self.assertTrue(stuck.closed)
        self.assertGreaterEqual(counters["timeouts"], 1)


class NotsentLowat(unittest.TestCase):
    """--notsent-lowat: the kernel holds little beyond what is in flight for a viewer that
    stopped reading; the rest waits in the ring, where --max-lag sees it."""

    def stalled_send_queue(self, lowat):
        with Gordo("--input", MEDIA, "--loop", "--workers", "1", "--notsent-lowat", lowat) as g:
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
                s.settimeout(10)
                s.connect(("127.0.0.1", g.port))
                s.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
                s.recv(4096)  # the head and a little; then it reads no more
                time.sleep(4)  # the ring is ~800 KB ahead of it by then
                out = subprocess.run(["ss", "-tnH", "state", "established", f"( sport = :{g.port} )"],
                                     capture_output=True, text=True, check=True).stdout
            stopped(g)
        self.assertEqual(len(out.splitlines()), 1, out)
        return int(out.split()[1])  # Send-Q: bytes queued, sent or not

    def test_a_viewer_that_stopped_reading_holds_little_in_the_kernel(self):
        # Its receive window is full and acknowledged: what is left is unsent, 16 KiB (and at
        # most a loopback segment or two more; 16,384 here).
        held = self.stalled_send_queue("16KiB")
        self.assertLess(held, 16384 + 2 * 65536)
        # The kernel's own setting: it takes what the ring has (869 KB here), unless this host
        # bounds every socket itself.
        with open("/proc/sys/net/ipv4/tcp_notsent_lowat") as f:
            if int(f.read()) < 1 << 20:
                self.skipTest("net.ipv4.tcp_notsent_lowat bounds every socket on this host")
        self.assertGreater(self.stalled_send_queue("0"), 400_000)


class Stopping(unittest.TestCase):
    def test_sigterm_lets_viewers_finish_their_chunk_and_exits_in_bounded_time(self):
        with Gordo("--input", MEDIA, "--loop", "--workers", "1", "--sndbuf", "16384") as g:
            readers = [Viewer(g.port, "/live.ts", 30) for _ in range(3)]
            stuck = connect(g.port)  # asks, then never reads: its send blocks
            stuck.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(2)
            began = time.monotonic()
            self.assertEqual(g.stop(), 0)
            self.assertLess(time.monotonic() - began, 10, "a viewer that stopped reading delays exit 5 s at most")
        for v in readers:
            status, _, body = v.result()
            self.assertEqual(status, 200)
            self.assertTrue(v.closed)
            # Whole chunks, so whole TS packets, and nothing lost before the end.
            self.assertEqual(len(body) % 188, 0)
            self.assertEqual(continuity_breaks(body), [])
        stuck.close()


class Limits(unittest.TestCase):
    def test_client_limit_answers_503_then_admits_again_when_a_viewer_leaves(self):
        with Gordo("--input", MEDIA, "--loop", "--client-limit", "2") as g:
            a, b = connect(g.port), connect(g.port)
            for s in (a, b):
                s.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 200"))
            status, headers, body = split_response(request(g.port, b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n"))
            self.assertEqual(status, 503)
            self.assertEqual(headers["retry-after"], "10")
            self.assertIn(b"full", body)
            a.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # the server notices the close on its next send
                status, _, _, _ = capture(g.port, "/live.ts", 0.5)
                if status == 200:
                    break
            self.assertEqual(status, 200)
            b.close()
            counters, _ = stopped(g)
            self.assertGreaterEqual(counters["refused"], 1)

    def test_overflow_redirects_when_configured(self):
        with Gordo("--input", MEDIA, "--loop", "--mount-client-limit", "1",
                   "--redirect-on-overflow", "http://other.example:8080/live.ts") as g:
            with connect(g.port) as a:
                a.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue(a.recv(100).startswith(b"HTTP/1.1 200"))
                raw = request(g.port, b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue(raw.startswith(b"HTTP/1.1 302 Found\r\n"), raw[:40])
                status, headers, _ = split_response(raw)
                self.assertEqual(status, 302)
                self.assertEqual(headers["location"], "http://other.example:8080/live.ts")
            self.assertEqual(g.stop(), 0)

    @staticmethod
    def bandwidth_limit():
        """1.5 times the stream's bitrate, in Mbit/s: one viewer fits, a second does not."""
        return str(round(MEDIA_BYTES_PER_S * 8 * 1.5 / 1e6))

    def wait_bitrate_measured(self, g):
        """Until /stats shows the mount's measured bitrate, which admission counts."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if json.loads(g.admin_get("/stats")[2])["mounts"][0]["bits_in_per_s"] > 0:
                return
            time.sleep(0.1)
        self.fail("no bitrate measured")

    def wait_viewers(self, g, n):
        """Until gordo counts `n` viewers (it notices a close on its next send)."""
        deadline = time.monotonic() + 10
        while json.loads(g.admin_get("/stats")[2])["mounts"][0]["viewers"] != n and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(json.loads(g.admin_get("/stats")[2])["mounts"][0]["viewers"], n)

    def test_bandwidth_limit_refuses_viewers_past_it_and_admits_again_when_one_leaves(self):
        with Gordo("--input", MEDIA, "--loop", "--bandwidth-limit", self.bandwidth_limit()) as g:
            self.wait_bitrate_measured(g)
            a = connect(g.port)
            a.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(a.recv(100).startswith(b"HTTP/1.1 200"))
            for _ in range(5):  # refusals take no bandwidth with them
                status, headers = answer(g.port)
                self.assertEqual(status, 503)
                self.assertEqual(headers["retry-after"], "10")
            a.close()
            self.wait_viewers(g, 0)
            status, _, body, _ = capture(g.port, "/live.ts", 1)
            self.assertEqual(status, 200, "the bandwidth a viewer took is given back when it leaves")
            self.assertGreater(len(body), 0)
            counters, _ = stopped(g)
            self.assertGreaterEqual(counters["refused"], 5)

    def test_bandwidth_overflow_redirects_when_configured(self):
        with Gordo("--input", MEDIA, "--loop", "--bandwidth-limit", self.bandwidth_limit(),
                   "--redirect-on-overflow", "http://other.example:8080/live.ts") as g:
            self.wait_bitrate_measured(g)
            with connect(g.port) as a:
                a.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue(a.recv(100).startswith(b"HTTP/1.1 200"))
                status, headers = answer(g.port)
                self.assertEqual(status, 302)
                self.assertEqual(headers["location"], "http://other.example:8080/live.ts")
            self.assertEqual(g.stop(), 0)

    def test_a_viewer_admitted_before_the_bitrate_is_measured_counts_once_it_is(self):
        # Viewers who connect as gordo starts (all of them, after a restart) must not get
        # in for free: the limit is viewers x the mount's measured bitrate, whenever measured.
        with Gordo("--input", MEDIA, "--loop", "--bandwidth-limit", self.bandwidth_limit()) as g:
            early = Viewer(g.port, "/live.ts", 30)
            self.wait_viewers(g, 1)
            self.assertEqual(json.loads(g.admin_get("/stats")[2])["mounts"][0]["bits_in_per_s"], 0,
                             "it was let in before the bitrate was known")
            self.wait_bitrate_measured(g)
            status, _ = answer(g.port)
            self.assertEqual(status, 503)
            g.stop()
            early.join()

    def test_out_of_fds_new_viewers_get_503_and_others_keep_playing(self):
        with Gordo("--input", MEDIA, "--loop", "--workers", "1", max_fds=40) as g:
            watcher = Viewer(g.port, "/live.ts", 8)
            wait_for(lambda: watcher.data, what="the watcher's first bytes")
            sockets, statuses = [], []
            for _ in range(40):
                s = connect(g.port)
                s.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
                s.settimeout(10)
                head = s.recv(100)
                statuses.append(int(head.split(b" ")[1]) if head else None)
                sockets.append(s)
            self.assertIn(200, statuses)
            self.assertIn(503, statuses, "past the fd limit viewers are told the server is full")
            self.assertEqual(set(statuses), {200, 503}, statuses)
            for s in sockets:
                s.close()
            status, _, body = watcher.result()
            self.assertEqual(status, 200)
            self.assertFalse(watcher.closed)
            self.assertGreater(watcher.bytes_between(3, 8), 0.7 * MEDIA_BYTES_PER_S * 5)
            self.assertEqual(continuity_breaks(body), [])
            # Once fds are free again, viewers are admitted again.
            deadline = time.monotonic() + 10
            while capture(g.port, "/live.ts", 0.5)[0] != 200 and time.monotonic() < deadline:
                pass
            self.assertEqual(capture(g.port, "/live.ts", 0.5)[0], 200)
            counters, log = stopped(g)
            self.assertIn("raise LimitNOFILE", log)
            self.assertGreaterEqual(counters["refused"], 1)

    def test_request_head_that_never_completes_gets_408(self):
        with Gordo("--input", MEDIA, "--loop", "--header-timeout", "1") as g:
            with connect(g.port) as s:
                began = time.monotonic()
                s.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n")  # and nothing more
                s.settimeout(10)
                status, _, body = split_response(s.recv(4096))
                waited = time.monotonic() - began
            self.assertEqual(status, 408)
            self.assertIn(b"time", body)
            self.assertGreaterEqual(waited, 0.95, "not before --header-timeout")
            self.assertLess(waited, 3)
            # Viewers that do send their request are unaffected, however near the
            # worker's once-a-second tick they arrive.
            statuses = [capture(g.port, "/live.ts", 0.2)[0] for _ in range(10)]
            self.assertEqual(statuses, [200] * 10)
            # A kept-alive connection left idle is closed without a 408: it began no request.
            with connect(g.port) as s:
                s.sendall(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
                s.settimeout(10)
                first = s.recv(4096)
                self.assertIn(b"Connection: keep-alive", first)
                self.assertEqual(s.recv(4096), b"", "closed, nothing sent")
            counters, _ = stopped(g)
            self.assertEqual(counters["timeouts"], 2)


@unittest.skipIf(ENGINE == "epoll", "zero-copy sends are the io_uring engine's")
class ZeroCopy(unittest.TestCase):
    def serve(self, mode, viewers=4):
        with Gordo("--input", MEDIA, "--loop", "--workers", "2", "--zerocopy", mode) as g:
            pending = [capture_async(g.port, "/live.ts", 3) for _ in range(viewers)]
            bodies = [p.result()[2] for p in pending]
            self.states = [w["zerocopy"] for w in json.loads(g.admin_get("/stats")[2])["workers"]]
            counters, log = stopped(g)
        if "no zero-copy send" in log:
            self.skipTest("this kernel has no zero-copy send (IORING_OP_SEND_ZC, Linux 6.1+)")
        for i, body in enumerate(bodies):
            self.assertEqual(continuity_breaks(body), [])
            self.assertEqual(decode_errors(write(TMP.name, f"zc{i}.ts", body)), "")
        return counters, log

    def test_zero_copy_sends_are_notified_and_release_their_chunks(self):
        counters, log = self.serve("on")
        self.assertGreater(counters["zc_sends"], 10)
        self.assertGreater(counters["zc_fixed"], 0, "single-chunk sends use the registered arena")
        # Every send's chunks were held until its notification, and then released:
        # stopped() checked that no slab is still referenced.
        self.assertEqual(counters["zc_notified"], counters["zc_sends"])
        # Loopback always copies, and the kernel says so.
        self.assertEqual(counters["zc_copied"], counters["zc_notified"])
        self.assertEqual(self.states, ["active", "active"], "on keeps sending zero-copy")

    def test_auto_falls_back_to_plain_send_when_the_kernel_copies(self):
        # One worker, so that its decision is the one /stats shows.
        with Gordo("--input", MEDIA, "--loop", "--workers", "1", "--zerocopy", "auto") as g:
            viewers = [Viewer(g.port, "/live.ts", 15) for _ in range(8)]

            def worker():
                (w,) = json.loads(g.admin_get("/stats")[2])["workers"]
                return w

            deadline = time.monotonic() + 14
            while (w := worker())["zerocopy"] == "active" and time.monotonic() < deadline:
                time.sleep(0.2)
            if w["zerocopy"] == "unavailable":
                self.skipTest("this kernel has no zero-copy send (IORING_OP_SEND_ZC, Linux 6.1+)")
            self.assertEqual(w["zerocopy"], "copying", "auto stopped zero-copy once the kernel copied")
            # Zero-copy sends were tried and the kernel said it copied them...
            self.assertGreater(w["zerocopy_sends"], 0)
            self.assertGreater(w["zerocopy_copied"], w["zerocopy_sends"] // 4)
            # ... and plain sends carry the stream from then on.
            while (later := worker())["sends"] < w["sends"] + 20 and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertGreaterEqual(later["sends"], w["sends"] + 20)
            self.assertEqual(later["zerocopy_sends"], w["zerocopy_sends"])
            bodies = [v.result()[2] for v in viewers]
            counters, log = stopped(g)
        self.assertIn("using plain send", log)
        self.assertEqual(counters["zc_notified"], counters["zc_sends"])
        for i, body in enumerate(bodies):
            self.assertEqual(continuity_breaks(body), [], f"viewer {i}")

    def test_off_never_sends_zero_copy(self):
        counters, _ = self.serve("off")
        self.assertEqual(counters["zc_sends"], 0)
        self.assertGreater(counters["sends"], 10)
        self.assertEqual(self.states, ["off", "off"])


class EngineChoice(unittest.TestCase):
    """--engine auto|uring|epoll, with io_uring blocked by seccomp as container runtimes do."""

    def watch(self, g, seconds=3):
        status, _, body, _ = capture(g.port, "/live.ts", seconds)
        self.assertEqual(status, 200)
        self.assertGreater(len(body), MEDIA_BYTES_PER_S * seconds / 3)
        self.assertEqual(continuity_breaks(body), [])
        self.assertEqual(decode_errors(write(TMP.name, "engine.ts", body)), "")
        status, _, stats = g.admin_get("/stats")
        self.assertEqual(status, 200)
        return json.loads(stats)

    def fallback(self, wrapper, reason):
        with Gordo("--input", MEDIA, "--loop", "--workers", "2", "--engine", "auto", wrapper=wrapper) as g:
            stats = self.watch(g)
            counters, log = stopped(g)
        self.assertEqual([w["engine"] for w in stats["workers"]], ["epoll", "epoll"])
        # Said once for the process, not once per worker, with what to do about it.
        self.assertEqual(log.count("io_uring is not available"), 1, log)
        self.assertIn(reason, log)
        self.assertIn("serving with epoll instead", log)
        self.assertIn("with epoll", log)
        self.assertGreater(counters["bytes"], 0)

    def test_auto_serves_with_epoll_where_seccomp_blocks_io_uring(self):
        self.fallback([NO_URING], "seccomp")

    def test_auto_serves_with_epoll_where_the_kernel_has_no_io_uring(self):
        self.fallback([NO_URING, "--enosys"], "built without io_uring")

    def test_uring_insisted_on_where_blocked_is_a_clear_startup_error(self):
        proc = subprocess.run([NO_URING, GORDO, "--input", MEDIA, "--listen", "127.0.0.1:0",
                               "--admin-listen", "off", "--engine", "uring"], capture_output=True, timeout=30)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(b"io_uring is not available: Operation not permitted", proc.stderr)
        self.assertNotIn(b"Segmentation", proc.stderr)

    def test_epoll_chosen_is_used_without_a_warning(self):
        with Gordo("--input", MEDIA, "--loop", "--workers", "2", "--engine", "epoll") as g:
            stats = self.watch(g)
            _, log = stopped(g)
        self.assertEqual([w["engine"] for w in stats["workers"]], ["epoll", "epoll"])
        self.assertNotIn("io_uring is not available", log)

    def test_unknown_engine_is_refused(self):
        proc = subprocess.run([GORDO, "--engine", "kqueue"], capture_output=True, timeout=30)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"--engine 'kqueue' must be auto, uring or epoll", proc.stderr)


class SeveralWorkers(unittest.TestCase):
    def test_every_viewer_gets_the_same_stream_bytes_in_order(self):
        with Gordo("--input", MEDIA, "--loop", "--workers", "2") as g:
            pending = [capture_async(g.port, "/live.ts", 4) for _ in range(16)]
            bodies = [p.result()[2] for p in pending]
            counters, _ = stopped(g)
        self.assertEqual(counters["workers"], 2)
        self.assertTrue(all(n > 0 for n in counters["per_worker_connections"]),
                        f"both workers served: {counters['per_worker_connections']}")
        # Each body is the cached PAT+PMT header, then a run of the one remuxed stream:
        # every pair overlaps byte for byte, nothing lost or reordered.
        reference = max(bodies, key=len)
        for i, body in enumerate(bodies):
            self.assertEqual(continuity_breaks(body), [], f"viewer {i}")
            live = body[2 * 188:]
            at = reference.find(live[:64 * 188])
            self.assertGreaterEqual(at, 0, f"viewer {i}'s stream is not in the reference")
            overlap = min(len(live), len(reference) - at)
            self.assertGreater(overlap, 200_000)
            self.assertEqual(live[:overlap], reference[at:at + overlap], f"viewer {i}")


if __name__ == "__main__":
    unittest.main()
