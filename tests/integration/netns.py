"""A small network of "hosts" for tests: one network namespace per host, each joined by a
veth pair to a bridge this test makes in the root namespace (which also has an address on
it, so the test itself reaches every host). Addresses are in a 10.X.Y.0/24 of this process
nobody else routes; everything is removed on close (and at exit, should a test die).

    with Net(["origin", "edge", "viewers"]) as net:
        net.addr("origin")                      # "10.X.Y.1"
        Gordo(..., wrapper=net.wrap("origin"), listen=net.addr("origin"))
        net.popen("viewers", ["ffmpeg", ...])
        net.limit("viewers", "20mbit")          # tbf both ways on that host's link

Needs root and iproute2; `available()` says why not when it cannot run."""
import atexit
import os
import random
import subprocess

_open = []


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def available():
    """None when namespaces can be made here, else why not (for a skip)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"gprobe{os.getpid()}"
    r = _ip("netns", "add", probe, check=False)
    if r.returncode != 0:
        return "cannot create a network namespace: " + r.stderr.strip()
    _ip("netns", "del", probe, check=False)
    return None


def _free_subnet():
    """A 10.X.Y.0/24 no route of this machine covers."""
    routes = _ip("-4", "route", "show", "table", "all").stdout
    rng = random.Random(os.getpid())
    for _ in range(100):
        x, y = rng.randrange(64, 250), rng.randrange(1, 250)
        if f"10.{x}.{y}." not in routes:
            return f"10.{x}.{y}"
    raise RuntimeError("no free 10.X.Y.0/24 for a test network")


class Net:
    def __init__(self, hosts):
        self.tag = f"g{os.getpid() % 100000}{random.randrange(100, 999)}"
        self.subnet = _free_subnet()
        self.bridge = f"{self.tag}br"
        self.hosts = {}
        self.closed = False
        _open.append(self)
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            _ip("addr", "add", f"{self.subnet}.254/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
            for i, host in enumerate(hosts, start=1):
                self.add(host, i)
        except Exception:
            self.close()
            raise

    def add(self, host, index):
        ns, outside = f"{self.tag}-{host}", f"{self.tag}v{index}"
        _ip("netns", "add", ns)
        self.hosts[host] = (ns, outside, f"{self.subnet}.{index}")
        _ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns)
        _ip("link", "set", outside, "master", self.bridge, "up")
        for cmd in (["addr", "add", f"{self.subnet}.{index}/24", "dev", "eth0"],
                    ["link", "set", "eth0", "up"], ["link", "set", "lo", "up"]):
            _ip("-n", ns, *cmd)

    def addr(self, host):
        return self.hosts[host][2]

    def wrap(self, host):
        """The prefix that runs a command on `host` (Gordo's `wrapper`)."""
        return ["ip", "netns", "exec", self.hosts[host][0]]

    def popen(self, host, argv, **kwargs):
        return subprocess.Popen([*self.wrap(host), *argv], **kwargs)

    def run(self, host, argv, **kwargs):
        return subprocess.run([*self.wrap(host), *argv], **kwargs)

    def limit(self, host, rate, burst="64kb", latency="50ms"):
        """Caps `host`'s link at `rate` (tc syntax: 20mbit) each way, with a token bucket."""
        ns, outside, _ = self.hosts[host]
        tbf = ["qdisc", "replace", "dev", "{}", "root", "tbf", "rate", rate, "burst", burst,
               "latency", latency]
        subprocess.run(["tc", *[a.format(outside) for a in tbf]], check=True, capture_output=True)
        subprocess.run(["tc", "-n", ns, *[a.format("eth0") for a in tbf]], check=True,
                       capture_output=True)

    def cut(self, host):
        """Takes `host` off the network (its link down), as if its cable were pulled."""
        _ip("link", "set", self.hosts[host][1], "down")

    def close(self):
        if self.closed:
            return
        self.closed = True
        for ns, outside, _ in self.hosts.values():
            _ip("link", "del", outside, check=False)
            # Processes still in the namespace keep it alive after `del`; the tests stop theirs.
            _ip("netns", "del", ns, check=False)
        _ip("link", "del", self.bridge, check=False)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()


@atexit.register
def _close_all():
    for net in _open:
        net.close()
