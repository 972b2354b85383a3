"""Black-box: a file is served to real clients; ffprobe and ffmpeg judge the bytes."""
import json
import os
import socket
import struct
import tempfile
import time
import unittest

from harness import (Gordo, capture, capture_async, connect, decode_errors, make_media, mean_volume_db,
                     request, split_response, streams, ts_pids, video_packets, write)


class LoopedFile(unittest.TestCase):
    """gordo --input FILE --loop, shared by the tests of this class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.media = make_media(os.path.join(cls.tmp.name, "in.mp4"), seconds=4)
        cls.gordo = Gordo("--input", cls.media, "--loop", "--mount", "/live.ts")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.gordo.__exit__(None, None, None)  # stops gordo, checks that it exited 0
        finally:
            cls.tmp.cleanup()

    def save(self, name, body):
        return write(self.tmp.name, name, body)

    def test_ffprobe_reads_both_streams_from_the_url(self):
        found = {s["codec_type"]: s["codec_name"] for s in streams(self.gordo.url)}
        self.assertEqual(found, {"video": "h264", "audio": "aac"})

    def test_viewer_gets_headers_then_pat_pmt_then_a_keyframe(self):
        status, headers, body, closed = capture(self.gordo.port, "/live.ts", 3)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "video/mp2t")
        self.assertIn("no-cache", headers["cache-control"])
        self.assertEqual(headers["connection"], "close")
        self.assertFalse(closed)
        self.assertGreater(len(body), 100_000)  # header + burst + ~3 s of a live stream
        self.assertEqual(len(body) % 188, 0, "whole TS packets only")
        pids = ts_pids(body, 2)
        self.assertEqual(pids[0], 0, "first packet is the PAT")
        path = self.save("viewer.ts", body)
        packets = video_packets(path)
        self.assertGreater(len(packets), 30)
        self.assertIn("K", packets[0]["flags"], "first video packet must be a keyframe")
        self.assertEqual(decode_errors(path), "")

    def test_two_viewers_three_seconds_apart_get_the_same_stream(self):
        first = capture_async(self.gordo.port, "/live.ts", 7)
        time.sleep(3)
        second = capture(self.gordo.port, "/live.ts", 4)
        a, b = first.result()[2], second[2]
        for name, body in (("a.ts", a), ("b.ts", b)):
            path = self.save(name, body)
            kinds = sorted(s["codec_type"] for s in streams(path))
            self.assertEqual(kinds, ["audio", "video"], name)
            self.assertIn("K", video_packets(path)[0]["flags"], name)
            self.assertEqual(decode_errors(path), "", name)
        # Remuxed once: after its PAT+PMT header, the late viewer's bytes are bytes the
        # first viewer received too.
        probe = b[2 * 188: 2 * 188 + 64 * 188]
        self.assertIn(probe, a)

    def test_loop_keeps_timestamps_increasing(self):
        # The input is 4 s long; 9 s of viewing crosses at least one loop.
        _, _, body, _ = capture(self.gordo.port, "/live.ts", 9)
        packets = video_packets(self.save("loop.ts", body))
        dts = [float(p["dts_time"]) for p in packets]
        self.assertGreater(dts[-1] - dts[0], 7.0)
        self.assertTrue(all(b > a for a, b in zip(dts, dts[1:])), "DTS must keep increasing")

    def test_unknown_path_is_404(self):
        status, headers, body = split_response(request(self.gordo.port, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"))
        self.assertEqual(status, 404)
        self.assertEqual(int(headers["content-length"]), len(body))
        self.assertIn(b"no such mount", body)

    def test_other_methods_are_405_with_allow(self):
        for method in (b"DELETE", b"PATCH"):
            status, headers, _ = split_response(request(self.gordo.port, method + b" /live.ts HTTP/1.1\r\nHost: x\r\n\r\n"))
            self.assertEqual(status, 405, method)
            self.assertEqual(headers["allow"], "GET, HEAD, OPTIONS, PUT, POST, SOURCE")
        # OPTIONS is a CORS preflight: what a player on another site may ask.
        status, headers, body = split_response(request(self.gordo.port, b"OPTIONS /live.ts HTTP/1.1\r\nHost: x\r\n\r\n"))
        self.assertEqual((status, body), (204, b""))
        self.assertEqual(headers["access-control-allow-methods"], "GET, HEAD, OPTIONS")
        self.assertEqual(headers["access-control-allow-origin"], "*")
        for method in (b"PUT", b"POST", b"SOURCE"):  # a pulled mount takes no pushes
            status, headers, body = split_response(request(self.gordo.port, method + b" /live.ts HTTP/1.1\r\nHost: x\r\n\r\n"))
            self.assertEqual(status, 405, method)
            self.assertEqual(headers["allow"], "GET, HEAD")
            self.assertIn(b"takes no pushes", body)

    def test_malformed_requests_are_400(self):
        for raw in (b"GARBAGE\r\n\r\n", b"GET live.ts HTTP/1.1\r\nHost: x\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n",
                    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"):
            status, _, body = split_response(request(self.gordo.port, raw))
            self.assertEqual(status, 400, raw)
            self.assertIn(b"malformed", body)

    def test_http_1_1_needs_exactly_one_valid_host(self):
        # RFC 9112 section 3.2: 400 for HTTP/1.1 without Host, and for two Hosts or a bad one in any version.
        # HEAD and an unknown path, so that a server that wrongly serves them answers and closes.
        for raw in (b"HEAD /live.ts HTTP/1.1\r\n\r\n", b"GET /nope HTTP/1.1\r\nX-Host: x\r\n\r\n",
                    b"HEAD /live.ts HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
                    b"HEAD /live.ts HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
                    b"HEAD /live.ts HTTP/1.1\r\nHost: a b\r\n\r\n", b"GET /nope HTTP/1.1\r\nHost: x:y\r\n\r\n"):
            status, headers, body = split_response(request(self.gordo.port, raw))
            self.assertEqual(status, 400, raw)
            self.assertIn(b"exactly one Host header", body, raw)
            self.assertEqual(headers["connection"], "close")
        status, headers, _ = split_response(request(self.gordo.port, b"HEAD /live.ts HTTP/1.0\r\n\r\n"))
        self.assertEqual(status, 200, "HTTP/1.0 may leave Host out")
        self.assertEqual(headers["content-type"], "video/mp2t")
        status, _, _ = split_response(request(self.gordo.port, b"HEAD /live.ts HTTP/1.1\r\nHost: [::1]:8000\r\n\r\n"))
        self.assertEqual(status, 200)

    def test_a_content_length_that_is_no_decimal_number_is_400(self):
        for length in (b"-1", b"+0", b"", b"0x10", b"1, 1", b"9223372036854775808", b"18446744073709551616",
                       b"99999999999999999999999999"):
            raw = b"GET /nope HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n"
            status, _, body = split_response(request(self.gordo.port, raw))
            self.assertEqual(status, 400, length)
            self.assertIn(b"Content-Length must be one decimal number", body, length)
        raw = b"GET /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        self.assertEqual(split_response(request(self.gordo.port, raw))[0], 404, "a valid length is no refusal")

    def test_unsupported_http_version_is_505(self):
        status, _, _ = split_response(request(self.gordo.port, b"GET /live.ts HTTP/2.0\r\n\r\n"))
        self.assertEqual(status, 505)

    def test_oversized_request_head_is_431(self):
        raw = b"GET /live.ts HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
        status, _, _ = split_response(request(self.gordo.port, raw))
        self.assertEqual(status, 431)

    def test_request_line_over_4_kib_is_414(self):
        status, _, _ = split_response(request(self.gordo.port, b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
        self.assertEqual(status, 414)

    def test_small_answers_keep_the_connection_and_pipelined_requests_are_answered_in_order(self):
        with connect(self.gordo.port) as s:
            s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while data.count(b"no such mount") < 3:
                data += s.recv(65536)
            self.assertEqual(data.count(b"HTTP/1.1 404 Not Found\r\n"), 3)
            self.assertEqual(data.count(b"Connection: keep-alive\r\n"), 3)
            s.sendall(b"GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            tail = b""
            while chunk := s.recv(65536):
                tail += chunk
            self.assertIn(b"Connection: close\r\n", tail, "a client that asks for close gets it")
        for raw in (b"GET /e HTTP/1.0\r\n\r\n",  # HTTP/1.0 closes unless asked
                    b"GET /f HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"):  # a body is not read: close
            status, headers, _ = split_response(request(self.gordo.port, raw))
            self.assertEqual((status, headers["connection"]), (404, "close"), raw)

    def test_pipelined_garbage_is_400_and_closes(self):
        with connect(self.gordo.port) as s:
            s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 404"), data)
        self.assertEqual(data.count(b"HTTP/1.1 400 Bad Request"), 1)
        self.assertNotIn(b"/b", data)
        self.assertEqual(data.count(b"HTTP/1.1 "), 2, "nothing after the 400")

    def test_a_kept_connection_answers_at_most_100_requests(self):
        with connect(self.gordo.port) as s:
            s.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n" * 101)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        self.assertEqual(data.count(b"HTTP/1.1 404"), 100)
        self.assertEqual(data.count(b"Keep-Alive: timeout=10, max=100"), 99)

    def test_request_sent_in_pieces_is_served(self):
        with connect(self.gordo.port) as s:
            for piece in (b"GET /li", b"ve.ts HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
                s.sendall(piece)
                time.sleep(0.05)
            data = s.recv(64)
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data)

    def test_head_gets_headers_and_no_body(self):
        raw = request(self.gordo.port, b"HEAD /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = split_response(raw)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "video/mp2t")
        self.assertEqual(body, b"")

    def test_viewers_vanishing_mid_stream_leave_others_playing(self):
        watcher = capture_async(self.gordo.port, "/live.ts", 4)
        for i in range(20):
            s = connect(self.gordo.port)
            s.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(1000 * (i + 1))
            if i % 2:  # abortive close: RST while the server is sending
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        for _ in range(5):  # connects and leaves without a request
            connect(self.gordo.port).close()
        status, _, body, closed = watcher.result()
        self.assertEqual(status, 200)
        self.assertFalse(closed)
        self.assertGreater(len(body), 500_000)
        self.assertEqual(decode_errors(self.save("watcher.ts", body)), "")
        # And the server still answers.
        status, _, _ = split_response(request(self.gordo.port, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"))
        self.assertEqual(status, 404)


class FileWithoutLoop(unittest.TestCase):
    def test_viewers_are_closed_at_the_end_and_later_ones_get_503(self):
        with tempfile.TemporaryDirectory() as tmp:
            media = make_media(os.path.join(tmp, "short.ts"), seconds=3, fmt_args=("-f", "mpegts"))
            with Gordo("--input", media) as g:
                status, _, body, closed = capture(g.port, "/live.ts", 15)
                self.assertEqual(status, 200)
                self.assertTrue(closed, "the server closes the viewer when the source ends")
                self.assertEqual(decode_errors(write(tmp, "all.ts", body)), "")
                status, _, body = split_response(request(g.port, b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n"))
                self.assertEqual(status, 503)
                self.assertIn(b"ended", body)
                self.assertEqual(g.stop(), 0)


class DefaultSource(unittest.TestCase):
    def test_test_pattern_with_tone_is_served_without_input(self):
        with Gordo() as g:
            self.assertEqual(g.path, "/live.ts")
            found = {s["codec_type"]: s for s in streams(g.url)}
            self.assertEqual(found["video"]["codec_name"], "h264")
            self.assertEqual((found["video"]["width"], found["video"]["height"]), (1280, 720))
            self.assertEqual(found["audio"]["codec_name"], "aac")
            with tempfile.TemporaryDirectory() as tmp:
                _, _, body, _ = capture(g.port, "/live.ts", 3)
                path = write(tmp, "pattern.ts", body)
                self.assertIn("K", video_packets(path)[0]["flags"])
                self.assertEqual(decode_errors(path), "")
                self.assertGreater(mean_volume_db(path), -40, "the tone is audible")
            self.assertEqual(g.stop(), 0)


class SeveralMounts(unittest.TestCase):
    def test_mounts_from_a_config_file_each_serve_their_own_source(self):
        with tempfile.TemporaryDirectory() as tmp:
            small = make_media(os.path.join(tmp, "small.mp4"), seconds=3, size="160x120")
            large = make_media(os.path.join(tmp, "large.mp4"), seconds=3, size="320x240")
            conf = write(tmp, "gordo.toml", (
                "workers = 1\n"
                f'[[mount]]\npath = "/small.ts"\ninput = "{small}"\nloop = true\n'
                f'[[mount]]\npath = "/large.ts"\ninput = "{large}"\nloop = true\n').encode())
            with Gordo("--config", conf) as g:
                self.assertEqual([u.rsplit("/", 1)[1] for u in g.urls], ["small.ts", "large.ts"])
                sizes = {}
                for name in ("small", "large"):
                    status, _, body, _ = capture(g.port, f"/{name}.ts", 2)
                    self.assertEqual(status, 200)
                    path = write(tmp, f"{name}.ts", body)
                    video = [s for s in streams(path) if s["codec_type"] == "video"][0]
                    sizes[name] = (video["width"], video["height"])
                    self.assertEqual(decode_errors(path), "")
                self.assertEqual(sizes, {"small": (160, 120), "large": (320, 240)})
                stats = json.loads(g.admin_get("/stats")[2])
                self.assertEqual([m["path"] for m in stats["mounts"]], ["/small.ts", "/large.ts"])
                self.assertEqual(g.stop(), 0)


class SeveralWorkers(unittest.TestCase):
    def test_viewers_spread_over_workers_all_get_valid_streams(self):
        with tempfile.TemporaryDirectory() as tmp:
            media = make_media(os.path.join(tmp, "in.mp4"), seconds=4)
            with Gordo("--input", media, "--loop", "--workers", "2") as g:
                pending = [capture_async(g.port, "/live.ts", 3) for _ in range(8)]
                for i, p in enumerate(pending):
                    status, _, body, closed = p.result()
                    self.assertEqual(status, 200)
                    self.assertFalse(closed)
                    path = write(tmp, f"v{i}.ts", body)
                    self.assertIn("K", video_packets(path)[0]["flags"])
                    self.assertEqual(decode_errors(path), "")
                self.assertEqual(g.stop(), 0)


if __name__ == "__main__":
    unittest.main()
