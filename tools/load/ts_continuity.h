// Whether an MPEG-TS byte stream arrived whole: each PID's continuity_counter (ISO 13818-1
// 2.4.3.3) must step by one from one payload-carrying packet to the next. A packet lost,
// a piece skipped (bytes out of sync) or a viewer moved ahead without the stream saying
// so (discontinuity_indicator) is a break. Fed in any pieces, as ts_rate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "load/ts_packets.h"

namespace gordo::load {

class ts_continuity {
 public:
  void feed(const char* data, size_t n);
  // Breaks seen so far: a counter that did not step by one, or bytes skipped to resync.
  uint64_t breaks() const { return breaks_; }
  uint64_t packets() const { return packets_; }

 private:
  void on_packet(const uint8_t* p);

  static constexpr int8_t no_counter = -1;
  static constexpr int8_t repeated = 0x10;  // with the counter: its packet came twice
  ts_packets in_;
  std::array<int8_t, 8192> last_;  // per PID: the last counter (| repeated), or no_counter
  bool seen_any_ = false;
  bool resyncing_ = false;  // bytes are being skipped: one break for the whole stretch
  uint64_t breaks_ = 0;
  uint64_t packets_ = 0;
};

}  // namespace gordo::load
