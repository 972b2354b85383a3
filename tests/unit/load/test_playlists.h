// Playlists as gordo and ffmpeg write them, for the HLS load client's tests: segments of
// six parts (1/3 s each, 2 s), numbered from `first`, starting at a known wall time.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>

namespace gordo::load::testing {

// 2024-05-01T12:00:00Z in Unix ms: segment n begins 2 s × (n - 1) after it.
constexpr int64_t epoch_ms = 1714564800000;

inline std::string date_time(int64_t ms) {
  int64_t s = (ms - epoch_ms) / 1000;
  return fmt::format("2024-05-01T12:{:02}:{:02}.{:03}Z", s / 60, s % 60, (ms - epoch_ms) % 1000);
}

inline int64_t wall_ms(uint64_t msn) {
  return epoch_ms + static_cast<int64_t>(msn - 1) * 2000;
}

// gordo's low-latency playlist: `complete` whole segments from `first`, then `open` parts
// of the next (0: none); parts listed for the last three whole segments and the open one.
inline std::string ll_playlist(uint64_t first, unsigned complete, unsigned open) {
  std::string out =
      "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.999\n"
      "#EXT-X-PART-INF:PART-TARGET=0.333\n";
  out += fmt::format("#EXT-X-MEDIA-SEQUENCE:{}\n", first);
  auto parts = [&](uint64_t msn, unsigned n) {
    for (unsigned p = 0; p < n; ++p)
      out += fmt::format("#EXT-X-PART:DURATION=0.333,URI=\"r-{}.{}.ts\"{}\n", msn, p,
                         p == 0 ? ",INDEPENDENT=YES" : "");
  };
  for (uint64_t msn = first; msn < first + complete; ++msn) {
    out += "#EXT-X-PROGRAM-DATE-TIME:" + date_time(wall_ms(msn)) + "\n";
    if (msn + 3 >= first + complete) parts(msn, 6);
    out += fmt::format("#EXTINF:1.998,\nr-{}.ts\n", msn);
  }
  uint64_t next = first + complete;
  if (open > 0) {
    out += "#EXT-X-PROGRAM-DATE-TIME:" + date_time(wall_ms(next)) + "\n";
    parts(next, open);
  }
  out += fmt::format("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"r-{}.{}.ts\"\n", next, open);
  return out;
}

// ffmpeg's hls muxer with program_date_time: one date on every segment, a zone offset.
inline std::string classic_playlist(uint64_t first, unsigned complete) {
  std::string out = fmt::format(
      "#EXTM3U\r\n#EXT-X-VERSION:3\r\n#EXT-X-TARGETDURATION:2\r\n#EXT-X-MEDIA-SEQUENCE:{}\r\n",
      first);
  for (uint64_t msn = first; msn < first + complete; ++msn) {
    std::string d = date_time(wall_ms(msn));
    out += "#EXT-X-PROGRAM-DATE-TIME:" + d.substr(0, d.size() - 1) + "+0000\r\n";
    out += fmt::format("#EXTINF:2.000000,\r\nseg{}.ts\r\n", msn);
  }
  return out;
}

}  // namespace gordo::load::testing
