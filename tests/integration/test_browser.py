"""The browser harness (browser.py) against a stream that is not gordo's: ffmpeg's own HLS
muxer writing a live playlist, served with CORS from another origin than the test page,
played by hls.js in headless Chromium. What it shows is that the harness itself works, so
that a failure of gordo's HLS under it is gordo's."""
import functools
import http.server
import os
import re
import subprocess
import tempfile
import threading
import time
import unittest

from browser import Chromium, JavaScriptError, descendants, find_chromium, play_hls
from harness import Gordo, make_media, wait_for

NO_CHROMIUM = "chromium is not installed (tools/install-deps installs it)"


class CorsHandler(http.server.SimpleHTTPRequestHandler):
    """Files of a directory, with the headers an HLS origin for browsers sends."""

    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-cache")  # the playlist changes every second
        super().end_headers()

    def log_message(self, *_):
        pass


def summary(r):
    """One line of what play_hls() measured, for the test's output."""
    def s(v):
        return "-" if v is None else f"{v:.2f}"
    return (f"hls.js {r['hls_version']}: started after {s(r['startup_s'])} s, played {s(r['played_s'])} s; "
            f"latency {s(r['latency'])} s (mean {s(r['latency_mean'])}, target {s(r['target_latency'])}); "
            f"{r['stalls']} stalls, {r['non_fatal_errors']} non-fatal errors {r['non_fatal_details']}; "
            f"codecs {r['codecs']}; {r['dropped_frames']} of {r['total_frames']} frames dropped")


@unittest.skipUnless(find_chromium(), NO_CHROMIUM)
class Browser(unittest.TestCase):
    def test_evaluate_and_cleanup(self):
        """evaluate() returns values and awaits promises, reports the page's exceptions;
        leaving the block leaves no process of the browser and no profile behind."""
        with Chromium() as browser:
            profile = browser.profile
            self.assertEqual(browser.evaluate("1 + 1"), 2)
            self.assertEqual(browser.evaluate("new Promise((r) => setTimeout(() => r('late'), 50))"), "late")
            with self.assertRaisesRegex(JavaScriptError, "boom"):
                browser.evaluate("(() => { throw new Error('boom'); })()")
            # Debian's Chromium decodes H.264 and AAC: without them no HLS test means much.
            self.assertTrue(browser.evaluate(
                "MediaSource.isTypeSupported('video/mp4; codecs=\"avc1.42c01e,mp4a.40.2\"')"))
            # The browser, its zygotes, renderers, utility processes and crash handler.
            processes = descendants(browser.proc.pid)
            self.assertGreater(len(processes), 3)
        self.assertFalse(os.path.exists(profile))
        # Gone, not even zombies: /proc has no entry left for any of them.
        self.assertEqual([p for p in processes if os.path.exists(f"/proc/{p}")], [])


@unittest.skipUnless(find_chromium(), NO_CHROMIUM)
class FfmpegHls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ffmpeg_log = tempfile.TemporaryFile()
        # A live playlist of six 1 s segments (a keyframe each second), old ones deleted.
        cls.ffmpeg = subprocess.Popen(
            ["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
             "-re", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
             "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-b:a", "96k", "-f", "hls", "-hls_time", "1", "-hls_list_size", "6",
             "-hls_flags", "delete_segments", os.path.join(cls.tmp.name, "live.m3u8")],
            stdin=subprocess.DEVNULL, stderr=cls.ffmpeg_log)
        cls.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(CorsHandler, directory=cls.tmp.name))
        cls.server = threading.Thread(target=cls.httpd.serve_forever, daemon=True)
        cls.server.start()
        cls.url = f"http://127.0.0.1:{cls.httpd.server_address[1]}/live.m3u8"

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()
        cls.ffmpeg.kill()
        cls.ffmpeg.wait()
        cls.ffmpeg_log.close()
        cls.tmp.cleanup()

    def segments(self):
        try:
            with open(os.path.join(self.tmp.name, "live.m3u8")) as f:
                return len(re.findall(r"^#EXTINF", f.read(), re.M))
        except FileNotFoundError:
            return 0

    def test_plays_live(self):
        # hls.js starts three segments behind the edge: let the playlist hold that many.
        wait_for(lambda: self.ffmpeg.poll() is not None or self.segments() >= 3, timeout=20,
                 what="three segments in ffmpeg's playlist")
        if self.ffmpeg.poll() is not None:
            self.ffmpeg_log.seek(0)
            self.fail(f"ffmpeg exited {self.ffmpeg.returncode}: {self.ffmpeg_log.read().decode(errors='replace')}")
        r = play_hls(self.url, seconds=8, low_latency=True)
        print(f"\nffmpeg's HLS in Chromium: {summary(r)}")
        self.assertEqual(r["fatal_errors"], [], r["console"])
        self.assertEqual(r["video_errors"], [])
        self.assertFalse(r["native"])
        self.assertTrue(r["started"], r)
        self.assertGreaterEqual(r["played_s"], 5, r["samples"])
        self.assertIn("avc1", r["codecs"].get("video", "") + r["codecs"].get("audiovideo", ""))
        self.assertGreater(r["latency"], 0)


