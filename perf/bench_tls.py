"""perf/bench --tls: HTTPS viewers on one core, gordo's own TLS listener beside what users
would otherwise run, nginx terminating TLS in front of gordo's plain HTTP, at equal load.

Imported by perf/bench (which runs the servers, gordo-load and the sweep); this holds what
is TLS's own: the test certificate, the two servers' start-up and the table."""
import os
import subprocess
import tempfile

from bench_table import CLIENT_ALIGN, CLIENT_HEADER, client_cells, fmt

TLS_SERVERS = ("gordo-tls", "nginx-tls")

# nginx as a TLS terminator: one worker (pinned with its master to the server's core, as
# gordo behind it), the stream passed through as it comes (proxy_buffering off). Its read
# buffer holds a whole 32 KiB chunk of gordo's: with the default 4 KiB nginx would make
# eight reads and eight small TLS records of each chunk, a handicap nobody tuning it keeps.
# Without chunked_transfer_encoding off nginx would re-frame gordo's close-delimited body
# in HTTP chunks, which players undo but gordo-load's MPEG-TS checks do not.
NGINX_TLS_CONF = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile {nofile};
events {{ worker_connections {connections}; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl backlog=4096;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {{
      proxy_pass http://127.0.0.1:{origin};
      proxy_http_version 1.1;
      proxy_buffering off;
      chunked_transfer_encoding off;  # the stream as gordo sends it: ends when it closes
      proxy_buffer_size 32k;
      proxy_buffers 4 32k;  # unused without buffering, but must hold proxy_buffer_size twice
      proxy_read_timeout 1h;
    }}
  }}
}}
"""


def make_certificate(directory, kind="ecdsa"):
    """A self-signed certificate for 127.0.0.1 (gordo-load does not verify by default):
    (cert.pem, key.pem) in `directory`. `kind`: ecdsa (P-256, what the handshake storm
    costs on a modern site) or rsa (2048 bits, several times more per handshake)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    newkey = ["-newkey", "rsa:2048"] if kind == "rsa" else [
        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def gordo_has_tls(gordo):
    """Whether this gordo binary has a TLS listener (--tls-listen)."""
    r = subprocess.run([gordo, "--help"], capture_output=True, text=True)
    return "--tls-listen" in r.stdout + r.stderr


def launch(server, name, stream, cpu, viewers, gordo, free_port, nginx_worker, key_kind):
    """Starts `name` (one of TLS_SERVERS) for perf/bench's Server `server`, pinned to `cpu`,
    its HTTPS port `server.port`: gordo-tls is gordo's own listener; nginx-tls is nginx
    there and gordo on a plain port behind it. Sets server.pid (and server.also: nginx-tls
    counts nginx's worker and gordo). Returns the viewers' URL path."""
    pin = ["taskset", "-c", str(cpu)]
    server.tmp = tempfile.mkdtemp(prefix=f"gordo-bench-{name}-", dir="/dev/shm")
    os.chmod(server.tmp, 0o755)
    cert, key = make_certificate(server.tmp, key_kind)
    plain = free_port()
    base = pin + [gordo, "--listen", f"127.0.0.1:{plain}", "--input", stream, "--loop", "--workers", "1",
                  "--cpus", str(cpu), "--log-level", "warn"]
    if name == "gordo-tls":
        server.start(base + ["--tls-listen", f"127.0.0.1:{server.port}", "--tls-cert", cert, "--tls-key", key])
        return "/live.ts"
    origin = server.start(base)
    conf = os.path.join(server.tmp, "nginx.conf")
    with open(conf, "w") as f:
        # Two connections per viewer: the viewer's and the one to gordo.
        f.write(NGINX_TLS_CONF.format(dir=server.tmp, port=server.port, origin=plain, cert=cert, key=key,
                                      connections=2 * viewers + 1000, nofile=2 * viewers + 2000))
    master = server.start(pin + ["nginx", "-p", server.tmp, "-c", conf, "-e",
                                 os.path.join(server.tmp, "error.log")])
    server.pid, server.also = nginx_worker(master.pid), [origin.pid]
    return "/live.ts"




def table(results):
    """The TLS runs as a Markdown table; `vs nginx-tls` is a server's CPU over nginx-tls's
    (nginx + gordo) at the same viewer count: the issue's goal is 0.5 or less."""
    nginx = {r["viewers"]: r["server_cpu_pct"] for r in results if r["server"] == "nginx-tls"}
    lines = ["| server | viewers | Gbit/s | server CPU % | nginx % | gordo % | vs nginx-tls | core busy % | "
             "RSS MiB | KiB/viewer | behind | failed | handshake failures | TTFB p50 ms | TTFB p99 ms | handshake p99 ms | "
             f"checked | no keyframe | {CLIENT_HEADER} | TLS |",
             f"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|{CLIENT_ALIGN}|---|"]
    for r in results:
        each = r.get("server_cpu_pct_each") or [r["server_cpu_pct"]]
        nginx_pct, gordo_pct = (each[0], each[1]) if len(each) > 1 else (None, each[0])
        ratio = r["server_cpu_pct"] / nginx[r["viewers"]] if nginx.get(r["viewers"]) else None
        lines.append(
            f"| {r['server']} | {r['viewers']} | {fmt(r['aggregate_gbps'], '.2f')} | "
            f"{fmt(r['server_cpu_pct'], '.1f')} | {fmt(nginx_pct, '.1f')} | {fmt(gordo_pct, '.1f')} | "
            f"{fmt(ratio, '.2f')} | {fmt(r.get('server_core_busy_pct'), '.1f')} | "
            f"{fmt(r['server_rss_mib'], '.1f')} | {fmt(r['kib_per_viewer'], '.1f')} | {r['behind']} | {r['failures'] + r['closed_early']} | "
            f"{r['handshake_failures']} | {fmt(r['ttfb_p50_ms'], '.1f')} | {fmt(r['ttfb_p99_ms'], '.1f')} | "
            f"{fmt(r['handshake_p99_ms'], '.1f')} | {r['verified']} | {r['no_keyframe']} | "
            f"{client_cells(r)} | {r['tls_protocol']} |")
    return "\n".join(lines)
