// Whether one more viewer may join a mount: the global and per-mount client limits and
// the global bandwidth limit, shared by all workers (a few atomic adds per connect).
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
  explicit admission(admission_limits limits)
      : clients_(limits.clients), bandwidth_bps_(limits.bandwidth_bps), redirect_(std::move(limits.redirect)) {}

  // Counts a new viewer of `m` and returns true, setting `bps` to the bandwidth it was
  // admitted for (give it back to leave()); or returns false, counting nothing, when a
  // limit would be exceeded.
  bool admit(mount& m, uint64_t& bps);
  void leave(mount& m, uint64_t bps);

  // On reload: new numbers apply to the next admission (the redirect URL does not change).
  void set_limits(uint64_t clients, uint64_t bandwidth_bps);

  uint64_t viewers() const { return viewers_.load(std::memory_order_relaxed); }
  uint64_t bandwidth_in_use() const { return bps_in_use_.load(std::memory_order_relaxed); }
  const std::string& redirect() const { return redirect_; }

 private:
  std::atomic<uint64_t> clients_;
  std::atomic<uint64_t> bandwidth_bps_;
  const std::string redirect_;
  std::atomic<uint64_t> viewers_{0};
  std::atomic<uint64_t> bps_in_use_{0};
};

}  // namespace gordo
