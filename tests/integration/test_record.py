"""Black-box: recording mounts to files (--record). Consecutive files decode and join
without a gap, each starting at a keyframe, in MPEG-TS and Matroska; retention by age and
by free space on a small tmpfs; a full filesystem pauses recording while viewers keep
playing, and it resumes; kill -9 loses at most record_flush; record_command runs on each
finished file; a reload starts and stops recording."""
import glob
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

from harness import GORDO, Gordo, Viewer, decode_errors, ffprobe_json, make_media, wait_for, write


def record_stats(g, path):
    for m in json.loads(g.admin_get("/stats")[2])["mounts"]:
        if m["path"] == path:
            return m["record"]
    raise AssertionError(f"no mount {path}")


def video_times(path):
    """(first pts, last pts + its duration) of the file's video, and whether its first
    video frame is a keyframe."""
    frames = ffprobe_json(path, "-select_streams", "v", "-show_entries",
                          "frame=pts_time,duration_time,key_frame")["frames"]
    pts = [float(f["pts_time"]) for f in frames if f.get("pts_time") not in (None, "N/A")]
    last = max(frames, key=lambda f: float(f.get("pts_time", "-1")))
    return min(pts), float(last["pts_time"]) + float(last.get("duration_time", 0.04)), frames[0]["key_frame"] == 1


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return f.read().splitlines()


def files(pattern):
    return sorted(glob.glob(pattern), key=os.path.getmtime)


