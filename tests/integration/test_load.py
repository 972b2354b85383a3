"""Black-box: tools/gordo-load against a real gordo, a missing mount and a closed port."""
import json
import os
import socket
import subprocess
import tempfile
import unittest

from harness import GORDO, Gordo, make_media

GORDO_LOAD = os.environ.get("GORDO_LOAD", os.path.join(os.path.dirname(GORDO), "gordo-load"))


def load(url, *args, timeout=60):
    return subprocess.run([GORDO_LOAD, url, "--json", *args], capture_output=True, text=True, timeout=timeout)


class AgainstGordo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        media = make_media(os.path.join(cls.tmp.name, "in.ts"), seconds=4, fmt_args=("-f", "mpegts"))
        cls.bits_per_s = os.path.getsize(media) * 8 / 4
        cls.gordo = Gordo("--input", media, "--loop")

    @classmethod
    def tearDownClass(cls):
        cls.gordo.stop()
        cls.gordo.__exit__(None, None, None)
        cls.tmp.cleanup()

    def test_200_viewers_all_receive_the_stream_and_find_a_keyframe(self):
        r = load(self.gordo.url, "--viewers", "200", "--rate", "400", "--duration", "4", "--settle", "1",
                 "--server-pid", str(self.gordo.proc.pid))
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual(s["viewers"], 200)
        self.assertEqual(s["ok"], 200)
        self.assertEqual(s["failures"] + s["closed_early"], 0, s["first_error"])
        self.assertEqual(s["no_keyframe"], 0, "every viewer's stream has a random-access packet")
        # gordo starts every viewer at a keyframe: the first one arrives with the first bytes.
        self.assertGreaterEqual(s["keyframe_p50_ms"], s["ttfb_p50_ms"])
        self.assertLessEqual(s["ttfb_p50_ms"], s["ttfb_p99_ms"])
        # Rates: the stream's rate, the same for everyone, and they add up.
        self.assertAlmostEqual(s["rate_p50_mbps"] * 1e6, self.bits_per_s, delta=0.25 * self.bits_per_s)
        self.assertLessEqual(s["rate_p1_mbps"], s["rate_p50_mbps"])
        self.assertAlmostEqual(s["aggregate_gbps"] * 1e3, 200 * s["rate_p50_mbps"], delta=0.1 * 200 * s["rate_p50_mbps"])
        self.assertAlmostEqual(s["window_s"], 4, delta=0.5)
        self.assertGreater(s["server_rss_mib"], 1)
        self.assertGreaterEqual(s["server_cpu_pct"], 0)

    def test_table_and_progress_line(self):
        r = subprocess.run([GORDO_LOAD, self.gordo.url, "--viewers", "5", "--duration", "1.5", "--settle", "0"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("| ttfb_p99_ms", r.stdout)
        self.assertIn("| behind", r.stdout)
        self.assertIn("viewers      5/5", r.stderr)  # the progress line
        self.assertIn("Gbit/s", r.stderr)

    def test_a_missing_mount_counts_as_failures(self):
        r = load(self.gordo.url.replace("/live.ts", "/nope.ts"), "--viewers", "10", "--duration", "1")
        self.assertEqual(r.returncode, 1)
        s = json.loads(r.stdout)
        self.assertEqual(s["failures"], 10)
        self.assertEqual(s["first_error"], "HTTP 404")


class AgainstNothing(unittest.TestCase):
    def test_a_closed_port_reports_failures_instead_of_hanging(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # bound, never listening: connections are refused
            r = load(f"http://127.0.0.1:{port}/live.ts", "--viewers", "50", "--duration", "30", timeout=20)
        self.assertEqual(r.returncode, 1)
        s = json.loads(r.stdout)
        self.assertEqual(s["failures"], 50)
        self.assertEqual(s["ok"], 0)
        self.assertIn("refused", s["first_error"])

    def test_bad_arguments(self):
        for args in (["ftp://x/"], ["http://127.0.0.1:1/", "--viewers", "0"], ["http://127.0.0.1:1/", "--rate", "x"]):
            r = subprocess.run([GORDO_LOAD, *args], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.stderr.startswith("gordo-load: "), r.stderr)


if __name__ == "__main__":
    unittest.main()
