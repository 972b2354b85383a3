"""Black-box: the admin endpoint's /stats (JSON) and /metrics (Prometheus text format)."""
import json
import os
import re
import subprocess
import tempfile
import time
import unittest

from harness import ENGINE, GORDO, Gordo, connect, make_media, request, split_response, wait_for

SAMPLE = re.compile(r'^(gordo_[a-z_]+)(\{([a-z_]+="(?:[^"\\\n]|\\.)*")(,[a-z_]+="(?:[^"\\\n]|\\.)*")*\})? '
                    r'(-?[0-9.]+(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$')


def parse_metrics(text):
    """A strict reading of the Prometheus text format (0.0.4) as gordo writes it:
    every sample follows its family's HELP and TYPE, counters end in _total, no series
    twice. Returns {series: value}."""
    helped, typed, series = set(), {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert name not in helped, f"HELP twice for {name}"
            helped.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert kind in ("gauge", "counter"), line
            assert name in helped, f"TYPE before HELP for {name}"
            assert kind != "counter" or name.endswith("_total"), f"counter {name} must end in _total"
            typed[name] = kind
        else:
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            assert m.group(1) in typed, f"sample before its TYPE: {line}"
            key = line.rsplit(" ", 1)[0]
            assert key not in series, f"series twice: {key}"
            series[key] = float(line.rsplit(" ", 1)[1])
    return series


class Stats(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        media = make_media(os.path.join(cls.tmp.name, "in.ts"), seconds=4, gop=25, fmt_args=("-f", "mpegts"))
        cls.bits_per_s = os.path.getsize(media) * 8 / 4
        cls.spawned = time.monotonic()
        cls.gordo = Gordo("--input", media, "--loop", "--workers", "2")
        cls.ready = time.monotonic()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.gordo.__exit__(None, None, None)  # stops gordo, checks that it exited 0
        finally:
            cls.tmp.cleanup()

    def stats(self):
        status, headers, body = self.gordo.admin_get("/stats")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        return json.loads(body)

    def test_stats_and_metrics_describe_the_viewers(self):
        viewers = []
        for _ in range(3):
            s = connect(self.gordo.port)
            s.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 200"))
            s.setblocking(False)
            viewers.append(s)

        received = [0]

        def drain():  # keeps the viewers reading, so none is slow
            for s in viewers:
                try:
                    while chunk := s.recv(1 << 20):
                        received[0] += len(chunk)
                except BlockingIOError:
                    pass

        def measured():
            drain()
            m = self.stats()["mounts"][0]
            # The source's bitrate and GOP are measured over its first seconds.
            return m["bits_in_per_s"] > 0 and m["keyframe_interval_s"] > 0

        wait_for(measured, what="/stats to measure the source's bitrate and keyframe interval")
        # bits_out_per_s counts since the previous /stats: let the viewers receive some first.
        since = received[0]
        wait_for(lambda: drain() or received[0] > since + 3 * 20_000, what="the viewers to receive more")
        asked = time.monotonic()
        st = self.stats()
        answered = time.monotonic()
        version = subprocess.run([GORDO, "--version"], capture_output=True, text=True).stdout.split()[1]
        self.assertEqual(st["version"], version)
        # Uptime counts from gordo's start: between our spawning it and its being ready.
        self.assertGreaterEqual(st["uptime_s"], asked - self.ready)
        self.assertLessEqual(st["uptime_s"], answered - self.spawned)
        self.assertGreater(st["process"]["open_fds"], 3)
        self.assertGreater(st["process"]["fd_limit"], 100)
        self.assertGreater(st["process"]["rss_bytes"], 1 << 20)
        (m,) = st["mounts"]
        self.assertEqual(m["path"], "/live.ts")
        self.assertEqual(m["content_type"], "video/mp2t")
        self.assertEqual(m["state"], "live")
        self.assertIn("in.ts", m["source"])
        self.assertEqual(m["viewers"], 3)
        self.assertGreaterEqual(m["viewers_peak"], 3)
        self.assertGreater(m["bytes_out"], 3 * 0.5 * self.bits_per_s / 8)
        self.assertGreater(m["bits_out_per_s"], 0)
        self.assertAlmostEqual(m["bits_in_per_s"], self.bits_per_s, delta=0.5 * self.bits_per_s)
        self.assertAlmostEqual(m["keyframe_interval_s"], 1.0, delta=0.35)  # GOP of 25 at 25 fps
        self.assertGreater(m["chunks_published"], 10)
        self.assertGreater(m["chunks_in_ring"], 0)
        self.assertEqual(m["resyncs"], 0)
        self.assertEqual(m["slow_drops"], 0)
        workers = st["workers"]
        self.assertEqual([w["id"] for w in workers], [0, 1])
        self.assertEqual(sum(w["viewers"] for w in workers), 3)
        self.assertGreaterEqual(sum(w["connections"] for w in workers), 3)
        self.assertEqual(sum(w["bytes_out"] for w in workers) >= m["bytes_out"], True)
        for w in workers:
            if ENGINE == "epoll":
                self.assertEqual((w["engine"], w["uring_mode"]), ("epoll", ""))
            else:
                self.assertEqual(w["engine"], "io_uring")
                self.assertIn(w["uring_mode"], ("single-issuer defer-taskrun", "coop-taskrun", "basic"))
            self.assertEqual(w["cq_overflows"], 0)

        status, headers, body = self.gordo.admin_get("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
        series = parse_metrics(body.decode())
        self.assertEqual(series['gordo_mount_viewers{mount="/live.ts"}'], 3)
        self.assertEqual(series['gordo_mount_up{mount="/live.ts"}'], 1)
        self.assertEqual(series['gordo_worker_viewers{worker="0"}'] + series['gordo_worker_viewers{worker="1"}'], 3)
        engine = "epoll" if ENGINE == "epoll" else "io_uring"
        self.assertEqual(series[f'gordo_worker_info{{worker="1",engine="{engine}"}}'], 1)
        self.assertGreaterEqual(series['gordo_mount_sent_bytes_total{mount="/live.ts"}'], m["bytes_out"])
        self.assertEqual(series[f'gordo_build_info{{version="{version}"}}'], 1)

        for s in viewers:
            s.close()
        deadline = time.monotonic() + 10  # a viewer's hang-up shows at its next send
        while self.stats()["mounts"][0]["viewers"] and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.stats()["mounts"][0]["viewers"], 0)
        self.assertGreaterEqual(self.stats()["mounts"][0]["viewers_peak"], 3)

    def test_other_paths_and_methods(self):
        self.assertEqual(self.gordo.admin_get("/nope")[0], 404)
        host, port = re.match(r"http://([^:/]+):(\d+)/", self.gordo.stats_url).groups()
        raw = request(int(port), b"POST /stats HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", host=host)
        self.assertEqual(split_response(raw)[0], 405)
        raw = request(int(port), b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", host=host)
        status, headers, body = split_response(raw)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertEqual(split_response(request(int(port), b"garbage\r\n\r\n", host=host))[0], 400)
        for raw in (b"GET /stats HTTP/1.1\r\n\r\n", b"GET /stats HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"):
            status, _, body = split_response(request(int(port), raw, host=host))
            self.assertEqual(status, 400, raw)
            self.assertIn(b"exactly one Host header", body, raw)
        raw = request(int(port), b"GET /stats HTTP/1.0\r\n\r\n", host=host)
        self.assertEqual(split_response(raw)[0], 200, "HTTP/1.0 may leave Host out")
        # The viewers' port's limits, answered as it answers them (not 400, nor a reset).
        line = b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        self.assertEqual(split_response(request(int(port), line, host=host))[0], 414)
        big = b"GET /stats HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
        self.assertEqual(split_response(request(int(port), big, host=host))[0], 431)
        many = b"GET /stats HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(40)) + b"\r\n"
        self.assertEqual(split_response(request(int(port), many, host=host))[0], 431)
        # A head that stops coming gets 408 once its time is up (two seconds).
        status, _, body = split_response(request(int(port), b"GET /stats HTTP/1.1\r\nHost: x\r\n", host=host))
        self.assertEqual(status, 408)
        # Stats are not on the viewers' address.
        self.assertEqual(split_response(request(self.gordo.port, b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n"))[0], 404)


class AdminOff(unittest.TestCase):
    def test_admin_listen_off_serves_no_stats(self):
        with tempfile.TemporaryDirectory() as tmp:
            media = make_media(os.path.join(tmp, "in.ts"), seconds=2, fmt_args=("-f", "mpegts"))
            with Gordo("--input", media, "--loop", "--admin-listen", "off") as g:
                self.assertIsNone(g.stats_url)
                self.assertEqual(g.stop(), 0)


if __name__ == "__main__":
    unittest.main()
