"""Every byte to every viewer: several viewers of each format watch for over 30 s, across
dozens of keyframes and several loops of the source, and must receive an unbroken stream
(MPEG-TS continuity counters on every PID, timestamps per track in the other formats);
the server must count no resync and no slow drop; a viewer that joins late gets the
configured burst, to within one GOP."""
import json
import os
import subprocess
import tempfile
import unittest

from harness import TS_PACKET, Gordo, Viewer, make_media, ts_packets, write

WATCH_S = 32      # how long the first viewers watch
VIEWERS = 3       # per mount
BURST_S = 3.0     # --burst
GOP_S = 1.0       # every source has a keyframe a second
JOIN_READ_S = 1.5  # how long the late joiner reads

# mount path -> (source file key, Content-Type)
MOUNTS = {
    "/live.ts": ("av", "video/mp2t"),
    "/live.flv": ("av", "video/x-flv"),
    "/live.mp4": ("av", "video/mp4"),
    "/live.mkv": ("av", "video/x-matroska"),
    "/live.webm": ("webm", "video/webm"),
    "/radio.aac": ("av", "audio/aac"),
    "/radio.mp3": ("mp3", "audio/mpeg"),
    "/radio.ogg": ("vorbis", "audio/ogg"),
    "/radio.opus": ("opus", "audio/ogg"),
}


def ts_continuity_errors(body):
    """Continuity-counter errors on every PID (PSI included), as ISO 13818-1 counts them:
    a packet with payload increments its PID's counter, one without repeats it, a packet
    may be sent twice in a row (a duplicate), a discontinuity indicator allows a jump."""
    errors, last, dup = [], {}, {}
    for i, (pid, _, _, payload, cc, disc) in enumerate(ts_packets(body)):
        if pid == 0x1FFF:
            continue
        if pid in last and not disc:
            expected = (last[pid] + 1) % 16 if payload else last[pid]
            if cc == last[pid] and payload and not dup.get(pid):
                dup[pid] = True  # a duplicate packet: allowed once
                continue
            if cc != expected:
                errors.append(f"packet {i} PID {pid:#x}: counter {cc}, expected {expected}")
        dup[pid] = False
        last[pid] = cc
    return errors


def packets(path):
    """ffprobe's packets of a capture: (stream index, codec type, dts, pts, duration), in
    file order, in seconds."""
    r = subprocess.run(["ffprobe", "-v", "quiet", "-of", "json", "-show_entries",
                        "packet=stream_index,dts_time,pts_time,duration_time:stream=index,codec_type", path],
                       capture_output=True, text=True, timeout=120)
    j = json.loads(r.stdout or "{}")
    types = {s["index"]: s["codec_type"] for s in j.get("streams", [])}
    out = []
    for p in j.get("packets", []):
        t = p.get("dts_time", p.get("pts_time"))
        if t is None:
            continue
        out.append((p["stream_index"], types.get(p["stream_index"]), float(t),
                    float(p.get("pts_time", t)), float(p.get("duration_time", 0) or 0)))
    return out


