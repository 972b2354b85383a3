"""Black-box: gordo edges relaying an origin, on hosts of their own (network namespaces on a
bridge: tests/integration/netns.py). Edges mirror every mount of their origins (--relay),
follow mounts as they appear and go, add no more than one chunk duration of latency, and
keep their viewers playing from the backup origin when the primary is killed; the origin's
load does not grow with the edges' viewers (gordo-load on a host of its own). The checks'
own captures run in the test's namespace, which the bridge joins like any other host."""
import json
import os
import re
import signal
import statistics
import subprocess
import tempfile
import time
import unittest

import netns
from harness import GORDO, Gordo, Viewer, continuity_breaks, make_media, wait_for

LOAD = os.environ.get("GORDO_LOAD", os.path.join(os.path.dirname(GORDO), "gordo-load"))
SKIP = netns.available()
SOURCE_TIMEOUT = 2  # the edges' --source-timeout, seconds

tmp = None
media = None


def setUpModule():
    global tmp, media
    if SKIP:
        return
    tmp = tempfile.TemporaryDirectory()
    # 20 s loops: no loop seam (where ffmpeg's own files repeat a timestamp) in a capture.
    media = make_media(os.path.join(tmp.name, "in.ts"), seconds=20, size="160x120",
                       fmt_args=("-f", "mpegts"))


def tearDownModule():
    if tmp:
        tmp.cleanup()


def write_config(path, mounts):
    with open(path, "w") as f:
        for m in mounts:
            f.write(f'[[mount]]\npath = "{m}"\ninput = "{media}"\nloop = true\n')


def at(net, host):
    return ["--listen", f"{net.addr(host)}:0", "--admin-listen", f"{net.addr(host)}:0"]


def stats(g):
    status, _, body = g.admin_get("/stats")
    assert status == 200, status
    return json.loads(body)


def mount(g, path):
    return next((m for m in stats(g)["mounts"] if m["path"] == path), None)


def video_pts_arrivals(viewer):
    """{PTS: arrival time} of the video PES packets a viewer got (the first TS packet of each)."""
    arrivals, body, offset = {}, bytes(viewer.data), 0
    head = body.find(b"\r\n\r\n") + 4
    times = []  # (end offset in body, time) per recv
    for t, n in viewer.arrivals:
        offset += n
        times.append((offset, t))
    k = 0
    for i in range(head, len(body) - 187, 188):
        p = body[i:i + 188]
        if p[0] != 0x47 or not p[1] & 0x40 or not p[3] & 0x10:
            continue
        o = 4 + (1 + p[4] if p[3] & 0x20 else 0)
        if p[o:o + 3] != b"\x00\x00\x01" or not 0xE0 <= p[o + 3] <= 0xEF or not p[o + 7] & 0x80:
            continue
        b = p[o + 9:o + 14]
        pts = ((b[0] >> 1) & 7) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1
        while times[k][0] < i + 188:
            k += 1
        arrivals[pts] = times[k][1]
    return arrivals


def longest_gap(viewer):
    times = [t for t, _ in viewer.arrivals]
    return max(b - a for a, b in zip(times, times[1:]))


