"""Black-box: SIGHUP re-reads the config file. Mounts come and go; a viewer of a mount
that stays receives continuous bytes across the reload; a bad file changes nothing."""
import json
import os
import signal
import socket
import tempfile
import time
import unittest

from harness import Gordo, Viewer, capture, continuity_breaks, make_media, request, split_response, write


def mount(path, media, **policy):
    """A [[mount]] table; `policy` adds per-mount keys (on_slow="drop", client_limit=1)."""
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in policy.items())
    return f'[[mount]]\npath = "{path}"\ninput = "{media}"\nloop = true\n{extra}'


def mount_stats(g):
    return {m["path"]: m for m in json.loads(g.admin_get("/stats")[2])["mounts"]}


class Reload(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.media = make_media(os.path.join(cls.tmp.name, "in.ts"), seconds=3, fmt_args=("-f", "mpegts"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def wait_log(self, g, text, timeout=10):
        deadline = time.monotonic() + timeout
        while text not in g.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIn(text, g.log())

    def test_mounts_added_and_removed_while_a_viewer_of_another_keeps_playing(self):
        conf = write(self.tmp.name, "reload.toml",
                     ("workers = 2\n" + mount("/stays.ts", self.media) + mount("/goes.ts", self.media)).encode())
        with Gordo("--config", conf) as g:
            stays = Viewer(g.port, "/stays.ts", 8)
            goes = Viewer(g.port, "/goes.ts", 8)
            time.sleep(2)
            write(self.tmp.name, "reload.toml",
                  ("workers = 2\nclient_limit = 50\n" + mount("/stays.ts", self.media) +
                   mount("/new.ts", self.media)).encode())
            g.proc.send_signal(signal.SIGHUP)
            self.wait_log(g, "/goes.ts ended")
            self.assertEqual(capture(g.port, "/new.ts", 1)[0], 200)
            self.assertEqual(split_response(request(g.port, b"GET /goes.ts HTTP/1.1\r\nHost: x\r\n\r\n"))[0], 404)
            stats = json.loads(g.admin_get("/stats")[2])
            self.assertEqual(sorted(m["path"] for m in stats["mounts"]), ["/new.ts", "/stays.ts"])
            status, _, body = stays.result()
            goes.result()
            self.assertEqual(g.stop(), 0)
        self.assertEqual(status, 200)
        self.assertFalse(stays.closed, "the viewer of an unchanged mount is not disconnected")
        self.assertEqual(continuity_breaks(body), [], "and loses no byte")
        gaps = [b[0] - a[0] for a, b in zip(stays.arrivals, stays.arrivals[1:])]
        self.assertLess(max(gaps), 1.0, "and never waits long for the next chunk")
        self.assertTrue(goes.closed, "a removed mount's viewer is closed")
        self.assertEqual(continuity_breaks(goes.result()[2]), [], "cleanly, on a chunk")

    def test_changed_mount_policies_apply_to_that_mount_only(self):
        # One worker and small socket buffers, so that a viewer that stops reading for 5 s
        # falls more than max_lag behind (as in test_engine's SlowViewers).
        head = 'workers = 1\nmax_lag = "1s"\nsndbuf = 16384\n'
        conf = write(self.tmp.name, "policy.toml",
                     (head + mount("/a.ts", self.media, on_slow="skip-to-keyframe") +
                      mount("/b.ts", self.media, on_slow="skip-to-keyframe")).encode())
        with tempfile.TemporaryDirectory() as tmp, socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            # gordo's sd_notify status says when a reload has been applied.
            notify.bind(os.path.join(tmp, "notify"))
            notify.settimeout(10)
            with Gordo("--config", conf, env=dict(os.environ, NOTIFY_SOCKET=os.path.join(tmp, "notify"))) as g:
                watcher = Viewer(g.port, "/b.ts", 14)
                write(self.tmp.name, "policy.toml",
                      (head + mount("/a.ts", self.media, on_slow="drop", client_limit=1) +
                       mount("/b.ts", self.media, on_slow="skip-to-keyframe")).encode())
                g.proc.send_signal(signal.SIGHUP)
                while "(reloaded)" not in notify.recv(4096).decode():
                    pass
                slow_a = Viewer(g.port, "/a.ts", 9, stall=(1, 5), rcvbuf=32768)
                slow_b = Viewer(g.port, "/b.ts", 9, stall=(1, 5), rcvbuf=32768)
                deadline = time.monotonic() + 10
                while mount_stats(g)["/a.ts"]["viewers"] < 1 and time.monotonic() < deadline:
                    time.sleep(0.05)
                refused = split_response(request(g.port, b"GET /a.ts HTTP/1.1\r\nHost: x\r\n\r\n"))[0]
                self.assertEqual(refused, 503, "the new client_limit applies to /a.ts")
                self.assertEqual(capture(g.port, "/b.ts", 0.5)[0], 200, "and only to /a.ts")
                slow_a.result()
                slow_b.result()
                status, _, body = watcher.result()
                mounts = mount_stats(g)
                self.assertEqual(g.stop(), 0)
        self.assertTrue(slow_a.closed, "/a.ts's new policy drops a viewer that stops reading")
        self.assertGreaterEqual(mounts["/a.ts"]["slow_drops"], 1)
        self.assertEqual(mounts["/a.ts"]["resyncs"], 0)
        self.assertFalse(slow_b.closed, "/b.ts kept skip-to-keyframe: its slow viewer stays")
        self.assertGreaterEqual(mounts["/b.ts"]["resyncs"], 1)
        self.assertEqual(mounts["/b.ts"]["slow_drops"], 0)
        self.assertEqual(status, 200)
        self.assertFalse(watcher.closed, "a viewer of /b.ts across the reload is undisturbed")
        self.assertEqual(continuity_breaks(body), [], "and loses no byte")

    def test_settings_that_need_a_restart_stay_as_they_run(self):
        conf = write(self.tmp.name, "restart.toml", ("workers = 1\n" + mount("/live.ts", self.media)).encode())
        with Gordo("--config", conf) as g:
            write(self.tmp.name, "restart.toml", ("workers = 2\n" + mount("/live.ts", self.media)).encode())
            for reloads in (1, 2):
                g.proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 10
                while g.log().count("workers/cpus changed") < reloads and time.monotonic() < deadline:
                    time.sleep(0.1)
            # Still one worker, so the second reload finds the same difference.
            self.assertEqual(g.log().count("workers/cpus changed; that takes a restart"), 2)
            self.assertEqual(len(json.loads(g.admin_get("/stats")[2])["workers"]), 1)
            self.assertEqual(g.stop(), 0)

    def test_a_bad_config_on_reload_keeps_the_old_one(self):
        conf = write(self.tmp.name, "bad.toml", ("workers = 1\n" + mount("/live.ts", self.media)).encode())
        with Gordo("--config", conf) as g:
            write(self.tmp.name, "bad.toml", b"workers = \"many\"\n")
            g.proc.send_signal(signal.SIGHUP)
            self.wait_log(g, "keeping the running configuration")
            self.assertIn("bad.toml:1: key 'workers'", g.log())
            self.assertEqual(capture(g.port, "/live.ts", 1)[0], 200)
            write(self.tmp.name, "bad.toml", ("workers = 1\n" + mount("/live.ts", self.media) +
                                              mount("/broken.ts", "/no/such/file.ts")).encode())
            g.proc.send_signal(signal.SIGHUP)
            self.wait_log(g, "/no/such/file.ts")
            self.assertEqual(split_response(request(g.port, b"GET /broken.ts HTTP/1.1\r\nHost: x\r\n\r\n"))[0], 404)
            self.assertEqual(capture(g.port, "/live.ts", 1)[0], 200)
            self.assertEqual(g.stop(), 0)

    def test_a_config_path_that_is_not_a_regular_file_keeps_the_old_one(self):
        # A directory was once read as empty (the mounts ended, the test pattern started);
        # a FIFO blocked the main thread until someone wrote to it, and SIGTERM with it.
        conf = write(self.tmp.name, "swapped.toml", ("workers = 1\n" + mount("/stays.ts", self.media)).encode())
        with Gordo("--config", conf) as g:
            viewer = Viewer(g.port, "/stays.ts", 20)
            for what, make in (("a directory", os.mkdir), ("a FIFO", os.mkfifo)):
                os.replace(conf, conf + ".saved")
                make(conf)
                g.proc.send_signal(signal.SIGHUP)
                self.wait_log(g, f"reload: cannot read config file {conf}: it is {what}; give the path of a "
                                 "regular file; keeping the running configuration")
                stats = json.loads(g.admin_get("/stats")[2])
                self.assertEqual([m["path"] for m in stats["mounts"]], ["/stays.ts"], what)
                (os.rmdir if make is os.mkdir else os.remove)(conf)
                os.replace(conf + ".saved", conf)
            received, deadline = len(viewer.data), time.monotonic() + 10
            while len(viewer.data) < received + 50_000 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertGreaterEqual(len(viewer.data), received + 50_000, "the viewer plays on")
            self.assertTrue(viewer.is_alive() and not viewer.closed, "and was never closed")
            os.replace(conf, conf + ".saved")
            os.mkfifo(conf)  # SIGTERM right after a reload of a FIFO
            g.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while g.log().count("it is a FIFO") < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(g.log().count("it is a FIFO; give the path of a regular file; keeping"), 2)
            self.assertEqual(g.stop(timeout=10), 0, "SIGTERM is honoured at once")
            os.remove(conf)
            os.replace(conf + ".saved", conf)
        self.assertEqual(viewer.result()[0], 200)


if __name__ == "__main__":
    unittest.main()
