"""Drives the real gordo binary like a player would: sockets, ffmpeg and ffprobe."""
import json
import os
import re
import resource
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time

GORDO = os.environ.get("GORDO", os.path.join(os.path.dirname(__file__), "../../build/gordo"))
# The I/O engine every Gordo() runs with unless its test picks one (meson runs the serving
# suites once as they are and once with GORDO_ENGINE=epoll).
ENGINE = os.environ.get("GORDO_ENGINE")
# Runs a command with io_uring_setup(2) blocked by seccomp (tests/integration/no_uring.cpp).
NO_URING = os.environ.get("NO_URING", os.path.join(os.path.dirname(__file__), "../../build/tests/no_uring"))
TS_PACKET = 188


class Gordo:
    """A running gordo on a free loopback port. Use as a context manager."""

    def __init__(self, *args, start_timeout=60, max_fds=None, env=None, wrapper=(), expect_exit=0):
        """`wrapper`: a command gordo runs under (e.g. [NO_URING]). `expect_exit`: the exit
        status leaving the `with` block checks (after SIGTERM if gordo still runs), so that
        every run's clean shutdown (and, under ASan, its leak check) is part of its test;
        None for a test that kills gordo or checks the status itself."""
        self.expect_exit = expect_exit
        engine = ["--engine", ENGINE] if ENGINE and "--engine" not in args else []
        self.args = [*wrapper, GORDO, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", *engine, *args]
        self.stderr = tempfile.TemporaryFile()

        def limit_fds():
            resource.setrlimit(resource.RLIMIT_NOFILE, (max_fds, max_fds))

        # Unbuffered, so that select() sees every line not yet read.
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.stderr, bufsize=0,
                                     preexec_fn=limit_fds if max_fds else None, env=env)
        self.urls = []
        self.stats_url = None
        expect_stats = "off" not in [b for a, b in zip(args, args[1:]) if a == "--admin-listen"]
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline().decode()
                if not line:
                    break
                m = re.match(r"gordo: (play|stats) (http://\S+)", line)
                if m and m.group(1) == "play":
                    self.urls.append(m.group(2))
                elif m:
                    self.stats_url = m.group(2)
                # One line per mount, then one for stats (unless --admin-listen off), printed
                # together: the stats line ends the list.
                if self.stats_url or (self.urls and not expect_stats and
                                      not select.select([self.proc.stdout], [], [], 0.2)[0]):
                    break
            elif self.proc.poll() is not None:
                break
        if not self.urls:
            self.proc.kill()
            self.proc.wait()
            log = self.log()
            self.expect_exit = None
            self.__exit__(None, None, None)
            raise RuntimeError(f"gordo did not start: {log}")
        m = re.match(r"http://(\[[^\]]+\]|[^:/]+):(\d+)(/.*)", self.urls[0])
        self.host, self.port, self.path = m.group(1).strip("[]"), int(m.group(2)), m.group(3)
        self.url = self.urls[0]

    def admin_get(self, path):
        """GET on the admin address; returns (status, headers, body)."""
        m = re.match(r"http://([^:/]+):(\d+)/", self.stats_url)
        return split_response(request(int(m.group(2)), f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
                                      host=m.group(1)))

    def log(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self, timeout=20):
        """SIGTERM; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if self.stderr.closed:  # already left
            return
        code = None
        try:
            # Only when the block itself succeeded: its own failure says more.
            if exc_type is None and self.expect_exit is not None:
                code = self.stop()  # raises if SIGTERM did not end gordo
                log = self.log()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.stderr.close()
        if code is not None and code != self.expect_exit:
            raise AssertionError(f"gordo exited {code}, expected {self.expect_exit}: {log[-3000:]}")


def wait_for(condition, timeout=30, what="the condition", every=0.1):
    """Polls `condition()` until it returns something true, which it returns; fails the
    test after `timeout` seconds: tests wait on what they need, not for a fixed time."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def port_bound(port, udp=False):
    """True when some process listens on TCP `port` (or has UDP `port` bound), from /proc."""
    for table in (("udp", "udp6") if udp else ("tcp", "tcp6")):
        try:
            with open(f"/proc/net/{table}") as f:
                rows = f.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and (udp or fields[3] == "0A"):  # 0A: LISTEN
                return True
    return False