def timestamp_gaps(pkts):
    """Per track: a DTS that goes back, or a step over the track's usual step by more
    than a lost chunk could hide (a chunk is ~100 ms; a frame is 20-40 ms)."""
    gaps, by_track = [], {}
    for idx, kind, dts, _, _ in pkts:
        by_track.setdefault((idx, kind), []).append(dts)
    for (idx, kind), ts in by_track.items():
        steps = sorted(b - a for a, b in zip(ts, ts[1:]))
        if not steps:
            continue
        usual = steps[len(steps) // 2]
        limit = max(2.5 * usual, usual + 0.05)
        for a, b in zip(ts, ts[1:]):
            if b <= a or b - a > limit:
                gaps.append(f"{kind} track {idx}: {a:.3f} -> {b:.3f} (usual step {usual:.3f})")
    return gaps


def media_seconds(pkts):
    """How much media a capture holds: the longest track's span."""
    spans = {}
    for idx, _, _, pts, dur in pkts:
        lo, hi = spans.get(idx, (pts, pts))
        spans[idx] = (min(lo, pts), max(hi, pts + dur))
    return max((hi - lo for lo, hi in spans.values()), default=0.0)


class Integrity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        # Six-second files, looped: a viewer crosses a loop every six seconds.
        src = {"av": make_media(os.path.join(d, "in.mp4"), seconds=6, gop=25)}
        for key, name, args in (
                ("mp3", "in.mp3", ["-f", "lavfi", "-i", "sine=duration=6:sample_rate=44100", "-c:a", "libmp3lame"]),
                ("vorbis", "in.ogg", ["-f", "lavfi", "-i", "sine=duration=6:sample_rate=44100", "-c:a", "libvorbis"]),
                ("opus", "in.opus", ["-f", "lavfi", "-i", "sine=duration=6:sample_rate=48000", "-c:a", "libopus"]),
                ("webm", "in.webm", ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6",
                                     "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000:duration=6",
                                     "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "25",
                                     "-b:v", "400k", "-c:a", "libopus"])):
            src[key] = os.path.join(d, name)
            subprocess.run(["ffmpeg", "-v", "error", *args, src[key]], check=True)
        mounts = []
        for path, (key, _) in MOUNTS.items():
            mounts += ["--mount", f"{path}={src[key]}"]
        cls.gordo = Gordo(*mounts, "--loop", "--burst", f"{BURST_S}s")
        cls.viewers = {path: [Viewer(cls.gordo.port, path, WATCH_S) for _ in range(VIEWERS)] for path in MOUNTS}
        for vs in cls.viewers.values():
            for v in vs:
                v.join()
        cls.stats = json.loads(cls.gordo.admin_get("/stats")[2])
        # Late joiners, once the stream has run far longer than the burst.
        cls.joiners = {path: Viewer(cls.gordo.port, path, JOIN_READ_S) for path in MOUNTS}
        for v in cls.joiners.values():
            v.join()

    @classmethod
    def tearDownClass(cls):
        code = cls.gordo.stop()
        cls.gordo.__exit__(None, None, None)
        cls.tmp.cleanup()
        if code != 0:
            raise AssertionError(f"gordo exited with {code}")

    def body(self, viewer, path):
        status, headers, body = viewer.result()
        self.assertEqual(status, 200, path)
        self.assertEqual(headers["content-type"], MOUNTS[path][1], path)
        self.assertFalse(viewer.closed, f"{path}: the server closed a viewer that kept up")
        return body

    def check_mount(self, path):
        for n, viewer in enumerate(self.viewers[path]):
            body = self.body(viewer, path)
            name = f"{path.strip('/')}.{n}"
            if path.endswith(".ts"):
                body = body[:len(body) - len(body) % TS_PACKET]  # the capture's cut end
                self.assertEqual(ts_continuity_errors(body)[:5], [], f"{name}: bytes lost")
            saved = write(self.tmp.name, name, body)
            pkts = packets(saved)
            self.assertGreater(media_seconds(pkts), WATCH_S - 2, f"{name}: too little media")
            self.assertEqual(timestamp_gaps(pkts[:-8])[:5], [], f"{name}: a track skips")
            if n == 0:  # one full decode per mount (all but the cut end)
                r = subprocess.run(["ffmpeg", "-v", "error", "-i", saved, "-t", str(WATCH_S - 2), "-f", "null", "-"],
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(r.stderr.strip(), "", f"{name}: decode errors")
        mount = next(m for m in self.stats["mounts"] if m["path"] == path)
        self.assertEqual((mount["resyncs"], mount["slow_drops"]), (0, 0), f"{path}: {mount}")

        # The late joiner: the header, then at least --burst of history and less than a
        # GOP more (plus what went live while it read).
        body = self.body(self.joiners[path], path)
        if path.endswith(".ts"):
            body = body[:len(body) - len(body) % TS_PACKET]
            self.assertEqual(ts_continuity_errors(body)[:5], [], f"{path}: the late joiner's first bytes")
        joined = media_seconds(packets(write(self.tmp.name, path.strip("/") + ".late", body)))
        self.assertGreaterEqual(joined, BURST_S - 0.25, f"{path}: burst of {joined:.2f} s")
        self.assertLess(joined, BURST_S + GOP_S + JOIN_READ_S + 1.0, f"{path}: burst of {joined:.2f} s")

    def test_mpegts(self):
        self.check_mount("/live.ts")

    def test_flv(self):
        self.check_mount("/live.flv")

    def test_fragmented_mp4(self):
        self.check_mount("/live.mp4")

    def test_matroska(self):
        self.check_mount("/live.mkv")

    def test_webm(self):
        self.check_mount("/live.webm")

    def test_adts(self):
        self.check_mount("/radio.aac")

    def test_mp3(self):
        self.check_mount("/radio.mp3")

    def test_ogg_vorbis(self):
        self.check_mount("/radio.ogg")

    def test_ogg_opus(self):
        self.check_mount("/radio.opus")


if __name__ == "__main__":
    unittest.main()
