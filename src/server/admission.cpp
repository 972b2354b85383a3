#include "gordo/server/admission.h"

namespace gordo {

void admission::add_mount(mount& m) {
  mounts_.at(m.slot).store(&m, std::memory_order_release);
}

void admission::remove_mount(const mount& m) {
  mount* expected = const_cast<mount*>(&m);
  mounts_.at(m.slot).compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel);
}

uint64_t admission::bandwidth_in_use() const {
  uint64_t in_use = 0;
  for (const auto& slot : mounts_)
    if (const mount* m = slot.load(std::memory_order_acquire))
      in_use += m->viewers.load(std::memory_order_seq_cst) * m->out->bitrate();
  return in_use;
}

bool admission::admit(mount& m) {
  // Count first, then check: two workers admitting at once cannot both take the last place.
  // The bandwidth check reads other mounts' counts, so those adds and reads are seq_cst
  // (free on x86: the add is a locked instruction either way).
  uint64_t all = viewers_.fetch_add(1, std::memory_order_relaxed) + 1;
  uint64_t here = m.viewers.fetch_add(1, std::memory_order_seq_cst) + 1;
  uint64_t clients = clients_.load(std::memory_order_relaxed);
  uint64_t mount_clients = m.client_limit.load(std::memory_order_relaxed);
  uint64_t bandwidth = bandwidth_bps_.load(std::memory_order_relaxed);
  bool fits = (!clients || all <= clients) && (!mount_clients || here <= mount_clients) &&
              (!bandwidth || bandwidth_in_use() <= bandwidth);
  if (!fits) {
    leave(m);
    return false;
  }
  uint64_t peak = m.viewers_peak.load(std::memory_order_relaxed);
  while (here > peak &&
         !m.viewers_peak.compare_exchange_weak(peak, here, std::memory_order_relaxed)) {
  }
  return true;
}

void admission::leave(mount& m) {
  viewers_.fetch_sub(1, std::memory_order_relaxed);
  m.viewers.fetch_sub(1, std::memory_order_relaxed);
}

void admission::set_limits(uint64_t clients, uint64_t bandwidth_bps) {
  clients_.store(clients, std::memory_order_relaxed);
  bandwidth_bps_.store(bandwidth_bps, std::memory_order_relaxed);
}

}  // namespace gordo
