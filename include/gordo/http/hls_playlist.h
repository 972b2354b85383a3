// HLS playlists (RFC 8216 and draft-pantos-hls-rfc8216bis) written from a worker's
// hls_index: the media playlist of one mount (with LL-HLS parts, preload hint and delta
// updates) and multivariant playlists naming renditions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gordo/http/hls_index.h"

namespace gordo {

struct media_playlist_options {
  std::string_view run;        // the stream's run, which every URI names
  std::string_view extension;  // of segments and parts: ".ts" or ".m4s"
  bool fmp4 = false;           // segments need an init section (EXT-X-MAP)
  int64_t segment_target_us = 2'000'000;
  int64_t part_target_us = 0;  // 0: classic HLS
  std::string_view query;      // appended to every URI ("token=..."), may be empty
  bool skip = false;           // a delta update (_HLS_skip=YES), when the window allows
};

std::string media_playlist(const hls_index& index, const media_playlist_options& o);

struct rendition {
  std::string uri;                 // of its media playlist, relative to the multivariant playlist
  uint64_t bandwidth = 0;          // peak bits/s
  uint64_t average_bandwidth = 0;  // 0: not known
  std::string codecs;
  int width = 0;  // 0: audio only
  int height = 0;
  double frame_rate = 0;
};

std::string multivariant_playlist(const std::vector<rendition>& renditions);

// Bits per second of the window's segments: the highest one's and the average.
std::pair<uint64_t, uint64_t> segment_bitrates(const hls_index& index);

}  // namespace gordo
