// A stream as the ingest stamps it, for hls_index and playlist tests: segments of `parts`
// parts of `chunks` chunks each, every part `part_us` long.
#pragma once

#include "gordo/core/stream_ring.h"
#include "gordo/http/hls_index.h"

namespace gordo {

struct hls_test_stream {
  hls_index& index;
  int parts = 6;
  int chunks = 2;
  int64_t part_us = 333'000;
  uint64_t seq = 0;
  uint64_t msn = 0;
  int64_t media_us = 0;
  int64_t wall_ms = 1'790'000'000'000;
  uint32_t bytes = 10'000;

  // One part's chunks (the first of a segment when `part` is 0); true when it completed
  // the part before it.
  bool part(uint32_t p, uint32_t extra_flags = 0) {
    if (p == 0) ++msn;
    hls_stamp st{msn, p, media_us, wall_ms};
    bool completed = false;
    for (int c = 0; c < chunks; ++c) {
      uint32_t flags = c == 0 ? chunk_part : 0;
      if (c == 0 && p == 0) flags |= chunk_keyframe | extra_flags;
      completed |= index.add(seq++, flags, st, bytes);
    }
    media_us += part_us;
    wall_ms += part_us / 1000;
    return completed;
  }
  void segment(uint32_t extra_flags = 0) {
    for (int p = 0; p < parts; ++p) part(static_cast<uint32_t>(p), p == 0 ? extra_flags : 0);
  }
};

}  // namespace gordo
