"""Black-box: hostile and broken clients. While they come and go, one normal viewer must
keep receiving the whole time, and gordo's memory must stay bounded."""
import json
import os
import random
import resource
import socket
import struct
import tempfile
import time
import unittest

from harness import Gordo, Viewer, continuity_breaks, make_media


def rss(g):
    """gordo's resident memory. Taken once a viewer has been served: the first send
    registers the chunk arena with io_uring, which maps all of it (a fixed 64 MiB)."""
    return json.loads(g.admin_get("/stats")[2])["process"]["rss_bytes"]


def viewers(g):
    return json.loads(g.admin_get("/stats")[2])["mounts"][0]["viewers"]


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
        cls.tmp = tempfile.TemporaryDirectory()
        cls.media = make_media(os.path.join(cls.tmp.name, "in.ts"), seconds=4, fmt_args=("-f", "mpegts"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def assert_played_throughout(self, viewer, seconds):
        status, _, body = viewer.result()
        self.assertEqual(status, 200)
        self.assertFalse(viewer.closed)
        for t in range(1, seconds):
            self.assertGreater(viewer.bytes_between(t, t + 1), 20_000, f"the normal viewer stalled at {t} s")
        self.assertEqual(continuity_breaks(body), [])

    def test_a_thousand_viewers_vanishing_at_random(self):
        with Gordo("--mount", f"/live.ts={self.media}", "--loop") as g:
            steady = Viewer(g.port, "/live.ts", 18)
            time.sleep(2)
            rss_before = rss(g)
            rng = random.Random(7)
            open_socks = []
            ways = {"reset": 0, "half-close": 0, "never-read": 0, "no-request": 0, "close-mid-head": 0}
            for i in range(1000):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.settimeout(5)
                s.connect(("127.0.0.1", g.port))
                way = rng.choice(list(ways))
                ways[way] += 1
                if way == "no-request":
                    s.close()
                    continue
                if way == "close-mid-head":
                    s.sendall(b"GET /live.ts HTTP/1.1\r\nHo")
                    s.close()
                    continue
                s.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
                if way == "reset":  # read a little, then RST while gordo sends
                    s.recv(rng.randint(1, 50_000))
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.close()
                elif way == "half-close":
                    s.shutdown(socket.SHUT_WR)
                    open_socks.append(s)
                else:  # never reads: its window fills and gordo's send blocks
                    open_socks.append(s)
                if i % 100 == 99:
                    time.sleep(0.5)
            time.sleep(3)
            rng.shuffle(open_socks)
            for s in open_socks:  # and now they all go, some with RST
                if rng.random() < 0.5:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            self.assert_played_throughout(steady, 17)
            deadline = time.monotonic() + 10
            while viewers(g) > 0 and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertEqual(viewers(g), 0, "every vanished viewer was noticed and released")
            self.assertLess(rss(g) - rss_before, 64 << 20, f"RSS grew by more than 64 MiB ({ways})")
            self.assertEqual(g.stop(), 0)

    def test_slowloris_does_not_block_real_viewers(self):
        with Gordo("--mount", f"/live.ts={self.media}", "--loop", "--header-timeout", "4") as g:
            steady = Viewer(g.port, "/live.ts", 13)
            time.sleep(2)
            rss_before = rss(g)
            slow = []
            for _ in range(200):
                s = socket.create_connection(("127.0.0.1", g.port), timeout=5)
                s.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n")
                slow.append(s)
            answered = 0
            for second in range(8):  # a header line each second, never the blank line
                for s in slow:
                    try:
                        s.sendall(f"X-{second}: y\r\n".encode())
                    except OSError:
                        pass
                time.sleep(1)
            for s in slow:
                s.settimeout(2)
                try:
                    answered += s.recv(4096).startswith(b"HTTP/1.1 408")
                except OSError:
                    pass
                s.close()
            self.assert_played_throughout(steady, 12)
            self.assertEqual(answered, 200, "each slow request head got 408 after --header-timeout")
            self.assertLess(rss(g) - rss_before, 32 << 20)
            self.assertEqual(g.stop(), 0)


if __name__ == "__main__":
    unittest.main()
