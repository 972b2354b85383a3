"""The Debian package (tools/package, debian/): built from this tree with no lintian error,
installed on this machine with apt as an operator would, its files, conffiles, man pages,
unit and binaries checked, the installed gordo serving, then purged leaving nothing.
Needs root and tools/install-deps' debhelper, scdoc and lintian. It touches no gordo that was
on the machine before it ran: it skips where a gordo package is known to dpkg in any state
(installed, or removed with its configuration kept), or where any path the package owns or
its service makes exists already (a `meson install`, an operator's config or logs)."""
import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import GORDO, capture, request, split_response

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
OUT = os.path.join(os.path.dirname(os.path.abspath(GORDO)), "deb")

# What the package puts on the machine, beside /usr/share/doc.
FILES = [
    "/usr/bin/gordo",
    "/usr/bin/gordo-load",
    "/lib/systemd/system/gordo.service",
    "/usr/lib/sysctl.d/60-gordo.conf",
    "/etc/gordo/gordo.toml",
    "/etc/default/gordo",
    "/etc/logrotate.d/gordo",
    "/usr/share/man/man1/gordo.1.gz",
    "/usr/share/man/man5/gordo.toml.5.gz",
    "/usr/share/man/man1/gordo-load.1.gz",
    "/usr/share/doc/gordo/copyright",
    "/usr/share/doc/gordo/examples/gordo.example.toml",
]
CONFFILES = ["/etc/gordo/gordo.toml", "/etc/default/gordo", "/etc/logrotate.d/gordo"]
# What the service makes as it runs (LogsDirectory=, StateDirectory= with DynamicUser=).
SERVICE_DIRS = ["/etc/gordo", "/var/log/gordo", "/var/log/private/gordo", "/var/lib/gordo",
                "/var/lib/private/gordo"]


