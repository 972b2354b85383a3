"""Black-box: a network source that dies and comes back. Viewers stay connected through
the outage and receive the stream again when the source returns."""
import json
import os
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (GORDO, Gordo, Viewer, capture, continuity_breaks, decode_errors, make_media, port_bound,
                     split_response, streams, ts_packets, video_packets, wait_for, write)


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mount_state(g, path):
    return next(m["state"] for m in json.loads(g.admin_get("/stats")[2])["mounts"] if m["path"] == path)


def wait_live(g, path="/live.ts"):
    """Waits until the mount's source is live and has published a chunk."""
    def live():
        m = next(m for m in json.loads(g.admin_get("/stats")[2])["mounts"] if m["path"] == path)
        return m["state"] == "live" and m["chunks_published"] > 0
    wait_for(live, what=f"{path} to be live")


def push(media, port, loop=True):
    """ffmpeg sending the file in real time (looped, or once) as MPEG-TS over UDP."""
    return subprocess.Popen(["ffmpeg", "-v", "error", "-re", *(["-stream_loop", "-1"] if loop else []), "-i", media,
                             "-c", "copy", "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"],
                            stdin=subprocess.DEVNULL)


def video_span(path):
    """Seconds of video in a capture: its last DTS less its first."""
    dts = [float(p["dts_time"]) for p in video_packets(path) if "dts_time" in p]
    return dts[-1] - dts[0] if dts else 0.0


