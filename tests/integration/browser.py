"""Plays a stream in a real browser: Debian's headless Chromium driven over the DevTools
protocol (a minimal WebSocket client of the standard library), and hls.js in a test page."""
import base64
import ctypes
import http.server
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
HLS_JS = os.path.join(HERE, "../../www/vendor/hls.js/hls.min.js")
HLS_PAGE = os.path.join(HERE, "hls_page.html")
# The Debian package's launcher (/usr/bin/chromium) is a shell script that sources
# /etc/chromium.d/ (adding extension and GPU flags we do not want) and then execs this.
CHROMIUM_BINARIES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser")


def find_chromium():
    """The Chromium binary to run, or None when none is installed."""
    for name in CHROMIUM_BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


class WebSocket:
    """The client side of RFC 6455 over a loopback TCP socket: text frames, masked as a
    client's must be; answers pings, reassembles fragments. Enough for the DevTools protocol."""

    def __init__(self, url, timeout=30):
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        # No Origin header: Chromium refuses DevTools connections from an origin it was not
        # told to allow (--remote-allow-origins), and a client that sends none is no page.
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"WebSocket {url}: closed during the handshake")
            head += chunk
        head, _, self.buffer = head.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"WebSocket {url}: {head.decode(errors='replace')}")

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def _send_frame(self, opcode, payload):
        n = len(payload)
        header = bytes([0x80 | opcode])  # FIN: never fragmented
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buffer)))
            if not chunk:
                raise ConnectionError("WebSocket closed by the browser")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def recv(self, timeout):
        """The next text message; socket.timeout after `timeout` seconds without one."""
        self.sock.settimeout(timeout)
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("WebSocket closed by the browser")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if b0 & 0x80:
                    return message.decode()

    def close(self):
        try:
            self._send_frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


def children(pid):
    """The processes whose parent is `pid`, from /proc."""
    found = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{p}/stat") as f:
                stat = f.read()
        except OSError:  # gone meanwhile
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            found.append(int(p))
    return found


def descendants(pid):
    """Every process under `pid`: its children, theirs, and so on."""
    found, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


