"""Black-box: real players, not ffmpeg, play the formats they were reported to fail on:
VLC 3.0 a live fragmented MP4 mount (reported: no picture) and GStreamer 1.22's playbin
(uridecodebin, queue2 buffering) a live WebM mount (reported: re-buffering for ever).
Each joins late, plays for a few seconds, and must show pictures at about the stream's
rate. The two reports did not reproduce with Debian's VLC 3.0.23/3.0.24 and GStreamer
1.22.0 (docs/players.md): these tests keep it so."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import Gordo

PLAY_SECONDS = 7
# Pictures expected at least: the stream's rate over the play time, less start-up (VLC
# buffers 1.25 s, playbin 2 s, before the first picture is shown).
MIN_SHARE = 0.5
NOBODY = 65534


def vlc_frames(url, seconds, workdir):
    """Plays `url` in VLC with no window and no sound for `seconds`; returns (pictures its
    video output was given, log). The scene filter writes one tiny JPEG per picture. VLC
    refuses to run as root: as root it runs as nobody."""
    shots = os.path.join(workdir, "shots")
    os.mkdir(shots)
    os.chmod(workdir, 0o777)
    os.chmod(shots, 0o777)
    drop = []
    if os.geteuid() == 0:
        drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    env = dict(os.environ, HOME=workdir, XDG_CONFIG_HOME=workdir, XDG_CACHE_HOME=workdir,
               XDG_DATA_HOME=workdir)
    # Stopped by a signal: --run-time counts from the stream's own timestamps, which for
    # a late joiner are already past it (VLC stops at once).
    cmd = ["timeout", "-s", "INT", str(seconds), *drop, "vlc", "-I", "dummy", "-vv", "--no-video-title-show", "--aout=dummy", "-V", "dummy",
           "--video-filter=scene", f"--scene-path={shots}", "--scene-ratio=1", "--scene-format=jpg",
           "--scene-width=64", "--scene-height=36", "--scene-prefix=f", url]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 20)
    return len(os.listdir(shots)), r.stderr


def playbin_frames(url, seconds):
    """Plays `url` with gst-launch-1.0's playbin (uridecodebin and its queue2 buffering;
    gst-launch pauses while buffering, as players do) into synchronised fakesinks for
    `seconds`; returns (video buffers the sink rendered, output)."""
    cmd = ["timeout", "-s", "INT", str(seconds), "gst-launch-1.0", "-e", "-v", "playbin", f"uri={url}",
           "video-sink=fakesink name=vsink sync=true silent=false", "audio-sink=fakesink sync=true"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 20)
    out = r.stdout + r.stderr
    return out.count("vsink: last-message = chain"), out


def tail(log, lines=40):
    return "\n".join(log.splitlines()[-lines:])


class Players(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        webm = os.path.join(cls.tmp.name, "in.webm")
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4",
                        "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000:duration=4",
                        "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "25", "-b:v", "400k",
                        "-c:a", "libopus", webm], check=True)
        # The test pattern (1280x720 H.264 at 30 fps, AAC) feeds the MP4 mount.
        cls.gordo = Gordo("--mount", "/live.mp4", "--mount", f"/live.webm={webm}", "--loop")
        time.sleep(2)  # the players join a stream already running

    @classmethod
    def tearDownClass(cls):
        try:
            cls.gordo.__exit__(None, None, None)
        finally:
            cls.tmp.cleanup()

    def url(self, path):
        return f"http://127.0.0.1:{self.gordo.port}{path}"

    @unittest.skipUnless(shutil.which("vlc") and shutil.which("setpriv"),
                         "vlc is not installed (tools/install-deps installs vlc-bin, vlc-plugin-base)")
    def test_vlc_shows_fragmented_mp4(self):
        with tempfile.TemporaryDirectory() as work:
            frames, log = vlc_frames(self.url("/live.mp4"), PLAY_SECONDS, work)
        self.assertIn("Set Fragmented demux mode", log, tail(log))  # VLC's mp4 demuxer, not avformat
        self.assertGreater(frames, 30 * PLAY_SECONDS * MIN_SHARE, tail(log))

    @unittest.skipUnless(shutil.which("gst-launch-1.0"), "gst-launch-1.0 is not installed (gstreamer1.0-tools)")
    def test_gstreamer_playbin_shows_webm(self):
        frames, out = playbin_frames(self.url("/live.webm"), PLAY_SECONDS)
        self.assertNotIn("ERROR", out, tail(out))
        self.assertGreater(frames, 25 * PLAY_SECONDS * MIN_SHARE, tail(out))


if __name__ == "__main__":
    unittest.main()
