#include "load/ts_rate.h"

#include <algorithm>
#include <cstring>

namespace gordo::load {

namespace {

constexpr double pcr_hz = 27'000'000;

}  // namespace

void ts_rate::restart() {
  have_last_ = false;
  bytes_ = 0;
  seconds_ = 0;
}

void ts_rate::on_packet(const uint8_t* p) {
  ++since_last_;
  unsigned afc = (p[3] >> 4) & 3;
  // An adaptation field long enough for flags and a PCR, with PCR_flag set.
  if (!(afc & 2) || p[4] < 7 || !(p[5] & 0x10)) return;
  int pid = (p[1] & 0x1F) << 8 | p[2];
  if (pid_ < 0) pid_ = pid;
  if (pid != pid_) return;
  uint64_t base = static_cast<uint64_t>(p[6]) << 25 | static_cast<uint64_t>(p[7]) << 17 |
                  static_cast<uint64_t>(p[8]) << 9 | static_cast<uint64_t>(p[9]) << 1 | p[10] >> 7;
  uint64_t pcr = base * 300 + ((p[10] & 1u) << 8 | p[11]);
  bool discontinuity = p[5] & 0x80;
  if (have_last_ && !discontinuity && pcr > last_pcr_) {
    double dt = static_cast<double>(pcr - last_pcr_) / pcr_hz;
    if (dt <= max_gap_s) {
      bytes_ += since_last_ * packet;
      seconds_ += dt;
    }
  }
  // A PCR that goes back (a wrap every 26.5 hours, a restarted source) starts a new run.
  have_last_ = true;
  last_pcr_ = pcr;
  since_last_ = 0;
}

void ts_rate::feed(const char* data, size_t n) {
  const auto* in = reinterpret_cast<const uint8_t*>(data);
  while (n > 0) {
    if (carried_ == 0 && in[0] != 0x47) {  // out of sync: look for the next sync byte
      const void* sync = std::memchr(in, 0x47, n);
      if (!sync) return;
      n -= static_cast<const uint8_t*>(sync) - in;
      in = static_cast<const uint8_t*>(sync);
      have_last_ = false;  // bytes were lost: the next interval would not add up
      continue;
    }
    if (carried_ == 0 && n >= packet) {
      on_packet(in);
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
      on_packet(carry_);
      carried_ = 0;
    }
  }
}

}  // namespace gordo::load