class Tmpfs:
    """A tmpfs of `size` at `path` (tests run as root); skips the test where mounting is
    not permitted."""

    def __init__(self, test, path, size):
        os.makedirs(path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            test.skipTest(f"cannot mount a tmpfs (needs root): {r.stderr.strip()}")
        self.path = path
        test.addCleanup(subprocess.run, ["umount", "-l", path])


class Record(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        # 1 s GOPs; big enough a picture that a few seconds fill a small tmpfs.
        cls.media = make_media(os.path.join(cls.tmp.name, "in.ts"), seconds=4, size="640x480",
                               fmt_args=("-b:v", "1500k", "-f", "mpegts"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def dir(self, name):
        d = os.path.join(self.tmp.name, name)
        os.makedirs(d, exist_ok=True)
        return d

    def test_files_join_without_a_gap_and_start_at_keyframes(self):
        d = self.dir("join")
        conf = write(d, "g.toml", (f'record_segment = "2s"\n'  # a default for every mount
                                   f'[[mount]]\npath = "/a.ts"\ninput = "{self.media}"\nloop = true\n'
                                   f'record = "{d}/ts/%Y-%m-%d/%H%M%S.ts"\n'
                                   f'[[mount]]\npath = "/b.mkv"\ninput = "{self.media}"\nloop = true\n'
                                   f'record = "{d}/mkv/%H%M%S.mkv"\n').encode())
        with Gordo("--config", conf) as g:
            wait_for(lambda: record_stats(g, "/a.ts")["files"] >= 3 and record_stats(g, "/b.mkv")["files"] >= 3,
                     timeout=30, what="three finished files of each mount")
            stats = record_stats(g, "/a.ts")
            self.assertEqual(stats["state"], "recording")
            self.assertTrue(stats["file"].startswith(f"{d}/ts/"), stats)
            self.assertGreater(stats["bytes"], 100_000)
            metrics = g.admin_get("/metrics")[2].decode()
            self.assertIn('gordo_mount_record_files_total{mount="/a.ts"}', metrics)
            self.assertIn('gordo_mount_record_state{mount="/b.mkv",state="recording"} 1', metrics)
            self.assertEqual(g.stop(), 0)
        for kind, pattern in (("ts", f"{d}/ts/*/*.ts"), ("mkv", f"{d}/mkv/*.mkv")):
            found = files(pattern)
            self.assertGreaterEqual(len(found), 3, found)
            prev_end = None
            for f in found:
                self.assertEqual(decode_errors(f), "", f"{kind}: {f}")
                first, end, key = video_times(f)
                self.assertTrue(key, f"{f} starts with a keyframe")
                if prev_end is not None:  # the next file begins where the last one ended
                    self.assertAlmostEqual(first, prev_end, delta=0.05, msg=f"{kind}: {f}")
                prev_end = end
            self.assertGreater(end - video_times(found[1])[0], 1.5)  # a cut every 2 s, at a 1 s GOP

    def test_old_files_are_deleted_by_age(self):
        d = self.dir("keep")
        with Gordo("--input", self.media, "--loop", "--mount", "/k.ts", "--record", f"{d}/%H%M%S.ts",
                   "--record-segment", "1s", "--record-keep", "3s") as g:
            wait_for(lambda: record_stats(g, "/k.ts")["deleted"] >= 2, timeout=20, what="old files deleted")
            now = time.time()
            for f in glob.glob(f"{d}/*.ts"):
                self.assertLess(now - os.path.getmtime(f), 3 + 1.5 + 1, f)  # keep + a sweep + a file
            self.assertIn("older than record_keep", g.log())

    def test_oldest_files_make_room_for_record_min_free(self):
        fs = Tmpfs(self, self.dir("minfree"), "3m").path
        with Gordo("--input", self.media, "--loop", "--mount", "/f.ts", "--record", f"{fs}/r/%H%M%S.ts",
                   "--record-segment", "1s", "--record-min-free", "2MiB") as g:
            wait_for(lambda: record_stats(g, "/f.ts")["deleted"] >= 2, timeout=25, what="files deleted for space")
            st = os.statvfs(fs)
            self.assertGreaterEqual(st.f_bavail * st.f_frsize, 2 * 1024 * 1024 - 400_000)
            self.assertIn("for record_min_free", g.log())
            self.assertEqual(record_stats(g, "/f.ts")["errors"], 0)

    def test_a_full_filesystem_pauses_recording_and_viewers_keep_playing(self):
        fs = Tmpfs(self, self.dir("full"), "1m").path
        with Gordo("--input", self.media, "--loop", "--mount", "/full.ts", "--record", f"{fs}/%H%M%S.ts",
                   "--record-segment", "30s") as g:
            viewer = Viewer(g.port, "/full.ts", 9)
            wait_for(lambda: record_stats(g, "/full.ts")["state"] == "paused", timeout=15, what="a pause")
            time.sleep(2)  # paused a while: retries that fail log nothing more
            stats = record_stats(g, "/full.ts")
            self.assertEqual(stats["errors"], 1, stats)
            self.assertEqual(g.log().count("No space left on device"), 1, g.log())
            for f in glob.glob(f"{fs}/*.ts"):
                os.unlink(f)
            wait_for(lambda: record_stats(g, "/full.ts")["file"], timeout=10, what="recording to resume")
            self.assertIn("resumed", g.log())
            status, _, body = viewer.result()
            self.assertEqual(status, 200)
            self.assertFalse(viewer.closed)
            # Data came every second meanwhile (the stream's bitrate is ~1.6 Mbit/s).
            for t in range(1, 8):
                self.assertGreater(viewer.bytes_between(t, t + 1), 50_000, f"second {t}")
            self.assertGreater(record_stats(g, "/full.ts")["dropped_chunks"], 0)

    def test_kill_9_loses_at_most_record_flush(self):
        d = self.dir("kill")
        g = Gordo("--input", self.media, "--loop", "--mount", "/x.ts", "--record", f"{d}/%H%M%S.ts",
                  "--record-segment", "60s", "--record-flush", "1s", expect_exit=None)
        with g:
            wait_for(lambda: record_stats(g, "/x.ts")["file"], timeout=15, what="a file", every=0.02)
            began = time.monotonic()
            time.sleep(4)
            g.proc.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            g.proc.wait()
        [f] = glob.glob(f"{d}/*.ts")
        self.assertEqual(decode_errors(f), "")
        first, end, _ = video_times(f)
        # record_flush (1 s) + a chunk (100 ms) + the time to see the file (50 ms poll).
        self.assertGreaterEqual(end - first, (killed - began) - 1.1 - 0.15, f)

    def test_record_command_and_reload(self):
        d = self.dir("reload")
        done = os.path.join(d, "done.txt")
        plain = f'[[mount]]\npath = "/r.ts"\ninput = "{self.media}"\nloop = true\n'
        conf = write(d, "g.toml", plain.encode())
        with Gordo("--config", conf) as g:
            self.assertEqual(record_stats(g, "/r.ts")["state"], "off")
            write(d, "g.toml", (f'record_segment = "1s"\n' + plain +
                                f'record = "{d}/rec/%H%M%S.ts"\n'
                                f'record_command = "echo $GORDO_MOUNT $GORDO_RECORD_FILE >> {done}"\n').encode())
            g.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: len(lines(done)) >= 2, timeout=15, what="record_command on two files")
            for line in lines(done):
                mount, path = line.split(" ")
                self.assertEqual(mount, "/r.ts")
                self.assertTrue(os.path.isabs(path) and os.path.getsize(path) > 0, path)
            write(d, "g.toml", plain.encode())
            g.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: record_stats(g, "/r.ts")["state"] == "off", timeout=10, what="recording off")
            count = len(glob.glob(f"{d}/rec/*.ts"))
            time.sleep(2)
            self.assertEqual(len(glob.glob(f"{d}/rec/*.ts")), count, "no file after recording stopped")
            self.assertIn("recording /r.ts stops", g.log())

    def test_bad_values_are_refused(self):
        for args, needle in ((["--record", ""], "--record"),
                             (["--record", "r/%H.ts", "--record-segment", "10ms"], "--record-segment"),
                             (["--record", "r/%H.ts", "--record-keep", "1MiB"], "--record-keep"),
                             (["--record", "r/%H.ts", "--record-min-free", "2s"], "--record-min-free"),
                             (["--record", "r/%H.ts", "--record-flush", "lots"], "--record-flush"),
                             (["--mount", "/a.ts", "--mount", "/b.ts", "--record", "r/%H.ts"], "same file names")):
            r = subprocess.run([GORDO, "--check-config", *args], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(needle, r.stderr)


if __name__ == "__main__":
    unittest.main()
