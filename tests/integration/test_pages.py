"""gordo's own pages in headless Chromium (tests/integration/browser.py): the viewer port's
list of mounts (GET /) and each format's player page (/<mount>/player), and the admin
port's dashboard (GET /). One gordo serves every format; one Chromium plays the pages in
batches (iframes of one page: at most six streams at once, Chromium's connections per
host). Each player must advance currentTime by 3 s with no error, show how far behind live
it is, and a screenshot of its <video> (Page.captureScreenshot, decoded here: a PNG
decoder of the standard library's zlib) must not be blank: its pixels vary. Audio pages
are screenshotted whole (their controls and text), which says less.

PagesOverHttps plays the same pages from gordo's TLS listener (--tls-listen) with a test CA
the test makes and Chromium trusts (certutil, an NSS database in a HOME of its own)."""
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import ssl
import urllib.request
import zlib

from browser import Chromium, find_chromium
from harness import GORDO, Gordo, wait_for
from nginx import make_certificate

NO_CHROMIUM = "chromium is not installed (tools/install-deps installs it)"

# path -> (what plays it, a video picture to check). The test pattern (H.264 + AAC) feeds
# the MPEG-TS, FLV, MP4, Matroska and AAC mounts; files made here the others.
VIDEO_BATCH = ["/live.ts", "/live.flv", "/live.mp4", "/live.mkv", "/live.webm"]
AUDIO_BATCH = ["/radio.aac", "/radio.mp3", "/radio.ogg", "/radio.opus"]
HLS_BATCH = ["/hls.ts", "/cmaf.mp4"]
EXPECTED_HOW = {"/live.ts": "mpegts.js", "/live.flv": "mpegts.js", "/live.mp4": "MSE", "/live.mkv": "<video>",
                "/live.webm": "<video>", "/radio.aac": "<audio>", "/radio.mp3": "<audio>",
                "/radio.ogg": "<audio>", "/radio.opus": "<audio>", "/hls.ts": "hls.js", "/cmaf.mp4": "hls.js"}


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def png_pixels(data):
    """(width, height, channels, rows) of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
    if depth != 8 or colour not in (2, 6):
        raise ValueError(f"PNG of depth {depth}, colour type {colour}")
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def luma_variance(png):
    """The variance of the pixels' brightness: 0 for a blank (one-colour) picture."""
    width, height, bpp, rows = png_pixels(png)
    values = [(row[i] + row[i + 1] + row[i + 2]) / 3 for row in rows for i in range(0, width * bpp, bpp)]
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


