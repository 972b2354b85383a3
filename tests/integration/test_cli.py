"""Black-box: what a user sees for good and bad command lines."""
import os
import socket
import subprocess
import tempfile
import unittest

from harness import GORDO, Gordo, make_media


def run(*args, timeout=60):
    return subprocess.run([GORDO, *args], capture_output=True, text=True, timeout=timeout)


class CommandLine(unittest.TestCase):
    def test_help_documents_every_flag(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for flag in ("--listen", "--input", "--mount", "--loop", "--workers", "--help", "--version"):
            self.assertIn(flag, r.stdout)
        self.assertIn("0.0.0.0:8080", r.stdout)  # defaults are shown
        self.assertIn("16 to 1048576", r.stdout)  # --ring-chunks' range

    def test_version(self):
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^gordo \d+\.\d+\.\d+\n$")

    def assert_one_line_error(self, r, code, *needles):
        self.assertEqual(r.returncode, code, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("gordo: "), lines[0])
        for n in needles:
            self.assertIn(n, lines[0])
        self.assertEqual(r.stdout, "")

    def test_unknown_flag(self):
        self.assert_one_line_error(run("--bogus"), 2, "bogus", "--help")

    def test_stray_argument(self):
        self.assert_one_line_error(run("movie.mp4"), 2, "movie.mp4", "--input")

    def test_bad_listen_address(self):
        for bad in ("localhost:80", "1.2.3.4:99999", "::1:80", "nope"):
            self.assert_one_line_error(run("--listen", bad), 2, "--listen", bad)

    def test_bad_mount(self):
        self.assert_one_line_error(run("--mount", "live.ts"), 2, "--mount")
        self.assert_one_line_error(run("--mount", "/a b"), 2, "--mount")

    def test_bad_numbers(self):
        self.assert_one_line_error(run("--workers", "5000"), 2, "--workers", "1024")
        self.assert_one_line_error(run("--workers", "many"), 2, "--workers", "many")
        self.assert_one_line_error(run("--ring-chunks", "8"), 2, "--ring-chunks", "16")
        self.assert_one_line_error(run("--ring-chunks", "2"), 2, "--ring-chunks 2 is out of range", "16 to 1048576")
        self.assert_one_line_error(run("--log-level", "loud"), 2, "--log-level")
        self.assert_one_line_error(run("--cpus", "3-1"), 2, "--cpus", "3-1")
        self.assert_one_line_error(run("--cpus", "a"), 2, "--cpus")
        self.assert_one_line_error(run("--burst", "2 parsecs"), 2, "--burst", "unit")
        self.assert_one_line_error(run("--max-lag", "-1s"), 2, "--max-lag")
        self.assert_one_line_error(run("--on-slow", "pray"), 2, "--on-slow", "skip-to-keyframe")
        self.assert_one_line_error(run("--client-limit", "-3"), 2, "--client-limit")
        self.assert_one_line_error(run("--header-timeout", "0"), 2, "--header-timeout")
        self.assert_one_line_error(
            run("--redirect-on-overflow", "ftp://x"), 2, "--redirect-on-overflow", "http")
        self.assert_one_line_error(
            run("--redirect-on-overflow", "http://a\r\nSet-Cookie: x"), 2, "--redirect-on-overflow")

    def test_missing_input_file(self):
        r = run("--listen", "127.0.0.1:0", "--input", "/no/such/file.mp4")
        self.assert_one_line_error(r, 1, "/no/such/file.mp4", "No such file")

    def test_input_that_is_not_media(self):
        with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
            f.write(os.urandom(50_000))
            f.flush()
            r = run("--listen", "127.0.0.1:0", "--input", f.name)
            self.assertEqual(r.returncode, 1)
            self.assertIn(f.name, r.stderr)
            self.assertIn("/live.ts", r.stderr)

    def test_input_with_only_a_codec_mpegts_cannot_carry(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "png.mkv")
            subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=d=1:s=64x64",
                            "-c:v", "png", path], check=True)
            r = run("--listen", "127.0.0.1:0", "--input", path)
            self.assertEqual(r.returncode, 1)
            self.assertIn("MPEG-TS", r.stderr)
            self.assertIn("png", r.stderr)

    def run_with_port_taken(self, flag):
        """Runs gordo with `flag` set to a port another socket listens on; (result, port)."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            with tempfile.TemporaryDirectory() as tmp:
                media = make_media(os.path.join(tmp, "in.mp4"), seconds=1)
                args = {"--listen": "127.0.0.1:0", "--admin-listen": "127.0.0.1:0", flag: f"127.0.0.1:{port}"}
                return run(*[x for kv in args.items() for x in kv], "--input", media), port

    def test_port_in_use(self):
        r, port = self.run_with_port_taken("--listen")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"cannot listen on 127.0.0.1:{port}", r.stderr)
        self.assertIn("Address already in use", r.stderr)

    def test_admin_port_in_use(self):
        r, port = self.run_with_port_taken("--admin-listen")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"cannot listen on 127.0.0.1:{port}", r.stderr.strip().splitlines()[-1])

    def test_check_config_on_the_example(self):
        example = os.path.join(os.path.dirname(__file__), "../../gordo.example.toml")
        r = run("--config", example, "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration OK", r.stdout)
        self.assertIn("/live.ts <- built-in test pattern, HLS at /live.m3u8 (low-latency, 333 ms parts)",
                      r.stdout)
        self.assertIn("/loop.ts <- /srv/media/promo.mp4 (looped)", r.stdout)

    def test_bad_config_file_names_file_line_and_key(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml") as f:
            f.write("listen = \"0.0.0.0:8080\"\nworkers = -2\n")
            f.flush()
            self.assert_one_line_error(run("--config", f.name), 2, f"{f.name}:2", "workers", "-2")

    def test_a_config_that_is_not_a_regular_file_is_an_error(self):
        # Once read as empty (the test pattern started, "configuration OK"); a FIFO blocked.
        with tempfile.TemporaryDirectory() as tmp:
            fifo = os.path.join(tmp, "gordo.toml")
            os.mkfifo(fifo)
            for path, what in ((tmp, "a directory"), ("/dev/zero", "a character device"), (fifo, "a FIFO")):
                for check in (["--check-config"], ["--listen", "127.0.0.1:0", "--admin-listen", "off"]):
                    self.assert_one_line_error(run("--config", path, *check, timeout=20), 2,
                                               f"config file {path}: it is {what}")

    def test_bad_admin_address(self):
        self.assert_one_line_error(run("--admin-listen", "nowhere"), 2, "--admin-listen", "off")

    def test_sigterm_with_viewers_connected_exits_cleanly(self):
        with tempfile.TemporaryDirectory() as tmp:
            media = make_media(os.path.join(tmp, "in.mp4"), seconds=2)
            with Gordo("--input", media, "--loop") as g:
                viewers = []
                for _ in range(3):
                    s = socket.create_connection(("127.0.0.1", g.port))
                    s.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
                    s.recv(1000)
                    viewers.append(s)
                self.assertEqual(g.stop(), 0)
                for s in viewers:  # the server closed them
                    s.settimeout(5)
                    while s.recv(65536):
                        pass
                    s.close()
                self.assertIn("stopping", g.log())


if __name__ == "__main__":
    unittest.main()
