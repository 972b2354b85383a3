"""The systemd unit passes systemd-analyze verify, and gordo speaks sd_notify: READY,
watchdog pings while its workers tick, STOPPING."""
import contextlib
import ctypes
import errno
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


@contextlib.contextmanager
def notify_socket(tmp):
    """A NOTIFY_SOCKET in `tmp` as systemd gives one, with a 2 s watchdog: (the socket, the
    environment to start gordo with)."""
    sock_path = os.path.join(tmp, "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(sock_path)
        sock.settimeout(10)
        yield sock, dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="2000000")


class Notify(unittest.TestCase):
    def test_ready_watchdog_and_stopping(self):
        with tempfile.TemporaryDirectory() as tmp:
            media = make_media(os.path.join(tmp, "in.ts"), seconds=2, fmt_args=("-f", "mpegts"))
            with notify_socket(tmp) as (sock, env):
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

    def test_no_watchdog_pings_while_a_worker_is_stuck(self):
        """One worker thread stopped (by ptrace, as a debugger stops one thread) is a stuck
        event loop: gordo stops pinging, so systemd would restart it; pings resume once
        the thread runs again."""
        libc = ctypes.CDLL(None, use_errno=True)
        libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT, WALL = 17, 0x4206, 0x4207, 0x40000000
        stuck = "a worker's event loop has not ticked; not pinging the watchdog"
        with tempfile.TemporaryDirectory() as tmp:
            media = make_media(os.path.join(tmp, "in.ts"), seconds=2, fmt_args=("-f", "mpegts"))
            with notify_socket(tmp) as (sock, env):
                with Gordo("--input", media, "--loop", "--workers", "2", env=env) as g:
                    wait_message(sock, "WATCHDOG=1")
                    tasks = f"/proc/{g.proc.pid}/task"
                    names = {tid: read(f"{tasks}/{tid}/comm").strip() for tid in os.listdir(tasks)}
                    tid = next((int(t) for t, name in names.items() if name == "worker 1"), None)
                    self.assertIsNotNone(tid, f"worker threads are named: {names}")
                    if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
                        err = ctypes.get_errno()
                        if err == errno.EPERM:
                            self.skipTest("ptrace is not permitted here")
                        self.fail(os.strerror(err))
                    try:
                        self.assertEqual(libc.ptrace(PTRACE_INTERRUPT, tid, None, None), 0)
                        os.waitpid(tid, WALL)  # the thread is stopped; the other one runs on
                        deadline = time.monotonic() + 10
                        while stuck not in g.log() and time.monotonic() < deadline:
                            time.sleep(0.1)
                        self.assertIn(stuck, g.log())
                        # Pings sent before that are queued; from now on none may come. Each
                        # watchdog interval either pings or logs: wait two more intervals.
                        drained = drain(sock)
                        seen = g.log().count(stuck)
                        deadline = time.monotonic() + 10
                        while g.log().count(stuck) < seen + 2 and time.monotonic() < deadline:
                            time.sleep(0.1)
                        self.assertGreaterEqual(g.log().count(stuck), seen + 2)
                        self.assertNotIn("WATCHDOG=1", drain(sock), f"(before it: {drained})")
                    finally:
                        libc.ptrace(PTRACE_DETACH, tid, None, None)
                    wait_message(sock, "WATCHDOG=1")  # running again: pings again
                    self.assertEqual(g.stop(), 0)


def read(path):
    with open(path) as f:
        return f.read()


def wait_message(sock, text):
    """Reads sd_notify datagrams until one holds `text` (sock's timeout bounds each)."""
    messages = []
    while not any(text in m for m in messages):
        messages.append(sock.recv(4096).decode())
    return messages


def drain(sock):
    """The datagrams queued on `sock`, joined."""
    out = []
    sock.setblocking(False)
    try:
        while True:
            out.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(10)
    return "".join(out)


if __name__ == "__main__":
    unittest.main()