@unittest.skipUnless(find_chromium(), NO_CHROMIUM)
class Pages(unittest.TestCase):
    scheme = "http"
    gordo_args = ()  # e.g. the TLS listener's flags
    ssl_context = None  # for urllib, e.g. one trusting a test CA
    browser_env = None  # for Chromium, e.g. a HOME whose NSS database trusts that CA

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        webm, mp3, ogg, opus = (os.path.join(d, n) for n in ("in.webm", "in.mp3", "in.ogg", "in.opus"))
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=8", "-f", "lavfi", "-i",
               "sine=frequency=1000:sample_rate=48000:duration=8", "-c:v", "libvpx", "-deadline", "realtime",
               "-cpu-used", "8", "-g", "25", "-b:v", "400k", "-c:a", "libopus", webm)
        ffmpeg("-f", "lavfi", "-i", "sine=duration=8:sample_rate=44100", "-c:a", "libmp3lame", mp3)
        ffmpeg("-f", "lavfi", "-i", "sine=duration=8:sample_rate=44100", "-c:a", "libvorbis", "-b:a", "96k", ogg)
        ffmpeg("-f", "lavfi", "-i", "sine=duration=8:sample_rate=48000", "-c:a", "libopus", opus)
        config = os.path.join(d, "gordo.toml")
        mounts = [("/live.ts", None), ("/live.flv", None), ("/live.mp4", None), ("/live.mkv", None),
                  ("/radio.aac", None), ("/live.webm", webm), ("/radio.mp3", mp3), ("/radio.ogg", ogg),
                  ("/radio.opus", opus)]
        with open(config, "w") as f:
            f.write('hls_segment = "1s"\n')
            for path, source in mounts:
                f.write(f'[[mount]]\npath = "{path}"\n' + (f'input = "{source}"\nloop = true\n' if source else ""))
            for path in HLS_BATCH:
                f.write(f'[[mount]]\npath = "{path}"\nhls = true\n')
        cls.gordo = Gordo("--config", config, "--workers", "2", *cls.gordo_args)
        cls.gordo.__enter__()
        m = re.match(r"http://([^:/]+):(\d+)/", cls.gordo.stats_url)
        cls.admin_port = int(m.group(2))
        cls.browser = Chromium(env=cls.browser_env)
        cls.browser.__enter__()
        # Room for six players side by side, whole on the screenshot.
        cls.browser.send("Emulation.setDeviceMetricsOverride",
                         {"width": 1300, "height": 900, "deviceScaleFactor": 1, "mobile": False})

    @classmethod
    def tearDownClass(cls):
        try:
            cls.browser.__exit__(None, None, None)
            cls.gordo.__exit__(None, None, None)
        finally:
            cls.tmp.cleanup()

    def url(self, path, admin=False):
        port = self.admin_port if admin else self.tls_port if self.scheme == "https" else self.gordo.port
        return f"{self.scheme}://127.0.0.1:{port}{path}"

    def fetch(self, url, method="GET"):
        """(status, headers, body) of a request that ends (not a stream)."""
        req = urllib.request.Request(url, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.ssl_context) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def stats(self):
        # The admin port is plain HTTP whatever the viewer port speaks.
        with urllib.request.urlopen(self.gordo.stats_url, timeout=10) as r:
            return json.load(r)

    def play(self, paths, seconds=3, timeout=40):
        """Opens the player pages of `paths` side by side (iframes of the list page), waits
        until each has played `seconds` (or failed), and returns what each showed."""
        b = self.browser
        b.navigate(self.url("/"))
        b.evaluate(f"""(() => {{
            document.body.replaceChildren();
            document.body.style.margin = "0";
            for (const p of {json.dumps(paths)}) {{
                const f = document.createElement("iframe");
                f.src = p + "/player";
                f.dataset.path = p;
                f.style = "width: 400px; height: 330px; border: 0; margin: 0; vertical-align: top";
                document.body.appendChild(f);
            }}
        }})()""")
        probe = """Array.from(document.querySelectorAll("iframe")).map((f) => {
            const w = f.contentWindow, p = w.gordoPlayer;
            if (!p) return {path: f.dataset.path, ready: false};
            return {path: f.dataset.path, ready: true, t: p.media.currentTime, errors: p.errors, how: p.how,
                    paused: p.media.paused, behind: w.document.getElementById("behind").textContent};
        })"""
        first, last = {}, {}
        deadline = time.monotonic() + timeout
        while True:
            for r in b.evaluate(probe):
                last[r["path"]] = r
                if r["ready"] and r["t"] > 0 and r["path"] not in first:
                    first[r["path"]] = r["t"]
            done = [p for p in paths if last.get(p, {}).get("errors") or
                    (p in first and last[p]["t"] - first[p] >= seconds and last[p]["behind"].endswith(" s"))]
            if len(done) == len(paths) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        shots = {}
        for p in paths:
            rect = b.evaluate(f"""(() => {{
                const f = document.querySelector('iframe[data-path="{p}"]');
                const fr = f.getBoundingClientRect();
                const m = f.contentWindow.gordoPlayer ? f.contentWindow.gordoPlayer.media : null;
                const r = m && m.localName === "video" ? m.getBoundingClientRect() : {{x: 0, y: 0, width: fr.width,
                                                                                        height: fr.height}};
                return {{x: fr.x + r.x, y: fr.y + r.y, width: r.width, height: r.height}};
            }})()""")
            rect["scale"] = 0.25
            shot = b.send("Page.captureScreenshot", {"format": "png", "clip": rect, "captureBeyondViewport": True})
            shots[p] = luma_variance(base64.b64decode(shot["data"]))
        for p in paths:
            last[p]["played"] = last[p]["t"] - first[p] if p in first else 0
            last[p]["variance"] = shots[p]
        return last

    def check_played(self, results):
        for path, r in results.items():
            with self.subTest(path=path):
                print(f"\n{path}: {r.get('how')}: played {r['played']:.1f} s, behind live {r.get('behind')}, "
                      f"screenshot variance {r['variance']:.0f}", end="")
                self.assertEqual(r.get("errors"), [], r)
                self.assertIn(EXPECTED_HOW[path], r["how"])
                self.assertGreaterEqual(r["played"], 3, r)
                self.assertRegex(r["behind"], r"^\d+\.\d s$")
                self.assertGreater(r["variance"], 100, "a blank screenshot")

    def test_1_list(self):
        """GET / lists every mount, each linking to its player page; HEAD and the embedded
        files answer with their lengths and types on a kept connection."""
        status, headers, body = self.fetch(self.url("/"))
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        self.assertEqual(headers["cache-control"], "no-cache")
        page = body.decode()
        paths = VIDEO_BATCH + AUDIO_BATCH + HLS_BATCH
        for p in paths:
            self.assertIn(f'<a href="{p}/player">{p}</a>', page)
        self.assertEqual(sorted(re.findall(r'data-path="([^"]+)"', page)), sorted(paths))
        self.assertIn('<a href="/hls.m3u8">m3u8</a>', page)
        css = re.search(r'href="(/_gordo/[0-9a-f]{12}/pages.css)"', page).group(1)
        status, headers, body = self.fetch(self.url(css))
        self.assertEqual((status, headers["content-type"]), (200, "text/css; charset=utf-8"))
        self.assertEqual(headers["cache-control"], "public, max-age=31536000, immutable")
        self.assertEqual(int(headers["content-length"]), len(body))
        with open(os.path.join(os.path.dirname(__file__), "../../www/pages.css"), "rb") as f:
            self.assertEqual(body, f.read())
        status, headers, head_body = self.fetch(self.url(css), method="HEAD")
        self.assertEqual((status, head_body, headers["content-length"]), (200, b"", str(len(body))))
        self.assertEqual(self.fetch(self.url("/_gordo/000000000000/pages.css"))[0], 404)
        self.assertEqual(self.fetch(self.url("/nothing.ts/player"))[0], 404)
        if self.scheme == "http":  # two requests on one connection
            with socket.create_connection(("127.0.0.1", self.gordo.port), timeout=10) as s:
                s.sendall(f"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET {css} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                data = b""
                while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b"}\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 2, data[:300])

    def test_2_video(self):
        self.check_played(self.play(VIDEO_BATCH))

    def test_3_audio(self):
        self.check_played(self.play(AUDIO_BATCH))

    def test_4_hls(self):
        self.check_played(self.play(HLS_BATCH))

    def test_5_dashboard(self):
        """The admin dashboard shows /stats's viewers per mount, and plots them."""
        viewer = socket.create_connection(("127.0.0.1", self.gordo.port), timeout=10)
        stop = threading.Event()

        def drain():
            try:
                while not stop.is_set() and viewer.recv(1 << 16):
                    pass
            except OSError:
                pass

        try:
            viewer.sendall(b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
            reader = threading.Thread(target=drain, daemon=True)
            reader.start()
            self.browser.navigate("about:blank")  # the players' viewers leave
            want = lambda s: {m["path"]: m["viewers"] for m in s["mounts"]}
            wait_for(lambda: want(self.stats())["/live.ts"] == 1 and sum(want(self.stats()).values()) == 1,
                     timeout=15, what="one viewer, of /live.ts")
            self.browser.navigate(f"http://127.0.0.1:{self.admin_port}/")
            wait_for(lambda: self.browser.evaluate("window.gordoDashboard ? gordoDashboard.polls : 0") >= 4,
                     timeout=15, what="four polls of /stats")
            shown = self.browser.evaluate("""Object.fromEntries(Array.from(
                document.querySelectorAll("#mounts tbody tr")).map((tr) => [tr.dataset.path,
                Number(tr.querySelector(".viewers").textContent)]))""")
            self.assertEqual(shown, want(self.stats()))
            plot = self.browser.evaluate("""(() => {
                const d = gordoDashboard.plots.viewers.plot.data, names = gordoDashboard.plots.viewers.signature;
                return {points: d[0].length, names: names.split("\\n"), series: d.slice(1)};
            })()""")
            self.assertGreaterEqual(plot["points"], 4)
            live = plot["series"][plot["names"].index("/live.ts")]
            self.assertEqual(live[-1], 1, plot)
            self.assertEqual(self.browser.evaluate("gordoDashboard.errors"), 0)
            workers = self.browser.evaluate('document.querySelectorAll("#workers tbody tr").length')
            self.assertEqual(workers, 2)
            self.assertEqual(self.browser.evaluate(
                "document.querySelectorAll('#mbits canvas, #viewers canvas, #workers_mbits canvas').length"), 3)
        finally:
            stop.set()
            viewer.close()


@unittest.skipUnless(shutil.which("certutil"), "certutil is not installed (libnss3-tools: tools/install-deps)")
class PagesOverHttps(Pages):
    """The player pages of every format and the list again, over HTTPS: gordo's own TLS
    (userspace encryption where the kernel has no TLS) to a browser that checks the
    certificate. The dashboard is the admin port's, plain HTTP: not repeated."""
    scheme = "https"
    test_5_dashboard = None

    @classmethod
    def setUpClass(cls):
        cls.tls_dir = tempfile.TemporaryDirectory()
        d = cls.tls_dir.name
        ca, cert, key = make_certificate(d, "127.0.0.1")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            cls.tls_port = s.getsockname()[1]
        cls.gordo_args = ("--tls-listen", f"127.0.0.1:{cls.tls_port}", "--tls-cert", cert, "--tls-key", key)
        cls.ssl_context = ssl.create_default_context(cafile=ca)
        nssdb = os.path.join(d, "home", ".pki", "nssdb")
        os.makedirs(nssdb)
        subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
        subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "gordo test CA", "-i", ca],
                       check=True)
        cls.browser_env = {**os.environ, "HOME": os.path.join(d, "home")}
        try:
            super().setUpClass()
        except BaseException:
            cls.tls_dir.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.tls_dir.cleanup()

    def test_6_the_pages_came_over_tls(self):
        """The players' bytes went through the TLS listener: its viewers were counted."""
        workers = self.stats()["workers"]
        self.assertGreater(sum(w["tls_handshakes"] for w in workers), 0, workers)