def reap(argv):
    """Runs the browser `argv` (as `python3 browser.py reap ARGV...`) and, on SIGTERM or
    when the browser ends, kills and waits for every process it started; then exits with
    the browser's status. Chromium's zygotes outlive the browser process, its crash
    handler detaches itself (a session of its own): orphans that go to init, which in a
    container may reap them late or never. As a child subreaper this process gets them
    instead, and, having no other children, may wait for any child it has."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig, pr_set_child_subreaper = 1, 36
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)  # the test process died: end too
    libc.prctl(pr_set_child_subreaper, 1)

    class Ending(Exception):
        pass

    def end(*_):
        raise Ending()

    signal.signal(signal.SIGTERM, end)
    status = 1
    try:
        browser = os.posix_spawn(argv[0], argv, os.environ, setsid=True)
        while True:
            pid, wstatus = os.waitpid(-1, 0)
            if pid == browser:
                status = os.waitstatus_to_exitcode(wstatus)
                break
    except Ending:
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Kill what is left (what a killed parent leaves becomes ours) until nothing is.
    while True:
        for pid in descendants(os.getpid()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:  # no children left
            break
        time.sleep(0.02)
    sys.exit(status if status >= 0 else 128 - status)


class JavaScriptError(Exception):
    """An exception thrown (or a promise rejected) by what evaluate() ran."""


class Chromium:
    """A headless Chromium with its own profile, attached to its one page over the DevTools
    protocol. Use as a context manager: leaving it kills every process of the browser and
    removes the profile, whatever happened inside. The browser also ends with the thread
    that started it (reap()'s PR_SET_PDEATHSIG), so that a killed test leaves none behind."""

    # --headless=new: the full browser, without a window. --no-sandbox: Chromium refuses
    # to start as root without it. --autoplay-policy: play() without a click even with
    # sound (a muted <video> plays without it). The background flags are a precaution: a
    # headless page counts as visible and played at full speed without them.
    # --disable-dev-shm-usage: shared memory in /tmp, as a container's /dev/shm is often
    # too small for video frames.
    FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--mute-audio",
             "--autoplay-policy=no-user-gesture-required", "--remote-debugging-port=0",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
             "--disable-backgrounding-occluded-windows", "--disable-dev-shm-usage",
             "--window-size=640,480"]

    def __init__(self, binary=None, args=(), start_timeout=30, env=None):
        """`env`: the browser's environment (e.g. a HOME whose NSS database trusts a test CA)."""
        self.binary = binary or find_chromium()
        if not self.binary:
            raise FileNotFoundError("chromium is not installed (tools/install-deps installs it)")
        self.args, self.start_timeout, self.env = list(args), start_timeout, env
        self.proc = self.ws = self.profile = None
        self.next_id = 0
        self.events = []  # DevTools events received while waiting for answers
        self.console = []  # (level, text): the page's console and uncaught exceptions

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_):
        self.close()

    def _start(self):
        self.profile = tempfile.mkdtemp(prefix="gordo-chromium-")
        self.stderr = tempfile.TemporaryFile()
        # Under reap(), which leaves no process of the browser behind: not even
        # the crash handler it detaches nor the zombies of its zygotes.
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "reap", self.binary, *self.FLAGS,
                                      f"--user-data-dir={self.profile}", *self.args, "about:blank"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     env=self.env)
        # With --remote-debugging-port=0 the browser picks a free port and writes it, with
        # the browser target's path, to DevToolsActivePort in its profile.
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.start_timeout
        port = None
        while port is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited {self.proc.returncode}: {self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"chromium wrote no DevToolsActivePort in {self.start_timeout} s: "
                                   f"{self.log()[-3000:]}")
            try:
                with open(port_file) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 2 and lines[0].strip():  # written whole, not half
                    port = int(lines[0])
            except FileNotFoundError:
                pass
            if port is None:
                time.sleep(0.1)
        self.port = port
        page = None
        while page is None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                page = next((t for t in json.load(r) if t["type"] == "page"), None)
            if page is None:
                if time.monotonic() > deadline:
                    raise RuntimeError("chromium has no page target")
                time.sleep(0.1)
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        self.send("Runtime.enable")
        self.send("Page.enable")

    def log(self):
        """What the browser wrote to stderr."""
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def send(self, method, params=None, timeout=30):
        """One DevTools command; returns its result, raises on its error."""
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline, f"the answer to {method}")
            if message.get("id") == mid:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _receive(self, deadline, what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"chromium: timed out waiting for {what}")
        try:
            message = json.loads(self.ws.recv(left))
        except socket.timeout:
            raise TimeoutError(f"chromium: timed out waiting for {what}") from None
        method = message.get("method")
        if method == "Runtime.consoleAPICalled":
            p = message["params"]
            self.console.append((p["type"], " ".join(str(a.get("value", a.get("description", "")))
                                                      for a in p.get("args", []))))
        elif method == "Runtime.exceptionThrown":
            d = message["params"]["exceptionDetails"]
            self.console.append(("exception", d.get("exception", {}).get("description", d.get("text"))))
        elif method:
            self.events.append(message)
        return message

    def navigate(self, url, timeout=30):
        """Loads `url` and waits for its load event; `console` then holds what it logs."""
        self.events.clear()
        self.console.clear()
        result = self.send("Page.navigate", {"url": url}, timeout)
        if result.get("errorText"):
            raise RuntimeError(f"navigate {url}: {result['errorText']}")
        deadline = time.monotonic() + timeout
        while not any(e["method"] == "Page.loadEventFired" for e in self.events):
            self._receive(deadline, f"the load of {url}")

    def evaluate(self, js, timeout=30):
        """The value of the expression `js` in the page (awaited when a promise), as JSON
        makes it; raises JavaScriptError on an exception."""
        result = self.send("Runtime.evaluate", {"expression": js, "returnByValue": True, "awaitPromise": True,
                                                "timeout": int(timeout * 1000)}, timeout + 5)
        if "exceptionDetails" in result:
            d = result["exceptionDetails"]
            raise JavaScriptError(d.get("exception", {}).get("description") or d.get("text"))
        return result["result"].get("value")

    def close(self):
        if self.ws:
            self.ws.close()
            self.ws = None
        if self.proc:
            self.proc.terminate()  # reap() kills the browser and waits for all of it
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.stderr.close()
        if self.profile:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None


