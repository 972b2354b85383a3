// One mount's HLS segments and parts as a worker holds them: ranges of sequence numbers
// in its stream ring, built from the HLS stamps of the chunks it drains (core/chunk_feed.h),
// so that every worker numbers and times them alike. Nothing is copied: a segment is
// sent as the ring's chunks from first_seq to end_seq.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "gordo/core/chunk.h"
#include "gordo/core/chunk_feed.h"

namespace gordo {

class hls_index {
 public:
  struct part {
    uint64_t first_seq = 0;
    uint64_t end_seq = 0;  // past its last chunk, once complete
    int64_t start_us = 0;
    int64_t duration_us = 0;  // once complete
    uint64_t bytes = 0;
    bool independent = false;  // starts with a keyframe
    bool complete = false;
  };
  struct segment {
    uint64_t msn = 0;
    uint64_t first_seq = 0;
    uint64_t end_seq = 0;
    int64_t start_us = 0;
    int64_t duration_us = 0;
    int64_t wall_ms = 0;         // EXT-X-PROGRAM-DATE-TIME
    bool discontinuity = false;  // the source came back with other tracks here
    uint32_t init = 0;           // fMP4: its init section's number
    uint64_t bytes = 0;
    bool complete = false;
    std::vector<part> parts;
  };

  // `window`: complete segments the playlist lists. As many again are kept (while the
  // ring holds them) after they leave it: a segment stays available for as long as the
  // playlist that last listed it (RFC 8216 §6.2.2), whichever worker a player asks.
  explicit hls_index(unsigned window) : window_(window) {}

  // The stream's header changed: fMP4's init section for the segments from the next
  // discontinuity (or the first segment) on.
  void set_header(const chunk_ref& header);
  // A part begins at chunk `seq` (which is still to come; flags as its: chunk_keyframe,
  // chunk_restart): the part before it is complete. True when that completed a part or a
  // segment: held requests may be answered.
  bool begin_part(uint64_t seq, uint32_t flags, const hls_stamp& stamp);
  // A chunk, in sequence (a gap is clear() first); a chunk_part one begins its part if
  // begin_part() has not. True as for begin_part().
  bool add(uint64_t seq, uint32_t flags, const hls_stamp& stamp, uint32_t bytes);
  // Segments beginning before `begin_seq` have left the ring: they go. True if any did.
  bool trim(uint64_t begin_seq);
  // The ring lost chunks: what is held is gone; the index starts again at the next segment.
  void clear();

  // Every segment kept, oldest first; the playlist lists those from listed_begin() on.
  const std::deque<segment>& segments() const { return segments_; }
  size_t listed_begin() const;
  // The segment numbered `msn`, if held.
  const segment* find(uint64_t msn) const;
  // The init section numbered `id`, if held.
  const chunk_ref* init(uint32_t id) const;
  // EXT-X-DISCONTINUITY-SEQUENCE: discontinuities that have left the playlist.
  uint64_t discontinuity_sequence() const;
  // EXT-X-TARGETDURATION in seconds: the longest segment seen, rounded, at least `floor_s`.
  int target_duration(int floor_s) const;
  int64_t longest_part_us() const { return longest_part_us_; }

  // Where the stream stands: the newest segment, and its newest complete part (-1: none).
  std::optional<std::pair<uint64_t, int64_t>> edge() const;
  // True when the playlist already holds segment `msn` (complete), or with `part`, that
  // part of it (or the segment whole): what a blocking reload waits for.
  bool has(uint64_t msn, std::optional<uint32_t> part) const;

 private:
  void close_part(segment& s, uint64_t end_seq, int64_t end_us);

  unsigned window_;
  std::deque<segment> segments_;
  std::deque<std::pair<uint32_t, chunk_ref>> inits_;  // numbered init sections still used
  chunk_ref pending_init_;  // the newest header, for the next discontinuity
  uint32_t next_init_ = 0;
  bool header_changed_ = true;
  uint64_t discontinuities_gone_ = 0;
  int64_t longest_us_ = 0;
  int64_t longest_part_us_ = 0;
};

}  // namespace gordo
