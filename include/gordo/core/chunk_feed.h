// A single-producer single-consumer queue of chunk references: how a stream's ingest
// thread hands new chunks to one worker without locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <new>
#include <vector>

#include "gordo/core/chunk.h"

namespace gordo {

// Where a chunk falls in its stream's HLS segmentation (media/hls_cutter.h), decided once
// by the ingest so that every worker numbers segments and parts alike.
struct hls_stamp {
  uint64_t msn = 0;      // media sequence number of its segment (0: the stream is not cut)
  uint32_t part = 0;     // its part's index in the segment
  int64_t media_us = 0;  // media time at which its part begins
  int64_t wall_ms = 0;   // wall-clock time (Unix ms) at which its part began
};

struct feed_item {
  // hls_part: no chunk; the HLS part `hls` begins at chunk `seq` (the one to come), so the
  // part before it is complete now, not when that chunk is published.
  enum kind_t : uint8_t { chunk, header, metadata, hls_part };
  kind_t kind = chunk;
  uint32_t flags = 0;  // chunk flags
  uint64_t seq = 0;
  uint64_t pos = 0;     // stream bytes published before this chunk
  int64_t time_ns = 0;  // when it was published (CLOCK_MONOTONIC)
  chunk_ref ref;
  hls_stamp hls;
};

class chunk_feed {
 public:
  explicit chunk_feed(size_t capacity);  // rounded up to a power of two

  // Producer. False when full: the item is not queued (the consumer is stalled).
  bool push(feed_item&& item);

  // Consumer. Calls fn(feed_item&&) for every queued item, oldest first. The slot is
  // emptied either way, so a drained feed holds no chunk memory.
  template <class F>
  size_t drain(F&& fn) {
    uint64_t head = head_.load(std::memory_order_relaxed);
    uint64_t tail = tail_.load(std::memory_order_acquire);
    for (uint64_t i = head; i != tail; ++i) {
      feed_item item = std::move(slots_[i & mask_]);
      fn(std::move(item));
    }
    head_.store(tail, std::memory_order_release);
    return static_cast<size_t>(tail - head);
  }

 private:
  std::vector<feed_item> slots_;
  uint64_t mask_;
  alignas(64) std::atomic<uint64_t> head_{0};  // next to read (consumer)
  alignas(64) std::atomic<uint64_t> tail_{0};  // next to write (producer)
  alignas(64) uint64_t head_cache_ = 0;        // producer's view of head_
};

}  // namespace gordo
