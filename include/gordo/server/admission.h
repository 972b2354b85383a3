// Whether one more viewer may join a mount: the global and per-mount client limits and
// the global bandwidth limit, shared by all workers (a few atomic adds per connect).
#pragma once

#include <array>
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
  static constexpr size_t max_mounts = 256;  // mount slots, as workers have

  explicit admission(admission_limits limits)
      : clients_(limits.clients),
        bandwidth_bps_(limits.bandwidth_bps),
        redirect_(std::move(limits.redirect)) {}

  // The mounts whose viewers count against the bandwidth limit, by slot. A mount is
  // removed before its workers are told to retire it, so that no admit() still reads it
  // once they have let it go.
  void add_mount(mount& m);
  void remove_mount(const mount& m);

  // Counts a new viewer of `m` (an added mount) and returns true; or returns false,
  // counting nothing, when a limit would be exceeded.
  bool admit(mount& m);
  void leave(mount& m);

  // On reload: new numbers apply to the next admission (the redirect URL does not change).
  void set_limits(uint64_t clients, uint64_t bandwidth_bps);

  uint64_t viewers() const { return viewers_.load(std::memory_order_relaxed); }
  // Each mount's viewers × its bitrate as measured now: a viewer let in before its mount's
  // bitrate was known, or whose stream got richer, counts for what it takes today.
  uint64_t bandwidth_in_use() const;
  const std::string& redirect() const { return redirect_; }

 private:
  std::atomic<uint64_t> clients_;
  std::atomic<uint64_t> bandwidth_bps_;
  const std::string redirect_;
  std::atomic<uint64_t> viewers_{0};
  std::array<std::atomic<mount*>, max_mounts> mounts_{};
};

}  // namespace gordo
