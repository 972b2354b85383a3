"""Black-box: a network source that dies and comes back. Viewers stay connected through
the outage and receive the stream again when the source returns."""
import json
import os
import socket
import subprocess
import tempfile
import time
import unittest

from harness import Gordo, Viewer, continuity_breaks, make_media, ts_packets, write


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def push(media, port):
    """ffmpeg sending the file in real time, looped, as MPEG-TS over UDP."""
    return subprocess.Popen(["ffmpeg", "-v", "error", "-re", "-stream_loop", "-1", "-i", media, "-c", "copy",
                             "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"],
                            stdin=subprocess.DEVNULL)


class SourceLoss(unittest.TestCase):
    def test_viewers_stay_through_an_outage_and_resume(self):
        with tempfile.TemporaryDirectory() as tmp:
            media = make_media(os.path.join(tmp, "in.ts"), seconds=4, fmt_args=("-f", "mpegts"))
            port = free_udp_port()
            encoder = push(media, port)
            try:
                with Gordo("--input", f"udp://127.0.0.1:{port}", "--source-timeout", "1s") as g:
                    viewer = Viewer(g.port, "/live.ts", 20)
                    time.sleep(3)
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
                    time.sleep(2)
                    before = len(viewer.data)
                    encoder = push(media, port)
                    deadline = time.monotonic() + 15
                    while time.monotonic() < deadline and "is back" not in g.log():
                        time.sleep(0.2)
                    self.assertIn("is back", g.log())
                    time.sleep(3)
                    self.assertEqual(json.loads(g.admin_get("/stats")[2])["mounts"][0]["state"], "live")
                    status, _, body = viewer.result()
                    self.assertEqual(status, 200)
                    self.assertFalse(viewer.closed, "the viewer stayed connected through the outage")
                    self.assertGreater(len(viewer.data) - before, 100_000, "and received the stream again")
                    ts_packets(body)  # still whole TS packets throughout
                    self.assertEqual(g.stop(), 0)
            finally:
                encoder.terminate()
                encoder.wait()


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


if __name__ == "__main__":
    unittest.main()
