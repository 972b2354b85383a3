// Finds the first decodable keyframe in an MPEG-TS byte stream fed in arbitrary pieces:
// a packet flagged random-access, or a PES whose payload holds an H.264 IDR NAL unit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "load/ts_packets.h"

namespace gordo::load {

class ts_probe {
 public:
  static constexpr size_t packet = ts_packets::packet;

  // Feeds the next bytes; true once a keyframe has been seen (in these or earlier bytes).
  bool feed(const char* data, size_t n);
  bool found() const { return found_; }
  // Packets looked at so far.
  uint64_t packets() const { return packets_; }

 private:
  bool keyframe(const uint8_t* p) const;

  ts_packets in_;
  bool found_ = false;
  uint64_t packets_ = 0;
};

}  // namespace gordo::load