@unittest.skipIf(SKIP, SKIP)
class Relay(unittest.TestCase):
    """Two origins serving the same programme (the backup second), two edges relaying both."""

    def setUp(self):
        self.net = netns.Net(["origin1", "origin2", "edge1", "edge2"])
        self.addCleanup(self.net.close)
        self.conf = os.path.join(tmp.name, "origin1.toml")
        write_config(self.conf, ["/live.ts"])
        self.origins = []
        for host in ("origin1", "origin2"):
            args = ["--config", self.conf] if host == "origin1" else ["--mount", f"/live.ts={media}", "--loop"]
            g = Gordo(*at(self.net, host), *args, wrapper=self.net.wrap(host), expect_exit=None)
            self.addCleanup(g.__exit__, None, None, None)
            self.origins.append(g)
        self.edges = []
        for host in ("edge1", "edge2"):
            g = Gordo(*at(self.net, host), "--relay", self.origins[0].stats_url, "--relay",
                      self.origins[1].stats_url, "--relay-interval", "1s", "--source-timeout",
                      f"{SOURCE_TIMEOUT}s",
                      wrapper=self.net.wrap(host))
            self.addCleanup(g.__exit__, None, None, None)
            self.edges.append(g)

    def test_edges_serve_the_origins_mounts_from_the_primary(self):
        for e in self.edges:
            self.assertEqual([u.rsplit("/", 1)[1] for u in e.urls], ["live.ts"])
            m = wait_for(lambda: (m := mount(e, "/live.ts")) and m["state"] == "live" and m, 10,
                         "the relayed mount live")
            self.assertEqual(m["upstream"], f"http://{self.net.addr('origin1')}:{self.origins[0].port}/live.ts")
            self.assertIn("(+1 alternate)", m["source"])
        self.assertEqual(stats(self.origins[0])["listen"], f"{self.net.addr('origin1')}:{self.origins[0].port}")

    def test_an_edge_adds_at_most_one_chunk(self):
        """The edge publishes what it read at once, but libavformat's H.264 parser knows a
        frame has ended only when the next one starts: a chunk's last frame waits for the
        origin's next chunk. So each frame is late by at most one interval between the
        origin's chunks (about --chunk-duration), most by about nothing."""
        edge = self.edges[0]
        wait_for(lambda: (m := mount(edge, "/live.ts")) and m["state"] == "live", 10, "the relay live")
        time.sleep(1)
        direct = Viewer(self.origins[0].port, "/live.ts", 6, host=self.origins[0].host)
        relayed = Viewer(edge.port, "/live.ts", 6, host=edge.host)
        direct.join()
        relayed.join()
        a, b = video_pts_arrivals(direct), video_pts_arrivals(relayed)
        common = sorted(set(a) & set(b))
        self.assertGreater(len(common), 100, "the edge passes the origin's timestamps on")
        added = sorted((b[p] - a[p]) * 1000 for p in common)
        p50, p90, worst = statistics.median(added), added[len(added) * 9 // 10], added[-1]
        chunk_gap = longest_gap(direct) * 1000  # the longest wait between the origin's chunks
        print(f"edge latency over the origin's: p50 {p50:.1f} ms, p90 {p90:.1f} ms, max {worst:.1f} ms "
              f"({len(common)} frames; the origin's chunks at most {chunk_gap:.0f} ms apart)")
        self.assertLess(p50, 20, "most frames leave the edge as they arrive")
        self.assertLess(worst, chunk_gap + 20, "no frame waits longer than the origin's next chunk")
        # Every frame the origin sent in that time, the edge sent too: none lost or merged.
        missing = [p for p in a if common[0] <= p <= common[-1] and p not in b]
        self.assertEqual(missing, [], "frames the edge lost")

    def test_mounts_appear_and_go_with_the_origin(self):
        write_config(self.conf, ["/live.ts", "/extra.ts"])
        self.origins[0].proc.send_signal(signal.SIGHUP)
        for e in self.edges:
            wait_for(lambda: (m := mount(e, "/extra.ts")) and m["state"] == "live", 10,
                     "the new mount relayed and live")
            v = Viewer(e.port, "/extra.ts", 2, host=e.host)
            status, _, body = v.result()
            self.assertEqual(status, 200)
            self.assertGreater(len(body), 10_000)
        write_config(self.conf, ["/live.ts"])
        self.origins[0].proc.send_signal(signal.SIGHUP)
        for e in self.edges:
            wait_for(lambda: mount(e, "/extra.ts") is None, 10, "the mount gone from the edge")
            status, _, _ = Viewer(e.port, "/extra.ts", 1, host=e.host).result()
            self.assertEqual(status, 404)
            self.assertIsNotNone(mount(e, "/live.ts"))

    def test_viewers_keep_playing_from_the_backup_when_the_primary_dies(self):
        # The primary host's gordo dies: its sockets close, the edges fail over at once.
        self.fail_over(lambda: self.origins[0].proc.kill(), within=SOURCE_TIMEOUT)

    def test_viewers_keep_playing_from_the_backup_when_the_primary_host_vanishes(self):
        # Its link goes down: nothing closes, the edges hear nothing for --source-timeout.
        self.fail_over(lambda: self.net.cut("origin1"), within=SOURCE_TIMEOUT + 1.0)

    def fail_over(self, kill, within):
        for e in self.edges:
            wait_for(lambda: (m := mount(e, "/live.ts")) and m["state"] == "live", 10, "the relay live")
        viewers = [Viewer(e.port, "/live.ts", 10, host=e.host) for e in self.edges]
        time.sleep(3)
        kill()
        backup = f"http://{self.net.addr('origin2')}:{self.origins[1].port}/live.ts"
        for e, v in zip(self.edges, viewers):
            status, _, body = v.result()
            self.assertEqual(status, 200)
            self.assertFalse(v.closed, "the viewer stayed connected")
            gap = longest_gap(v)
            print(f"{e.host}: the longest wait for bytes was {gap:.2f} s")
            self.assertLess(gap, within, "bytes kept coming")
            self.assertEqual(continuity_breaks(body), [], "TS continuous across the failover")
            self.assertEqual(mount(e, "/live.ts")["upstream"], backup)
            # Timestamps go on: each frame after the previous, with no jump.
            pts = sorted(video_pts_arrivals(v).items(), key=lambda kv: kv[1])
            steps = [(b[0] - a[0]) / 90000 for a, b in zip(pts, pts[1:])]
            self.assertTrue(all(0 < s < 2.0 for s in steps), f"PTS steps {min(steps)}..{max(steps)} s")
            self.assertGreaterEqual((pts[-1][0] - pts[0][0]) / 90000, 10 - within - 0.5,
                                    "about 10 s of video, less the wait")
            self.assertRegex(e.log(), r"fails over to " + re.escape(backup))


@unittest.skipIf(SKIP, SKIP)
class LateBackup(unittest.TestCase):
    def test_a_backup_origin_that_starts_after_the_edge_is_failed_over_to(self):
        net = netns.Net(["origin1", "origin2", "edge"])
        self.addCleanup(net.close)
        primary = Gordo(*at(net, "origin1"), "--mount", f"/live.ts={media}", "--loop",
                        wrapper=net.wrap("origin1"), expect_exit=None)
        self.addCleanup(primary.__exit__, None, None, None)
        # The backup's admin address, known before it runs: the edge reads it in vain first.
        backup_stats = f"http://{net.addr('origin2')}:18081/stats"
        edge = Gordo(*at(net, "edge"), "--relay", primary.stats_url, "--relay", backup_stats,
                     "--relay-interval", "1s", "--source-timeout", f"{SOURCE_TIMEOUT}s",
                     wrapper=net.wrap("edge"))
        self.addCleanup(edge.__exit__, None, None, None)
        backup = Gordo("--listen", f"{net.addr('origin2')}:0", "--admin-listen", f"{net.addr('origin2')}:18081",
                       "--mount", f"/live.ts={media}", "--loop", wrapper=net.wrap("origin2"))
        self.addCleanup(backup.__exit__, None, None, None)
        # Read again after its backoff (2 intervals after the first miss).
        wait_for(lambda: re.search(r"relay 2\) lists 1 mount", edge.log()), 15, "the edge to see the backup")
        viewer = Viewer(edge.port, "/live.ts", 6, host=edge.host)
        time.sleep(2)
        primary.proc.kill()
        status, _, body = viewer.result()
        self.assertEqual(status, 200)
        self.assertFalse(viewer.closed)
        self.assertLess(longest_gap(viewer), SOURCE_TIMEOUT)
        self.assertEqual(continuity_breaks(body), [])
        self.assertEqual(mount(edge, "/live.ts")["upstream"], f"http://{net.addr('origin2')}:{backup.port}/live.ts")


@unittest.skipIf(SKIP, SKIP)
class OriginLoad(unittest.TestCase):
    """The origin serves each edge one connection per mount, however many viewers the edges
    have: its CPU and egress with 2 edges x 2,000 viewers are those with 2 x 10."""

    def test_origin_load_does_not_grow_with_edge_viewers(self):
        net = netns.Net(["origin", "edge1", "edge2", "viewers"])
        self.addCleanup(net.close)
        origin = Gordo(*at(net, "origin"), "--mount", f"/live.ts={media}", "--loop",
                       wrapper=net.wrap("origin"))
        self.addCleanup(origin.__exit__, None, None, None)
        edges = []
        for host in ("edge1", "edge2"):
            e = Gordo(*at(net, host), "--relay", origin.stats_url, wrapper=net.wrap(host))
            self.addCleanup(e.__exit__, None, None, None)
            edges.append(e)
            wait_for(lambda: (m := mount(e, "/live.ts")) and m["state"] == "live", 10, "the relay live")

        def origin_load(viewers):
            """(CPU seconds per second, bytes out per second) of the origin while each edge
            has `viewers` viewers."""
            loads = [net.popen("viewers", [LOAD, "-q", "-n", str(viewers), "-r", "2000", "-d", "8",
                                           f"http://{e.host}:{e.port}/live.ts"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                     for e in edges]
            for e in edges:
                wait_for(lambda: mount(e, "/live.ts")["viewers"] >= viewers, 30, f"{viewers} viewers on {e.host}")
            time.sleep(1)
            t0, cpu0, out0 = time.monotonic(), self.cpu(origin), mount(origin, "/live.ts")["bytes_out"]
            time.sleep(5)
            t1, cpu1, out1 = time.monotonic(), self.cpu(origin), mount(origin, "/live.ts")["bytes_out"]
            for p in loads:
                out, _ = p.communicate(timeout=60)
                self.assertEqual(p.returncode, 0, out)
            return (cpu1 - cpu0) / (t1 - t0), (out1 - out0) / (t1 - t0)

        few_cpu, few_out = origin_load(10)
        many_cpu, many_out = origin_load(2000)
        print(f"origin with 2 edges x 10 viewers: {few_cpu * 100:.2f}% of a core, "
              f"{few_out * 8 / 1e6:.2f} Mbit/s; x 2,000: {many_cpu * 100:.2f}%, {many_out * 8 / 1e6:.2f} Mbit/s")
        self.assertEqual(mount(origin, "/live.ts")["viewers"], 2, "one connection per edge")
        self.assertAlmostEqual(many_out / few_out, 1.0, delta=0.15, msg="egress equal within noise")
        # CPU: equal within noise (a few tenths of a percent of a core, here ~1%).
        self.assertLess(many_cpu, few_cpu * 1.5 + 0.01, "origin CPU does not grow with edge viewers")

    @staticmethod
    def cpu(g):
        """CPU seconds gordo has used (user + system, all threads)."""
        with open(f"/proc/{g.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    unittest.main()
