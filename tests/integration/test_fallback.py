"""Black-box: a mount's fallback (a slate made by tools/make-slate, or another mount) played
while its encoder is away, and the switch back at a keyframe, with viewers connected."""
import json
import os
import re
import subprocess
import tempfile
import time
import unittest
from datetime import datetime

from harness import Gordo, Viewer, decode_errors, ffprobe_json, make_media, wait_for, write

MAKE_SLATE = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "make-slate")


def push(port, media, path="/live.ts"):
    """ffmpeg pushing `media` once, in real time, as MPEG-TS."""
    return subprocess.Popen(["ffmpeg", "-v", "error", "-re", "-i", media, "-c", "copy", "-f", "mpegts",
                             "-method", "PUT", f"http://127.0.0.1:{port}{path}"], stdin=subprocess.DEVNULL)


def mount(g, path):
    return next(m for m in json.loads(g.admin_get("/stats")[2])["mounts"] if m["path"] == path)


def log_time(log, pattern):
    """When the first log line matching `pattern` was written (seconds, from its stamp)."""
    m = re.search(r"^(\S+ \S+) \S+ .*" + pattern, log, re.MULTILINE)
    return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp() if m else None


def presentation(path):
    """Per track type: the sorted presentation times of the packets, the frame length, and
    the decoding times in the file's order."""
    info = ffprobe_json(path, "-show_packets", "-show_streams")
    out = {}
    for st in info["streams"]:
        packets = [p for p in info["packets"] if p["stream_index"] == st["index"]]
        pts = sorted(float(p["pts_time"]) for p in packets if "pts_time" in p)
        durations = sorted(float(p.get("duration_time") or 0) for p in packets)
        dts = [float(p["dts_time"]) for p in packets if "dts_time" in p]
        out[st["codec_type"]] = (pts, durations[len(durations) // 2], dts)
    return out


def still_frames(path):
    """The longest run of identical decoded pictures (a slate is a still)."""
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:v", "-f", "framemd5", "-"],
                       capture_output=True, text=True, timeout=120)
    sums = [line.rsplit(",", 1)[1].strip() for line in r.stdout.splitlines() if not line.startswith("#")]
    best = run = 1
    for a, b in zip(sums, sums[1:]):
        run = run + 1 if a == b else 1
        best = max(best, run)
    return best if sums else 0


class Fallback(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.media = make_media(os.path.join(cls.dir.name, "live.ts"), seconds=5, fps=25, gop=25)
        cls.slate = os.path.join(cls.dir.name, "slate.ts")
        subprocess.run([MAKE_SLATE, "--like", cls.media, "--seconds", "4", cls.slate], check=True,
                       capture_output=True)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def test_encoder_away_and_back(self):
        """The encoder stops: within --fallback-after plus a chunk, viewers of MPEG-TS and
        fragmented MP4 get the slate, unclosed; it pushes again: back to live at a keyframe.
        Both files decode without an error and the pictures' times run on across both
        switches."""
        with Gordo("--mount", "/live.ts=push", "--mount", "/live.mp4=push:/live.ts", "--fallback", self.slate,
                   "--fallback-after", "1s", "--workers", "1") as g:
            encoder = push(g.port, self.media)
            wait_for(lambda: mount(g, "/live.ts")["state"] == "live", 20, "the encoder")
            viewers = [Viewer(g.port, p, 13) for p in ("/live.ts", "/live.mp4")]
            encoder.wait(20)  # 5 s of media, then the encoder is gone
            wait_for(lambda: mount(g, "/live.ts")["fallback"] == "on air", 5, "the fallback on air")
            self.assertEqual(mount(g, "/live.mp4")["fallback"], "on air")
            time.sleep(2.5)
            encoder = push(g.port, self.media)
            wait_for(lambda: mount(g, "/live.ts")["fallback"] == "standby", 10, "the source back on air")
            for v in viewers:
                v.join()
            encoder.terminate()
            encoder.wait()
            stats = mount(g, "/live.ts")
            metrics = g.admin_get("/metrics")[2].decode()
            log = g.log()

        away, on_air = log_time(log, r"is hungry \(it ended\)"), log_time(log, r"fallback .* on air")
        self.assertIsNotNone(on_air, log)
        # --fallback-after + a chunk, + the 100 ms poll and some slack for a busy machine
        self.assertLessEqual(on_air - away, 1.0 + 0.1 + 0.4, log)
        self.assertIn("is back on air", log)
        self.assertGreaterEqual(stats["fallback_switches"], 2)
        self.assertRegex(metrics, r'gordo_mount_fallback_switches_total\{mount="/live.ts"\} [2-9]')
        self.assertIn('gordo_mount_on_fallback{mount="/live.ts"} 0', metrics)
        for v, ext in zip(viewers, ("ts", "mp4")):
            self.assertFalse(v.closed, f"the {ext} viewer was closed")
            body = bytes(v.data).split(b"\r\n\r\n", 1)[1]
            path = write(self.dir.name, f"seen.{ext}", body)
            self.assertEqual(decode_errors(path), "", ext)
            # The slate is a still: a second of identical pictures; the test pattern moves.
            self.assertGreaterEqual(still_frames(path), 25, ext)
            times = presentation(path)
            pts, frame, dts = times["video"]
            self.assertTrue(all(a < b for a, b in zip(dts, dts[1:])), f"{ext}: decoding times step back")
            self.assertGreater(pts[-1] - pts[0], 10, ext)
            steps = [b - a for a, b in zip(pts, pts[1:])]
            # A picture may be held at a switch (B-frames cut off), never more, never backwards.
            self.assertLessEqual(max(steps), 4.5 * frame + 0.001, f"{ext}: video gap")
            self.assertGreater(min(steps), 0, f"{ext}: pictures at the same time")
            audio, _, audio_dts = times["audio"]
            self.assertTrue(all(a < b for a, b in zip(audio_dts, audio_dts[1:])), f"{ext}: audio steps back")
            self.assertLess(max(b - a for a, b in zip(audio, audio[1:])), 0.5, f"{ext}: audio gap")

    def test_before_any_encoder(self):
        """A push mount nobody has pushed to yet plays its fallback (no 503), and goes
        live at the encoder's first keyframe without closing its viewer (same tracks)."""
        with Gordo("--mount", "/live.mp4=push", "--fallback", self.slate, "--fallback-after", "500ms") as g:
            wait_for(lambda: mount(g, "/live.mp4")["fallback"] == "on air", 5, "the fallback on air")
            viewer = Viewer(g.port, "/live.mp4", 6)
            time.sleep(1.5)
            encoder = push(g.port, self.media, "/live.mp4")
            viewer.join()
            encoder.terminate()
            encoder.wait()
            self.assertFalse(viewer.closed)
            self.assertIn("is back on air", g.log())
            self.assertNotIn("new stream headers", g.log())
        path = write(self.dir.name, "first.mp4", bytes(viewer.data).split(b"\r\n\r\n", 1)[1])
        self.assertEqual(decode_errors(path), "")

    def test_another_mount(self):
        """--fallback naming a mount of this gordo plays that mount."""
        config = write(self.dir.name, "gordo.toml", (
            '[[mount]]\npath = "/live.ts"\ninput = "push"\nfallback = "/backup.ts"\nfallback_after = "500ms"\n'
            f'[[mount]]\npath = "/backup.ts"\ninput = "{self.slate}"\nloop = true\n').encode())
        with Gordo("--config", config) as g:
            wait_for(lambda: mount(g, "/live.ts")["fallback"] == "on air", 10, "the other mount on air")
            viewer = Viewer(g.port, "/live.ts", 3)
            viewer.join()
            self.assertFalse(viewer.closed)
            self.assertGreater(mount(g, "/backup.ts")["viewers"], 0)  # gordo itself, reading it
        path = write(self.dir.name, "other.ts", bytes(viewer.data).split(b"\r\n\r\n", 1)[1])
        self.assertEqual(decode_errors(path), "")
        self.assertGreater(still_frames(path), 25)

    def test_misfit_refused(self):
        """A slate whose tracks differ is refused with the reason: at start for a source
        whose tracks are known, when it would go on air for a push."""
        other = os.path.join(self.dir.name, "other.ts")
        make_media(other, seconds=2, size="160x120")
        r = subprocess.run([os.environ["GORDO"], "--listen", "127.0.0.1:0", "--admin-listen", "off",
                            "--input", self.media, "--loop", "--fallback", other],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("does not fit", r.stderr)
        self.assertIn("picture size", r.stderr)
        with Gordo("--mount", "/live.ts=push", "--fallback", other, "--fallback-after", "500ms") as g:
            encoder = push(g.port, self.media)
            wait_for(lambda: mount(g, "/live.ts")["state"] == "live", 20, "the encoder")
            encoder.terminate()
            encoder.wait()
            wait_for(lambda: mount(g, "/live.ts")["fallback"] == "misfit", 10, "the misfit")
            self.assertRegex(g.log(), r"does not fit it: .*picture size")

    def test_bad_flags(self):
        for args, says in ((["--fallback", "/live.ts"], "another mount's path"),
                           (["--fallback", "x.ts", "--fallback-after", "5ms"], "--fallback-after"),
                           (["--fallback", os.path.join(self.dir.name, "missing.ts")], "missing.ts")):
            r = subprocess.run([os.environ["GORDO"], "--listen", "127.0.0.1:0", "--admin-listen", "off",
                                "--input", self.media, *args], capture_output=True, text=True, timeout=30)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(says, r.stderr, args)


if __name__ == "__main__":
    unittest.main()
