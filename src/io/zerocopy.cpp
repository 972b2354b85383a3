#include "gordo/io/zerocopy.h"

#include "gordo/io/uring.h"

#include <sys/resource.h>
#include <sys/uio.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace gordo {

namespace {

// Automatic mode decides over windows of this many notifications.
constexpr uint64_t judge_every = 64;

std::string memlock_text() {
  rlimit lim{};
  getrlimit(RLIMIT_MEMLOCK, &lim);
  if (lim.rlim_cur == RLIM_INFINITY) return "unlimited";
  return std::to_string(lim.rlim_cur / 1024) + " KiB";
}

}  // namespace

const char* to_string(zerocopy_state s) {
  switch (s) {
    case zerocopy_state::active:
      return "active";
    case zerocopy_state::unavailable:
      return "unavailable";
    case zerocopy_state::copying:
      return "copying";
    case zerocopy_state::off:
      break;
  }
  return "off";
}

void zerocopy::init(uring& ring, zerocopy_mode mode, const slab_pool& pool, unsigned worker) {
  ring_ = &ring;
  pool_ = &pool;
  mode_ = mode;
  worker_ = worker;
  if (mode == zerocopy_mode::off) return;
  io_uring_probe* probe = io_uring_get_probe_ring(ring.get());
  bool have = probe && io_uring_opcode_supported(probe, IORING_OP_SEND_ZC) &&
              io_uring_opcode_supported(probe, IORING_OP_SENDMSG_ZC);
  if (probe) io_uring_free_probe(probe);
  if (!have) {
    auto level = mode == zerocopy_mode::on ? spdlog::level::warn : spdlog::level::debug;
    spdlog::log(level,
                "worker {}: this kernel has no zero-copy send (needs Linux 6.1); using plain send",
                worker);
    counters_.state.store(zerocopy_state::unavailable, std::memory_order_relaxed);
    return;
  }
  enabled_ = true;
  counters_.state.store(zerocopy_state::active, std::memory_order_relaxed);
  int err = io_uring_register_buffers_sparse(ring.get(), max_arenas);
  registered_table_ = err == 0;
  if (err < 0)
    spdlog::info("worker {}: cannot register buffers ({}); zero-copy sends use unregistered memory",
                 worker, std::strerror(-err));
}

int zerocopy::buffer_index(const chunk_ref& chunk) {
  if (!registered_table_ || !chunk) return -1;
  uint32_t arena = chunk.owner()->arena;
  if (arena >= max_arenas) return -1;
  while (registered_ <= arena) {
    std::span<std::byte> memory = pool_->arena(registered_);
    iovec iov{memory.data(), memory.size()};
    __u64 tag = 0;
    int err = io_uring_register_buffers_update_tag(ring_->get(), registered_, &iov, &tag, 1);
    if (err < 0) {
      // Pinning counts against RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK.
      spdlog::warn(
          "worker {}: cannot register {} MiB of chunk memory with io_uring: {} "
          "(RLIMIT_MEMLOCK is {}; raise LimitMEMLOCK= or ulimit -l). "
          "Zero-copy sends continue from unregistered memory",
          worker_, memory.size() >> 20, std::strerror(-err), memlock_text());
      registered_table_ = false;
      return -1;
    }
    ++registered_;
  }
  return static_cast<int>(arena);
}

void zerocopy::unsupported(int neg_errno) {
  if (!enabled_) return;
  enabled_ = false;
  counters_.state.store(zerocopy_state::unavailable, std::memory_order_relaxed);
  spdlog::warn("worker {}: zero-copy send refused ({}); using plain send", worker_,
               std::strerror(-neg_errno));
}

void zerocopy::sent(bool fixed) {
  counters_.sends.fetch_add(1, std::memory_order_relaxed);
  if (fixed) counters_.fixed_sends.fetch_add(1, std::memory_order_relaxed);
}

void zerocopy::notified(bool copied) {
  counters_.notified.fetch_add(1, std::memory_order_relaxed);
  if (copied) counters_.copied.fetch_add(1, std::memory_order_relaxed);
  if (mode_ != zerocopy_mode::automatic || !enabled_) return;
  ++window_sends_;
  window_copied_ += copied;
  if (window_sends_ < judge_every) return;
  if (window_copied_ * 2 > window_sends_) {
    enabled_ = false;
    counters_.state.store(zerocopy_state::copying, std::memory_order_relaxed);
    spdlog::info(
        "worker {}: the kernel copied {} of {} zero-copy sends (loopback, veth or a NIC "
        "without scatter-gather); using plain send",
        worker_, window_copied_, window_sends_);
  }
  window_sends_ = window_copied_ = 0;
}

}  // namespace gordo
