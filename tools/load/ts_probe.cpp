#include "load/ts_probe.h"

#include <algorithm>
#include <cstring>

namespace gordo::load {

bool ts_probe::keyframe(const uint8_t* p) const {
  bool unit_start = p[1] & 0x40;
  unsigned afc = (p[3] >> 4) & 3;
  size_t payload = 4;
  if (afc & 2) {
    if (p[4] > 0 && (p[5] & 0x40)) return true;  // random_access_indicator
    payload += 1 + p[4];
  }
  if (!unit_start || !(afc & 1) || payload >= packet) return false;
  // An IDR slice (nal_unit_type 5) in the first packet of a PES.
  for (size_t i = payload; i + 3 < packet; ++i)
    if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1 && (p[i + 3] & 0x1F) == 5 && (p[i + 3] & 0x80) == 0)
      return true;
  return false;
}

bool ts_probe::feed(const char* data, size_t n) {
  const auto* in = reinterpret_cast<const uint8_t*>(data);
  while (!found_ && n > 0) {
    if (carried_ == 0 && in[0] != 0x47) {  // out of sync: look for the next sync byte
      const void* sync = std::memchr(in, 0x47, n);
      if (!sync) return false;
      n -= static_cast<const uint8_t*>(sync) - in;
      in = static_cast<const uint8_t*>(sync);
      continue;
    }
    if (carried_ == 0 && n >= packet) {
      ++packets_;
      found_ = keyframe(in);
      in += packet;
      n -= packet;
      continue;
    }
    size_t take = std::min(packet - carried_, n);
    std::memcpy(carry_ + carried_, in, take);
    carried_ += take;
    in += take;
    n -= take;
    if (carried_ == packet) {
      ++packets_;
      found_ = keyframe(carry_);
      carried_ = 0;
    }
  }
  return found_;
}

}  // namespace gordo::load