class SourceLoss(unittest.TestCase):
    def test_viewers_stay_through_an_outage_and_resume(self):
        with tempfile.TemporaryDirectory() as tmp:
            media = make_media(os.path.join(tmp, "in.ts"), seconds=4, fmt_args=("-f", "mpegts"))
            port = free_udp_port()
            encoder = push(media, port)
            try:
                with Gordo("--input", f"udp://127.0.0.1:{port}", "--source-timeout", "1s") as g:
                    viewer = Viewer(g.port, "/live.ts", 20)
                    wait_for(lambda: len(viewer.data) > 100_000, what="the viewer to receive the stream")
                    encoder.terminate()
                    encoder.wait()
                    deadline = time.monotonic() + 10
                    state = None
                    while time.monotonic() < deadline:
                        state = json.loads(g.admin_get("/stats")[2])["mounts"][0]["state"]
                        if state == "hungry":
                            break
                        time.sleep(0.2)
                    self.assertEqual(state, "hungry")
                    self.assertIn("is hungry", g.log())
                    time.sleep(2)  # the outage lasts a while
                    before = len(viewer.data)
                    encoder = push(media, port)
                    deadline = time.monotonic() + 15
                    while time.monotonic() < deadline and "is back" not in g.log():
                        time.sleep(0.2)
                    self.assertIn("is back", g.log())
                    wait_for(lambda: mount_state(g, "/live.ts") == "live", what="the mount to be live again")
                    wait_for(lambda: len(viewer.data) - before > 100_000 or not viewer.is_alive(), timeout=10,
                             what="the viewer to receive the stream again")
                    status, _, body = viewer.finish()
                    self.assertEqual(status, 200)
                    self.assertFalse(viewer.closed, "the viewer stayed connected through the outage")
                    self.assertGreater(len(viewer.data) - before, 100_000, "and received the stream again")
                    ts_packets(body)  # still whole TS packets throughout
                    self.assertEqual(g.stop(), 0)
            finally:
                encoder.terminate()
                encoder.wait()


    def test_timestamps_go_on_where_they_were_when_the_source_returns(self):
        # The encoder comes back and sends its file from the beginning, timestamps and all.
        # gordo shifts them to go on where the stream was. Were they not shifted, the
        # muxer would drop every packet until the new timestamps passed the old ones: the
        # viewer would lose as much of the second run as the first had lasted. So: the
        # media the viewer gets over both runs must add up to both runs.
        with tempfile.TemporaryDirectory() as tmp:
            media = make_media(os.path.join(tmp, "in.ts"), seconds=12, fmt_args=("-f", "mpegts"))
            port = free_udp_port()
            encoder = push(media, port, loop=False)
            try:
                with Gordo("--input", f"udp://127.0.0.1:{port}", "--source-timeout", "1s") as g:
                    viewer = Viewer(g.port, "/live.ts", 120)
                    wait_for(lambda: len(viewer.data) > 620_000, what="six seconds or so of the first run")
                    encoder.terminate()
                    encoder.wait()
                    wait_for(lambda: mount_state(g, "/live.ts") == "hungry", what="the source to go hungry")
                    first = video_span(write(tmp, "first.ts", split_response(bytes(viewer.data))[2]))
                    encoder = push(media, port, loop=False)
                    wait_for(lambda: "is back" in g.log(), what="the source to come back")
                    self.assertEqual(encoder.wait(timeout=60), 0, "the second run was sent whole")
                    wait_for(lambda: mount_state(g, "/live.ts") == "hungry", what="the second run to end")
                    self.assertEqual(g.stop(), 0)
                status, _, body = viewer.result()
            finally:
                encoder.terminate()
                encoder.wait()
            self.assertEqual(status, 200)
            both = video_span(write(tmp, "both.ts", body))
            self.assertGreater(first, 4, "the first run lasted long enough to tell")
            # All of the second run but what the source missed while it reopened the port
            # (its first GOP or two); without the shift, `first` seconds of it would be gone.
            self.assertGreater(both, first + 12 - 2.5, f"first run {first:.1f} s, both {both:.1f} s")
            dts = [float(p["dts_time"]) for p in video_packets(write(tmp, "both.ts", body))]
            self.assertTrue(all(b > a for a, b in zip(dts, dts[1:])), "video timestamps never go back")

    def test_garbage_from_one_source_leaves_other_mounts_playing(self):
        with tempfile.TemporaryDirectory() as tmp:
            media = make_media(os.path.join(tmp, "in.ts"), seconds=4, fmt_args=("-f", "mpegts"))
            port = free_udp_port()
            encoder = push(media, port)
            try:
                with Gordo("--mount", f"/udp.ts=udp://127.0.0.1:{port}", "--mount", "/healthy.ts",
                           "--source-timeout", "1s") as g:
                    healthy = Viewer(g.port, "/healthy.ts", 12)
                    time.sleep(2)
                    encoder.terminate()
                    encoder.wait()
                    # Random bytes where MPEG-TS was: no packet comes out of them.
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                        end = time.monotonic() + 7
                        while time.monotonic() < end:
                            s.sendto(os.urandom(1316), ("127.0.0.1", port))
                            time.sleep(0.002)
                    status, _, body = healthy.result()
                    self.assertEqual(status, 200)
                    self.assertFalse(healthy.closed)
                    for t in range(1, 11):
                        self.assertGreater(healthy.bytes_between(t, t + 1), 10_000, f"healthy mount stalled at {t} s")
                    self.assertEqual(continuity_breaks(body), [])
                    log = g.log()
                    self.assertIn("source udp://127.0.0.1", log)
                    self.assertRegex(log, r"is hungry \((no packet for 1000 ms|Invalid data[^)]*)\)")
                    self.assertIsNone(g.proc.poll())
                    self.assertEqual(g.stop(), 0)
            finally:
                encoder.terminate()
                encoder.wait()



