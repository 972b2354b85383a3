"""The systemd unit passes systemd-analyze verify, and gordo speaks sd_notify: READY,
watchdog pings while its workers tick, STOPPING."""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import GORDO, Gordo, make_media

UNIT = os.path.join(os.path.dirname(__file__), "../../systemd/gordo.service")


class Unit(unittest.TestCase):
    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
    def test_unit_verifies(self):
        with tempfile.TemporaryDirectory() as tmp:
            # As meson install would write it, with ExecStart pointing at this build.
            with open(UNIT) as f:
                text = f.read().replace("@BINDIR@", os.path.dirname(os.path.abspath(GORDO)))
            path = os.path.join(tmp, "gordo.service")
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run(["systemd-analyze", "verify", "--man=no", path], capture_output=True, text=True)
            problems = [l for l in r.stderr.splitlines() if "gordo.service" in l]
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(problems, [])
            self.assertIn("Type=notify", text)
            self.assertIn("WatchdogSec=", text)


class Notify(unittest.TestCase):
    def test_ready_watchdog_and_stopping(self):
        with tempfile.TemporaryDirectory() as tmp:
            media = make_media(os.path.join(tmp, "in.ts"), seconds=2, fmt_args=("-f", "mpegts"))
            sock_path = os.path.join(tmp, "notify")
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.bind(sock_path)
                sock.settimeout(10)
                env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="2000000")
                with Gordo("--input", media, "--loop", env=env) as g:
                    messages = []
                    deadline = time.monotonic() + 10
                    while not any("WATCHDOG=1" in m for m in messages) and time.monotonic() < deadline:
                        messages.append(sock.recv(4096).decode())
                    self.assertTrue(messages[0].startswith("READY=1"), messages)
                    self.assertIn("STATUS=serving 1 mount", messages[0])
                    self.assertIn("WATCHDOG=1", messages[-1])
                    self.assertEqual(g.stop(), 0)
                    rest = []
                    sock.settimeout(1)
                    try:
                        while True:
                            rest.append(sock.recv(4096).decode())
                    except socket.timeout:
                        pass
                    self.assertIn("STOPPING=1", rest)


if __name__ == "__main__":
    unittest.main()
