#include "gordo/http/hls_index.h"

#include <algorithm>

#include "gordo/core/stream_ring.h"

namespace gordo {

void hls_index::set_header(const chunk_ref& header) {
  pending_init_ = header.share();
  header_changed_ = true;
}

void hls_index::close_part(segment& s, uint64_t end_seq, int64_t end_us) {
  if (s.parts.empty() || s.parts.back().complete) return;
  part& p = s.parts.back();
  p.end_seq = end_seq;
  p.duration_us = std::max<int64_t>(end_us - p.start_us, 0);
  p.complete = true;
  longest_part_us_ = std::max(longest_part_us_, p.duration_us);
}

bool hls_index::begin_part(uint64_t seq, uint32_t flags, const hls_stamp& stamp) {
  if (stamp.msn == 0) return false;
  bool completed = false;
  bool new_segment = stamp.part == 0 && (segments_.empty() || segments_.back().msn != stamp.msn);
  if (new_segment) {
    if (!segments_.empty() && !segments_.back().complete) {
      segment& prev = segments_.back();
      close_part(prev, seq, stamp.media_us);
      prev.end_seq = seq;
      prev.duration_us = std::max<int64_t>(stamp.media_us - prev.start_us, 0);
      prev.complete = true;
      longest_us_ = std::max(longest_us_, prev.duration_us);
      completed = true;
    }
    segment s;
    s.msn = stamp.msn;
    s.first_seq = seq;
    s.start_us = stamp.media_us;
    s.wall_ms = stamp.wall_ms;
    // A new header with this segment's restart: a discontinuity, with its own init
    // section.
    s.discontinuity = !segments_.empty() && (flags & chunk_restart);
    if (header_changed_ && (segments_.empty() || (flags & chunk_restart))) {
      if (pending_init_) inits_.emplace_back(next_init_++, pending_init_.share());
      header_changed_ = false;
    }
    s.init = inits_.empty() ? 0 : inits_.back().first;
    segments_.push_back(std::move(s));
    while (segments_.size() > 2 * size_t{window_} + 1) {
      if (segments_.front().discontinuity) ++discontinuities_gone_;
      segments_.pop_front();
    }
    while (inits_.size() > 1 && inits_[1].first <= segments_.front().init) inits_.pop_front();
  }
  if (segments_.empty() || segments_.back().complete || segments_.back().msn != stamp.msn)
    return completed;  // joined mid-segment (or after a gap): wait for the next one
  segment& s = segments_.back();
  if (s.parts.size() != stamp.part) return completed;  // begun already (or one was missed)
  if (!s.parts.empty() && !s.parts.back().complete) {
    close_part(s, seq, stamp.media_us);
    completed = true;
  }
  part p;
  p.first_seq = seq;
  p.start_us = stamp.media_us;
  p.independent = flags & chunk_keyframe;
  s.parts.push_back(p);
  return completed;
}

bool hls_index::add(uint64_t seq, uint32_t flags, const hls_stamp& stamp, uint32_t bytes) {
  if (stamp.msn == 0) return false;
  bool completed = (flags & chunk_part) && begin_part(seq, flags, stamp);
  if (segments_.empty() || segments_.back().complete || segments_.back().msn != stamp.msn)
    return completed;
  segment& s = segments_.back();
  s.bytes += bytes;
  if (!s.parts.empty()) s.parts.back().bytes += bytes;
  return completed;
}

bool hls_index::trim(uint64_t begin_seq) {
  bool trimmed = false;
  while (!segments_.empty() && segments_.front().first_seq < begin_seq) {
    if (segments_.front().discontinuity) ++discontinuities_gone_;
    segments_.pop_front();
    trimmed = true;
  }
  return trimmed;
}

void hls_index::clear() {
  for (const segment& s : segments_)
    if (s.discontinuity) ++discontinuities_gone_;
  segments_.clear();
  header_changed_ = true;  // the next segment names the current init section again
}

size_t hls_index::listed_begin() const {
  size_t complete = segments_.size() - (!segments_.empty() && !segments_.back().complete);
  return complete > window_ ? complete - window_ : 0;
}

uint64_t hls_index::discontinuity_sequence() const {
  uint64_t n = discontinuities_gone_;
  for (size_t i = 0, end = listed_begin(); i < end; ++i) n += segments_[i].discontinuity;
  return n;
}

const hls_index::segment* hls_index::find(uint64_t msn) const {
  if (segments_.empty() || msn < segments_.front().msn) return nullptr;
  for (const segment& s : segments_)
    if (s.msn == msn) return &s;
  return nullptr;
}

const chunk_ref* hls_index::init(uint32_t id) const {
  for (const auto& [n, ref] : inits_)
    if (n == id) return &ref;
  return nullptr;
}

int hls_index::target_duration(int floor_s) const {
  return std::max(floor_s, static_cast<int>((longest_us_ + 500'000) / 1'000'000));
}

std::optional<std::pair<uint64_t, int64_t>> hls_index::edge() const {
  if (segments_.empty()) return std::nullopt;
  const segment& s = segments_.back();
  int64_t done = -1;
  for (size_t i = 0; i < s.parts.size() && s.parts[i].complete; ++i) done = static_cast<int64_t>(i);
  return std::pair{s.msn, done};
}

bool hls_index::has(uint64_t msn, std::optional<uint32_t> part) const {
  if (segments_.empty()) return false;
  const segment& last = segments_.back();
  if (msn < last.msn) return true;  // complete, or gone from the window (answered: it is old)
  if (msn > last.msn) return false;
  if (!part) return last.complete;
  return *part < last.parts.size() && last.parts[*part].complete;
}

}  // namespace gordo