def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PullSources(unittest.TestCase):
    """Other libavformat URLs than files and UDP, each served and decoded from a late join."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        # Long enough that the listeners below do not loop it while a test reads (ffmpeg's
        # own timestamps across its -stream_loop are not what is tested here).
        cls.media = make_media(os.path.join(cls.tmp.name, "in.ts"), seconds=12, fmt_args=("-f", "mpegts"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def served(self, g, path="/live.ts"):
        status, _, body, _ = capture(g.port, path, 3)
        self.assertEqual(status, 200)
        saved = write(self.tmp.name, "pulled.ts", body)
        self.assertEqual(sorted(s["codec_name"] for s in streams(saved)), ["aac", "h264"])
        self.assertIn("K", video_packets(saved)[0]["flags"])
        self.assertEqual(decode_errors(saved), "")

    def listener(self, url, fmt):
        """ffmpeg serving the media in real time as a listener gordo connects to."""
        return subprocess.Popen(["ffmpeg", "-v", "error", "-re", "-stream_loop", "-1", "-i", self.media, "-c", "copy",
                                 "-f", fmt, *(["-listen", "1"] if url.startswith("rtmp") else []), url],
                                stdin=subprocess.DEVNULL)

    def test_srt(self):
        port = free_udp_port()
        encoder = self.listener(f"srt://127.0.0.1:{port}?mode=listener", "mpegts")
        try:
            wait_for(lambda: port_bound(port, udp=True), what="ffmpeg's SRT listener")
            with Gordo("--input", f"srt://127.0.0.1:{port}?mode=caller") as g:
                wait_live(g)
                self.served(g)
        finally:
            encoder.terminate()
            encoder.wait()

    def test_rtmp(self):
        port = free_tcp_port()
        encoder = self.listener(f"rtmp://127.0.0.1:{port}/live/key", "flv")
        try:
            wait_for(lambda: port_bound(port), what="ffmpeg's RTMP listener")
            with Gordo("--input", f"rtmp://127.0.0.1:{port}/live/key") as g:
                wait_live(g)
                self.served(g)
        finally:
            encoder.terminate()
            encoder.wait()

    def test_a_gordo_relays_another_through_its_outage(self):
        port = free_tcp_port()
        upstream_args = ("--mount", f"/live.ts={self.media}", "--loop", "--listen", f"127.0.0.1:{port}")
        upstream = Gordo(*upstream_args)
        try:
            with Gordo("--mount", f"/relay.ts=http://127.0.0.1:{port}/live.ts", "--source-timeout", "1s",
                       "--mount", f"/relay.flv=http://127.0.0.1:{port}/live.ts") as relay:
                wait_live(relay, "/relay.ts")
                self.served(relay, "/relay.ts")
                self.assertEqual(relay.log().count("source http://"), 1, "one pull feeds both mounts")
                viewer = Viewer(relay.port, "/relay.flv", 16)
                wait_for(lambda: len(viewer.data) > 50_000, what="the FLV viewer to receive the stream")
                upstream.stop()
                upstream.__exit__(None, None, None)
                deadline = time.monotonic() + 10
                while "is hungry" not in relay.log() and time.monotonic() < deadline:
                    time.sleep(0.2)
                self.assertIn("is hungry", relay.log())
                before = len(viewer.data)
                upstream = Gordo(*upstream_args)  # back on the same port
                deadline = time.monotonic() + 15
                while "is back" not in relay.log() and time.monotonic() < deadline:
                    time.sleep(0.2)
                self.assertIn("is back", relay.log())
                wait_for(lambda: len(viewer.data) - before > 50_000 or not viewer.is_alive(), timeout=10,
                         what="the FLV viewer to receive the stream again")
                status, _, body = viewer.finish()
                self.assertEqual(status, 200)
                self.assertFalse(viewer.closed, "the FLV viewer stays: the same tracks came back")
                self.assertGreater(len(viewer.data) - before, 50_000, "and receives the stream again")
        finally:
            upstream.__exit__(None, None, None)

    def test_truncated_files(self):
        whole = make_media(os.path.join(self.tmp.name, "whole.mp4"), seconds=2)
        with open(whole, "rb") as f:
            data = f.read()
        cut_mp4 = write(self.tmp.name, "cut.mp4", data[:len(data) // 2])
        r = subprocess.run([GORDO, "--listen", "127.0.0.1:0", "--admin-listen", "off", "--mount", f"/cut.ts={cut_mp4}"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        last = r.stderr.strip().splitlines()[-1]
        self.assertIn("/cut.ts", last, "the message names the mount")
        self.assertIn("cut.mp4", last, "and the source")
        with open(self.media, "rb") as f:
            ts = f.read()
        cut_ts = write(self.tmp.name, "cut.ts", ts[:len(ts) // 2 + 77])  # ends inside a packet
        with Gordo("--mount", f"/cut.ts={cut_ts}", "--loop") as g:
            viewer = Viewer(g.port, "/cut.ts", 6)
            status, _, body = viewer.result()
            self.assertEqual(status, 200)
            self.assertFalse(viewer.closed, "a truncated file loops like a whole one")
            self.assertGreater(len(body), 200_000)
            ts_packets(body)
            self.assertEqual(g.stop(), 0)


if __name__ == "__main__":
    unittest.main()
