"""Drives the real gordo binary like a player would: sockets, ffmpeg and ffprobe."""
import json
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time

GORDO = os.environ.get("GORDO", os.path.join(os.path.dirname(__file__), "../../build/gordo"))
TS_PACKET = 188


class Gordo:
    """A running gordo on a free loopback port. Use as a context manager."""

    def __init__(self, *args, start_timeout=60):
        self.args = [GORDO, "--listen", "127.0.0.1:0", *args]
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.urls = []
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                if not line:
                    break
                m = re.match(r"gordo: play (http://\S+)", line)
                if m:
                    self.urls.append(m.group(1))
                    # One line per mount, printed together.
                    if not select.select([self.proc.stdout], [], [], 0.2)[0]:
                        break
            elif self.proc.poll() is not None:
                break
        if not self.urls:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"gordo did not start: {self.log()}")
        m = re.match(r"http://([^:/]+):(\d+)(/.*)", self.urls[0])
        self.host, self.port, self.path = m.group(1), int(m.group(2)), m.group(3)
        self.url = self.urls[0]

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

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()


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


def request(port, raw, timeout=10):
    """Sends raw bytes, returns everything the server sent until it closed."""
    with connect(port, timeout=timeout) as s:
        s.sendall(raw)
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


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
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: gordo-tests\r\n\r\n".encode())
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
