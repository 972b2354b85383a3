"""Black-box: the access log's lines, their byte counts, and reopening on SIGUSR1."""
import os
import re
import signal
import tempfile
import time
import unittest

from harness import Gordo, connect, make_media, request, split_response, wait_for

LINE = re.compile(r'^(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+) '
                  r'"((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)" (\d+)$')


def wait_for_lines(path, count, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                lines = f.read().splitlines()
            if len(lines) >= count:
                return lines
        time.sleep(0.1)
    raise AssertionError(f"{path} did not get {count} lines")


class AccessLog(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.log = os.path.join(self.tmp.name, "access.log")

    def tearDown(self):
        self.tmp.cleanup()

    def test_a_finished_viewer_is_logged_with_the_bytes_it_received(self):
        media = make_media(os.path.join(self.tmp.name, "short.ts"), seconds=3, fmt_args=("-f", "mpegts"))
        with Gordo("--input", media, "--access-log", self.log) as g:
            with connect(g.port) as s:
                s.sendall(b'GET /live.ts?token=1 HTTP/1.1\r\nHost: x\r\nReferer: http://example.org/page\r\n'
                          b'User-Agent: gordo-tests/1.0 "quoted"\r\n\r\n')
                data = bytearray()
                while chunk := s.recv(1 << 16):  # the server closes when the source ends
                    data += chunk
            _, _, body = split_response(bytes(data))
            status, _, missing = split_response(request(g.port, b"GET /nope HTTP/1.0\r\n\r\n"))
            self.assertEqual(status, 404)
            self.assertEqual(g.stop(), 0)
        lines = wait_for_lines(self.log, 2)
        self.assertEqual(len(lines), 2, lines)
        viewer = LINE.match(next(l for l in lines if "live.ts" in l))
        self.assertIsNotNone(viewer, lines)
        peer, _, req, code, size, referer, agent, seconds = viewer.groups()
        self.assertEqual(peer, "127.0.0.1")
        self.assertEqual(req, "GET /live.ts?token=1 HTTP/1.1")
        self.assertEqual(code, "200")
        self.assertEqual(int(size), len(body), "the logged bytes are the body the viewer received")
        self.assertEqual(referer, "http://example.org/page")
        self.assertEqual(agent, 'gordo-tests/1.0 \\"quoted\\"')
        self.assertGreaterEqual(int(seconds), 2)  # a 3 s source, paced
        other = LINE.match(next(l for l in lines if "nope" in l))
        self.assertEqual(other.group(3), "GET /nope HTTP/1.0")
        self.assertEqual(other.group(4), "404")
        self.assertEqual(int(other.group(5)), len(missing))
        self.assertEqual(other.group(6), "-")
        self.assertEqual(other.group(7), "-")

    def test_sigusr1_reopens_the_file(self):
        media = make_media(os.path.join(self.tmp.name, "in.ts"), seconds=2, fmt_args=("-f", "mpegts"))
        with Gordo("--input", media, "--loop", "--access-log", self.log) as g:
            request(g.port, b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_for_lines(self.log, 1)
            os.rename(self.log, self.log + ".1")  # what logrotate does
            g.proc.send_signal(signal.SIGUSR1)
            # The writer thread opens the file afresh at the path: it exists again once done.
            wait_for(lambda: os.path.exists(self.log), what="the access log to be reopened")
            request(g.port, b"GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_for_lines(self.log, 1)
            self.assertEqual(g.stop(), 0)
        with open(self.log + ".1") as f:
            rotated = f.read()
        with open(self.log) as f:
            fresh = f.read()
        self.assertIn("/first", rotated)
        self.assertNotIn("/second", rotated)
        self.assertIn("/second", fresh)
        self.assertNotIn("/first", fresh)

    def test_unwritable_log_is_a_clear_error(self):
        with self.assertRaises(RuntimeError) as e:
            Gordo("--access-log", "/no/such/dir/access.log")
        self.assertIn("cannot open access log /no/such/dir/access.log", str(e.exception))


if __name__ == "__main__":
    unittest.main()
