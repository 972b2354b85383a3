"""perf/bench --net: viewers on emulated access networks, in network namespaces.

The server runs in its own namespace (srv) behind a router namespace (rtr); each class of
viewers (`--classes`) lives in a namespace of its own behind a link from rtr, and every
viewer has its own address there (gordo-load --source) and its own shaped rate: rtr puts
each viewer's traffic in an HTB class of its own (one token bucket per viewer, not one for
the class). A class with a delay is linked to rtr through two TUN devices and
perf/tun_delay, which delays and drops packets (this kernel has no netem).

The server's GSO skbs (up to 64 KiB) cross the veths whole. On a link slower than
SLOW_LINK the class's queue is a tbf, which cuts them into packets, so that each packet
waits its turn at the link's rate as on a real access link (a 28 KiB chunk takes 75 ms at
3 Mbit/s); HTB alone lets a whole skb through at once when it has the tokens, and the link
then holds nothing between chunks. Faster links keep the whole skbs (21 ms for 64 KiB at
25 Mbit/s): cutting them costs CPU 1 a packet's forwarding and receive each, which at
1,000 viewers left it 100% busy.

    srv ── rtr ─┬─ veth [htb R per viewer] ── fast viewers
                ├─ veth [htb → tbf R per viewer] ── slow viewers
                └─ tun [htb] ⇄ tun_delay (RTT, loss) ⇄ tun ── wan viewers

Shaping is in rtr, not on the server's own device: TCP Small Queues holds an skb against
its socket until the next namespace takes it, so a queue on srv's device only slows the
socket; in rtr it is a remote access link that queues and drops. CPU 1 carries the router,
every viewer's TCP receive, the forwarder and the clients ("network-bound" when it is
full: the emulation, not the server, was the limit then).
"""
import ctypes
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from bench_table import fmt

