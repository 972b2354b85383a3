// Zero-copy sends for one worker's ring: whether the kernel has them, which registered
// buffer covers a chunk, and whether they pay off (the kernel reports when it copied).
#pragma once

#include <atomic>
#include <cstdint>

#include "gordo/core/chunk.h"

namespace gordo {

class uring;

// off: plain sends only. on: zero-copy whenever the kernel has it, even if it copies.
// automatic: zero-copy until the kernel reports that it copies (loopback, veth, NICs
// without scatter-gather), then plain sends.
enum class zerocopy_mode { off, on, automatic };

// What a worker does now: off (configured so, or the epoll engine), active (sends of
// min_bytes and up go zero-copy), unavailable (the kernel lacks or refused it), copying
// (automatic mode saw the kernel copy, and stopped).
enum class zerocopy_state : uint8_t { off, active, unavailable, copying };
const char* to_string(zerocopy_state s);

// Written by the ring's thread only; read by anyone (relaxed).
struct zerocopy_counters {
  std::atomic<uint64_t> sends{0};        // zero-copy sends issued
  std::atomic<uint64_t> fixed_sends{0};  // of which from a registered buffer
  std::atomic<uint64_t> notified{0};     // notifications (each releases a send's chunks)
  std::atomic<uint64_t> copied{0};       // notifications saying the kernel copied after all
  std::atomic<zerocopy_state> state{zerocopy_state::off};
};

//  registered buffer table of the ring (sparse, one slot per slab_pool arena)
//  ┌──────────┬──────────┬───────┬─────
//  │ arena 0  │ arena 1  │ empty │ ...   slots fill on first use: arenas appear as the
//  └──────────┴──────────┴───────┴─────  pool grows, seen first by a send of a chunk there
class zerocopy {
 public:
  // At most this many arenas get registered buffers; chunks beyond use unregistered sends.
  static constexpr uint32_t max_arenas = 64;
  // Below this a zero-copy send costs more than the copy it saves.
  static constexpr size_t min_bytes = 8 * 1024;

  // Called in the ring's thread once the ring is up. Logs, once, why zero-copy or
  // registered buffers cannot be used (old kernel, RLIMIT_MEMLOCK).
  void init(uring& ring, zerocopy_mode mode, const slab_pool& pool, unsigned worker);

  // Whether a send of `bytes` should go zero-copy now.
  bool use_for(size_t bytes) const {
    return enabled_ && (mode_ == zerocopy_mode::on || bytes >= min_bytes);
  }
  // The registered buffer holding `chunk`, registering its arena on first use; -1 when
  // there is none (registration refused or unavailable).
  int buffer_index(const chunk_ref& chunk);
  // The kernel refused a zero-copy send on this socket type: stop trying.
  void unsupported(int neg_errno);
  // A notification arrived; `copied`: the kernel copied the data after all.
  void notified(bool copied);

  // A zero-copy send was issued (fixed: from a registered buffer).
  void sent(bool fixed);
  const zerocopy_counters& counters() const { return counters_; }
  bool enabled() const { return enabled_; }

 private:
  uring* ring_ = nullptr;
  const slab_pool* pool_ = nullptr;
  zerocopy_mode mode_ = zerocopy_mode::off;
  unsigned worker_ = 0;
  bool enabled_ = false;
  bool registered_table_ = false;
  uint32_t registered_ = 0;    // arenas [0, registered_) have buffers
  uint64_t window_sends_ = 0;  // automatic mode: notifications in the current window
  uint64_t window_copied_ = 0;
  zerocopy_counters counters_;
};

}  // namespace gordo
