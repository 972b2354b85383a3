#include "gordo/media/hls_cutter.h"

#include <algorithm>

namespace gordo {

namespace {
// Timestamps in other time bases round to the microsecond: a segment 1 µs short of its
// target is as long as its target.
constexpr int64_t slack_us = 1000;
}  // namespace

hls_cutter::cut hls_cutter::before(int64_t dts_us, bool sync, bool reference) {
  if (reference) {
    if (last_ref_ != INT64_MIN && dts_us > last_ref_) frame_us_ = dts_us - last_ref_;
    last_ref_ = dts_us;
  }
  // Which cell of the grid a time is in (timestamps may be negative: floor, not truncate).
  auto cell = [&](int64_t us) {
    int64_t q = (us + slack_us) / opts_.segment_us;
    return us + slack_us < 0 && (us + slack_us) % opts_.segment_us ? q - 1 : q;
  };
  bool next_cell = cell(dts_us) > cell(segment_start_) &&
                   dts_us - segment_start_ >= opts_.segment_us / 2 - slack_us;
  if (sync && (restart_ || (msn_ > 0 && next_cell))) {
    restart_ = false;
    msn_ = msn_ == 0 ? static_cast<uint64_t>(std::max<int64_t>(cell(dts_us), 0)) + 1 : msn_ + 1;
    part_ = 0;
    segment_start_ = part_start_ = dts_us;
    return cut::segment;
  }
  if (msn_ == 0 || opts_.part_us == 0 || !reference || dts_us <= part_start_) return cut::none;
  // Cut before this packet when the part would pass its target by ending after it (at
  // about one packet interval later): parts stay within PART-TARGET.
  if (dts_us - part_start_ + frame_us_ > opts_.part_us + slack_us) {
    ++part_;
    part_start_ = dts_us;
    return cut::part;
  }
  return cut::none;
}

}  // namespace gordo
