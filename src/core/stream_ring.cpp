#include "gordo/core/stream_ring.h"

#include <algorithm>
#include <bit>

namespace gordo {

stream_ring::stream_ring(size_t capacity)
    : slots_(std::bit_ceil(std::max<size_t>(capacity, 2))), mask_(slots_.size() - 1) {}

bool stream_ring::push(uint64_t seq, chunk_ref chunk, uint32_t flags, uint64_t pos,
                       int64_t time_ns) {
  bool continuous = !started_ || seq == end_;
  if (!continuous) clear();
  if (!started_ || empty()) begin_ = end_ = seq;
  started_ = true;
  if (size() == slots_.size()) evict_oldest();
  entry& e = slots_[seq & mask_];
  e.seq = seq;
  e.flags = flags;
  e.pos = pos;
  e.time_ns = time_ns;
  bytes_ += chunk.size();
  e.chunk = std::move(chunk);
  if (flags & chunk_keyframe) keyframes_.push_back(seq);
  if (flags & chunk_restart) {
    restart_seq_ = seq;
    header_waits_ = false;
  }
  end_ = seq + 1;
  return continuous;
}

void stream_ring::evict_oldest() {
  entry& e = slots_[begin_ & mask_];
  bytes_ -= e.chunk.size();
  e.chunk.reset();
  if (!keyframes_.empty() && keyframes_.front() == begin_) keyframes_.pop_front();
  ++begin_;
}

void stream_ring::clear() {
  while (!empty()) evict_oldest();
}

const stream_ring::entry* stream_ring::at(uint64_t seq) const {
  if (seq < begin_ || seq >= end_) return nullptr;
  return &slots_[seq & mask_];
}

std::optional<uint64_t> stream_ring::newest_keyframe() const {
  if (keyframes_.empty()) return std::nullopt;
  return keyframes_.back();
}

std::optional<uint64_t> stream_ring::keyframe_at_or_after(uint64_t seq) const {
  auto it = std::lower_bound(keyframes_.begin(), keyframes_.end(), seq);
  if (it == keyframes_.end()) return std::nullopt;
  return *it;
}

void stream_ring::set_header(chunk_ref h) {
  header_waits_ = header_ && h;
  header_ = std::move(h);
}

std::optional<uint64_t> stream_ring::burst_start(stream_span burst) const {
  if (keyframes_.empty() || header_waits_ || keyframes_.back() < restart_seq_) return std::nullopt;
  if (burst.none()) return keyframes_.back();
  const entry& newest = slots_[(end_ - 1) & mask_];
  uint64_t live_pos = newest.pos + newest.chunk.size();
  uint64_t oldest = keyframes_.back();
  for (auto it = keyframes_.rbegin(); it != keyframes_.rend() && *it >= restart_seq_; ++it) {
    const entry& k = slots_[*it & mask_];
    if (burst.bytes ? live_pos - k.pos >= burst.bytes : newest.time_ns - k.time_ns >= burst.ns)
      return *it;
    oldest = *it;
  }
  return oldest;
}

bool stream_ring::behind(uint64_t seq, stream_span max) const {
  if (seq == end_) return false;
  const entry* e = at(seq);
  if (!e) return true;
  if (max.none()) return false;
  const entry& newest = slots_[(end_ - 1) & mask_];
  if (max.bytes) return newest.pos + newest.chunk.size() - e->pos > max.bytes;
  return newest.time_ns - e->time_ns > max.ns;
}

}  // namespace gordo