def make_media(path, seconds=4, fps=25, gop=25, size="320x240", fmt_args=()):
    """An H.264 + AAC file made with the ffmpeg CLI."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=48000:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop), "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "96k", *fmt_args, path],
        check=True)
    return path


def connect(port, host="127.0.0.1", timeout=10):
    s = socket.create_connection((host, port), timeout=timeout)
    return s


def response_complete(data):
    """True when `data` holds a whole response with a Content-Length, or a 204 or 304 (which
    end with their head: RFC 9110 section 6.4.1); the server may keep the connection open
    after it."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    if re.match(rb"HTTP/1\.[01] (204|304) ", head):
        return True
    m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
    return bool(m) and len(body) >= int(m.group(1))


def request(port, raw, timeout=10, host="127.0.0.1"):
    """Sends raw bytes, returns what the server sent until it closed or, for an answer with
    a Content-Length, until that answer was whole."""
    with connect(port, host=host, timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while not response_complete(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def split_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def capture(port, path, seconds, host="127.0.0.1"):
    """GETs `path` and reads for `seconds` (or until the server closes).
    Returns (status, headers, body, closed_by_server)."""
    with connect(port, host) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {f'[{host}]' if ':' in host else host}\r\nUser-Agent: gordo-tests\r\n\r\n".encode())
        data = bytearray()
        deadline = time.monotonic() + seconds
        closed = False
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                chunk = s.recv(1 << 16)
            except socket.timeout:
                break
            if not chunk:
                closed = True
                break
            data += chunk
    status, headers, body = split_response(bytes(data))
    return status, headers, body, closed


def capture_async(port, path, seconds):
    """capture() in a thread; call .result() for its return value."""
    box = {}

    def run():
        box["value"] = capture(port, path, seconds)

    t = threading.Thread(target=run)
    t.start()

    class Pending:
        def result(self):
            t.join()
            return box["value"]

    return Pending()


def ffprobe_json(target, *args):
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *args, target],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return json.loads(out)


def streams(target):
    return ffprobe_json(target, "-show_streams")["streams"]


def video_packets(path):
    return ffprobe_json(path, "-select_streams", "v", "-show_entries",
                        "packet=pts_time,dts_time,flags")["packets"]


def decode_errors(path):
    """What ffmpeg says when decoding the whole file; empty when clean."""
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"],
                       capture_output=True, text=True, timeout=120)
    return r.stderr.strip() + ("" if r.returncode == 0 else f" (exit {r.returncode})")


def ts_pids(body, count):
    """PIDs of the first `count` TS packets."""
    return [((body[i + 1] & 0x1F) << 8) | body[i + 2]
            for i in range(0, min(len(body), count * TS_PACKET), TS_PACKET)]


