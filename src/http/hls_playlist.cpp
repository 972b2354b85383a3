#include "gordo/http/hls_playlist.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

namespace gordo {

namespace {

// Seconds with three decimals, as EXTINF and DURATION take them.
std::string seconds(int64_t us) {
  int64_t ms = (us + 500) / 1000;
  return fmt::format("{}.{:03}", ms / 1000, ms % 1000);
}

std::string date_time(int64_t unix_ms) {
  time_t s = static_cast<time_t>(unix_ms / 1000);
  tm utc{};
  gmtime_r(&s, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     unix_ms % 1000);
}

struct uri_writer {
  const media_playlist_options& o;
  std::string with_query(std::string name) const {
    if (!o.query.empty()) {
      name += '?';
      name += o.query;
    }
    return name;
  }
  std::string segment(uint64_t msn) const {
    return with_query(fmt::format("{}-{}{}", o.run, msn, o.extension));
  }
  std::string part(uint64_t msn, size_t i) const {
    return with_query(fmt::format("{}-{}.{}{}", o.run, msn, i, o.extension));
  }
  std::string init(uint32_t id) const {
    return with_query(fmt::format("{}-init{}.mp4", o.run, id));
  }
};

}  // namespace

std::string media_playlist(const hls_index& index, const media_playlist_options& o) {
  // The listed segments: the last `window` complete ones and the one being made.
  const auto& kept = index.segments();
  const size_t first = index.listed_begin(), n = kept.size() - first;
  auto seg = [&](size_t i) -> const hls_index::segment& { return kept[first + i]; };
  uri_writer uri{o};
  bool low_latency = o.part_target_us > 0;
  // Frames do not divide every target (six at 29.97 fps are 200.2 ms): PART-TARGET is the
  // longest part made, to the millisecond above, so that no part exceeds it.
  int64_t part_target_us =
      std::max(o.part_target_us, (index.longest_part_us() + 999) / 1000 * 1000);
  int target = index.target_duration(static_cast<int>((o.segment_target_us + 500'000) / 1'000'000));
  // Parts are listed for the segments within three target durations of the end; delta
  // updates may leave out segments older than six (the spec's least skip boundary).
  int64_t skip_until_us = int64_t{6} * target * 1'000'000;
  int64_t window_us = 0;
  for (size_t i = 0; i < n; ++i) window_us += seg(i).complete ? seg(i).duration_us : 0;

  std::string out = "#EXTM3U\n";
  out += fmt::format("#EXT-X-VERSION:{}\n", low_latency ? 9 : (o.fmp4 ? 6 : 3));
  out += fmt::format("#EXT-X-TARGETDURATION:{}\n", target);
  out += "#EXT-X-INDEPENDENT-SEGMENTS\n";
  if (low_latency) {
    std::string control =
        fmt::format("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={}",
                    seconds(3 * part_target_us));
    if (window_us > skip_until_us) control += ",CAN-SKIP-UNTIL=" + seconds(skip_until_us);
    out += control + "\n";
    out += fmt::format("#EXT-X-PART-INF:PART-TARGET={}\n", seconds(part_target_us));
  } else {
    out += "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n";
  }
  uint64_t first_msn = n == 0 ? 1 : seg(0).msn;
  out += fmt::format("#EXT-X-MEDIA-SEQUENCE:{}\n", first_msn);
  if (index.discontinuity_sequence() > 0)
    out += fmt::format("#EXT-X-DISCONTINUITY-SEQUENCE:{}\n", index.discontinuity_sequence());

  // A delta update leaves out the segments that end more than the skip boundary before
  // the end of the playlist, and never a discontinuity.
  size_t skipped = 0;
  if (o.skip && low_latency && window_us > skip_until_us) {
    int64_t end = 0;
    for (size_t i = 0; i < n && seg(i).complete && !seg(i).discontinuity; ++i) {
      end += seg(i).duration_us;
      if (window_us - end < skip_until_us) break;
      skipped = i + 1;
    }
    out += fmt::format("#EXT-X-SKIP:SKIPPED-SEGMENTS={}\n", skipped);
  }

  int64_t parts_from_us = int64_t{3} * target * 1'000'000;  // from the end
  int64_t remaining_us = window_us;
  uint32_t map = UINT32_MAX;
  for (size_t i = 0; i < n; ++i) {
    const auto& s = seg(i);
    if (!s.complete && !low_latency) break;  // classic HLS lists whole segments only
    if (s.complete) remaining_us -= s.duration_us;
    if (i < skipped) continue;
    if (s.discontinuity) out += "#EXT-X-DISCONTINUITY\n";
    if (o.fmp4 && s.init != map) {
      out += fmt::format("#EXT-X-MAP:URI=\"{}\"\n", uri.init(s.init));
      map = s.init;
    }
    if (s.wall_ms) out += "#EXT-X-PROGRAM-DATE-TIME:" + date_time(s.wall_ms) + "\n";
    if (low_latency && (!s.complete || remaining_us < parts_from_us)) {
      for (size_t p = 0; p < s.parts.size() && s.parts[p].complete; ++p)
        out +=
            fmt::format("#EXT-X-PART:DURATION={},URI=\"{}\"{}\n", seconds(s.parts[p].duration_us),
                        uri.part(s.msn, p), s.parts[p].independent ? ",INDEPENDENT=YES" : "");
    }
    if (!s.complete) break;
    out += fmt::format("#EXTINF:{},\n{}\n", seconds(s.duration_us), uri.segment(s.msn));
  }
  if (low_latency && n > 0) {
    // The part being made now: a player asks for it ahead and gets it once complete.
    const auto& last = seg(n - 1);
    size_t next = 0;
    while (next < last.parts.size() && last.parts[next].complete) ++next;
    out += fmt::format("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{}\"\n", uri.part(last.msn, next));
  }
  return out;
}

std::string multivariant_playlist(const std::vector<rendition>& renditions) {
  std::string out = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (const rendition& r : renditions) {
    out += fmt::format("#EXT-X-STREAM-INF:BANDWIDTH={}", r.bandwidth);
    if (r.average_bandwidth) out += fmt::format(",AVERAGE-BANDWIDTH={}", r.average_bandwidth);
    if (!r.codecs.empty()) out += fmt::format(",CODECS=\"{}\"", r.codecs);
    if (r.width > 0) out += fmt::format(",RESOLUTION={}x{}", r.width, r.height);
    if (r.frame_rate > 0) out += fmt::format(",FRAME-RATE={:.3f}", r.frame_rate);
    out += "\n" + r.uri + "\n";
  }
  return out;
}

std::pair<uint64_t, uint64_t> segment_bitrates(const hls_index& index) {
  uint64_t peak = 0, bytes = 0;
  int64_t us = 0;
  for (const auto& s : index.segments()) {
    if (!s.complete || s.duration_us <= 0) continue;
    peak = std::max<uint64_t>(peak, s.bytes * 8 * 1'000'000 / static_cast<uint64_t>(s.duration_us));
    bytes += s.bytes;
    us += s.duration_us;
  }
  return {peak, us > 0 ? bytes * 8 * 1'000'000 / static_cast<uint64_t>(us) : 0};
}

}  // namespace gordo
