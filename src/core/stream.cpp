#include "gordo/core/stream.h"

#include "gordo/core/clock.h"
#include "gordo/core/stream_ring.h"

#include <bit>

namespace gordo {

chunk_feed::chunk_feed(size_t capacity)
    : slots_(std::bit_ceil(std::max<size_t>(capacity, 2))), mask_(slots_.size() - 1) {}

bool chunk_feed::push(feed_item&& item) {
  uint64_t tail = tail_.load(std::memory_order_relaxed);
  if (tail - head_cache_ == slots_.size()) {
    head_cache_ = head_.load(std::memory_order_acquire);
    if (tail - head_cache_ == slots_.size()) return false;
  }
  slots_[tail & mask_] = std::move(item);
  tail_.store(tail + 1, std::memory_order_release);
  return true;
}

stream::stream(std::vector<wake_fd*> wakers, size_t feed_capacity) : wakers_(std::move(wakers)) {
  for (size_t i = 0; i < wakers_.size(); ++i)
    feeds_.push_back(std::make_unique<chunk_feed>(feed_capacity));
}

namespace {
constexpr int64_t rate_window_ns = 2'000'000'000;
}  // namespace

void stream::send(feed_item::kind_t kind, const chunk_ref& ref, uint32_t flags, uint64_t seq,
                  int64_t now_ns, const hls_stamp& hls) {
  for (size_t i = 0; i < feeds_.size(); ++i) {
    // A full feed means that worker has not run for a whole feed's worth of chunks. The
    // chunk is lost for it only; its ring sees the gap and its viewers resync.
    if (!feeds_[i]->push(feed_item{kind, flags, seq, pos_, now_ns, ref.share(), hls}))
      overflows_.fetch_add(1, std::memory_order_relaxed);
    if (wakers_[i]) wakers_[i]->wake();
  }
  if (!tap_on_.load(std::memory_order_relaxed)) return;
  chunk_feed* tap = tap_ptr_.load(std::memory_order_acquire);
  if (tap && !tap->push(feed_item{kind, flags, seq, pos_, now_ns, ref.share(), hls}))
    tap_losses_.fetch_add(1, std::memory_order_relaxed);
}

chunk_feed& stream::open_tap(size_t capacity) {
  if (!tap_) {
    tap_ = std::make_unique<chunk_feed>(capacity);
    tap_ptr_.store(tap_.get(), std::memory_order_release);
  }
  tap_on_.store(true, std::memory_order_relaxed);
  return *tap_;
}

chunk_ref stream::header() const {
  std::lock_guard lock(header_mu_);
  return header_.share();
}

void stream::set_header(chunk_ref header) {
  {
    std::lock_guard lock(header_mu_);
    header_ = header.share();
  }
  send(feed_item::header, header, 0, 0, monotonic_ns());
}

void stream::set_metadata(chunk_ref block) {
  send(feed_item::metadata, block, 0, 0, monotonic_ns());
}

void stream::publish(chunk_ref chunk, uint32_t flags, const hls_stamp& hls) {
  int64_t now = monotonic_ns();
  uint64_t seq = next_seq_.load(std::memory_order_relaxed);
  send(feed_item::chunk, chunk, flags, seq, now, hls);
  pos_ += chunk.size();
  measure(chunk.size(), now);
  if (flags & chunk_keyframe) {
    if (last_keyframe_ns_)
      keyframe_interval_ns_.store(now - last_keyframe_ns_, std::memory_order_relaxed);
    last_keyframe_ns_ = now;
  }
  next_seq_.store(seq + 1, std::memory_order_relaxed);
}

void stream::begin_part(const hls_stamp& hls, uint32_t flags) {
  send(feed_item::hls_part, {}, flags, next_seq_.load(std::memory_order_relaxed), monotonic_ns(),
       hls);
}

void stream::measure(uint64_t bytes, int64_t now_ns) {
  if (rate_since_ns_ == 0) rate_since_ns_ = now_ns;
  rate_bytes_ += bytes;
  int64_t elapsed = now_ns - rate_since_ns_;
  if (elapsed >= rate_window_ns) {
    bitrate_.store(rate_bytes_ * 8 * 1'000'000'000 / static_cast<uint64_t>(elapsed),
                   std::memory_order_relaxed);
    rate_bytes_ = 0;
    rate_since_ns_ = now_ns;
  }
}

void stream::wake_all() {
  for (wake_fd* w : wakers_)
    if (w) w->wake();
}

void stream::set_offline(bool offline) {
  if (offline_.exchange(offline, std::memory_order_relaxed) != offline) wake_all();
}

void stream::end() {
  ended_.store(true, std::memory_order_release);
  wake_all();
}

}  // namespace gordo