class PageServer:
    """Serves the test page and hls.js on a free loopback port from a thread: an origin of
    its own, so that a stream served elsewhere is fetched across origins (CORS) as a real
    site's player fetches it. Use as a context manager; `.url` is the page's address."""

    FILES = {"/hls_page.html": (HLS_PAGE, "text/html; charset=utf-8"),
             "/hls.min.js": (HLS_JS, "text/javascript")}

    def __init__(self):
        files = self.FILES

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path, kind = files.get(self.path.split("?")[0], (None, None))
                if path is None:
                    self.send_error(404)
                    return
                with open(path, "rb") as f:
                    body = f.read()
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hls_page.html"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def play_hls(playlist_url, seconds=8, low_latency=True, start_timeout=20, browser=None, config=None):
    """Plays `playlist_url` with hls.js (lowLatencyMode=`low_latency`, and any other hls.js
    settings in `config`, e.g. {"maxLiveSyncPlaybackRate": 1.5}) in headless Chromium
    (`browser`, or one started and closed here) for `seconds` after playback starts (or
    until a fatal error, or `start_timeout` s without a start), and returns what the page
    recorded (hls_page.html's report()) plus:
      started: playback began; startup_s: from startHls() to the first "playing";
      played_s: how far currentTime advanced since then;
      fatal_errors [{type, details, reason, url, status, at}], non_fatal_errors (a count)
        and non_fatal_details ({details: count});
      samples [{t, current_time, buffer_ahead, latency, behind_live_sync, playback_rate}]
        every 250 ms; latency, target_latency (hls.js's, in s: the live edge to the
        playhead, and where it aims), latency_mean over the samples after the start;
        behind_wall (wall clock minus the playhead's PROGRAM-DATE-TIME: how long ago the
        frame shown was made, whatever the playlists said) and behind_wall_mean;
        behind_live_sync (liveSyncPosition - currentTime);
      stalls ("waiting" after the start) and stall_times; levels, level (the index played)
        and codecs ({video, audio}: the SourceBuffers' MIME types);
      dropped_frames, total_frames, play_error, video_errors, native (no hls.js);
      console: what the page logged or threw ([(level, text)])."""
    own = browser is None
    with PageServer() as page:
        if own:
            browser = Chromium().__enter__()
        try:
            browser.navigate(page.url)
            browser.evaluate(f"startHls({json.dumps(playlist_url)}, {json.dumps(bool(low_latency))}, "
                             f"{json.dumps(config or {})})")
            # Polled, not slept: it ends early on a fatal error, and it reads the DevTools
            # socket (console messages) as it goes.
            deadline = time.monotonic() + start_timeout
            end = None
            while True:
                r = browser.evaluate("report()")
                if r["fatal_errors"] or r["video_errors"]:
                    break
                if r["started_at"] is not None and end is None:
                    end = time.monotonic() + seconds
                if time.monotonic() >= (end or deadline):
                    break
                time.sleep(0.25)
            r["console"] = list(browser.console)
        finally:
            if own:
                browser.__exit__(None, None, None)
    r["started"] = r["started_at"] is not None
    r["startup_s"] = r["started_at"]
    r["played_s"] = r["current_time"] - r["start_time"] if r["started"] else 0.0
    after = [s["latency"] for s in r["samples"]
             if r["started"] and s["t"] >= r["started_at"] and s["latency"] is not None]
    r["latency_mean"] = sum(after) / len(after) if after else None
    wall = [s["behind_wall"] for s in r["samples"]
            if r["started"] and s["t"] >= r["started_at"] and s["behind_wall"] is not None]
    r["behind_wall_mean"] = sum(wall) / len(wall) if wall else None
    return r


if __name__ == "__main__" and sys.argv[1:2] == ["reap"]:
    reap(sys.argv[2:])