def run(*cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def known_to_dpkg():
    """True unless dpkg has never heard of gordo or has purged it: installed, half-installed
    or removed with its conffiles kept all count."""
    r = run("dpkg-query", "-W", "-f=${Status}", "gordo", check=False)
    return r.returncode == 0 and r.stdout.split()[-1:] != ["not-installed"]


def man_text(*page):
    """A man page as plain ASCII text (LC_ALL=C: a hyphen stays -)."""
    return run("man", *page, env=dict(os.environ, MANWIDTH="200", LC_ALL="C")).stdout


@unittest.skipUnless(os.geteuid() == 0, "installs a package: needs root")
@unittest.skipUnless(all(shutil.which(t) for t in ("dpkg-buildpackage", "lintian", "scdoc")),
                     "needs debhelper, lintian and scdoc (tools/install-deps)")
class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if known_to_dpkg():
            raise unittest.SkipTest("dpkg knows a gordo package here already: not replaced")
        there = [p for p in FILES + SERVICE_DIRS if os.path.lexists(p)]
        if there:
            raise unittest.SkipTest(f"a gordo is on this machine already ({', '.join(there)}): not replaced")
        # Builds and runs lintian (an error fails tools/package).
        r = run(os.path.join(ROOT, "tools/package"), env=dict(os.environ, PACKAGE_DIR=OUT), cwd=ROOT)
        cls.lintian = r.stdout
        debs = glob.glob(os.path.join(OUT, "gordo_*.deb"))
        assert len(debs) == 1, debs
        cls.deb = debs[0]
        cls.version = run("dpkg-deb", "-f", cls.deb, "Version").stdout.strip()

    def test_install_check_purge(self):
        # /var/log/private as systemd makes it (0700: it refuses a looser one), if the
        # machine has none yet; removed again at the end, after the purge.
        if not os.path.lexists("/var/log/private"):
            os.mkdir("/var/log/private", 0o700)
            self.addCleanup(os.rmdir, "/var/log/private")
        # Purged however the test ends, a failed install included (never a gordo of
        # someone else's: setUpClass made sure there was none).
        self.addCleanup(run, "dpkg", "--purge", "gordo", check=False)
        run("apt-get", "install", "-y", "-q", "--no-install-recommends", self.deb,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        self.check_installed()
        owned = [f for f in run("dpkg", "-L", "gordo").stdout.splitlines() if os.path.isfile(f)]
        # The service's log directory with a log in it, as systemd (LogsDirectory=,
        # DynamicUser=) and gordo would leave them.
        os.mkdir("/var/log/private/gordo", 0o755)
        os.symlink("private/gordo", "/var/log/gordo")
        open("/var/log/gordo/access.log", "w").close()
        run("dpkg", "--purge", "gordo")
        self.assertFalse(known_to_dpkg())
        self.assertTrue(owned)
        left = [f for f in owned + SERVICE_DIRS if os.path.lexists(f)]
        self.assertEqual(left, [], "left behind by dpkg --purge")

    def check_installed(self):
        for f in FILES:
            self.assertTrue(os.path.isfile(f), f)
        conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", "gordo").stdout
        for f in CONFFILES:
            self.assertIn(f + " ", conffiles)

        # The installed binaries are this version, and the packaged config is valid.
        # The package is meson's version, the commit's time and hash: 0.1.0+git...
        self.assertEqual(run("/usr/bin/gordo", "--version").stdout.split(), ["gordo", self.version.split("+")[0]])
        self.assertRegex(self.version, r"^\d+\.\d+\.\d+\+git\d{14}\.[0-9a-f]+(\.dirty)?$")
        self.assertIn("--viewers", run("/usr/bin/gordo-load", "--help").stdout)
        checked = run("/usr/bin/gordo", "--config", "/etc/gordo/gordo.toml", "--check-config").stdout
        self.assertIn("/live.ts <- built-in test pattern", checked)
        self.assertIn('GORDO_OPTS="--config /etc/gordo/gordo.toml"', open("/etc/default/gordo").read())

        # Man pages: found by man, and every flag --help names is in gordo(1), every key of
        # the example config in gordo.toml(5).
        self.assertEqual(run("man", "-w", "gordo").stdout.strip(), "/usr/share/man/man1/gordo.1.gz")
        self.assertEqual(run("man", "-w", "5", "gordo.toml").stdout.strip(), "/usr/share/man/man5/gordo.toml.5.gz")
        page = man_text("gordo")
        flags = set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z-]+)", run("/usr/bin/gordo", "--help").stdout, re.M))
        self.assertGreater(len(flags), 50)
        self.assertEqual(sorted(f for f in flags if f not in page), [])
        self.assertIn("SIGUSR1", page)
        load_page = man_text("gordo-load")
        load_flags = set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z-]+)", run("/usr/bin/gordo-load", "--help").stdout, re.M))
        self.assertGreater(len(load_flags), 20)
        self.assertEqual(sorted(f for f in load_flags if f not in load_page), [])
        toml_page = man_text("5", "gordo.toml")
        example = open("/usr/share/doc/gordo/examples/gordo.example.toml").read()
        keys = set(re.findall(r"^#? ?([a-z_]+) = ", example, re.M)) - {"path", "input"}
        self.assertGreater(len(keys), 30)
        self.assertEqual(sorted(k for k in keys if k not in toml_page), [])

        # The unit as installed verifies, and names the binary installed.
        unit = open("/lib/systemd/system/gordo.service").read()
        self.assertIn("ExecStart=/usr/bin/gordo $GORDO_OPTS", unit)
        r = run("systemd-analyze", "verify", "--man=no", "/lib/systemd/system/gordo.service", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([l for l in r.stderr.splitlines() if "gordo.service" in l], [])
        # logrotate reads the snippet (-d: debug, changes nothing).
        r = run("logrotate", "-d", "/etc/logrotate.d/gordo", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("/var/log/gordo/*.log", r.stderr)

        # The installed gordo serves its packaged config (ports and log moved aside).
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "access.log")
            proc = subprocess.Popen(["/usr/bin/gordo", "--config", "/etc/gordo/gordo.toml", "--listen",
                                     "127.0.0.1:0", "--admin-listen", "off", "--access-log", log],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                line = proc.stdout.readline()
                m = re.match(r"gordo: play http://127\.0\.0\.1:(\d+)/live\.ts", line)
                self.assertTrue(m, line + proc.stderr.read() if not line else line)
                status, headers, body, _ = capture(int(m.group(1)), "/live.ts", 2)
                self.assertEqual(status, 200)
                self.assertEqual(headers["content-type"], "video/mp2t")
                self.assertGreater(len(body), 50_000)
                self.assertEqual(body[0], 0x47)
                status, _, playlist = split_response(
                    request(int(m.group(1)), b"GET /live.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n"))
                self.assertEqual(status, 200)
                self.assertTrue(playlist.startswith(b"#EXTM3U"), playlist[:100])
            finally:
                proc.terminate()
                self.assertEqual(proc.wait(timeout=20), 0)
            self.assertIn('"GET /live.ts HTTP/1.1" 200', open(log).read())


if __name__ == "__main__":
    unittest.main()