class Switch(unittest.TestCase):
    """--player-page off: / and the pages are 404 as before; a mount wins over a page's
    path; a mount named / is refused."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.mp3 = os.path.join(cls.tmp.name, "in.mp3")
        ffmpeg("-f", "lavfi", "-i", "sine=duration=4:sample_rate=44100", "-c:a", "libmp3lame", cls.mp3)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def get(self, port, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
                return r.status, r.headers["content-type"]
        except urllib.error.HTTPError as e:
            return e.code, e.headers["content-type"]

    def test_off(self):
        with Gordo("--loop", "--mount", f"/radio.mp3={self.mp3}", "--mount", f"/radio.mp3/player={self.mp3}") as on:
            status, _ = self.get(on.port, "/")
            self.assertEqual(status, 200)
            # A mount wins: /radio.mp3/player is that mount's stream (MPEG-TS: its name has
            # no extension gordo knows), not a page.
            with urllib.request.urlopen(f"http://127.0.0.1:{on.port}/radio.mp3/player", timeout=10) as r:
                self.assertEqual(r.headers["content-type"], "video/mp2t")
            with urllib.request.urlopen(f"http://127.0.0.1:{on.port}/", timeout=10) as r:
                css = re.search(r'href="(/_gordo/[0-9a-f]{12}/pages.css)"', r.read().decode()).group(1)
            self.assertEqual(self.get(on.port, css)[0], 200)
        with Gordo("--loop", "--player-page", "off", "--mount", f"/radio.mp3={self.mp3}") as off:
            for path in ("/", "/radio.mp3/player", css):
                self.assertEqual(self.get(off.port, path)[0], 404, path)
            with urllib.request.urlopen(f"http://127.0.0.1:{off.port}/radio.mp3", timeout=10) as r:
                self.assertEqual(r.status, 200)
        p = subprocess.run([GORDO, "--check-config", "--player-page", "maybe"], capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--player-page 'maybe' must be on or off", p.stderr + p.stdout)

    def test_root_mount_refused(self):
        p = subprocess.run([GORDO, "--check-config", "--mount", f"/={self.mp3}"], capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("must be a path like /live.ts", p.stderr + p.stdout)

    def test_toml(self):
        config = os.path.join(self.tmp.name, "off.toml")
        with open(config, "w") as f:
            f.write(f'player_page = false\n[[mount]]\npath = "/radio.mp3"\ninput = "{self.mp3}"\n')
        with Gordo("--config", config) as g:
            self.assertEqual(self.get(g.port, "/")[0], 404)


if __name__ == "__main__":
    unittest.main()
