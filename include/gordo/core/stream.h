// The publishing side of one mount's stream: the ingest thread publishes chunks here
// and every worker receives its own reference through its own feed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "gordo/core/chunk.h"
#include "gordo/core/chunk_feed.h"
#include "gordo/core/wake_fd.h"

namespace gordo {

//  ingest thread                        worker 0: feed 0 ─▶ its stream_ring
//  publish(chunk) ── share() per worker ▶ worker 1: feed 1 ─▶ its stream_ring
//                  then wake each         ...
//                 ── and, when open ─────▶ the tap ─▶ the recorder (drains on its own clock)
class stream {
 public:
  // wakers[i] is woken after an item is queued on feed i (nullptr: nobody to wake).
  stream(std::vector<wake_fd*> wakers, size_t feed_capacity);

  // Ingest thread only.
  void set_header(chunk_ref header);
  // The ICY metadata block (net/icy.h) viewers asking for it get from now on.
  void set_metadata(chunk_ref block);
  void publish(chunk_ref chunk, uint32_t flags, const hls_stamp& hls = {});
  // An HLS part begins with the next chunk (flags: chunk_keyframe when it is one).
  void begin_part(const hls_stamp& hls, uint32_t flags);
  // The source is gone for good: workers finish sending what they have, then close.
  void end();
  // Any thread. The source is lost (or no encoder has pushed yet): workers close caught-up
  // viewers and refuse new ones until it is back.
  void set_offline(bool offline);

  // Worker i only.
  chunk_feed& feed(size_t worker) { return *feeds_[worker]; }
  size_t workers() const { return feeds_.size(); }

  // A consumer besides the workers (the recorder): gets every item they get while open.
  // The publisher never wakes it and never waits for it: a full tap loses the item (its
  // consumer sees the gap in seq). Opened and closed by its one consumer thread, which
  // drains it; it is made on the first open and lives as long as the stream.
  chunk_feed& open_tap(size_t capacity);
  void close_tap() { tap_on_.store(false, std::memory_order_relaxed); }
  uint64_t tap_losses() const { return tap_losses_.load(std::memory_order_relaxed); }
  // Any thread: the newest header (empty when the format has none), for a consumer that
  // starts mid-stream.
  chunk_ref header() const;

  // Any thread.
  uint64_t published() const { return next_seq_.load(std::memory_order_relaxed); }
  uint64_t feed_overflows() const { return overflows_.load(std::memory_order_relaxed); }
  // Bits per second published, averaged over the last few seconds (0 until measured).
  uint64_t bitrate() const { return bitrate_.load(std::memory_order_relaxed); }
  // Nanoseconds between the last two chunks flagged keyframe (0 until seen twice).
  int64_t keyframe_interval_ns() const {
    return keyframe_interval_ns_.load(std::memory_order_relaxed);
  }
  // Read before draining a feed: when true, the drain yields every chunk there will be.
  bool ended() const { return ended_.load(std::memory_order_acquire); }
  bool offline() const { return offline_.load(std::memory_order_relaxed); }

 private:
  void send(feed_item::kind_t kind, const chunk_ref& ref, uint32_t flags, uint64_t seq,
            int64_t now_ns, const hls_stamp& hls = {});
  void measure(uint64_t bytes, int64_t now_ns);
  void wake_all();  // every worker, to look at the stream's state

  std::vector<std::unique_ptr<chunk_feed>> feeds_;
  std::vector<wake_fd*> wakers_;
  std::unique_ptr<chunk_feed> tap_;  // made once, by open_tap(), before tap_on_ is set
  std::atomic<chunk_feed*> tap_ptr_{nullptr};
  std::atomic<bool> tap_on_{false};
  std::atomic<uint64_t> tap_losses_{0};
  mutable std::mutex header_mu_;  // taken once per header, never per chunk
  chunk_ref header_;
  std::atomic<uint64_t> next_seq_{0};
  std::atomic<uint64_t> overflows_{0};
  std::atomic<bool> ended_{false};
  std::atomic<bool> offline_{false};
  std::atomic<uint64_t> bitrate_{0};
  std::atomic<int64_t> keyframe_interval_ns_{0};
  int64_t last_keyframe_ns_ = 0;  // publisher only
  uint64_t pos_ = 0;              // publisher only
  uint64_t rate_bytes_ = 0;
  int64_t rate_since_ns_ = 0;
};

}  // namespace gordo
