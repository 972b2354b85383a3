"""Black-box: HLS and LL-HLS as players use them. ffmpeg plays the multivariant playlists
(MPEG-TS and CMAF) of a stream live for seconds; the playlists keep the spec's rules; a
segment is its parts' bytes; blocking reloads and preload-hinted parts are answered when
the part is complete (timed); too-far, bad and hopeless requests get 400 and 503; old
segments and other runs 404; a pushed source that comes back with other tracks starts a
discontinuity (with a new init section for CMAF); keep-alive, pipelining, HEAD, CORS and
caching; signed URLs; the counters; and the configurations gordo refuses."""
import hashlib
import hmac
import json
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (GORDO, Gordo, capture, connect, decode_errors, ffprobe_json, make_media, request,
                     split_response, streams, ts_pids, video_packets, wait_for, write)

SECRET = "hls secret of sixteen characters or more"
PASSWORD = "hackme"
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
IMMUTABLE = "public, max-age=86400, immutable"
# RUN-MSN.ts, RUN-MSN.PART.ts (or .m4s), with the query the playlist was asked with.
MEDIA_URI = re.compile(r"^(?P<run>[0-9a-z]+)-(?P<msn>\d+)(?:\.(?P<part>\d+))?\.(?:ts|m4s)(?:\?(?P<query>.*))?$")
# profile_idc of each H.264 profile ffprobe names.
H264_PROFILES = {"Baseline": 66, "Constrained Baseline": 66, "Main": 77, "Extended": 88, "High": 100}

tmp = None
media = {}


def setUpModule():
    # 20 s loops with a keyframe a second: no loop seam falls in a decoded capture, and
    # segments of 1 s (--hls-segment 1s) or 2 s end at keyframes.
    global tmp
    tmp = tempfile.TemporaryDirectory()
    media["small"] = make_media(os.path.join(tmp.name, "small.ts"), seconds=20, fmt_args=("-f", "mpegts"))
    media["large"] = make_media(os.path.join(tmp.name, "large.ts"), seconds=20, size="640x360",
                                fmt_args=("-f", "mpegts"))


def tearDownModule():
    tmp.cleanup()


def get(port, target, method="GET", timeout=10):
    """One request on its own connection; (status, headers, body)."""
    # Answers without a body (HEAD's, OPTIONS') end when the server closes.
    close = "" if method == "GET" else "Connection: close\r\n"
    raw = f"{method} {target} HTTP/1.1\r\nHost: x\r\n{close}\r\n"
    return split_response(request(port, raw.encode(), timeout=timeout))


