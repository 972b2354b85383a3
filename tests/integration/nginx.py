"""nginx as gordo's HLS cache edge, for tests and measurements: deploy/nginx/gordo-edge.conf
as shipped, with only its SITE lines pointed at the test's origin, cache directory,
certificate and access log, run in the foreground by Debian's nginx (as root, with its own
prefix, pid file and temp directories: no system nginx is involved), optionally in a
network namespace. Also a test CA and a certificate it signs, made with openssl.

    with Nginx(tmp, origin="10.1.2.1:8080", wrapper=net.wrap("edge")) as edge:
        edge.log_lines()    # the edge's access log, parsed (log_format gordo_edge)"""
import os
import re
import signal
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EDGE_CONF = os.path.join(HERE, "../../deploy/nginx/gordo-edge.conf")
NGINX = "/usr/sbin/nginx"

# The shipped file's SITE lines, as they are written there: each must occur exactly once.
SITE = {
    "origin": "server 127.0.0.1:8080;",
    "cache": "proxy_cache_path /var/cache/nginx/gordo ",
    "cert": "ssl_certificate /etc/nginx/ssl/gordo-edge.crt;",
    "key": "ssl_certificate_key /etc/nginx/ssl/gordo-edge.key;",
    "log": "access_log /var/log/nginx/gordo-edge.access.log gordo_edge;",
}

# The main context the shipped file (an http-context file, as in /etc/nginx/conf.d/) goes
# into: what Debian's /etc/nginx/nginx.conf would otherwise give, in the test's directory.
MAIN_CONF = """user root;
worker_processes {workers};
worker_rlimit_nofile 20000;
pid {dir}/nginx.pid;
error_log {dir}/error.log {error_level};
events {{ worker_connections 8192; }}
http {{
    include /etc/nginx/mime.types;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/gordo-edge.conf;
}}
"""

# log_format gordo_edge: combined, then protocol, cache status, request and upstream times.
LOG_LINE = re.compile(r'^(\S+) - \S+ \[([^\]]+)\] "(\S+) (\S+) ([^"]*)" (\d{3}) (\d+) "[^"]*" "[^"]*" '
                      r'(\S+) (\S+) ([\d.]+) (\S+)$')


def available():
    """None when nginx can run here for a test, else why not (for a skip)."""
    if not os.path.exists(NGINX):
        return "nginx is not installed (apt-get install nginx)"
    if os.geteuid() != 0:
        return "the nginx edge runs as root"
    return None


def set_directive(text, location, directive, value):
    """`text` with `directive` set to `value` (None: removed) in the block that starts with
    `location LOCATION {` (a location of the shipped file, as written there)."""
    start = text.index(f"location {location} {{")
    end = text.rindex("\n", start, text.index("}", start)) + 1  # the closing brace's line
    block = text[start:end]
    indent = re.search(r"\n([ \t]*)\S", block).group(1)
    new = "" if value is None else f"{indent}{directive} {value};\n"
    line = re.compile(rf"^[ \t]*{re.escape(directive)}\s[^;]*;[^\n]*\n", re.M)
    block = line.sub(lambda _: new, block, count=1) if line.search(block) else block + new
    return text[:start] + block + text[end:]


def edge_conf(origin, cache_dir, cert, key, log, edits=()):
    """The shipped configuration with its SITE lines replaced, and `edits` applied:
    (location, directive, value) as set_directive() takes them."""
    with open(EDGE_CONF) as f:
        text = f.read()
    values = {"origin": f"server {origin};", "cache": f"proxy_cache_path {cache_dir} ",
              "cert": f"ssl_certificate {cert};", "key": f"ssl_certificate_key {key};",
              "log": f"access_log {log} gordo_edge;"}
    for name, old in SITE.items():
        if text.count(old) != 1:
            raise ValueError(f"{EDGE_CONF}: the SITE line {old!r} should occur once")
        text = text.replace(old, values[name])
    for location, directive, value in edits:
        text = set_directive(text, location, directive, value)
    return text


def make_certificate(directory, ip):
    """A test CA and a certificate it signs for the address `ip` (subjectAltName): returns
    (ca.pem, cert.pem, key.pem) in `directory`."""
    ca_key, ca, key, csr, cert, ext = (os.path.join(directory, n) for n in (
        "ca.key", "ca.pem", "edge.key", "edge.csr", "edge.pem", "edge.ext"))

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
            "-subj", "/CN=gordo test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={ip}")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=IP:{ip}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
            "-days", "2", "-extfile", ext)
    return ca, cert, key


class Nginx:
    """The edge: nginx with the shipped configuration in `directory` (made if missing),
    listening on ports 80 and 443 of `host` (its namespace's address, reached from here).
    `cert`/`key`: made with a CA of its own when not given (`self.ca`). Use as a context
    manager; leaving it stops nginx (SIGTERM) and checks it exited cleanly."""

    def __init__(self, directory, origin, host="127.0.0.1", wrapper=(), workers=2, edits=(), cert=None, key=None,
                 error_level="warn", start_timeout=10):
        self.dir, self.host = directory, host
        os.makedirs(directory, exist_ok=True)
        self.ca = None
        if cert is None:
            self.ca, cert, key = make_certificate(directory, host)
        self.access_log = os.path.join(directory, "access.log")
        self.cache_dir = os.path.join(directory, "cache")
        self.conf = edge_conf(origin, self.cache_dir, cert, key, self.access_log, edits)
        with open(os.path.join(directory, "gordo-edge.conf"), "w") as f:
            f.write(self.conf)
        main = os.path.join(directory, "nginx.conf")
        with open(main, "w") as f:
            f.write(MAIN_CONF.format(dir=directory, workers=workers, error_level=error_level))
        self.error_log = os.path.join(directory, "error.log")
        # -e: the error log before the configuration is read (Debian's is /var/log/nginx).
        with open(self.error_log + ".stderr", "wb") as stderr:
            self.proc = subprocess.Popen([*wrapper, NGINX, "-p", directory, "-c", main, "-e", self.error_log,
                                          "-g", "daemon off;"], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + start_timeout
        while not self._listening():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nginx did not start: {self.log()[-3000:]}")
            time.sleep(0.05)

    def _listening(self):
        try:
            socket.create_connection((self.host, 80), timeout=1).close()
            return True
        except OSError:
            return False

    def log(self):
        """nginx's stderr and error log."""
        text = ""
        for path in (self.error_log + ".stderr", self.error_log):
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f.read()
        return text

    def log_lines(self):
        """The access log: dicts of peer, method, uri, protocol (HTTP/2.0...), status, bytes,
        cache (HIT, MISS, BYPASS, - ...), seconds, upstream_seconds (None when no upstream)."""
        rows = []
        with open(self.access_log) as f:
            for line in f:
                m = LOG_LINE.match(line.rstrip("\n"))
                if not m:
                    raise AssertionError(f"an access log line not in the gordo_edge format: {line!r}")
                up = m.group(11).split(",")[-1].strip()
                rows.append({"peer": m.group(1), "method": m.group(3), "uri": m.group(4), "protocol": m.group(8),
                             "status": int(m.group(6)), "bytes": int(m.group(7)), "cache": m.group(9),
                             "seconds": float(m.group(10)), "upstream_seconds": None if up == "-" else float(up)})
        return rows

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # fast shutdown: the master ends its workers
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        return code

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if self.proc.returncode is not None:  # already stopped
            return
        code = self.stop()
        if exc_type is None and code != 0:
            raise AssertionError(f"nginx exited {code}: {self.log()[-3000:]}")