@unittest.skipUnless(find_chromium(), NO_CHROMIUM)
class GordoHls(unittest.TestCase):
    """gordo's HLS in hls.js: MPEG-TS and CMAF segments, classic and low-latency, from one
    gordo whose page is served from another origin (so its CORS answers are what lets the
    player in). Each plays at least 5 s with no fatal error; the distance behind the live
    edge is printed (the goal for LL-HLS: under 2 s)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        # 90 s, keyframes every second: long enough that no loop seam falls in the tests (at
        # a seam of a looped file the tracks' ends differ by a few ms, which leaves a hole
        # in a CMAF player's buffer that hls.js stalls on: see the README's HLS section).
        media = make_media(os.path.join(cls.tmp.name, "in.ts"), seconds=90, fmt_args=("-f", "mpegts"))
        cls.gordo = Gordo("--loop", "--hls", "--hls-segment", "1s", "--hls-part", "200ms", "--workers", "1",
                          "--mount", f"/live.ts={media}", "--mount", f"/cmaf.mp4={media}")
        cls.gordo.__enter__()
        cls.classic = Gordo("--loop", "--hls", "--hls-part", "0", "--workers", "1", "--mount", f"/live.ts={media}")
        cls.classic.__enter__()
        time.sleep(4)  # a few segments in every playlist
        cls.browser = Chromium()
        cls.browser.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.browser.__exit__(None, None, None)
        cls.classic.__exit__(None, None, None)
        cls.gordo.__exit__(None, None, None)
        cls.tmp.cleanup()

    def play(self, g, path, low_latency, codec):
        r = play_hls(f"http://127.0.0.1:{g.port}{path}", seconds=6, low_latency=low_latency, browser=self.browser)
        print(f"\ngordo {path} ({'low-latency' if low_latency else 'classic'}) in Chromium: {summary(r)}")
        self.assertEqual(r["fatal_errors"], [], r["console"])
        self.assertEqual(r["video_errors"], [])
        self.assertTrue(r["started"], r)
        self.assertGreaterEqual(r["played_s"], 5, r["samples"])
        self.assertIn(codec, r["codecs"].get("video", "") + r["codecs"].get("audiovideo", ""))
        return r

    def test_mpegts_low_latency(self):
        r = self.play(self.gordo, "/live.m3u8", True, "avc1")
        self.assertLess(r["latency_mean"], 2.0, "LL-HLS: under two seconds behind live")

    def test_cmaf_low_latency(self):
        r = self.play(self.gordo, "/cmaf.m3u8", True, "avc1")
        self.assertLess(r["latency_mean"], 2.0, "LL-HLS: under two seconds behind live")

    def test_mpegts_classic(self):
        self.play(self.classic, "/live.m3u8", False, "avc1")

    def test_cmaf_as_classic_hls_in_a_player_without_low_latency(self):
        self.play(self.gordo, "/cmaf.m3u8", False, "avc1")


if __name__ == "__main__":
    unittest.main()
