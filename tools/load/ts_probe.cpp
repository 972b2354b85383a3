#include "load/ts_probe.h"

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
    if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1 && (p[i + 3] & 0x1F) == 5 &&
        (p[i + 3] & 0x80) == 0)
      return true;
  return false;
}

bool ts_probe::feed(const char* data, size_t n) {
  if (found_) return true;
  in_.feed(
      data, n,
      [this](const uint8_t* p) {
        ++packets_;
        found_ = keyframe(p);
        return !found_;
      },
      [] {});
  return found_;
}

}  // namespace gordo::load