SRV_ADDR = "198.18.0.1"  # RFC 2544's benchmarking range, 198.18.0.0/15
LOCK = "/run/lock/gordo-netbench.lock"
STATE = "/run/lock/gordo-netbench.state"  # host settings changed by the running bench
BACKLOG = "/proc/sys/net/core/netdev_max_backlog"
ALLOWED_CC = "/proc/sys/net/ipv4/tcp_allowed_congestion_control"
SETTLE_S = 5  # after the last connect, before the window: join bursts drain
SS_SAMPLES = 8
# The slow links are few: shaped packet by packet, each of their viewers costs CPU 1 ten
# times a fast viewer.
DEFAULT_CLASSES = "fast=1700@25mbit,slow=100@3mbit,wan=200@25mbit/40ms/0.5%"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def sh(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


def parse_rate(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(k|m|g)bit", s)
    if not m:
        raise ValueError(f"bad rate {s!r} (like 3mbit)")
    return float(m.group(1)) * {"k": 1e3, "m": 1e6, "g": 1e9}[m.group(2)]


def parse_classes(spec, scale):
    """`name=COUNT@RATE[/RTT/LOSS%]`, comma-separated: [{name, viewers, bps, rtt_ms, loss}]."""
    classes = []
    for item in spec.split(","):
        m = re.fullmatch(r"([a-z][a-z0-9]{0,5})=(\d+)@([0-9.]+[kmg]bit)(?:/(\d+(?:\.\d+)?)ms/(\d+(?:\.\d+)?)%)?", item)
        if not m:
            raise ValueError(f"bad class {item!r}: name=COUNT@RATE[/RTTms/LOSS%], like slow=300@3mbit "
                             "or wan=200@25mbit/40ms/0.5%")
        n = max(1, round(int(m.group(2)) * scale))
        if n > 2046:
            raise ValueError(f"class {m.group(1)}: {n} viewers; at most 2046 (one /21 of addresses)")
        classes.append({"name": m.group(1), "viewers": n, "bps": parse_rate(m.group(3)),
                        "rtt_ms": float(m.group(4)) if m.group(4) else 0.0,
                        "loss": float(m.group(5)) / 100 if m.group(5) else 0.0})
    if len({c["name"] for c in classes}) != len(classes) or len(classes) > 8:
        raise ValueError("class names must differ; at most 8 classes")
    return classes


# Links slower than this are shaped packet by packet (a tbf per viewer), faster ones skb
# by skb (HTB alone).
SLOW_LINK = 10e6


def queue_bytes(bps, seconds):
    """A viewer's queue in rtr: `seconds` of its rate, never less than ten packets on a
    slow link (its tbf queues packets) nor than one 64 KiB GSO skb with its segments'
    headers and a bit on a fast one (HTB queues whole skbs; a smaller queue drops each)."""
    return max(int(bps / 8 * seconds), 10 * 1514 if bps < SLOW_LINK else 100_000)


def burst_bytes(bps):
    """The token bucket's depth: 10 ms of rate, at least one packet."""
    return max(int(bps / 8 * 0.010), 1600)


class Net:
    """The namespaces, links, shapers and forwarders; removed on exit (and the ones a killed
    bench left behind, on the next start)."""

    def __init__(self, classes, tun_delay, fwd_cpu, ccs):
        self.tag = f"gb{os.getpid()}"
        self.classes, self.tun_delay, self.fwd_cpu, self.ccs = classes, tun_delay, fwd_cpu, ccs
        self.forwarders, self.made, self.backlog, self.allowed = [], [], None, None

    def ns(self, name):
        return f"{self.tag}-{name}"

    def run(self, ns, *cmd):
        return sh("ip", "netns", "exec", self.ns(ns), *cmd)

    def __enter__(self):
        self.lock = open(LOCK, "w")
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RuntimeError(f"another network bench holds {LOCK}")
        sweep_dead()
        if "198.18." in sh("ip", "route").stdout:
            raise RuntimeError("a route in the root namespace already uses 198.18.0.0/15; not touching it")
        try:
            self.build()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def build(self):
        t = self.tag
        for n in ["srv", "rtr"] + [c["name"] for c in self.classes]:
            sh("ip", "netns", "add", self.ns(n))
            self.made.append(self.ns(n))
            sh("ip", "-n", self.ns(n), "link", "set", "lo", "up")
            self.run(n, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
                     "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
        self.run("rtr", "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # Viewers' sockets: as many ports as a class has viewers, and short FIN timeouts.
        for c in self.classes:
            self.run(c["name"], "sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65000")
        self.run("srv", "sysctl", "-qw", "net.core.somaxconn=65535", "net.ipv4.tcp_max_syn_backlog=65535")
        # Two host-wide settings change for the run; what they were is kept in a file too,
        # so that the next bench puts them back if this one is killed.
        with open(BACKLOG) as f:
            self.backlog = f.read().strip()
        with open(ALLOWED_CC) as f:
            allowed = f.read().split()
        if any(cc not in allowed for cc in self.ccs):
            self.allowed = " ".join(allowed)
        with open(STATE, "w") as f:
            json.dump({BACKLOG: self.backlog, ALLOWED_CC: self.allowed}, f)
        # The chunk bursts of a thousand viewers pass CPU 1's backlog; the default (1000)
        # drops them there, which would look like loss on the links.
        with open(BACKLOG, "w") as f:
            f.write("30000")
        # A namespace may only choose the congestion controls the root namespace allows.
        if self.allowed:
            with open(ALLOWED_CC, "w") as f:
                f.write(" ".join(dict.fromkeys(allowed + self.ccs)))
        link = ("ip", "link", "add")
        sh(*link, "s0", "netns", self.ns("srv"), "type", "veth", "peer", "name", "r0", "netns", self.ns("rtr"))
        sh("ip", "-n", self.ns("srv"), "addr", "add", f"{SRV_ADDR}/30", "dev", "s0")
        sh("ip", "-n", self.ns("rtr"), "addr", "add", "198.18.0.2/30", "dev", "r0")
        for n, d in (("srv", "s0"), ("rtr", "r0")):
            sh("ip", "-n", self.ns(n), "link", "set", d, "up")
        sh("ip", "-n", self.ns("srv"), "route", "add", "198.18.0.0/15", "via", "198.18.0.2")
        # The bench's own path to the server (warm-up, /stats): a veth from the root namespace.
        sh(*link, f"{t}c", "type", "veth", "peer", "name", "ctl", "netns", self.ns("rtr"))
        sh("ip", "addr", "add", "198.18.254.1/30", "dev", f"{t}c")
        sh("ip", "link", "set", f"{t}c", "up")
        sh("ip", "-n", self.ns("rtr"), "addr", "add", "198.18.254.2/30", "dev", "ctl")
        sh("ip", "-n", self.ns("rtr"), "link", "set", "ctl", "up")
        sh("ip", "route", "add", "198.18.0.0/16", "via", "198.18.254.2")
        # The router and the viewers' receive run on CPU 1; their ACKs into srv on CPU 0.
        self.run("rtr", "sh", "-c", "echo 2 > /sys/class/net/r0/queues/rx-0/rps_cpus")
        self.run("srv", "sh", "-c", "echo 1 > /sys/class/net/s0/queues/rx-0/rps_cpus")
        for k, c in enumerate(self.classes, 1):
            c["source"] = f"198.19.{8 * k}.0/21"
            v = self.ns(c["name"])
            if c["rtt_ms"] or c["loss"]:
                dev = f"t{k}"
                for n, d in ((self.ns("rtr"), dev), (v, "tw")):
                    sh("ip", "-n", n, "tuntap", "add", "dev", d, "mode", "tun")
                    sh("ip", "-n", n, "link", "set", d, "up", "txqueuelen", "10000")
                half = f"{c['rtt_ms'] / 2:g}ms"
                # Loss on the way to the viewer (data), none on its ACKs: as a lossy access link.
                fwd = subprocess.Popen([self.tun_delay, self.ns("rtr"), dev, v, "tw", "--delay", half,
                                        "--back-delay", half, "--loss", str(c["loss"]), "--cpu", str(self.fwd_cpu)],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       preexec_fn=die_with_parent)
                self.forwarders.append((c["name"], fwd))
                time.sleep(0.3)  # a tun without a reader has no carrier
                if fwd.poll() is not None:
                    raise RuntimeError(f"tun_delay for {c['name']}: {fwd.stderr.read().strip()}")
                sh("ip", "-n", self.ns("rtr"), "route", "add", c["source"], "dev", dev)
                sh("ip", "-n", v, "route", "add", "default", "dev", "tw")
            else:
                dev = f"c{k}"
                sh(*link, dev, "netns", self.ns("rtr"), "type", "veth", "peer", "name", "eth0", "netns", v)
                sh("ip", "-n", self.ns("rtr"), "addr", "add", f"198.18.{k}.1/30", "dev", dev)
                sh("ip", "-n", v, "addr", "add", f"198.18.{k}.2/30", "dev", "eth0")
                sh("ip", "-n", self.ns("rtr"), "link", "set", dev, "up")
                sh("ip", "-n", v, "link", "set", "eth0", "up")
                sh("ip", "-n", v, "route", "add", "198.18.0.0/16", "via", f"198.18.{k}.1")
                sh("ip", "-n", self.ns("rtr"), "route", "add", c["source"], "via", f"198.18.{k}.2")
            c["dev"] = dev
            # Every address of the class's /21 is the class's own (AnyIP): viewers bind to them.
            sh("ip", "-n", v, "route", "add", "local", c["source"], "dev", "lo")
            self.shape(c, 8 * k)

    def shape(self, c, third):
        """One HTB class per viewer on rtr's device towards the class, found by a u32 hash on
        the last byte of the viewer's address: on a fast link the class shapes, with a FIFO
        of its own; on a slow one its tbf shapes, packet by packet (the class only sorts)."""
        dev, rate = c["dev"], f"{int(c['bps'])}bit"
        burst = burst_bytes(c["bps"])
        # 200 ms of queue on a slow link, 100 ms on a fast one (a home router's buffer).
        slow = c["bps"] < SLOW_LINK
        limit = queue_bytes(c["bps"], 0.2 if slow else 0.1)
        lines = [f"qdisc add dev {dev} root handle 1: htb",  # no default: ARP passes unshaped
                 f"filter add dev {dev} parent 1: prio 1 handle 100: protocol ip u32 divisor 256",
                 f"filter add dev {dev} parent 1: prio 1 protocol ip u32 ht 800:: match ip dst {c['source']} "
                 "hashkey mask 0x000000ff at 16 link 100:"]
        for i in range(1, c["viewers"] + 1):
            addr = f"198.19.{third + i // 256}.{i % 256}"
            if slow:
                lines += [f"class add dev {dev} parent 1: classid 1:{i:x} htb rate 10gbit quantum 1514",
                          f"qdisc add dev {dev} parent 1:{i:x} tbf rate {rate} burst {burst} limit {limit}"]
            else:
                lines += [f"class add dev {dev} parent 1: classid 1:{i:x} htb rate {rate} ceil {rate} "
                          f"burst {burst} cburst {burst} quantum 1514",
                          f"qdisc add dev {dev} parent 1:{i:x} bfifo limit {limit}"]
            lines.append(f"filter add dev {dev} parent 1: prio 1 protocol ip u32 ht 100:{i % 256:x}: "
                         f"match ip dst {addr}/32 flowid 1:{i:x}")
        with tempfile.NamedTemporaryFile("w", suffix=".tc") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            sh("tc", "-n", self.ns("rtr"), "-batch", f.name)

    def send_queues(self):
        """Per class: bytes the server's sockets hold for its viewers (wmem_queued: sent and
        not acknowledged, and not sent yet), from ss in the server's namespace."""
        out = {c["name"]: 0 for c in self.classes}
        third = {8 * k + i: c["name"] for k, c in enumerate(self.classes, 1) for i in range(8)}
        r = sh("ip", "netns", "exec", self.ns("srv"), "ss", "-tmHnO", "state", "established", check=False)
        for line in r.stdout.splitlines():
            m = re.search(r"\s198\.19\.(\d+)\.\d+:\d+\s.*skmem:\([^)]*\bw(\d+)", line)
            if m and int(m.group(1)) in third:
                out[third[int(m.group(1))]] += int(m.group(2))
        return out

    def drops(self):
        """Per class: packets rtr's shapers dropped (a link's queue overflowing), so far."""
        out = {}
        for c in self.classes:
            r = sh("tc", "-n", self.ns("rtr"), "-s", "-j", "qdisc", "show", "dev", c["dev"], check=False)
            qdiscs = json.loads(r.stdout or "[]")
            out[c["name"]] = sum(q.get("drops", 0) for q in qdiscs if q.get("kind") in ("bfifo", "tbf"))
        return out

    def __exit__(self, *exc):
        # The host's settings first: nothing after this may stop them being put back.
        restore({BACKLOG: self.backlog, ALLOWED_CC: self.allowed})
        for _, fwd in self.forwarders:
            if fwd.poll() is None:
                fwd.send_signal(signal.SIGTERM)
        for name, fwd in self.forwarders:
            try:
                out, _ = fwd.communicate(timeout=5)
                if out.strip():
                    log(f"bench: tun_delay {name}: {out.strip()}")
            except subprocess.TimeoutExpired:
                fwd.kill()
                fwd.wait()
        sh("ip", "route", "del", "198.18.0.0/16", check=False)
        for n in reversed(self.made):
            remove_ns(n)
        sh("ip", "link", "del", f"{self.tag}c", check=False)
        return False


def restore(saved):
    """Puts back the host-wide settings a bench changed (None: not changed)."""
    for path, value in saved.items():
        if value:
            with open(path, "w") as f:
                f.write(value)
    try:
        os.unlink(STATE)
    except FileNotFoundError:
        pass


def die_with_parent():
    """In a child before exec: SIGKILL when the bench dies (a killed bench leaves no load)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def remove_ns(name):
    pids = sh("ip", "netns", "pids", name, check=False).stdout.split()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in pids:
            try:
                os.kill(int(p), sig)
            except (OSError, ValueError):
                pass
        if not pids:
            break
        time.sleep(1 if sig == signal.SIGTERM else 0)
        pids = sh("ip", "netns", "pids", name, check=False).stdout.split()
    sh("ip", "netns", "del", name, check=False)


def sweep_dead():
    """What benches that were killed left: their namespaces (their pid is gone) and the
    host's settings as they were (the lock is ours, so a state file is a dead bench's)."""
    try:
        with open(STATE) as f:
            saved = json.load(f)
        log(f"bench: putting back {', '.join(saved)} as a bench that died found them")
        restore(saved)
    except FileNotFoundError:
        pass
    for line in sh("ip", "netns", "list").stdout.splitlines():
        m = re.match(r"(gb(\d+))-\S+", line)
        if m and not os.path.exists(f"/proc/{m.group(2)}"):
            log(f"bench: removing {m.group(0)}, left by a bench that died")
            remove_ns(m.group(0))
            sh("ip", "link", "del", f"{m.group(1)}c", check=False)
            sh("ip", "route", "del", "198.18.0.0/16", check=False)


def cpu_busy():
    """Per CPU: (busy, softirq, total) jiffies from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m:
                v = [int(x) for x in m.group(2).split()]
                total = sum(v[:8])
                out[int(m.group(1))] = (total - v[3] - v[4], v[6], total)
    return out


def softnet_drops():
    with open("/proc/net/softnet_stat") as f:
        return sum(int(line.split()[1], 16) for line in f)


def gordo_stats(port):
    """resyncs and slow drops over gordo's mounts, from /stats over the control path."""
    try:
        with urllib.request.urlopen(f"http://{SRV_ADDR}:{port}/stats", timeout=5) as r:
            d = json.load(r)
    except OSError:
        return None
    total = {"resyncs": 0, "slow_drops": 0}
    for m in d.get("mounts", []):
        for k in total:
            total[k] += m.get(k, 0) or 0
    return total


def run(server_for, load, cpu_seconds, args, stream):
    """Every server in args.servers and every TCP_NOTSENT_LOWAT in args.lowat on the classes;
    returns (per-class rows, per-run rows)."""
    classes = parse_classes(args.classes, args.scale)
    total = sum(c["viewers"] for c in classes)
    tun_delay = os.path.join(os.path.dirname(load), "perf", "tun_delay")
    ccs = args.cc.split(",")
    with open("/proc/sys/net/ipv4/tcp_available_congestion_control") as f:
        available = f.read().split()
    if any(cc not in available for cc in ccs):
        raise RuntimeError(f"--cc {args.cc}: this kernel has {' '.join(available)}")
    class_rows, run_rows = [], []
    with Net(classes, tun_delay, args.load_cpu, ccs) as net:
        log(f"bench: namespaces {net.tag}-*: " + ", ".join(f"{c['name']} {c['viewers']} viewers" for c in classes))
        for cc in ccs:
            net.run("srv", "sysctl", "-qw", f"net.ipv4.tcp_congestion_control={cc}")
            for lowat in [None] if args.lowat == "shipped" else [int(x) for x in args.lowat.split(",")]:
                net.run("srv", "sysctl", "-qw", f"net.ipv4.tcp_notsent_lowat={lowat or 4294967295}")
                for name in args.servers.split(","):
                    shown = "as shipped" if lowat is None else f"notsent_lowat {lowat or 'unset'}"
                    log(f"bench: {name}, {cc}, {shown}, {total} viewers ...")
                    try:
                        rows, summary = run_net_one(net, server_for, load, cpu_seconds, args, stream, name, classes,
                                                    lowat)
                    except RuntimeError as e:
                        log(f"bench: {name}: {e}")
                        continue
                    for r in rows + [summary]:
                        r.update(server=name, cc=cc, lowat=lowat, run=len(run_rows))
                    class_rows += rows
                    run_rows.append(summary)
    return class_rows, run_rows


def sample(net, stats_port, cpu_seconds):
    """What is read at each end of the window."""
    return {"cpu": cpu_busy(), "softnet": softnet_drops(), "links": net.drops(),
            "fwd": sum(cpu_seconds(f.pid) for _, f in net.forwarders), "at": time.monotonic(),
            "gordo": gordo_stats(stats_port) if stats_port else None}


def run_net_one(net, server_for, load, cpu_seconds, args, stream, name, classes, lowat):
    total = sum(c["viewers"] for c in classes)
    wrap = ["ip", "netns", "exec", net.ns("srv")]
    gordo_args = [] if lowat is None else ["--notsent-lowat", str(lowat)]
    server = server_for(name, stream, args.server_cpu, args.load_cpu, total, host=SRV_ADDR, wrap=wrap,
                        gordo_args=gordo_args)
    procs = []
    try:
        stats_port = getattr(server, "admin_port", None)
        began = time.monotonic()
        for c in classes:
            cmd = ["ip", "netns", "exec", net.ns(c["name"]), "taskset", "-c", str(args.load_cpu), load, server.url,
                   "--viewers", str(c["viewers"]), "--rate", str(args.rate * c["viewers"] / total),
                   "--duration", str(args.duration), "--settle", str(SETTLE_S), "--source", c["source"],
                   "--bitrate", "2.26", "--verify", str(min(c["viewers"], args.verify)), "--json", "--quiet",
                   "--server-pid", ",".join(map(str, server.pids)), "--server-core", str(args.server_cpu)]
            procs.append((c, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                              preexec_fn=die_with_parent)))
        # The clients' window: from the last connect and the settling on, for --duration. The
        # bench's own figures are read at its ends, and the kernel's send queues eight times
        # over its middle half (a fan-out sends every viewer a chunk at once: one instant
        # can catch them all busy or all idle).
        window = began + total / args.rate + SETTLE_S
        at = lambda t: time.sleep(max(0.0, t - time.monotonic()))  # noqa: E731
        at(window)
        before = sample(net, stats_port, cpu_seconds)
        queued = {c["name"]: 0 for c in classes}
        for k in range(SS_SAMPLES):
            at(window + args.duration * (0.25 + 0.5 * k / (SS_SAMPLES - 1)))
            for cls, b in net.send_queues().items():
                queued[cls] += b / SS_SAMPLES
        at(window + args.duration)
        after = sample(net, stats_port, cpu_seconds)
        rows = []
        for c, p in procs:
            try:
                out, err = p.communicate(timeout=args.duration + total / args.rate + 60)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"gordo-load in {c['name']} did not finish")
            if not out.strip():
                raise RuntimeError(f"gordo-load in {c['name']} failed: {err.strip()}")
            r = json.loads(out)
            r.update(cls=c["name"], link=f"{c['bps'] / 1e6:g} Mbit/s" + (f", {c['rtt_ms']:g} ms, {c['loss'] * 100:g}%"
                                                                          if c["rtt_ms"] or c["loss"] else ""))
            rows.append(r)
    finally:
        for _, p in procs:  # a class that failed leaves the others running
            if p.poll() is None:
                p.kill()
                p.wait()
        server.stop()
    for r in rows:
        r["link_drops"] = after["links"][r["cls"]] - before["links"][r["cls"]]
        r["kernel_kib_per_viewer"] = queued[r["cls"]] / 1024 / r["viewers"]
    first = rows[0]
    busy = {}
    for cpu in (args.server_cpu, args.load_cpu):
        b0, s0, t0 = before["cpu"][cpu]
        b1, s1, t1 = after["cpu"][cpu]
        busy[cpu] = (100 * (b1 - b0) / max(t1 - t0, 1), 100 * (s1 - s0) / max(t1 - t0, 1))
    full = sum(r["ok"] - r["behind"] for r in rows if r["behind"] is not None)
    summary = {
        "viewers": sum(r["viewers"] for r in rows), "at_full_rate": full,
        "server_cpu_pct": first.get("server_cpu_pct"), "server_core_busy_pct": first.get("server_core_busy_pct"),
        "core0_softirq_pct": busy[args.server_cpu][1],
        "cpu1_busy_pct": busy[args.load_cpu][0], "cpu1_softirq_pct": busy[args.load_cpu][1],
        "forwarder_cpu_pct": 100 * (after["fwd"] - before["fwd"]) / (after["at"] - before["at"]),
        "softnet_drops": after["softnet"] - before["softnet"],
        "link_drops": sum(r["link_drops"] for r in rows),
    }
    if before["gordo"] and after["gordo"]:
        summary.update({k: after["gordo"][k] - before["gordo"][k] for k in before["gordo"]})
    # The emulation, not the server, was the limit: CPU 1 or the forwarder full, or packets
    # dropped before they reached a link's queue.
    summary["network_bound"] = (summary["cpu1_busy_pct"] > args.client_limit
                                or summary["forwarder_cpu_pct"] > args.client_limit
                                or summary["softnet_drops"] > 0)
    return rows, summary


def lag_ms(rows, r, key):
    """Latency behind live: a viewer's (arrival time − PCR) over the freshest deliveries of
    the run (the least 1st percentile of the classes': an unshaped link's). Same clock, same
    stream."""
    base = min((x["live_offset_p1_ms"] for x in rows if x.get("live_offset_p1_ms") is not None), default=None)
    v = r.get(key)
    return None if base is None or v is None else v - base


def lowat_cell(lowat):
    return "as shipped" if lowat is None else "unset" if lowat == 0 else f"{lowat // 1024} KiB"


def tables(class_rows, run_rows):
    lines = ["| server | cc | notsent lowat | class | link | viewers | at full rate | share % | behind | failed | "
             "p1 / p50 Mbit/s | TTFB p50 / p99 ms | keyframe p99 ms | behind live p50 / p99 / max ms | "
             "link drops | kernel KiB/viewer |",
             "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    runs = {}
    for r in class_rows:
        runs.setdefault(r["run"], []).append(r)
    for rows in runs.values():
        server, cc, lowat = rows[0]["server"], rows[0]["cc"], rows[0]["lowat"]
        for r in rows:
            full = r["ok"] - r["behind"] if r["behind"] is not None else None
            share = 100 * full / r["viewers"] if full is not None else None
            lags = " / ".join(fmt(lag_ms(rows, r, k), ".0f")
                              for k in ("live_offset_p50_ms", "live_offset_p99_ms", "live_offset_max_ms"))
            lines.append(
                f"| {server} | {cc} | {lowat_cell(lowat)} | {r['cls']} | {r['link']} | {r['viewers']} | {fmt(full, 'd')} | "
                f"{fmt(share, '.1f')} | {r['behind']} | {r['failures'] + r['closed_early']} | "
                f"{fmt(r['rate_p1_mbps'], '.2f')} / {fmt(r['rate_p50_mbps'], '.2f')} | "
                f"{fmt(r['ttfb_p50_ms'], '.0f')} / {fmt(r['ttfb_p99_ms'], '.0f')} | {fmt(r['keyframe_p99_ms'], '.0f')} | "
                f"{lags} | {r['link_drops']} | {r['kernel_kib_per_viewer']:.1f} |")
    lines += ["", "| server | cc | notsent lowat | share at full rate % | server CPU % | core 0 busy % (softirq) | "
                  "CPU 1 busy % (softirq) | forwarder CPU % | softnet drops | link drops | resyncs | slow drops | "
                  "network-bound |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for s in run_rows:
        lines.append(
            f"| {s['server']} | {s['cc']} | {lowat_cell(s['lowat'])} | {100 * s['at_full_rate'] / s['viewers']:.1f} | "
            f"{fmt(s['server_cpu_pct'], '.1f')} | {fmt(s['server_core_busy_pct'], '.1f')} "
            f"({s['core0_softirq_pct']:.1f}) | {s['cpu1_busy_pct']:.1f} ({s['cpu1_softirq_pct']:.1f}) | "
            f"{s['forwarder_cpu_pct']:.1f} | {s['softnet_drops']} | {s['link_drops']} | "
            f"{fmt(s.get('resyncs'), 'd')} | {fmt(s.get('slow_drops'), 'd')} | "
            f"{'**yes**' if s['network_bound'] else 'no'} |")
    return "\n".join(lines)
