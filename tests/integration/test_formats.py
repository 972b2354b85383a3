"""Black-box: each output format, chosen by the mount's extension, served to a viewer
that joins late: the right Content-Type, a header, a first video frame that is a
keyframe, and bytes that decode."""
import os
import subprocess
import tempfile
import time
import unittest

from harness import GORDO, Gordo, capture, ffprobe_json, make_media, streams, video_packets, write


def decode_errors_head(path, seconds=2):
    """Decode errors in the first `seconds` (the capture's cut end is not the server's fault)."""
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-t", str(seconds), "-f", "null", "-"],
                       capture_output=True, text=True, timeout=60)
    return r.stderr.strip() + ("" if r.returncode == 0 else f" (exit {r.returncode})")


class Formats(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        av = make_media(os.path.join(cls.tmp.name, "in.mp4"), seconds=4)
        mp3 = os.path.join(cls.tmp.name, "in.mp3")
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=4:sample_rate=44100",
                        "-c:a", "libmp3lame", mp3], check=True)
        webm = os.path.join(cls.tmp.name, "in.webm")
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4",
                        "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000:duration=4",
                        "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "25", "-b:v", "400k",
                        "-c:a", "libopus", webm], check=True)
        opus = os.path.join(cls.tmp.name, "in.opus")
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=4:sample_rate=48000",
                        "-c:a", "libopus", opus], check=True)
        vorbis = os.path.join(cls.tmp.name, "in.ogg")
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=4:sample_rate=44100",
                        "-c:a", "libvorbis", "-b:a", "96k", vorbis], check=True)
        # The built-in test pattern (MPEG-TS in memory: AAC without extradata) feeds the
        # Matroska mount; the mounts of in.mp4 share one demux.
        cls.gordo = Gordo("--mount", f"/live.ts={av}", "--mount", f"/live.flv={av}", "--mount", f"/live.mp4={av}",
                          "--mount", f"/radio.aac={av}", "--mount", f"/radio.mp3={mp3}",
                          "--mount", f"/live.webm={webm}", "--mount", "/live.mkv",
                          "--mount", f"/radio.ogg={vorbis}", "--mount", f"/radio.opus={opus}", "--loop")
        time.sleep(3)  # every viewer below joins a stream already running

    @classmethod
    def tearDownClass(cls):
        try:
            cls.gordo.__exit__(None, None, None)  # stops gordo, checks that it exited 0
        finally:
            cls.tmp.cleanup()

    def check(self, path, content_type, codecs, min_bytes=10_000):
        status, headers, body, closed = capture(self.gordo.port, path, 3)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], content_type)
        self.assertFalse(closed)
        self.assertGreater(len(body), min_bytes)
        name = path.strip("/")
        saved = write(self.tmp.name, name, body)
        self.assertEqual(sorted(s["codec_name"] for s in streams(saved)), sorted(codecs))
        if "h264" in codecs or "vp8" in codecs:
            self.assertIn("K", video_packets(saved)[0]["flags"], f"{path}: first video packet must be a keyframe")
        self.assertEqual(decode_errors_head(saved), "", path)
        return body

    def test_flv(self):
        body = self.check("/live.flv", "video/x-flv", ["h264", "aac"])
        self.assertTrue(body.startswith(b"FLV\x01"), "the cached FLV header comes first")

    def test_fragmented_mp4(self):
        body = self.check("/live.mp4", "video/mp4", ["h264", "aac"])
        self.assertEqual(body[4:8], b"ftyp", "the init segment comes first")
        self.assertIn(b"moof", body)

    def test_mpegts(self):
        self.check("/live.ts", "video/mp2t", ["h264", "aac"])

    def test_adts_aac_radio(self):
        body = self.check("/radio.aac", "audio/aac", ["aac"])
        self.assertEqual(body[0], 0xFF, "starts on an ADTS frame")
        self.assertEqual(body[1] & 0xF0, 0xF0)

    def test_mp3_radio(self):
        self.check("/radio.mp3", "audio/mpeg", ["mp3"])

    def test_webm(self):
        body = self.check("/live.webm", "video/webm", ["vp8", "opus"])
        self.assertEqual(body[:4], b"\x1a\x45\xdf\xa3", "the cached EBML header comes first")
        self.assertIn(b"webm", body[:64])
        clusters = body.count(b"\x1f\x43\xb6\x75")
        self.assertGreater(clusters, 10, "clusters of about a chunk's duration, not one per GOP")

    def test_matroska_from_mpegts_aac(self):
        self.check("/live.mkv", "video/x-matroska", ["h264", "aac"])

    def test_ogg_vorbis_radio(self):
        body = self.check("/radio.ogg", "audio/ogg", ["vorbis"], min_bytes=5_000)
        self.assertTrue(body.startswith(b"OggS"), "the header pages come first")

    def test_ogg_opus_radio(self):
        body = self.check("/radio.opus", "audio/ogg", ["opus"])
        self.assertTrue(body.startswith(b"OggS"))
        self.assertIn(b"OpusHead", body[:200])

    def test_one_demux_feeds_the_mounts_of_one_source(self):
        log = self.gordo.log()
        self.assertEqual(log.count("source " + os.path.join(self.tmp.name, "in.mp4") + " ("), 1, log)

    def test_a_codec_the_format_cannot_carry_is_a_clear_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            av = make_media(os.path.join(tmp, "in.mp4"), seconds=1)
            r = subprocess.run([GORDO, "--listen", "127.0.0.1:0", "--admin-listen", "off",
                                "--mount", f"/radio.mp3={av}"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        last = r.stderr.strip().splitlines()[-1]
        self.assertIn("/radio.mp3", last)
        self.assertIn("aac", last)
        self.assertIn("cannot carry", last)


if __name__ == "__main__":
    unittest.main()
