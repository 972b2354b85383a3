// Whole 188-byte MPEG-TS packets out of bytes that arrive in any pieces, as a socket
// delivers them: a packet split across pieces is carried over, and bytes out of sync are
// skipped to the next sync byte. A sync byte found that way, or the first byte, may be a
// 0x47 in a payload (a server that starts a viewer mid-packet, as Icecast does): the packet
// it starts is held until the next one starts with a sync byte too, and dropped when it
// does not. One of these per viewer; the probes look at packets.
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
        tentative_ = true;
        if (held_) {  // it was no packet: a real one may start inside it, look there first
          held_ = false;
          uint8_t rest[packet - 1];
          std::memcpy(rest, hold_ + 1, sizeof rest);
          if (!feed(reinterpret_cast<const char*>(rest), sizeof rest, on_packet, on_resync))
            return false;
          continue;
        }
        const void* sync = std::memchr(in, 0x47, n);
        if (!sync) return true;
        n -= static_cast<const uint8_t*>(sync) - in;
        in = static_cast<const uint8_t*>(sync);
        continue;
      }
      if (carried_ == 0 && held_) {  // the packet after it starts in sync: it was one
        held_ = tentative_ = false;
        if (!on_packet(hold_)) return false;
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
      if (tentative_) {
        std::memcpy(hold_, whole, packet);
        held_ = true;
        continue;
      }
      if (!on_packet(whole)) return false;
    }
    return true;
  }

 private:
  uint8_t carry_[packet]{};
  size_t carried_ = 0;
  // The first packet, and the first after a resync, is held until the next one starts in
  // sync: a body may begin mid-packet at a 0x47 that is not a sync byte.
  bool tentative_ = true;
  bool held_ = false;
  uint8_t hold_[packet]{};
};

}  // namespace gordo::load
