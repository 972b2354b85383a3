#include "load/ts_rate.h"

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
  if (pcrs_++ == 0)
    timeline_s_ = static_cast<double>(pcr) / pcr_hz;
  else if (pcr > timeline_last_)
    timeline_s_ += static_cast<double>(pcr - timeline_last_) / pcr_hz;
  timeline_last_ = pcr;
  bool discontinuity = p[5] & 0x80;
  if (have_last_ && !discontinuity) {
    double dt = pcr > last_pcr_ ? static_cast<double>(pcr - last_pcr_) / pcr_hz : -1;
    if (dt >= 0 && dt <= max_gap_s) {
      bytes_ += since_last_ * packet;
      seconds_ += dt;
    } else if (pcr != last_pcr_) {
      ++jumps_;
    }
  }
  // A PCR that goes back (a restarted source; a wrap every 26.5 hours) starts a new run.
  have_last_ = true;
  last_pcr_ = pcr;
  since_last_ = 0;
}

void ts_rate::feed(const char* data, size_t n) {
  in_.feed(
      data, n,
      [this](const uint8_t* p) {
        on_packet(p);
        return true;
      },
      [this] { have_last_ = false; });  // bytes were lost: the next interval would not add up
}

}  // namespace gordo::load
