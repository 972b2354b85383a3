#include "gordo/server/admission.h"

namespace gordo {

bool admission::admit(mount& m) {
  // Count first, then check: two workers admitting at once cannot both take the last place.
  uint64_t all = viewers_.fetch_add(1, std::memory_order_relaxed) + 1;
  uint64_t here = m.viewers.fetch_add(1, std::memory_order_relaxed) + 1;
  bool fits = (!limits_.clients || all <= limits_.clients) &&
              (!m.policy.client_limit || here <= m.policy.client_limit);
  if (fits && limits_.bandwidth_bps) {
    uint64_t bps = 0;
    for (size_t i = 0; i < mounts_.size(); ++i) {
      const mount& each = mounts_.at(i);
      bps += each.viewers.load(std::memory_order_relaxed) * each.out->bitrate();
    }
    fits = bps <= limits_.bandwidth_bps;
  }
  if (!fits) {
    leave(m);
    return false;
  }
  uint64_t peak = m.viewers_peak.load(std::memory_order_relaxed);
  while (here > peak && !m.viewers_peak.compare_exchange_weak(peak, here, std::memory_order_relaxed)) {
  }
  return true;
}

void admission::leave(mount& m) {
  viewers_.fetch_sub(1, std::memory_order_relaxed);
  m.viewers.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace gordo
