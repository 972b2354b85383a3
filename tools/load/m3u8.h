// What an HLS player needs of a playlist, read as a player reads it: a multivariant
// playlist's first rendition, and a media playlist's segments, parts and their wall times.
// The parse points into the text (string_view): one parse per response, nothing copied.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gordo::load {

struct m3u8_part {
  double duration = 0;  // seconds
  std::string_view uri;
  bool independent = false;
};

struct m3u8_segment {
  uint64_t msn = 0;
  double duration = 0;   // EXTINF; 0 while the segment is still being made (parts only)
  std::string_view uri;  // empty while the segment is still being made
  // EXT-X-PROGRAM-DATE-TIME of its first sample in Unix ms, or carried on from the
  // segment before it (plus that one's duration); -1 when the playlist has none.
  int64_t wall_ms = -1;
  std::vector<m3u8_part> parts;
  bool complete() const { return !uri.empty(); }
};

struct m3u8_media {
  double target_duration = 0;
  uint64_t media_sequence = 0;
  double part_target = 0;     // EXT-X-PART-INF: 0 when the playlist is not low-latency
  double part_hold_back = 0;  // from EXT-X-SERVER-CONTROL (0 when absent)
  bool can_block_reload = false;
  bool ended = false;  // EXT-X-ENDLIST
  std::vector<m3u8_segment> segments;
  std::string_view preload_hint;  // EXT-X-PRELOAD-HINT TYPE=PART's URI

  void clear();
  // The segment numbered `msn`, if listed.
  const m3u8_segment* find(uint64_t msn) const;
};

// Parses a media playlist into `out` (cleared first; its vectors keep their capacity, so
// a parse per response allocates little). False when the text is no media playlist.
bool parse_media_playlist(std::string_view text, m3u8_media& out);

// True when `text` is a multivariant playlist (it has EXT-X-STREAM-INF).
bool is_multivariant(std::string_view text);
// The URI of the first EXT-X-STREAM-INF rendition, or nullopt.
std::optional<std::string_view> first_rendition(std::string_view text);

// A URI from a playlist fetched at `base` (an absolute path, maybe with a query) as an
// absolute path with query: relative URIs resolve against base's directory; an http://
// URL keeps only its path (the load client talks to one server).
std::string resolve_uri(std::string_view base, std::string_view uri);

// An ISO 8601 date-time as EXT-X-PROGRAM-DATE-TIME has it (2024-05-01T12:00:00.250Z or
// with +hh:mm / +hhmm) in Unix ms; nullopt when it is none.
std::optional<int64_t> parse_date_time(std::string_view text);

}  // namespace gordo::load