def write(dirname, name, data):
    path = os.path.join(dirname, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def mean_volume_db(path):
    """Mean volume of the audio in `path`, in dB (about -91 for silence)."""
    r = subprocess.run(["ffmpeg", "-hide_banner", "-i", path, "-map", "0:a", "-af", "volumedetect",
                        "-f", "null", "-"], capture_output=True, text=True, timeout=60)
    m = re.search(r"mean_volume: (-?[\d.]+) dB", r.stderr)
    if not m:
        raise AssertionError(f"no audio measured: {r.stderr[-500:]}")
    return float(m.group(1))


def ts_packets(body):
    """(pid, payload_unit_start, random_access, has_payload, cc, discontinuity) per TS packet."""
    out = []
    for i in range(0, len(body) - TS_PACKET + 1, TS_PACKET):
        p = body[i:i + TS_PACKET]
        if p[0] != 0x47:
            raise AssertionError(f"no TS sync byte at offset {i}")
        afc = (p[3] >> 4) & 3
        adapt = p[5] if afc & 2 and p[4] > 0 else 0
        out.append(((p[1] & 0x1F) << 8 | p[2], bool(p[1] & 0x40), bool(adapt & 0x40),
                    bool(afc & 1), p[3] & 0x0F, bool(adapt & 0x80)))
    return out


def continuity_breaks(body):
    """Indexes of TS packets whose elementary stream (PIDs 0x100-0xFFF, as libavformat
    numbers them) skips continuity counters: where bytes were lost or a stream jumped."""
    last, breaks = {}, []
    for i, (pid, _, _, payload, cc, disc) in enumerate(ts_packets(body)):
        if not 0x100 <= pid < 0x1000 or not payload:
            continue
        if pid in last and not disc and cc != (last[pid] + 1) % 16:
            breaks.append(i)
        last[pid] = cc
    return breaks


def server_counters(log):
    """The per-worker counters gordo logs when it stops, summed over workers. A line reads
    "worker 0: 5 connections, 2 slow drops, ...; zero-copy: 3 sends, 1 fixed, ..." (its rows
    come from include/gordo/server/counters.h); the keys are the words joined by "_", those
    of the zero-copy part with "zc_" before them: connections, slow_drops, zc_sends..."""
    pairs = r"\d+ [a-z][a-z ]*(?:, \d+ [a-z][a-z ]*)*"
    line = re.compile(rf"worker \d+: ({pairs}(?:; [a-z-]+: {pairs})*)$", re.M)
    prefixes = {"zero-copy": "zc_"}
    total, per_worker = {}, []
    for m in line.finditer(log):
        counts = {}
        for part in m.group(1).split("; "):
            title, _, rest = part.rpartition(": ")
            prefix = prefixes.get(title, title.replace("-", "_") + "_" if title else "")
            for pair in rest.split(", "):
                n, words = pair.split(" ", 1)
                counts[prefix + words.replace(" ", "_")] = int(n)
        for name, value in counts.items():
            total[name] = total.get(name, 0) + value
        per_worker.append(counts.get("connections", 0))
    total["workers"] = len(per_worker)
    total["per_worker_connections"] = per_worker
    return total


class Viewer(threading.Thread):
    """A viewer in a thread that records when its bytes arrived. stall=(after_s, for_s)
    stops reading for a while; rcvbuf shrinks its socket's receive buffer. It reads for
    `seconds` at most: finish() ends it as soon as the test has seen what it waits for."""

    def __init__(self, port, path, seconds, stall=None, rcvbuf=None, host="127.0.0.1"):
        super().__init__()
        self.port, self.path, self.seconds, self.stall, self.rcvbuf, self.host = \
            port, path, seconds, stall, rcvbuf, host
        self.arrivals = []  # (monotonic time, byte count)
        self.data = bytearray()
        self.closed = False
        self.ending = threading.Event()
        self.start()

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        s.settimeout(10)
        s.connect((self.host, self.port))
        s.sendall(f"GET {self.path} HTTP/1.1\r\nHost: {f'[{self.host}]' if ':' in self.host else self.host}\r\n\r\n".encode())
        begin = time.monotonic()
        end = begin + self.seconds
        with s:
            while (left := end - time.monotonic()) > 0 and not self.ending.is_set():
                if self.stall and begin + self.stall[0] <= time.monotonic() < begin + self.stall[0] + self.stall[1]:
                    self.ending.wait(begin + self.stall[0] + self.stall[1] - time.monotonic())
                    continue
                s.settimeout(min(left, 0.2))
                try:
                    chunk = s.recv(1 << 16)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    self.closed = True
                    break
                if not chunk:
                    self.closed = True
                    break
                self.arrivals.append((time.monotonic() - begin, len(chunk)))
                self.data += chunk

    def bytes_between(self, t0, t1):
        return sum(n for t, n in self.arrivals if t0 <= t < t1)

    def result(self):
        self.join()
        return split_response(bytes(self.data))

    def finish(self):
        """Stops reading now (within 0.2 s) and returns result(); `closed` still tells
        whether the server closed it before."""
        self.ending.set()
        return self.result()
