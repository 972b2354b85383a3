// Where a stream is cut into HLS segments and parts, decided from packet timestamps as
// the remuxer writes them, so that segments start at keyframes and parts never exceed
// their target (LL-HLS: each part at most PART-TARGET, all but a segment's last at
// least 85% of it).
//
// Segments are cut on a grid of the media clock, not from wherever the stream began: a
// segment starts at the first keyframe at or after each multiple of the target (when at
// least half a target has passed), and the first segment is numbered by that grid too.
// Renditions of one programme (the same timestamps, keyframes aligned) are thus cut at
// the same instants into segments with the same numbers, whenever each of them started,
// so that players switch between them at any segment.
#pragma once

#include <cstdint>

namespace gordo {

struct hls_cut_options {
  int64_t segment_us = 2'000'000;  // a segment ends at the first keyframe after this long
  int64_t part_us = 0;             // LL-HLS part target; 0: classic HLS (no parts)
};

class hls_cutter {
 public:
  enum class cut { none, part, segment };

  explicit hls_cutter(hls_cut_options opts) : opts_(opts) {}

  // Before writing a packet at `dts_us` (continuous media time). `sync`: it may start a
  // segment (a video keyframe; any packet of an audio-only stream). `reference`: it
  // belongs to the track whose cadence places part cuts (video, or audio when there is
  // none). Says whether the packet starts a new segment or part; msn() and part() then
  // name it.
  cut before(int64_t dts_us, bool sync, bool reference);
  // The next segment starts afresh (the source came back with other tracks): it begins
  // at the next sync packet, whatever the time.
  void restart() { restart_ = true; }

  uint64_t msn() const { return msn_; }
  uint32_t part() const { return part_; }

 private:
  hls_cut_options opts_;
  uint64_t msn_ = 0;  // at least 1: hls.js stalls on MEDIA-SEQUENCE 0
  uint32_t part_ = 0;
  bool restart_ = true;
  int64_t segment_start_ = 0;
  int64_t part_start_ = 0;
  int64_t last_ref_ = INT64_MIN;  // the previous reference packet's DTS
  int64_t frame_us_ = 0;          // the reference track's packet interval, as last seen
};

}  // namespace gordo
