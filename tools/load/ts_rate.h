// The rate an MPEG-TS stream was muxed at, measured from the stream itself: bytes between
// PCRs over the PCR time between them (ISO 13818-1's transport rate), fed in any pieces.
// A viewer that falls behind receives fewer bytes per second of wall clock, not per
// second of PCR, so this is the rate every viewer should keep up with.
#pragma once

#include <cstddef>
#include <cstdint>

#include "load/ts_packets.h"

namespace gordo::load {

class ts_rate {
 public:
  static constexpr size_t packet = ts_packets::packet;
  // PCRs further apart than this (a jump, a resync, a new source) end a run of intervals
  // instead of counting as one: the standard asks for one every 100 ms.
  static constexpr double max_gap_s = 1.0;

  void feed(const char* data, size_t n);
  // Measures afresh from the next PCR on (the measured window begins).
  void restart();
  // Bits per second of PCR time over the intervals measured; 0 before two PCRs.
  double bits_per_s() const {
    return seconds_ > 0 ? static_cast<double>(bytes_) * 8 / seconds_ : 0;
  }
  // PCR time the measurement covers.
  double seconds() const { return seconds_; }
  // PCRs that went back or leapt over max_gap_s without the stream flagging a
  // discontinuity: the timeline a player follows broke (whatever restart() said).
  uint64_t jumps() const { return jumps_; }
  // PCRs seen (of the measured PID), restart() or not.
  uint64_t pcrs() const { return pcrs_; }
  // The latest PCR in seconds, on a timeline that never goes back: a PCR that does (a file
  // looped without new timestamps, a restarted source) goes on from the last one, while a
  // leap forward (a server moving a slow viewer to a newer keyframe) is kept. Against the
  // clock it arrived by, it says how far behind live the viewer is.
  double timeline_s() const { return timeline_s_; }

 private:
  void on_packet(const uint8_t* p);

  ts_packets in_;
  int pid_ = -1;  // the PID whose PCRs are measured: the first one seen
  bool have_last_ = false;
  uint64_t last_pcr_ = 0;    // 27 MHz
  uint64_t since_last_ = 0;  // packets since the last PCR packet
  uint64_t bytes_ = 0;
  double seconds_ = 0;
  uint64_t jumps_ = 0;
  uint64_t pcrs_ = 0;
  uint64_t timeline_last_ = 0;  // 27 MHz, the PCR timeline_s_ last moved with
  double timeline_s_ = 0;
};

}  // namespace gordo::load
