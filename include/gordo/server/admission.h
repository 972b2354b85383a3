// Whether one more viewer may join a mount: the global and per-mount client limits and
// the global bandwidth limit, shared by all workers (one atomic add per connect).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "gordo/server/mount.h"

namespace gordo {

struct admission_limits {
  uint64_t clients = 0;        // viewers in all; 0: no limit
  uint64_t bandwidth_bps = 0;  // sum of viewers × their mount's bitrate; 0: no limit
  std::string redirect;        // where to send viewers who do not fit (302); empty: 503
};

class admission {
 public:
  admission(admission_limits limits, const mount_table& mounts)
      : limits_(std::move(limits)), mounts_(mounts) {}

  // Counts a new viewer of `m` and returns true, or returns false (counting nothing)
  // when a limit would be exceeded.
  bool admit(mount& m);
  void leave(mount& m);

  uint64_t viewers() const { return viewers_.load(std::memory_order_relaxed); }
  const admission_limits& limits() const { return limits_; }

 private:
  admission_limits limits_;
  const mount_table& mounts_;
  std::atomic<uint64_t> viewers_{0};
};

}  // namespace gordo
