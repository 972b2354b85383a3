"""Black-box: encoders pushing to gordo (ffmpeg -method PUT, icecast://, raw requests),
and what viewers see while the encoder comes and goes."""
import json
import os
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (Gordo, Viewer, capture, connect, decode_errors, make_media, split_response, streams,
                     ts_packets, video_packets, wait_for, write)

PASSWORD = "hackme"


def put(port, media, path="/live.ts", password=PASSWORD, loop=True, method="PUT"):
    """ffmpeg pushing `media` in real time as MPEG-TS with HTTP PUT (or POST), chunked."""
    return subprocess.Popen(["ffmpeg", "-v", "error", "-re", *(["-stream_loop", "-1"] if loop else []), "-i", media,
                             "-c", "copy", "-f", "mpegts", "-method", method, "-auth_type", "basic",
                             f"http://source:{password}@127.0.0.1:{port}{path}"],
                            stdin=subprocess.DEVNULL)


def stop(proc, kill=False):
    if proc.poll() is None:
        proc.kill() if kill else proc.terminate()
    proc.wait()


def state(g, path):
    mounts = json.loads(g.admin_get("/stats")[2])["mounts"]
    return next(m["state"] for m in mounts if m["path"] == path)


def wait_state(g, path, want, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state(g, path) == want:
            return want
        time.sleep(0.2)
    return state(g, path)


def raw_request(port, head, body=b"", wait=3):
    """Sends a request (and body) and returns (status, headers, body) of the answer."""
    with connect(port) as s:
        s.sendall(head + body)
        s.settimeout(wait)
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
                if b"\r\n\r\n" in data and data.split(b"\r\n\r\n", 1)[0].split()[1] != b"100":
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    return split_response(data)


def push_answer(port, head, body=b"", wait=30):
    """raw_request() for a push, again while another push still holds the mount (409): a
    refused encoder's connection is released just after its answer."""
    deadline = time.monotonic() + wait
    while True:
        status, headers, answer = raw_request(port, head, body, wait=wait)
        if status != 409 or time.monotonic() > deadline:
            return status, headers, answer
        time.sleep(0.1)

def read_head(s, timeout=10):
    """The bytes of one response head (through its blank line) read from socket `s`."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(1)  # one at a time: what follows the head stays in the socket
        if not chunk:
            break
        data += chunk
    return data


def icy_split(body, metaint):
    """Audio bytes and the metadata blocks' texts of an ICY stream."""
    audio, texts, i = bytearray(), [], 0
    while i < len(body):
        audio += body[i:i + metaint]
        i += metaint
        if i >= len(body):
            break
        n = body[i] * 16
        if n:
            texts.append(body[i + 1:i + 1 + n].rstrip(b"\0").decode())
        i += 1 + n
    return bytes(audio), texts


def icy_capture(port, path, seconds):
    with connect(port) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nIcy-MetaData: 1\r\n\r\n".encode())
        data, end = b"", time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            s.settimeout(left)
            try:
                if not (chunk := s.recv(65536)):
                    break
            except TimeoutError:
                break
            data += chunk
    return split_response(data)


class Push(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        # What an encoder loops is long enough that no seam of ffmpeg's -stream_loop falls in a
        # capture that is decoded (with -c copy its timestamps repeat at the seam, before gordo).
        cls.small = make_media(os.path.join(cls.tmp.name, "small.ts"), seconds=4, fmt_args=("-f", "mpegts"))
        cls.live = make_media(os.path.join(cls.tmp.name, "live.ts"), seconds=20, fmt_args=("-f", "mpegts"))
        cls.large = make_media(os.path.join(cls.tmp.name, "large.ts"), seconds=20, size="640x360",
                               fmt_args=("-f", "mpegts"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def gordo(self, *args):
        return Gordo("--mount", "/live.ts=push", "--mount", "/live.flv=push:/live.ts", "--mount", "/pull.ts",
                     "--source-password", PASSWORD, *args)

    def test_put_from_ffmpeg_feeds_every_mount_of_the_push(self):
        with self.gordo() as g:
            status, headers, body = raw_request(g.port, b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(status, 503, "no encoder yet")
            self.assertEqual(headers["retry-after"], "5")
            self.assertEqual(state(g, "/live.ts"), "waiting")
            encoder = put(g.port, self.live)
            try:
                self.assertEqual(wait_state(g, "/live.ts", "live"), "live")
                self.assertEqual(state(g, "/live.flv"), "live")
                time.sleep(2)
                for path, codecs in (("/live.ts", ["aac", "h264"]), ("/live.flv", ["aac", "h264"])):
                    status, headers, body, closed = capture(g.port, path, 3)
                    self.assertEqual(status, 200, path)
                    saved = write(self.tmp.name, "put" + path.replace("/", "_"), body)
                    self.assertEqual(sorted(s["codec_name"] for s in streams(saved)), codecs, path)
                    self.assertIn("K", video_packets(saved)[0]["flags"], path)
                    self.assertEqual(decode_errors(saved), "", path)
                self.assertIn("encoder 127.0.0.1 connected", g.log())
            finally:
                stop(encoder)
            self.assertEqual(g.stop(), 0)

    def test_icecast_clients(self):
        with Gordo("--mount", "/radio.mp3=push", "--source-password", PASSWORD) as g:
            for legacy in ("0", "1"):  # PUT with Expect: 100-continue, then the SOURCE method
                encoder = subprocess.Popen(
                    ["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "sine=frequency=500:sample_rate=44100",
                     "-c:a", "libmp3lame", "-content_type", "audio/mpeg", "-legacy_icecast", legacy, "-f", "mp3",
                     f"icecast://source:{PASSWORD}@127.0.0.1:{g.port}/radio.mp3"], stdin=subprocess.DEVNULL)
                try:
                    self.assertEqual(wait_state(g, "/radio.mp3", "live"), "live", g.log())
                    status, headers, body, _ = capture(g.port, "/radio.mp3", 3)
                    self.assertEqual(status, 200)
                    self.assertEqual(headers["content-type"], "audio/mpeg")
                    saved = write(self.tmp.name, f"icecast{legacy}.mp3", body)
                    self.assertEqual([s["codec_name"] for s in streams(saved)], ["mp3"])
                    self.assertEqual(decode_errors(saved), "")
                finally:
                    stop(encoder)
                self.assertEqual(wait_state(g, "/radio.mp3", "hungry"), "hungry")

    def test_expect_100_continue_is_answered_before_the_body(self):
        with self.gordo() as g:
            with open(self.small, "rb") as f:
                media = f.read()
            head = (b"PUT /live.ts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: video/mp2t\r\n"
                    b"Expect: 100-continue\r\nContent-Length: " + str(len(media)).encode() + b"\r\n")
            with connect(g.port) as s:
                s.sendall(head + b"Authorization: Basic c291cmNlOmhhY2ttZQ==\r\n\r\n")  # source:hackme
                # Not one byte of the body yet: the encoder waits for this before sending it.
                interim = read_head(s)
                self.assertEqual(interim, b"HTTP/1.1 100 Continue\r\n\r\n")
                s.sendall(media)
                final = read_head(s, timeout=30)
            self.assertTrue(final.startswith(b"HTTP/1.1 200 "), final)
            self.assertIn("encoder 127.0.0.1 connected", g.log())
            wait_for(lambda: f"finished after {len(media)} bytes" in g.log(), what="the whole body read")
            with connect(g.port) as s:  # a refused push gets its final answer, no 100
                s.sendall(head + b"Authorization: Basic c291cmNlOm5v\r\n\r\n")
                self.assertTrue(read_head(s).startswith(b"HTTP/1.1 401 "))
            self.assertEqual(g.stop(), 0)

    def test_refused_pushes(self):
        with self.gordo() as g:
            head = b"PUT /live.ts HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp2t\r\n"
            auth = b"Authorization: Basic c291cmNlOmhhY2ttZQ==\r\n"  # source:hackme
            status, headers, body = raw_request(g.port, head + b"Authorization: Basic c291cmNlOm5v\r\n\r\n", b"x")
            self.assertEqual(status, 401, "wrong password")
            self.assertIn("Basic", headers["www-authenticate"])
            status, _, _ = raw_request(g.port, head + b"\r\n", b"x")
            self.assertEqual(status, 401, "no password")
            status, _, _ = raw_request(g.port, head + auth + b"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
            self.assertEqual(status, 400, "a length and chunked: smuggling")
            status, _, _ = raw_request(g.port, b"PUT /pull.ts HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n", b"x")
            self.assertEqual(status, 405, "a pulled mount")
            status, _, _ = raw_request(g.port, b"PUT /nope.ts HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n", b"x")
            self.assertEqual(status, 404)
            garbage = os.urandom(400_000)
            status, _, body = raw_request(g.port, head + auth + f"Content-Length: {len(garbage)}\r\n\r\n".encode(),
                                          garbage, wait=15)
            self.assertEqual(status, 415, "random bytes are no stream")
            self.assertIn(b"cannot read a stream", body)

            encoder = put(g.port, self.small)
            try:
                self.assertEqual(wait_state(g, "/live.ts", "live"), "live")
                status, _, body = raw_request(g.port, head + auth + b"\r\n", b"x")
                self.assertEqual(status, 409, "one encoder at a time")
                viewer = Viewer(g.port, "/pull.ts", 4)
                status, _, _ = raw_request(g.port, head + auth + b"Content-Length: 100000\r\n\r\n", os.urandom(100_000))
                self.assertEqual(status, 409)
                status, _, body = viewer.result()
                self.assertEqual(status, 200)
                self.assertGreater(len(body), 100_000, "other mounts play on")
                self.assertEqual(encoder.poll(), None, "the first encoder is still pushing")
            finally:
                stop(encoder)

    def test_bad_chunk_sizes_are_400_not_415(self):
        # Chunked framing is HTTP's, not the stream's: a bad size is a bad request, whatever follows.
        with self.gordo() as g:
            head = (b"PUT /live.ts HTTP/1.1\r\nHost: x\r\nAuthorization: Basic c291cmNlOmhhY2ttZQ==\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n")
            with open(self.small, "rb") as f:
                media = f.read()
            for body in (b"-5\r\nabcde\r\n0\r\n\r\n",                  # negative
                         b"123456789abcdef012\r\nabcde\r\n0\r\n\r\n",  # 18 hex digits: past 64 bits
                         b"zz\r\nabcde\r\n0\r\n\r\n",                  # not hex
                         b"%x\r\n" % len(media) + media + b"\r\n-1\r\n"):  # a stream, then a bad size
                status, _, answer = push_answer(g.port, head, body)
                self.assertEqual(status, 400, body[:30])
                self.assertIn(b"bad chunk size", answer)
            self.assertIn("push from 127.0.0.1 refused (400): bad chunk size '-5'", g.log())
            self.assertNotIn("415", g.log())

    def test_an_encoder_that_sends_no_body_gets_408(self):
        with self.gordo("--source-timeout", "2s") as g:
            for framing in (b"Content-Length: 1000000\r\n", b"Transfer-Encoding: chunked\r\n", b""):
                head = (b"PUT /live.ts HTTP/1.1\r\nHost: x\r\nAuthorization: Basic c291cmNlOmhhY2ttZQ==\r\n" +
                        framing + b"\r\n")
                status, _, answer = push_answer(g.port, head)
                self.assertEqual(status, 408, framing)
                self.assertIn(b"no body arrived within 2 s", answer)
            self.assertIn("refused (408): no body arrived within 2 s of the request", g.log())
            self.assertEqual(state(g, "/live.ts"), "waiting")

    def test_a_push_cut_short_of_its_length_is_truncated_not_finished(self):
        with open(self.small, "rb") as f:
            media = f.read()
        with self.gordo() as g:
            with connect(g.port) as s:
                s.sendall(b"PUT /live.ts HTTP/1.1\r\nHost: x\r\nAuthorization: Basic c291cmNlOmhhY2ttZQ==\r\n" +
                          b"Content-Length: %d\r\n\r\n" % (len(media) + 100_000) + media)
                self.assertEqual(wait_state(g, "/live.ts", "live"), "live")
                s.shutdown(socket.SHUT_WR)  # the encoder stops 100,000 bytes early
                s.settimeout(20)
                answer = b""
                while chunk := s.recv(65536):
                    answer += chunk
            self.assertEqual(wait_state(g, "/live.ts", "hungry"), "hungry")
            status, _, body = split_response(answer)
            self.assertEqual(status, 400, "not the 200 of a whole body")
            self.assertIn(b"the body ended after %d of %d bytes" % (len(media), len(media) + 100_000), body)
            self.assertIn(f"encoder 127.0.0.1 truncated: the body ended after {len(media)} of {len(media) + 100_000} "
                          "bytes", g.log())
            self.assertNotIn("encoder 127.0.0.1 finished", g.log())
            self.assertEqual(g.stop(), 0)

    def test_a_push_to_a_mount_that_takes_another_mounts_push_is_refused(self):
        # /live.flv = push:/live.ts: an encoder pushing to /live.flv once became /live.ts's.
        with self.gordo() as g:
            auth = b"Authorization: Basic c291cmNlOmhhY2ttZQ==\r\n"
            status, headers, body = raw_request(g.port, b"PUT /live.flv HTTP/1.1\r\nHost: x\r\n" + auth +
                                                b"Content-Length: 1\r\n\r\n", b"x")
            self.assertEqual(status, 405)
            self.assertEqual(headers["allow"], "GET, HEAD")
            self.assertEqual(body, b"push to /live.ts; /live.flv takes its stream from there\n")
            encoder = put(g.port, self.small, path="/live.flv", loop=False)
            try:
                encoder.wait(timeout=60)
            finally:
                stop(encoder)
            self.assertEqual(state(g, "/live.ts"), "waiting", "no encoder was taken")
            self.assertEqual(g.log().count(
                "/live.flv: push from 127.0.0.1 refused: this mount takes the stream pushed to /live.ts"), 2)
            self.assertEqual(g.stop(), 0)

    def test_viewers_stay_while_the_encoder_is_gone_and_resume(self):
        with self.gordo() as g:
            encoder = put(g.port, self.small)
            try:
                self.assertEqual(wait_state(g, "/live.ts", "live"), "live")
                time.sleep(1)
                ts_viewer, flv_viewer = Viewer(g.port, "/live.ts", 16), Viewer(g.port, "/live.flv", 16)
                time.sleep(3)
                stop(encoder, kill=True)  # no goodbye: the connection just drops
                self.assertEqual(wait_state(g, "/live.ts", "hungry"), "hungry")
                time.sleep(2)
                before = len(ts_viewer.data), len(flv_viewer.data)
                encoder = put(g.port, self.small, method="POST")
                self.assertEqual(wait_state(g, "/live.ts", "live"), "live")
                wait_for(lambda: all(len(v.data) - b > 100_000 or not v.is_alive()
                                     for v, b in ((ts_viewer, before[0]), (flv_viewer, before[1]))),
                         timeout=10, what="both viewers to receive the stream again")
                after = len(ts_viewer.data), len(flv_viewer.data)
                for viewer in (ts_viewer, flv_viewer):
                    viewer.finish()
                    self.assertFalse(viewer.closed, viewer.path)
                self.assertGreater(after[0] - before[0], 100_000, "MPEG-TS resumed")
                self.assertGreater(after[1] - before[1], 100_000, "FLV resumed: the same tracks, the same header")
                self.assertRegex(g.log(), r"source push to /live.ts \(/live.ts, /live.flv\) is hungry")
                ts_packets(split_response(bytes(ts_viewer.data))[2])
            finally:
                stop(encoder)

    def test_a_source_with_other_tracks_closes_viewers_that_need_a_new_header(self):
        with self.gordo() as g:
            encoder = put(g.port, self.live)
            try:
                self.assertEqual(wait_state(g, "/live.ts", "live"), "live")
                time.sleep(1)
                ts_viewer, flv_viewer = Viewer(g.port, "/live.ts", 14), Viewer(g.port, "/live.flv", 14)
                time.sleep(3)
                stop(encoder)
                self.assertEqual(wait_state(g, "/live.ts", "hungry"), "hungry")
                encoder = put(g.port, self.large)
                self.assertEqual(wait_state(g, "/live.ts", "live"), "live")
                time.sleep(4)
                status, _, body, _ = capture(g.port, "/live.flv", 3)
                saved = write(self.tmp.name, "new.flv", body)
                video = [s for s in streams(saved) if s["codec_type"] == "video"][0]
                self.assertEqual((video["width"], video["height"]), (640, 360), "a new viewer gets the new header")
                ts_viewer.result()
                flv_viewer.result()
                self.assertTrue(flv_viewer.closed, "FLV's header is out of band: its viewer is closed at the change")
                old = write(self.tmp.name, "old.flv", split_response(bytes(flv_viewer.data))[2])
                self.assertEqual(decode_errors(old), "", "and what it got decodes")
                self.assertFalse(ts_viewer.closed, "MPEG-TS carries the new tables in band: its viewer goes on")
                self.assertGreater(ts_viewer.bytes_between(9, 14), 50_000)
                self.assertIn("came back with other tracks", g.log())
            finally:
                stop(encoder)

    def test_a_lost_source_closes_its_viewers_until_it_returns(self):
        with self.gordo("--lost-timeout", "2s") as g:
            encoder = put(g.port, self.small)
            try:
                self.assertEqual(wait_state(g, "/live.ts", "live"), "live")
                viewer = Viewer(g.port, "/live.ts", 30)
                time.sleep(2)
                stop(encoder)
                self.assertEqual(wait_state(g, "/live.ts", "lost", timeout=10), "lost")
                deadline = time.monotonic() + 5
                while viewer.is_alive() and time.monotonic() < deadline:
                    time.sleep(0.1)
                self.assertTrue(viewer.closed, "a lost source's viewers are closed")
                ts_packets(split_response(bytes(viewer.data))[2])
                status, _, _ = raw_request(g.port, b"GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertEqual(status, 503)
                self.assertIn("is lost", g.log())
                encoder = put(g.port, self.small)
                self.assertEqual(wait_state(g, "/live.ts", "live"), "live")
                status, _, body, _ = capture(g.port, "/live.ts", 2)
                self.assertEqual(status, 200)
                self.assertGreater(len(body), 50_000)
            finally:
                stop(encoder)


    def test_icy_metadata_from_tags_and_from_the_encoder(self):
        tagged = os.path.join(self.tmp.name, "tagged.mp3")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=4:sample_rate=44100",
                        "-c:a", "libmp3lame", "-b:a", "128k", "-metadata", "title=First Song",
                        "-metadata", "artist=Gordo", tagged], check=True)
        with Gordo("--mount", f"/file.mp3={tagged}", "--loop", "--mount", "/radio.mp3=push",
                   "--source-password", PASSWORD) as g:
            status, headers, body = icy_capture(g.port, "/file.mp3", 4)
            self.assertEqual(status, 200)
            metaint = int(headers["icy-metaint"])
            self.assertEqual(metaint, 16000)
            audio, texts = icy_split(body, metaint)
            self.assertGreater(len(audio), 3 * metaint)
            self.assertEqual(texts[:1], ["StreamTitle='Gordo - First Song';"], "the source's tags, in the first block")
            self.assertEqual(len(texts), 1, "later blocks are empty: no change")
            self.assertEqual(decode_errors(write(self.tmp.name, "icy.mp3", audio)), "",
                             "the audio between the blocks is whole MP3")
            status, headers, body, _ = capture(g.port, "/file.mp3", 1)
            self.assertNotIn("icy-metaint", headers, "only for players that ask")
            self.assertEqual(body[:2], b"\xff\xfb")

            update = b"GET /admin/metadata?mode=updinfo&mount=/radio.mp3&song=Second+Song%21 HTTP/1.0\r\n"
            auth = b"Authorization: Basic c291cmNlOmhhY2ttZQ==\r\n"
            self.assertEqual(raw_request(g.port, update + b"\r\n")[0], 401)
            self.assertEqual(raw_request(g.port, update.replace(b"/radio.mp3", b"/file.mp3") + auth + b"\r\n")[0], 403)
            self.assertEqual(raw_request(g.port, b"GET /admin/metadata?mode=x HTTP/1.0\r\n" + auth + b"\r\n")[0], 400)
            encoder = subprocess.Popen(
                ["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "sine=frequency=500:sample_rate=44100",
                 "-c:a", "libmp3lame", "-content_type", "audio/mpeg", "-f", "mp3",
                 f"icecast://source:{PASSWORD}@127.0.0.1:{g.port}/radio.mp3"], stdin=subprocess.DEVNULL)
            try:
                self.assertEqual(wait_state(g, "/radio.mp3", "live"), "live")
                status, _, body = raw_request(g.port, update + auth + b"\r\n")
                self.assertEqual(status, 200)
                self.assertIn(b"<return>1</return>", body)
                status, headers, body = icy_capture(g.port, "/radio.mp3", 3)
                _, texts = icy_split(body, int(headers["icy-metaint"]))
                self.assertEqual(texts[:1], ["StreamTitle='Second Song!';"])
                self.assertIn("title 'Second Song!'", g.log())
            finally:
                stop(encoder)


if __name__ == "__main__":
    unittest.main()
