#include "gordo/server/admission.h"

namespace gordo {

bool admission::admit(mount& m, uint64_t& bps) {
  // Count first, then check: two workers admitting at once cannot both take the last place.
  bps = m.out->bitrate();
  uint64_t all = viewers_.fetch_add(1, std::memory_order_relaxed) + 1;
  uint64_t here = m.viewers.fetch_add(1, std::memory_order_relaxed) + 1;
  uint64_t in_use = bps_in_use_.fetch_add(bps, std::memory_order_relaxed) + bps;
  uint64_t clients = clients_.load(std::memory_order_relaxed);
  uint64_t bandwidth = bandwidth_bps_.load(std::memory_order_relaxed);
  bool fits = (!clients || all <= clients) && (!m.client_limit.load(std::memory_order_relaxed) || here <= m.client_limit.load(std::memory_order_relaxed)) &&
              (!bandwidth || in_use <= bandwidth);
  if (!fits) {
    leave(m, bps);
    return false;
  }
  uint64_t peak = m.viewers_peak.load(std::memory_order_relaxed);
  while (here > peak && !m.viewers_peak.compare_exchange_weak(peak, here, std::memory_order_relaxed)) {
  }
  return true;
}

void admission::leave(mount& m, uint64_t bps) {
  viewers_.fetch_sub(1, std::memory_order_relaxed);
  m.viewers.fetch_sub(1, std::memory_order_relaxed);
  bps_in_use_.fetch_sub(bps, std::memory_order_relaxed);
}

void admission::set_limits(uint64_t clients, uint64_t bandwidth_bps) {
  clients_.store(clients, std::memory_order_relaxed);
  bandwidth_bps_.store(bandwidth_bps, std::memory_order_relaxed);
}

}  // namespace gordo
