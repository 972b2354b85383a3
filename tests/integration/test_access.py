"""Black-box: who may watch. Signed expiring URLs, IP allow and deny lists (IPv4 and
IPv6), per mount from a config file; refusals counted in /stats; the secret never logged."""
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import Gordo, capture, connect, make_media, request, split_response, wait_for

SECRET = "correct horse battery staple"


def signed(path, expires, ip=""):
    token = hmac.new(SECRET.encode(), f"{path}{expires}{ip}".encode(), hashlib.sha256).hexdigest()
    return f"{path}?expires={expires}&token={token}"


def get(port, target, host="127.0.0.1"):
    return split_response(request(port, f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), host=host))


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Access(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        media = make_media(os.path.join(cls.tmp.name, "in.ts"), seconds=4, fmt_args=("-f", "mpegts"))
        cls.secret_file = os.path.join(cls.tmp.name, "secret")
        with open(cls.secret_file, "w") as f:
            f.write(SECRET + "\n")
        cls.config = os.path.join(cls.tmp.name, "gordo.toml")
        with open(cls.config, "w") as f:
            f.write(f"""
access_log = "{cls.tmp.name}/access.log"
[[mount]]
path = "/open.ts"
input = "{media}"
loop = true
[[mount]]
path = "/paid.ts"
input = "{media}"
loop = true
token_secret_file = "{cls.secret_file}"
[[mount]]
path = "/bound.ts"
input = "{media}"
loop = true
token_secret_file = "{cls.secret_file}"
token_bind_ip = true
[[mount]]
path = "/office.ts"
input = "{media}"
loop = true
allow = "10.0.0.0/8, 2001:db8::/32"
[[mount]]
path = "/public.ts"
input = "{media}"
loop = true
allow = "0.0.0.0/0"
deny = "127.0.0.0/8"
""")
        cls.gordo = Gordo("--config", cls.config)
        time.sleep(1)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.gordo.__exit__(None, None, None)  # stops gordo, checks that it exited 0
        finally:
            cls.tmp.cleanup()

    def denied(self, path):
        mounts = json.loads(self.gordo.admin_get("/stats")[2])["mounts"]
        return next(m["denied"] for m in mounts if m["path"] == path)

    def test_signed_urls(self):
        port = self.gordo.port
        before = self.denied("/paid.ts")
        self.assertEqual(capture(port, "/open.ts", 1)[0], 200, "a mount without rules is open")
        later = int(time.time()) + 600
        status, _, body, _ = capture(port, signed("/paid.ts", later), 2)
        self.assertEqual(status, 200)
        self.assertGreater(len(body), 50_000)
        status, _, body = get(port, "/paid.ts")
        self.assertEqual(status, 403)
        self.assertIn(b"signed link", body)
        self.assertEqual(get(port, signed("/paid.ts", later).replace("token=", "token=0"))[0], 403)
        self.assertEqual(get(port, signed("/open.ts", later).replace("/open.ts?", "/paid.ts?"))[0], 403,
                         "a link for another path")
        status, _, body = get(port, signed("/paid.ts", int(time.time()) - 1))
        self.assertEqual(status, 403)
        self.assertIn(b"expired", body)
        self.assertEqual(self.denied("/paid.ts") - before, 4)
        self.assertEqual(capture(port, signed("/bound.ts", later, "127.0.0.1"), 1)[0], 200)
        self.assertEqual(get(port, signed("/bound.ts", later, "192.0.2.7"))[0], 403, "bound to another address")
        self.assertEqual(get(port, signed("/bound.ts", later))[0], 403, "bound links sign the address")

    def test_ip_lists(self):
        port = self.gordo.port
        status, _, body = get(port, "/office.ts")
        self.assertEqual(status, 403, "loopback is not in the allow list")
        self.assertIn(b"address", body)
        self.assertEqual(get(port, "/public.ts")[0], 403, "denied")
        self.assertGreaterEqual(self.denied("/office.ts"), 1)
        self.assertEqual(split_response(request(port, b"HEAD /office.ts HTTP/1.1\r\nHost: x\r\n\r\n"))[0], 403)

    @unittest.skipUnless(ipv6_loopback(), "no IPv6 loopback here")
    def test_ipv6_clients(self):
        with Gordo("--listen", "[::1]:0", "--mount", "/v6.ts", "--allow", "::1/128") as g:
            self.assertEqual(capture(g.port, "/v6.ts", 1, host="::1")[0], 200)
        with Gordo("--listen", "[::1]:0", "--mount", "/v6.ts", "--deny", "::1", "--allow", "::/0") as g:
            self.assertEqual(get(g.port, "/v6.ts", host="::1")[0], 403)

    def test_the_secret_is_never_logged(self):
        get(self.gordo.port, signed("/paid.ts", 1))

        def logged():  # the access log's writer thread writes the line soon after
            with open(os.path.join(self.tmp.name, "access.log")) as f:
                log = f.read()
            return log if "/paid.ts?" in log else None

        log = wait_for(logged, what="the request's line in the access log")
        self.assertIn("/paid.ts?expires=", log)
        self.assertNotIn(SECRET, log + self.gordo.log())



def basic(user, password):
    return "Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()).decode() + "\r\n"


def admin_get_as(g, path, authorization):
    """GET on the admin address with an Authorization line; returns (status, headers, body)."""
    host, port = re.match(r"http://([^:/]+):(\d+)/", g.stats_url).groups()
    return split_response(request(int(port), f"GET {path} HTTP/1.1\r\nHost: x\r\n{authorization}\r\n".encode(),
                                  host=host))


class Users(unittest.TestCase):
    """htpasswd files: bcrypt for the admin endpoint, SHA-crypt for encoders."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.admins = os.path.join(cls.tmp.name, "admins")
        with open(cls.admins, "w") as f:
            f.write(subprocess.run(["htpasswd", "-nbB", "-C", "5", "ops", "scrape me"], check=True,
                                   capture_output=True, text=True).stdout)
        cls.sources = os.path.join(cls.tmp.name, "sources")
        with open(cls.sources, "w") as f:
            sha = subprocess.run(["openssl", "passwd", "-6", "studio pw"], check=True, capture_output=True,
                                 text=True).stdout.strip()
            f.write(f"studio:{sha}\n")
        cls.media = make_media(os.path.join(cls.tmp.name, "in.ts"), seconds=4, fmt_args=("-f", "mpegts"))
        # What an operator deploys: bcrypt at cost 12, a quarter of a second of CPU per check.
        cls.slow_admins = os.path.join(cls.tmp.name, "slow-admins")
        with open(cls.slow_admins, "w") as f:
            for user, password in (("ops", "scrape me"), ("grafana", "dashboards")):
                f.write(subprocess.run(["htpasswd", "-nbB", "-C", "12", user, password], check=True,
                                       capture_output=True, text=True).stdout.strip() + "\n")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_admin_endpoint(self):
        with Gordo("--admin-htpasswd", self.admins) as g:
            port = int(re.match(r"http://[^:]+:(\d+)/", g.stats_url).group(1))
            status, headers, _ = split_response(request(port, b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n"))
            self.assertEqual(status, 401)
            self.assertIn("Basic", headers["www-authenticate"])
            wrong = f"GET /metrics HTTP/1.1\r\nHost: x\r\n{basic('ops', 'nope')}\r\n".encode()
            self.assertEqual(split_response(request(port, wrong))[0], 401)
            right = f"GET /stats HTTP/1.1\r\nHost: x\r\n{basic('ops', 'scrape me')}\r\n".encode()
            status, _, body = split_response(request(port, right))
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["process"]["admin_denied"], 2)

    def test_wrong_guesses_do_not_starve_operators(self):
        """100 wrong passwords at once against bcrypt cost 12 must not stand in front of an
        operator's /stats: checked one at a time in arrival order, they delayed it by ~24 s.
        Whether they did is read from the answer itself, not from a clock: `admin_denied`
        in the operator's /stats counts the wrong guesses checked before it was answered.
        All 100 were sent (each on its own connection, accepted by the kernel) before the
        operator asks, so a server that takes them in turn answers her with 100 there; one
        that does not let them starve her checks at most a few of them first (one address's
        guesses are checked one at a time, and each takes a quarter of a second while the
        100 are sent in milliseconds), so 10 cannot be reached by a slow machine either."""
        with Gordo("--admin-htpasswd", self.slow_admins) as g:
            port = int(re.match(r"http://[^:]+:(\d+)/", g.stats_url).group(1))

            def ask(user, password, source):
                s = socket.socket()
                s.settimeout(120)
                s.bind((source, 0))
                s.connect(("127.0.0.1", port))
                s.sendall(f"GET /stats HTTP/1.1\r\nHost: x\r\n{basic(user, password)}\r\n".encode())
                return s

            def answer(s):
                with s:
                    data = b""
                    while chunk := s.recv(65536):
                        data += chunk
                return split_response(data)

            status, _, body = answer(ask("ops", "scrape me", "127.0.0.1"))
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["process"]["admin_denied"], 0)
            guesses = [ask("ops", f"guess {i}", "127.0.0.1") for i in range(100)]
            # The operator who scraped before, from the guesses' own address: her
            # credentials are known good, so no check stands between her and the answer.
            status, _, body = answer(ask("ops", "scrape me", "127.0.0.1"))
            self.assertEqual(status, 200)
            self.assertLessEqual(json.loads(body)["process"]["admin_denied"], 10)
            # A user seen for the first time, from another address: one check of her own,
            # beside (not behind) the guesses'.
            status, _, body = answer(ask("grafana", "dashboards", "127.0.0.2"))
            self.assertEqual(status, 200)
            self.assertLessEqual(json.loads(body)["process"]["admin_denied"], 10)
            # Every guess was answered: refused for its password (401, counted and logged), or
            # told to come back (503 with Retry-After) while its address had a check running.
            refused = 0
            for s in guesses:
                status, headers, _ = answer(s)
                self.assertIn(status, (401, 503))
                if status == 401:
                    refused += 1
                    self.assertIn("Basic", headers["www-authenticate"])
                else:
                    self.assertEqual(headers["retry-after"], "1")
            self.assertGreaterEqual(refused, 1)
            self.assertEqual(json.loads(admin_get_as(g, "/stats", basic("ops", "scrape me"))[2])
                             ["process"]["admin_denied"], refused)
            self.assertIn("refused for user 'ops'", g.log())
            self.assertNotIn("guess", g.log())

    def test_reload_reads_the_users_again_and_forgets_what_was_cached(self):
        users = os.path.join(self.tmp.name, "reloaded-users")
        config = os.path.join(self.tmp.name, "reloaded.toml")
        with open(config, "w") as f:
            f.write(f'admin_htpasswd = "{users}"\n')

        def write_users(password):
            with open(users, "w") as f:
                f.write(subprocess.run(["htpasswd", "-nbB", "-C", "5", "ops", password], check=True,
                                       capture_output=True, text=True).stdout)

        write_users("old password")
        with Gordo("--config", config) as g:
            self.assertEqual(admin_get_as(g, "/stats", basic("ops", "old password"))[0], 200)  # now cached
            write_users("new password")
            g.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 20
            while g.log().count("1 user from the htpasswd file") < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertIn("1 user from the htpasswd file, none cached", g.log())
            self.assertEqual(admin_get_as(g, "/stats", basic("ops", "old password"))[0], 401)
            self.assertEqual(admin_get_as(g, "/stats", basic("ops", "new password"))[0], 200)

    def test_encoders_as_users(self):
        with Gordo("--mount", "/live.ts=push", "--source-htpasswd", self.sources) as g:
            head = b"PUT /live.ts HTTP/1.1\r\nHost: x\r\nContent-Length: 188\r\n"
            status, headers, _ = split_response(request(g.port, head + basic("studio", "wrong").encode() + b"\r\n"
                                                        + b"\x47" + b"\xff" * 187))
            self.assertEqual(status, 401)
            self.assertIn("Basic", headers["www-authenticate"])
            update = f"GET /admin/metadata?mode=updinfo&mount=/live.ts&song=x HTTP/1.1\r\nHost: x\r\n{basic('studio', 'studio pw')}\r\n"
            self.assertEqual(split_response(request(g.port, update.encode()))[0], 401,
                             "no encoder was let in as that user yet")
            encoder = subprocess.Popen(["ffmpeg", "-v", "error", "-re", "-stream_loop", "-1", "-i", self.media, "-c",
                                        "copy", "-f", "mpegts", "-method", "PUT", "-auth_type", "basic",
                                        f"http://studio:studio%20pw@127.0.0.1:{g.port}/live.ts"],
                                       stdin=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 20
                state = None
                while time.monotonic() < deadline and state != "live":
                    mount = json.loads(g.admin_get("/stats")[2])["mounts"][0]
                    state = mount["state"]
                    time.sleep(0.2)
                self.assertEqual(state, "live", g.log())
                self.assertEqual(mount["denied"], 2, "the wrong push and the metadata update")
                self.assertEqual(capture(g.port, "/live.ts", 2)[0], 200)
                self.assertIn("user 'studio' unknown or wrong password", g.log())
                # Now the pushing user's credentials update the title; a wrong password does not.
                wrong = f"GET /admin/metadata?mode=updinfo&mount=/live.ts&song=y HTTP/1.1\r\nHost: x\r\n{basic('studio', 'studio')}\r\n"
                self.assertEqual(split_response(request(g.port, wrong.encode()))[0], 401)
                right = ("GET /admin/metadata?mode=updinfo&mount=/live.ts&song=Studio%20Live HTTP/1.1\r\nHost: x\r\n"
                         f"{basic('studio', 'studio pw')}\r\n")
                self.assertEqual(split_response(request(g.port, right.encode()))[0], 200)
                self.assertIn("title 'Studio Live'", g.log())
                self.assertNotIn("title 'y'", g.log())
                self.assertEqual(json.loads(g.admin_get("/stats")[2])["mounts"][0]["denied"], 3)
            finally:
                encoder.terminate()
                encoder.wait()


if __name__ == "__main__":
    unittest.main()