def attributes(line):
    """The attribute list of a tag line (#EXT-X-PART:DURATION=0.320,URI="...") or of a
    tag's value, unquoted."""
    text = line.partition(":")[2] if line.startswith("#") else line
    return {k: v.strip('"') for k, v in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', text)}


def uri_name(uri):
    """(run, msn, part or None, query) of a segment or part URI."""
    m = MEDIA_URI.match(uri)
    if not m:
        raise AssertionError(f"not a segment or part URI: {uri}")
    return m.group("run"), int(m.group("msn")), None if m.group("part") is None else int(m.group("part")), \
        m.group("query")


class Playlist:
    """A media playlist, parsed: its tags (first value of each), its complete segments
    (uri, msn, duration, parts [(uri, duration, independent)], discontinuity, map) in
    order, the parts of the segment in progress, and the preload hint."""

    def __init__(self, text):
        self.text = text
        self.tags, self.segments, self.hint, self.maps = {}, [], None, []
        pending, duration, current_map = {"parts": [], "discontinuity": False}, None, None
        lines = text.splitlines()
        if not lines or lines[0] != "#EXTM3U":
            raise AssertionError(f"not a playlist: {text[:200]!r}")
        for line in lines[1:]:
            if line.startswith("#EXT-X-PART:"):
                a = attributes(line)
                pending["parts"].append((a["URI"], float(a["DURATION"]), a.get("INDEPENDENT") == "YES"))
            elif line == "#EXT-X-DISCONTINUITY":
                pending["discontinuity"] = True
            elif line.startswith("#EXT-X-MAP:"):
                current_map = attributes(line)["URI"]
                self.maps.append(current_map)
            elif line.startswith("#EXTINF:"):
                duration = float(line[len("#EXTINF:"):].split(",")[0])
            elif line.startswith("#EXT-X-PRELOAD-HINT:"):
                self.hint = attributes(line)["URI"]
            elif line.startswith("#"):
                tag, _, value = line.partition(":")
                self.tags.setdefault(tag, value)
            elif line:
                self.segments.append({"uri": line, "msn": uri_name(line)[1], "duration": duration,
                                      "map": current_map, **pending})
                pending, duration = {"parts": [], "discontinuity": False}, None
        self.partial = pending["parts"]
        self.sequence = int(self.tags["#EXT-X-MEDIA-SEQUENCE"])
        self.target = int(self.tags["#EXT-X-TARGETDURATION"])
        self.part_target = float(attributes(self.tags["#EXT-X-PART-INF"])["PART-TARGET"]) \
            if "#EXT-X-PART-INF" in self.tags else None

    def part_uris(self):
        return [p[0] for s in self.segments for p in s["parts"]] + [p[0] for p in self.partial]

    def uris(self):
        """Every URI a player would fetch: segments, parts, init sections, the hint."""
        return [s["uri"] for s in self.segments] + self.part_uris() + self.maps + ([self.hint] if self.hint else [])


def other_run(run):
    """A run token that is not `run`."""
    return ("0" if run[0] != "0" else "1") + run[1:]


def playlist(port, target):
    status, headers, body = get(port, target)
    if status != 200:
        raise AssertionError(f"{target}: {status} {body[:200]!r}")
    return Playlist(body.decode())


def wait_playlist(port, target, ready, what, timeout=20):
    """The playlist at `target` once `ready(playlist)` is true."""
    def check():
        pl = playlist(port, target)
        return pl if ready(pl) else None
    return wait_for(check, timeout=timeout, what=what)


def stream_inf(port, target):
    """The one rendition of a multivariant playlist: (attributes, uri)."""
    status, headers, body = get(port, target)
    if status != 200:
        raise AssertionError(f"{target}: {status} {body[:200]!r}")
    lines = body.decode().splitlines()
    infs = [i for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF:")]
    if len(infs) != 1:
        raise AssertionError(f"{target}: not one rendition: {lines}")
    return attributes(lines[infs[0]]), lines[infs[0] + 1]


def token_query(path, expires):
    token = hmac.new(SECRET.encode(), f"{path}{expires}".encode(), hashlib.sha256).hexdigest()
    return f"expires={expires}&token={token}"


class Connection:
    """One keep-alive connection: requests go out (several at once: pipelined), whole
    answers come back in order; a HEAD's answer has no body whatever its Content-Length."""

    def __init__(self, port):
        self.sock = connect(port)
        self.buffer = b""

    def send(self, *requests):
        self.sock.sendall(b"".join(f"{method} {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                                   for method, target in requests))

    def answer(self, head_only=False):
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head_end = self.buffer.index(b"\r\n\r\n") + 4
        status, headers, _ = split_response(self.buffer[:head_end])
        length = 0 if head_only or status == 204 else int(headers["content-length"])
        while len(self.buffer) < head_end + length:
            self._receive()
        body = self.buffer[head_end:head_end + length]
        self.buffer = self.buffer[head_end + length:]
        return status, headers, body

    def _receive(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the server closed the connection; unread: {self.buffer[:300]!r}")
        self.buffer += chunk

    def close(self):
        self.sock.close()


def mount_stats(g, path):
    return next(m for m in json.loads(g.admin_get("/stats")[2])["mounts"] if m["path"] == path)


class Live(unittest.TestCase):
    """One gordo for what a file looped in real time shows: /live.ts and /cmaf.mp4 with
    HLS, /plain.ts without, /paid.ts with HLS behind signed URLs, /classic.ts without parts,
    /long.ts with a window of 12; 1 s segments."""

    @classmethod
    def setUpClass(cls):
        cls.config = os.path.join(tmp.name, "live.toml")
        src = media["small"]
        with open(cls.config, "w") as f:
            f.write(f'hls_segment = "1s"\n'
                    f'[[mount]]\npath = "/live.ts"\ninput = "{src}"\nloop = true\nhls = true\n'
                    f'[[mount]]\npath = "/cmaf.mp4"\ninput = "{src}"\nloop = true\nhls = true\n'
                    f'[[mount]]\npath = "/plain.ts"\ninput = "{src}"\nloop = true\n'
                    f'[[mount]]\npath = "/paid.ts"\ninput = "{src}"\nloop = true\nhls = true\n'
                    f'token_secret = "{SECRET}"\n'
                    f'[[mount]]\npath = "/classic.ts"\ninput = "{src}"\nloop = true\nhls = true\nhls_part = "0"\n'
                    f'[[mount]]\npath = "/long.ts"\ninput = "{src}"\nloop = true\nhls = true\nhls_window = 12\n')
        cls.gordo = Gordo("--config", cls.config)
        cls.port = cls.gordo.port
        try:
            # Every player below joins a stream live for seconds: three whole segments or more.
            first = wait_playlist(cls.port, "/live.ts/index.m3u8", lambda p: len(p.segments) >= 3,
                                  "three segments", timeout=30)
        except BaseException:
            cls.gordo.__exit__(None, None, None)
            raise
        cls.oldest = first.segments[0]

    @classmethod
    def tearDownClass(cls):
        cls.gordo.__exit__(None, None, None)  # stops gordo, checks that it exited 0

    def test_ffmpeg_plays_ts_and_cmaf_from_the_multivariant_playlist(self):
        # One ffmpeg per mount, both at once: decode 4 s, and keep a copy of what it read.
        players = {}
        for name in ("live", "cmaf"):
            copy = os.path.join(tmp.name, f"played-{name}.ts")
            players[name] = copy, subprocess.Popen(
                ["ffmpeg", "-v", "error", "-y", "-i", f"http://127.0.0.1:{self.port}/{name}.m3u8",
                 "-map", "0", "-t", "4", "-f", "null", "-", "-map", "0", "-c", "copy", "-t", "4", "-f", "mpegts", copy],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for name, (copy, player) in players.items():
            _, errors = player.communicate(timeout=60)
            self.assertEqual((player.returncode, errors.strip()), (0, ""), f"{name}: ffmpeg played it cleanly")
            self.assertEqual(sorted(s["codec_name"] for s in streams(copy)), ["aac", "h264"], name)
            packets = video_packets(copy)
            self.assertIn("K", packets[0]["flags"], f"{name}: it starts at a keyframe")
            played = float(packets[-1]["pts_time"]) - float(packets[0]["pts_time"])
            self.assertGreater(played, 3.5, f"{name}: four seconds were played, across segments")

        source = {s["codec_type"]: s for s in streams(media["small"])}["video"]
        file_bps = os.path.getsize(media["small"]) * 8 / 20
        for name, uri in (("live", "live.ts/index.m3u8"), ("cmaf", "cmaf.mp4/index.m3u8")):
            a, listed = stream_inf(self.port, f"/{name}.m3u8")
            self.assertEqual(listed, uri, "the media playlist, relative")
            self.assertEqual(get(self.port, "/" + listed)[0], 200)
            bandwidth = int(a["BANDWIDTH"])
            self.assertTrue(0.5 * file_bps < bandwidth < 3 * file_bps,
                            f"{name}: BANDWIDTH {bandwidth} for a stream of {file_bps:.0f} bit/s")
            self.assertLessEqual(int(a["AVERAGE-BANDWIDTH"]), bandwidth, name)
            avc, aac = a["CODECS"].split(",")
            m = re.fullmatch(r"avc1\.([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})", avc)
            self.assertTrue(m, f"{name}: {avc}")
            self.assertEqual(int(m.group(1), 16), H264_PROFILES[source["profile"]], f"{name}: profile_idc of {avc}")
            self.assertEqual(int(m.group(3), 16), source["level"], f"{name}: level_idc of {avc}")
            self.assertEqual(aac, "mp4a.40.2", name)
            self.assertEqual(a["RESOLUTION"], "320x240", name)
            self.assertAlmostEqual(float(a["FRAME-RATE"]), 25, places=2)

    def test_playlists_keep_the_rules_and_segments_are_their_parts(self):
        for mount, kind in (("/live.ts", "video/mp2t"), ("/cmaf.mp4", "video/mp4")):
            pl = playlist(self.port, f"{mount}/index.m3u8")
            self.assertGreaterEqual(pl.sequence, 1, mount)
            self.assertEqual([s["msn"] for s in pl.segments],
                             list(range(pl.sequence, pl.sequence + len(pl.segments))), f"{mount}: numbered in order")
            for s in pl.segments:
                self.assertLessEqual(round(s["duration"]), pl.target, f"{mount}: EXTINF {s['duration']}")
            self.assertIsNotNone(pl.part_target, f"{mount}: LL-HLS")
            durations = [p[1] for s in pl.segments for p in s["parts"]] + [p[1] for p in pl.partial]
            self.assertTrue(durations, f"{mount}: parts are listed")
            self.assertLessEqual(max(durations), pl.part_target, f"{mount}: part durations {durations}")
            control = attributes(pl.tags["#EXT-X-SERVER-CONTROL"])
            self.assertEqual(control["CAN-BLOCK-RELOAD"], "YES")
            self.assertGreaterEqual(float(control["PART-HOLD-BACK"]), 3 * pl.part_target - 0.002, mount)
            self.assertIsNotNone(pl.hint, f"{mount}: PRELOAD-HINT")
            newest = pl.segments[-1]["msn"] + 1
            self.assertEqual(uri_name(pl.hint)[1:3], (newest, len(pl.partial)), f"{mount}: the part being made")
            with_parts = [s for s in pl.segments if s["parts"]]
            self.assertTrue(with_parts, f"{mount}: the newest segments list their parts")
            for s in with_parts:
                self.assertTrue(s["parts"][0][2], f"{mount}: {s['uri']}'s first part is INDEPENDENT=YES")
                self.assertEqual([uri_name(p[0])[1:3] for p in s["parts"]],
                                 [(s["msn"], i) for i in range(len(s["parts"]))])
                self.assertAlmostEqual(sum(p[1] for p in s["parts"]), s["duration"], delta=0.002 * len(s["parts"]))
            if pl.partial:
                self.assertTrue(pl.partial[0][2], f"{mount}: the newest segment's first part is independent")

            # The newest whole segment with its parts: the same bytes, whole or in parts.
            s = with_parts[-1]
            status, headers, segment = get(self.port, f"{mount}/{s['uri']}")
            self.assertEqual(status, 200)
            self.assertEqual(headers["content-type"], kind)
            self.assertEqual(headers["cache-control"], IMMUTABLE)
            parts = []
            for uri, _, _ in s["parts"]:
                status, headers, body = get(self.port, f"{mount}/{uri}")
                self.assertEqual((status, headers["content-type"]), (200, kind), uri)
                parts.append(body)
            self.assertGreater(len(segment), 10_000)
            self.assertEqual(segment, b"".join(parts), f"{mount}: {s['uri']} is its parts")

            if mount == "/live.ts":
                self.assertEqual(pl.maps, [], "no EXT-X-MAP for MPEG-TS")
                self.assertEqual(segment[0], 0x47, "a TS sync byte first")
                self.assertEqual(ts_pids(segment, 1), [0], "a PAT first: the segment stands alone")
                saved = write(tmp.name, "segment.ts", segment)
            else:
                self.assertEqual(len(pl.maps), 1, pl.text)
                status, headers, init = get(self.port, f"{mount}/{pl.maps[0]}")
                self.assertEqual((status, headers["content-type"], headers["cache-control"]),
                                 (200, "video/mp4", IMMUTABLE))
                self.assertEqual(init[4:8], b"ftyp")
                self.assertIn(segment[4:8], (b"styp", b"moof"), "a fragment, no header of its own")
                saved = write(tmp.name, "segment.mp4", init + segment)
            self.assertEqual(sorted(x["codec_name"] for x in streams(saved)), ["aac", "h264"], mount)
            self.assertIn("K", video_packets(saved)[0]["flags"], f"{mount}: a segment starts at a keyframe")
            self.assertEqual(decode_errors(saved), "", f"{mount}: the segment decodes on its own")

    def test_blocking_reloads_answer_when_the_part_is_complete(self):
        pl = playlist(self.port, "/live.ts/index.m3u8")
        run, msn, part, _ = uri_name(pl.hint)
        waits = []
        for _ in range(12):
            begin = time.monotonic()
            status, headers, body = get(self.port, f"/live.ts/index.m3u8?_HLS_msn={msn}&_HLS_part={part}")
            waits.append(time.monotonic() - begin)
            self.assertEqual(status, 200)
            self.assertEqual(headers["cache-control"], "public, max-age=1")
            answer = Playlist(body.decode())
            self.assertIn(f"{run}-{msn}.{part}.ts", answer.part_uris(), "the answer lists the part it waited for")
            self.assertNotIn("_HLS_", body.decode(), "URIs do not carry the blocking request's parameters")
            _, msn, part, _ = uri_name(answer.hint)  # a player asks for the next part next
        slack = pl.part_target
        self.assertLessEqual(statistics.median(waits), slack + 0.05, f"waits {waits}")
        self.assertLessEqual(max(waits), slack + 0.2, f"waits {waits}")
        self.assertGreater(sum(waits), 6 * slack, f"the answers waited for their parts: {waits}")

        # A request for the hinted part waits for it and gets it whole.
        for mount in ("/live.ts", "/cmaf.mp4"):
            pl = playlist(self.port, f"{mount}/index.m3u8")
            begin = time.monotonic()
            status, headers, body = get(self.port, f"{mount}/{pl.hint}")
            waited = time.monotonic() - begin
            self.assertEqual(status, 200, mount)
            self.assertEqual(headers["cache-control"], IMMUTABLE)
            self.assertLessEqual(waited, pl.part_target + 0.2, mount)
            again = get(self.port, f"{mount}/{pl.hint}")
            self.assertEqual(again[0], 200)
            self.assertGreater(len(body), 1000)
            self.assertEqual(len(body), len(again[2]), f"{mount}: the held answer has the whole part")
            self.assertEqual(body, again[2])
        # So is the first part of the segment after the newest.
        pl = playlist(self.port, "/live.ts/index.m3u8")
        run, msn, _, _ = uri_name(pl.hint)
        status, _, body = get(self.port, f"/live.ts/{run}-{msn + 1}.0.ts")
        self.assertEqual(status, 200)
        self.assertEqual(ts_pids(body, 1), [0], "a new segment's first part starts with a PAT")
        self.assertIn(f"{run}-{msn + 1}.0.ts", playlist(self.port, "/live.ts/index.m3u8").part_uris())

    def test_delta_updates_skip_old_segments(self):
        # The spec's least skip boundary is six target durations: a window of 12 passes it.
        full = wait_playlist(self.port, "/long.ts/index.m3u8",
                             lambda p: "CAN-SKIP-UNTIL" in p.tags["#EXT-X-SERVER-CONTROL"], "CAN-SKIP-UNTIL")
        skip_until = float(attributes(full.tags["#EXT-X-SERVER-CONTROL"])["CAN-SKIP-UNTIL"])
        self.assertGreaterEqual(skip_until, 6 * full.target)
        self.assertNotIn("CAN-SKIP-UNTIL", playlist(self.port, "/live.ts/index.m3u8").tags["#EXT-X-SERVER-CONTROL"],
                         "a window of 6 segments is never longer than the skip boundary")
        delta = playlist(self.port, "/long.ts/index.m3u8?_HLS_skip=YES")
        skipped = int(attributes(delta.tags["#EXT-X-SKIP"])["SKIPPED-SEGMENTS"])
        self.assertGreater(skipped, 0, delta.text)
        self.assertEqual(delta.segments[0]["msn"], delta.sequence + skipped, "the segments after those skipped")
        self.assertGreaterEqual(sum(s["duration"] for s in delta.segments), skip_until - 0.01,
                                "what is listed reaches back to the skip boundary")
        self.assertLess(len(delta.segments), len(full.segments))
        self.assertIsNotNone(delta.hint)
        self.assertNotIn("_HLS_", delta.text)
        self.assertNotIn("#EXT-X-SKIP", full.text)

    def test_classic_hls_without_parts(self):
        pl = wait_playlist(self.port, "/classic.ts/index.m3u8", lambda p: len(p.segments) >= 3, "three segments")
        self.assertEqual(pl.tags["#EXT-X-VERSION"], "3")
        for tag in ("#EXT-X-PART", "#EXT-X-PART-INF", "#EXT-X-PRELOAD-HINT", "PART-HOLD-BACK"):
            self.assertNotIn(tag, pl.text)
        self.assertEqual(attributes(pl.tags["#EXT-X-SERVER-CONTROL"]), {"CAN-BLOCK-RELOAD": "YES"})
        for s in pl.segments:
            self.assertLessEqual(round(s["duration"]), pl.target, f"EXTINF {s['duration']}")
        # A blocking reload for the next segment: answered once it is whole, listing it.
        msn = pl.segments[-1]["msn"] + 1
        begin = time.monotonic()
        status, headers, body = get(self.port, f"/classic.ts/index.m3u8?_HLS_msn={msn}")
        waited = time.monotonic() - begin
        self.assertEqual(status, 200)
        self.assertEqual(Playlist(body.decode()).segments[-1]["msn"], msn)
        self.assertLessEqual(waited, pl.target + 0.5)
        status, _, segment = get(self.port, f"/classic.ts/{pl.segments[-1]['uri']}")
        self.assertEqual(status, 200)
        self.assertEqual(decode_errors(write(tmp.name, "classic.ts", segment)), "")
        a, uri = stream_inf(self.port, "/classic.m3u8")
        self.assertEqual(uri, "classic.ts/index.m3u8")

    def test_bad_blocking_reloads_are_400(self):
        for attempt in range(3):
            pl = playlist(self.port, "/live.ts/index.m3u8")
            newest = uri_name(pl.hint)[1]
            status, _, body = get(self.port, f"/live.ts/index.m3u8?_HLS_msn={newest + 3}", timeout=10)
            if status == 200 and Playlist(body.decode()).segments[-1]["msn"] + 1 > newest:
                continue  # a segment began between the two requests: newest + 3 was newest' + 2
            break
        self.assertEqual(status, 400)
        self.assertIn(b"more than two segments ahead", body)
        for query in ("_HLS_part=1", "_HLS_msn=x", "_HLS_msn=1&_HLS_part=x", "_HLS_msn=-1", "_HLS_msn="):
            status, _, body = get(self.port, f"/live.ts/index.m3u8?{query}")
            self.assertEqual(status, 400, query)
        status, _, body = get(self.port, f"/live.ts/index.m3u8?_HLS_msn={pl.sequence}&_HLS_part=0")
        self.assertEqual(status, 200, "what the window already holds is answered at once")

    def test_old_segments_and_other_runs_are_404(self):
        oldest = self.oldest
        run = uri_name(oldest["uri"])[0]
        pl = wait_playlist(self.port, "/live.ts/index.m3u8", lambda p: p.sequence > oldest["msn"],
                           "the window to move on")
        self.assertGreaterEqual(len(pl.segments), 5, "the window holds its segments")
        # RFC 8216 6.2.2: a segment stays available for as long as the playlist that last
        # listed it; gordo keeps it a whole window more, then it is gone.
        if pl.sequence <= oldest["msn"] + len(pl.segments) - 2:
            self.assertEqual(get(self.port, f"/live.ts/{oldest['uri']}")[0], 200, "just left the playlist")
        pl = wait_playlist(self.port, "/live.ts/index.m3u8",
                           lambda p: p.sequence > oldest["msn"] + len(p.segments) + 1, "another window")
        for uri in (oldest["uri"], f"{run}-{oldest['msn']}.0.ts"):
            status, _, body = get(self.port, f"/live.ts/{uri}")
            self.assertEqual(status, 404, uri)
            self.assertIn(b"no such segment", body)
        current = pl.segments[-1]["uri"]
        self.assertEqual(get(self.port, f"/live.ts/{current}")[0], 200)
        other = other_run(run)
        for uri in (current.replace(run, other, 1), pl.segments[-1]["parts"][0][0].replace(run, other, 1),
                    f"{other}-init0.mp4"):
            self.assertEqual(get(self.port, f"/live.ts/{uri}")[0], 404, uri)
        cmaf = playlist(self.port, "/cmaf.mp4/index.m3u8")
        cmaf_run = uri_name(cmaf.segments[0]["uri"])[0]
        self.assertEqual(get(self.port, f"/cmaf.mp4/{cmaf.maps[0]}")[0], 200)
        self.assertEqual(get(self.port, f"/cmaf.mp4/{cmaf.maps[0].replace(cmaf_run, other_run(cmaf_run))}")[0], 404,
                         "another run's init section")
        self.assertEqual(get(self.port, f"/live.ts/{current.replace('.ts', '.m4s')}")[0], 404,
                         "a TS mount's segment as fMP4")
        for target in ("/plain.ts/index.m3u8", "/plain.m3u8", "/nope.ts/index.m3u8", "/nope.m3u8",
                       f"/plain.ts/{current}"):
            self.assertEqual(get(self.port, target)[0], 404, target)
        self.assertEqual(capture(self.port, "/plain.ts", 0.5)[0], 200, "the mount without HLS plays")

    def test_http_keep_alive_pipelining_head_cors_and_caching(self):
        pl = playlist(self.port, "/live.ts/index.m3u8")
        segment, part = pl.segments[-1]["uri"], pl.segments[-1]["parts"][0][0]
        c = Connection(self.port)
        try:
            c.send(("GET", "/live.m3u8"))
            status, headers, body = c.answer()
            self.assertEqual((status, headers["content-type"], headers["cache-control"]),
                             (200, PLAYLIST_TYPE, "no-cache"))
            self.assertEqual(headers.get("access-control-allow-origin"), "*")
            self.assertEqual(headers["connection"], "keep-alive")
            c.send(("GET", "/live.ts/index.m3u8"))
            status, headers, body = c.answer()
            self.assertEqual((status, headers["content-type"], headers["cache-control"]),
                             (200, PLAYLIST_TYPE, "no-cache"))
            self.assertEqual(headers.get("access-control-allow-origin"), "*")
            c.send(("GET", f"/live.ts/{segment}"))
            status, headers, whole = c.answer()
            self.assertEqual((status, headers["content-type"], headers["cache-control"]),
                             (200, "video/mp2t", IMMUTABLE))
            self.assertEqual(headers.get("access-control-allow-origin"), "*")
            c.send(("HEAD", f"/live.ts/{segment}"))
            status, headers, _ = c.answer(head_only=True)
            self.assertEqual(status, 200)
            self.assertEqual(int(headers["content-length"]), len(whole), "HEAD: the length GET sends")
            # Pipelined: three at once, answered in order; the HEAD's answer has no body
            # (else the playlist's answer would not start where it ends).
            c.send(("GET", f"/live.ts/{part}"), ("HEAD", f"/live.ts/{segment}"), ("GET", "/live.ts/index.m3u8"),
                   ("GET", "/live.ts/zz-1.ts"), ("GET", "/live.m3u8"))
            status, headers, body = c.answer()
            self.assertEqual((status, headers["cache-control"]), (200, IMMUTABLE))
            self.assertTrue(whole.startswith(body), "a segment's first part is its beginning")
            status, headers, body = c.answer(head_only=True)
            self.assertEqual((status, int(headers["content-length"])), (200, len(whole)))
            status, headers, body = c.answer()
            self.assertEqual(status, 200)
            self.assertTrue(body.startswith(b"#EXTM3U\n"), body[:100])
            status, headers, body = c.answer()
            self.assertEqual(status, 404)
            self.assertEqual(headers.get("access-control-allow-origin"), "*", "on a 404 too")
            self.assertEqual(headers["connection"], "keep-alive", "a 404 keeps the connection")
            status, headers, body = c.answer()
            self.assertEqual(status, 200)
            self.assertIn(b"#EXT-X-STREAM-INF", body)
        finally:
            c.close()
        status, headers, body = get(self.port, "/live.ts/index.m3u8", method="HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(headers["content-type"], PLAYLIST_TYPE)
        status, headers, _, _ = capture(self.port, "/live.ts", 0.5)
        self.assertEqual((status, headers.get("access-control-allow-origin")), (200, "*"), "a stream too")
        for target in ("/live.ts/index.m3u8", "/live.m3u8", "/live.ts"):
            status, headers, body = get(self.port, target, method="OPTIONS")
            self.assertEqual((status, body), (204, b""), target)
            self.assertEqual(headers.get("access-control-allow-origin"), "*")
            self.assertIn("GET", headers.get("access-control-allow-methods", ""))

    def test_signed_urls_cover_every_resource_of_the_mount(self):
        query = token_query("/paid.ts", int(time.time()) + 600)
        a, uri = stream_inf(self.port, f"/paid.m3u8?{query}")
        self.assertEqual(uri, f"paid.ts/index.m3u8?{query}", "the token goes on")
        pl = playlist(self.port, f"/paid.ts/index.m3u8?{query}")
        self.assertTrue(pl.segments)
        for u in pl.uris():
            self.assertTrue(u.endswith("?" + query), u)
        run, msn, part, _ = uri_name(pl.hint)
        status, _, body = get(self.port, f"/paid.ts/index.m3u8?_HLS_msn={msn}&{query}&_HLS_part={part}")
        self.assertEqual(status, 200)
        answer = Playlist(body.decode())
        for u in answer.uris():
            self.assertTrue(u.endswith("?" + query), f"{u}: the token, without _HLS_ parameters")
        segment = pl.segments[-1]["uri"].partition("?")[0]
        self.assertEqual(get(self.port, f"/paid.ts/{segment}?{query}")[0], 200)
        wrong = token_query("/live.ts", int(time.time()) + 600)
        for target in ("/paid.m3u8", "/paid.ts/index.m3u8", f"/paid.ts/{segment}",
                       f"/paid.ts/{pl.segments[-1]['parts'][0][0].partition('?')[0]}", f"/paid.ts/{segment}?{wrong}",
                       f"/paid.m3u8?{wrong}"):
            status, _, body = get(self.port, target)
            self.assertEqual(status, 403, target)
        self.assertIn(b"signed link", get(self.port, f"/paid.ts/{segment}")[2])
        r = subprocess.run(["ffmpeg", "-v", "error", "-i", f"http://127.0.0.1:{self.port}/paid.m3u8?{query}",
                            "-t", "2", "-f", "null", "-"], capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stderr.strip()), (0, ""), "ffmpeg plays the signed URL")

    def test_stats_and_metrics_count_hls_requests(self):
        before = mount_stats(self.gordo, "/cmaf.mp4")
        pl = playlist(self.port, "/cmaf.mp4/index.m3u8")
        get(self.port, "/cmaf.m3u8")
        self.assertEqual(get(self.port, f"/cmaf.mp4/{pl.segments[-1]['uri']}")[0], 200)
        self.assertEqual(get(self.port, f"/cmaf.mp4/{pl.maps[0]}")[0], 200)
        self.assertEqual(get(self.port, f"/cmaf.mp4/{pl.segments[-1]['parts'][0][0]}")[0], 200)
        run, msn, part, _ = uri_name(pl.hint)
        self.assertEqual(get(self.port, f"/cmaf.mp4/index.m3u8?_HLS_msn={msn}&_HLS_part={part + 1}")[0], 200)
        after = mount_stats(self.gordo, "/cmaf.mp4")
        self.assertGreaterEqual(after["hls_playlists"] - before["hls_playlists"], 3)
        self.assertGreaterEqual(after["hls_segments"] - before["hls_segments"], 2, "a segment and an init section")
        self.assertGreaterEqual(after["hls_parts"] - before["hls_parts"], 1)
        self.assertGreaterEqual(after["hls_blocked"] - before["hls_blocked"], 1, "the blocking reload was held")
        status, _, body = self.gordo.admin_get("/metrics")
        self.assertEqual(status, 200)
        for name in ("playlists", "segments", "parts", "blocked"):
            m = re.search(rf'^gordo_mount_hls_{name}_total{{mount="/cmaf.mp4"}} (\d+)$', body.decode(), re.M)
            self.assertTrue(m, f"gordo_mount_hls_{name}_total")
            self.assertGreater(int(m.group(1)), 0, name)


def put(port, path, password=PASSWORD):
    """ffmpeg pushing `path` in real time (looped) as MPEG-TS with HTTP PUT."""
    return subprocess.Popen(["ffmpeg", "-v", "error", "-re", "-stream_loop", "-1", "-i", path, "-c", "copy",
                             "-f", "mpegts", "-method", "PUT", "-auth_type", "basic",
                             f"http://source:{password}@127.0.0.1:{port}/live.ts"],
                            stdin=subprocess.DEVNULL)


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
    proc.wait()


class Pushed(unittest.TestCase):
    """A pushed source (encoders come and go): /live.ts and /cmaf.mp4 take its stream;
    2 s segments."""

    def gordo(self):
        return Gordo("--hls", "--hls-segment", "2s", "--mount", "/live.ts=push", "--mount", "/cmaf.mp4=push:/live.ts",
                     "--source-password", PASSWORD)

    def wait_live(self, g, want="live"):
        wait_for(lambda: mount_stats(g, "/live.ts")["state"] == want, timeout=20, what=f"the mount {want}")

    def push_a_segment_then_stop(self, g):
        """An encoder pushes until the playlist lists a segment, then stops: the mount is hungry."""
        encoder = put(g.port, media["small"])
        try:
            self.wait_live(g)
            wait_playlist(g.port, "/live.ts/index.m3u8", lambda p: p.segments, "a segment")
        finally:
            stop(encoder)
        self.wait_live(g, "hungry")

    def test_held_requests_get_503_when_the_source_stops(self):
        with self.gordo() as g:
            self.push_a_segment_then_stop(g)
            pl = playlist(g.port, "/live.ts/index.m3u8")
            newest = uri_name(pl.hint)[1]
            results = {}

            def fetch(name, target):
                begin = time.monotonic()
                results[name] = get(g.port, target, timeout=3 * pl.target + 10), time.monotonic() - begin

            threads = [threading.Thread(target=fetch, args=a) for a in (
                ("reload", f"/live.ts/index.m3u8?_HLS_msn={newest + 1}"),
                ("reload with part", f"/live.ts/index.m3u8?_HLS_msn={newest + 1}&_HLS_part=0"),
                ("hinted part", f"/cmaf.mp4/{playlist(g.port, '/cmaf.mp4/index.m3u8').hint}"))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for name, ((status, headers, body), waited) in results.items():
                self.assertEqual(status, 503, name)
                self.assertIn(b"did not come within three target durations", body, name)
                # Checked on the worker's 1 s tick: never early, up to a second late.
                self.assertTrue(3 * pl.target - 0.05 <= waited <= 3 * pl.target + 2,
                                f"{name}: 503 after {waited:.2f} s, target duration {pl.target} s")
            self.assertEqual(mount_stats(g, "/live.ts")["state"], "hungry")

    def test_program_dates_advance_as_the_durations_say(self):
        # An encoder's first seconds reach gordo faster than real time; dates taken from
        # the wall clock at each cut came 1.2 s apart for 2 s segments.
        with self.gordo() as g:
            encoder = put(g.port, media["small"])
            try:
                self.wait_live(g)
                pl = wait_playlist(g.port, "/live.ts/index.m3u8", lambda p: len(p.segments) >= 4,
                                   "four segments", timeout=30)
            finally:
                stop(encoder)
        dates, durations = [], []
        lines = pl.text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
                stamp = line.split(":", 1)[1]
                dates.append(time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + float(stamp[19:-1]))
            elif line.startswith("#EXTINF:"):
                durations.append(float(line[8:].split(",")[0]))
        self.assertGreaterEqual(len(durations), 4)
        for i in range(len(durations) - 1):
            self.assertAlmostEqual(dates[i + 1] - dates[i], durations[i], delta=0.01,
                                   msg=f"segment {i}: {pl.text}")

    def test_a_source_with_other_tracks_starts_a_discontinuity(self):
        with self.gordo() as g:
            self.push_a_segment_then_stop(g)
            encoder = put(g.port, media["large"])
            try:
                self.wait_live(g)

                def changed(pl):  # the whole segment that follows the discontinuity
                    return any(s["discontinuity"] for s in pl.segments)

                ts = wait_playlist(g.port, "/live.ts/index.m3u8", changed, "a segment after the change")
                cmaf = wait_playlist(g.port, "/cmaf.mp4/index.m3u8", changed, "a CMAF segment after it", timeout=10)
            finally:
                stop(encoder)
            for mount, pl in (("/live.ts", ts), ("/cmaf.mp4", cmaf)):
                self.assertEqual(sum(s["discontinuity"] for s in pl.segments), 1, f"{mount}: {pl.text}")
                self.assertNotIn("#EXT-X-DISCONTINUITY-SEQUENCE", pl.tags, "none has left the window")
                i = next(i for i, s in enumerate(pl.segments) if s["discontinuity"])
                self.assertGreater(i, 0, "segments of the first encoder are still listed")
                for s in pl.segments:
                    self.assertLessEqual(round(s["duration"]), pl.target, f"{mount}: EXTINF {s['duration']}")
                before, after = pl.segments[i - 1], pl.segments[i]
                if mount == "/cmaf.mp4":
                    self.assertEqual(len(pl.maps), 2, pl.text)
                    self.assertTrue(before["map"].endswith("-init0.mp4") and after["map"].endswith("-init1.mp4"),
                                    pl.text)
                    self.assertLess(pl.text.index("#EXT-X-DISCONTINUITY"), pl.text.index(after["map"]),
                                    "the new EXT-X-MAP follows the discontinuity")
                for s, size in ((before, (320, 240)), (after, (640, 360))):
                    status, _, body = get(g.port, f"{mount}/{s['uri']}")
                    self.assertEqual(status, 200)
                    if mount == "/cmaf.mp4":
                        status, _, init = get(g.port, f"{mount}/{s['map']}")
                        self.assertEqual(status, 200, s["map"])
                        body = init + body
                    saved = write(tmp.name, f"disc-{s['msn']}{os.path.splitext(mount)[1]}", body)
                    video = next(x for x in streams(saved) if x["codec_type"] == "video")
                    self.assertEqual((video["width"], video["height"]), size, f"{mount}: {s['uri']}")
                    self.assertEqual(decode_errors(saved), "", f"{mount}: {s['uri']} with its init section")
            a, _ = stream_inf(g.port, "/live.m3u8")
            self.assertEqual(a["RESOLUTION"], "640x360", "the multivariant playlist names the new tracks")


def run_gordo(*args):
    return subprocess.run([GORDO, "--listen", "127.0.0.1:0", "--admin-listen", "off", "--check-config", *args],
                          capture_output=True, text=True, timeout=20)


class Renditions(unittest.TestCase):
    """Adaptive bitrate without transcoding: three renditions of one programme (the same
    timestamps, keyframes every second) in one multivariant playlist."""

    LADDER = (("/r360.ts", "640x360", "800k"), ("/r270.ts", "480x270", "400k"), ("/r180.ts", "320x180", "150k"))

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.files = {}
        for path, size, rate in cls.LADDER:
            out = os.path.join(cls.tmp.name, path[1:])
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration=20",
                            "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000:duration=20",
                            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", rate, "-g", "25", "-pix_fmt", "yuv420p",
                            "-c:a", "aac", "-b:a", "64k", "-f", "mpegts", out], check=True)
            cls.files[path] = out

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @staticmethod
    def get(port, raw):
        return split_response(request(port, raw))

    def sps_codec(self, path):
        """avc1.PPCCLL from the file's first SPS (profile, constraint flags, level)."""
        raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:v", "-c", "copy", "-frames:v", "1",
                              "-bsf:v", "h264_mp4toannexb", "-f", "h264", "-"], capture_output=True, check=True).stdout
        at = raw.find(b"\x00\x00\x01\x67")
        return "avc1." + raw[at + 4:at + 7].hex()

    def test_a_group_lists_every_rendition_and_their_segments_line_up(self):
        mounts = [a for path, _, _ in self.LADDER for a in ("--mount", f"{path}={self.files[path]}")]
        with Gordo("--loop", "--hls", "--hls-group", "/show.m3u8", *mounts) as g:
            self.assertIn(f"http://127.0.0.1:{g.port}/show.m3u8", g.urls)
            time.sleep(7)  # three complete segments in each
            status, headers, body = self.get(g.port, b"GET /show.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(status, 200)
            self.assertEqual(headers["content-type"], "application/vnd.apple.mpegurl")
            lines = body.decode().splitlines()
            infs = [(l, lines[i + 1]) for i, l in enumerate(lines) if l.startswith("#EXT-X-STREAM-INF:")]
            self.assertEqual([uri for _, uri in infs], [p + "/index.m3u8" for p, _, _ in self.LADDER],
                             "all three, highest bandwidth first")
            for (inf, uri), (path, size, rate) in zip(infs, self.LADDER):
                bandwidth = int(re.search(r"BANDWIDTH=(\d+)", inf).group(1))
                real = int(ffprobe_json(self.files[path], "-show_format")["format"]["bit_rate"])
                self.assertGreater(bandwidth, real * 0.7, inf)
                self.assertLess(bandwidth, real * 2.5, inf)
                self.assertIn(f'CODECS="{self.sps_codec(self.files[path])},mp4a.40.2"', inf)
                self.assertIn(f"RESOLUTION={size}", inf)
            # Segments with the same number start at the same media time in each rendition.
            starts = {}
            for path, _, _ in self.LADDER:
                _, _, text = self.get(g.port, f"GET {path}/index.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                segs = [l for l in text.decode().splitlines() if l and not l.startswith("#")]
                self.assertGreaterEqual(len(segs), 2, text)
                starts[path] = {}
                for uri in segs[-2:]:
                    msn = int(re.search(r"-(\d+)\.ts$", uri).group(1))
                    status, _, seg = self.get(g.port, f"GET {path}/{uri} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    self.assertEqual(status, 200)
                    saved = write(self.tmp.name, f"seg{path[1:]}-{msn}.ts", seg)
                    first = video_packets(saved)[0]
                    self.assertIn("K", first["flags"], "a segment starts at a keyframe")
                    starts[path][msn] = float(first["pts_time"])
            common = set.intersection(*(set(s) for s in starts.values()))
            self.assertTrue(common, starts)
            for msn in common:
                times = [starts[p][msn] for p in starts]
                self.assertLess(max(times) - min(times), 0.041, f"segment {msn}: {times}")
            r = subprocess.run(["ffmpeg", "-v", "error", "-i", f"http://127.0.0.1:{g.port}/show.m3u8", "-map", "0",
                                "-t", "3", "-f", "null", "-"], capture_output=True, text=True, timeout=60)
            self.assertEqual((r.returncode, r.stderr.strip()), (0, ""), "ffmpeg plays every rendition")
            self.assertNotIn("do not line up", g.log())

    def test_renditions_whose_keyframes_do_not_line_up_are_warned_about(self):
        odd = os.path.join(self.tmp.name, "odd.ts")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=20",
                        "-c:v", "libx264", "-preset", "ultrafast", "-g", "35", "-keyint_min", "35",
                        "-sc_threshold", "0", "-f", "mpegts", odd], check=True)
        with Gordo("--loop", "--hls", "--hls-group", "/show.m3u8", "--mount", f"/a.ts={self.files['/r360.ts']}",
                   "--mount", f"/b.ts={odd}") as g:
            # Each request for the group's playlist compares the renditions' latest common
            # segment, once each has two: asked until the warning comes (or 15 s).
            def warned():
                status, _, _ = self.get(g.port, b"GET /show.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertEqual(status, 200)
                return "do not line up" in g.log()
            wait_for(warned, timeout=15, what="the warning", every=0.5)


class Config(unittest.TestCase):
    def test_refused_configurations_exit_2(self):
        for args, says in ((("--hls", "--mount", "/live.flv"), "HLS is offered for MPEG-TS (.ts) and fragmented MP4"),
                           (("--hls", "--mount", "/a.ts", "--mount", "/a.mp4"), "rename one"),
                           (("--hls", "--hls-part", "100ms", "--mount", "/a.ts"), "--hls-part"),
                           (("--hls", "--hls-part", "2s", "--mount", "/a.ts"), "--hls-part"),
                           (("--hls", "--hls-segment", "500ms", "--mount", "/a.ts"), "--hls-segment"),
                           (("--hls", "--hls-window", "5", "--mount", "/a.ts"), "hls-window")):
            r = run_gordo(*args)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stdout} {r.stderr}")
            self.assertIn(says, r.stderr, args)
        r = run_gordo("--hls", "--hls-part", "0", "--mount", "/a.ts", "--mount", "/b.mp4")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_cors_origin_off_or_one_site(self):
        for origin, want in (("off", None), ("https://example.com", "https://example.com")):
            with Gordo("--cors-origin", origin, "--hls", "--loop", "--mount", f"/live.ts={media['small']}") as g:
                for target in ("/live.m3u8", "/live.ts/index.m3u8", "/live.ts/x-1.ts"):
                    status, headers, _ = get(g.port, target)
                    self.assertEqual(headers.get("access-control-allow-origin"), want, f"{origin}: {target}")
                    if want and want != "*":
                        self.assertEqual(headers.get("vary"), "Origin")
                status, headers, _, _ = capture(g.port, "/live.ts", 0.5)
                self.assertEqual((status, headers.get("access-control-allow-origin")), (200, want), origin)


if __name__ == "__main__":
    unittest.main()
