// Whole 188-byte MPEG-TS packets out of bytes that arrive in any pieces, as a socket
// delivers them: a packet split across pieces is carried over, and bytes out of sync are
// skipped to the next sync byte. One of these per viewer; the probes look at packets.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gordo::load {

class ts_packets {
 public:
  static constexpr size_t packet = 188;

  // Calls on_packet(const uint8_t*) for each whole packet until it returns false (the
  // bytes after that packet are not looked at), and on_resync() where bytes are skipped
  // to find a sync byte. False when on_packet stopped.
  template <class Packet, class Resync>
  bool feed(const char* data, size_t n, Packet&& on_packet, Resync&& on_resync) {
    const auto* in = reinterpret_cast<const uint8_t*>(data);
    while (n > 0) {
      if (carried_ == 0 && in[0] != 0x47) {
        on_resync();
        const void* sync = std::memchr(in, 0x47, n);
        if (!sync) return true;
        n -= static_cast<const uint8_t*>(sync) - in;
        in = static_cast<const uint8_t*>(sync);
        continue;
      }
      const uint8_t* whole = in;
      if (carried_ == 0 && n >= packet) {
        in += packet;
        n -= packet;
      } else {
        size_t take = std::min(packet - carried_, n);
        std::memcpy(carry_ + carried_, in, take);
        carried_ += take;
        in += take;
        n -= take;
        if (carried_ < packet) return true;
        whole = carry_;
        carried_ = 0;
      }
      if (!on_packet(whole)) return false;
    }
    return true;
  }

 private:
  uint8_t carry_[packet]{};
  size_t carried_ = 0;
};

}  // namespace gordo::load
