#include "load/ts_continuity.h"

namespace gordo::load {

void ts_continuity::on_packet(const uint8_t* p) {
  if (!seen_any_) {
    last_.fill(no_counter);
    seen_any_ = true;
  }
  ++packets_;
  resyncing_ = false;
  int pid = (p[1] & 0x1F) << 8 | p[2];
  if (pid == 0x1FFF) return;  // null packets carry no counter that means anything
  int8_t& last = last_[static_cast<size_t>(pid)];
  if (p[1] & 0x80) {  // transport_error_indicator: damaged on the way
    ++breaks_;
    last = no_counter;
    return;
  }
  unsigned afc = (p[3] >> 4) & 3;
  int cc = p[3] & 0x0F;
  bool discontinuity = (afc & 2) && p[4] > 0 && (p[5] & 0x80);
  if (discontinuity) last = no_counter;  // the counter may start anywhere from here
  if (!(afc & 1)) return;                // no payload: the counter does not step
  if (last != no_counter) {
    if (cc == (last & 0x0F)) {
      // A duplicate packet may be sent once (2.4.3.3); a second one is a break.
      if (last & repeated) ++breaks_;
      last = static_cast<int8_t>(cc | repeated);
      return;
    }
    if (cc != (((last & 0x0F) + 1) & 0x0F)) ++breaks_;
  }
  last = static_cast<int8_t>(cc);
}

void ts_continuity::feed(const char* data, size_t n) {
  in_.feed(
      data, n,
      [this](const uint8_t* p) {
        on_packet(p);
        return true;
      },
      [this] {  // bytes out of sync: something was lost or broken
        if (!resyncing_) ++breaks_;
        resyncing_ = true;
      });
}

}  // namespace gordo::load
