#include "load/ts_rate.h"

#include <gtest/gtest.h>

#include <string>

namespace gordo::load {
namespace {

// A TS packet on `pid`; with a PCR (in 27 MHz ticks) when pcr >= 0.
std::string packet(int64_t pcr = -1, int pid = 0x100, bool discontinuity = false) {
  std::string p(188, '\xff');
  p[0] = 0x47;
  p[1] = static_cast<char>(pid >> 8);
  p[2] = static_cast<char>(pid & 0xff);
  if (pcr < 0) {
    p[3] = 0x10;  // payload only
    return p;
  }
  p[3] = 0x30;  // adaptation field and payload
  p[4] = 7;
  p[5] = static_cast<char>(0x10 | (discontinuity ? 0x80 : 0));  // PCR_flag
  uint64_t base = static_cast<uint64_t>(pcr) / 300, ext = static_cast<uint64_t>(pcr) % 300;
  p[6] = static_cast<char>(base >> 25);
  p[7] = static_cast<char>(base >> 17);
  p[8] = static_cast<char>(base >> 9);
  p[9] = static_cast<char>(base >> 1);
  p[10] = static_cast<char>((base & 1) << 7 | 0x7e | ext >> 8);
  p[11] = static_cast<char>(ext & 0xff);
  return p;
}

// `count` intervals of `packets` packets each `ms` of PCR time apart, from `start` ticks.
std::string stream(int count, int packets, double ms, int64_t start = 27'000'000) {
  std::string s;
  for (int i = 0; i <= count; ++i) {
    s += packet(start + static_cast<int64_t>(i * ms * 27'000));
    if (i < count)
      for (int j = 1; j < packets; ++j) s += packet();
  }
  return s;
}

TEST(ts_rate, bytes_between_pcrs_over_pcr_time) {
  ts_rate rate;
  // 50 packets per 40 ms: 50 * 188 * 8 / 0.04 = 1.88 Mbit/s.
  std::string s = stream(25, 50, 40);
  rate.feed(s.data(), s.size());
  EXPECT_NEAR(rate.seconds(), 1.0, 1e-6);
  EXPECT_NEAR(rate.bits_per_s(), 1.88e6, 1);
}

TEST(ts_rate, pieces_of_any_size_measure_the_same) {
  std::string s = stream(10, 33, 20, 123'456'789);
  ts_rate whole, pieces;
  whole.feed(s.data(), s.size());
  for (size_t at = 0; at < s.size(); at += 100)
    pieces.feed(s.data() + at, std::min<size_t>(100, s.size() - at));
  EXPECT_GT(whole.bits_per_s(), 0);
  EXPECT_DOUBLE_EQ(pieces.bits_per_s(), whole.bits_per_s());
  EXPECT_DOUBLE_EQ(pieces.seconds(), whole.seconds());
}

TEST(ts_rate, no_rate_before_two_pcrs_or_without_any) {
  ts_rate rate;
  std::string one = packet(1000) + packet() + packet();
  rate.feed(one.data(), one.size());
  EXPECT_EQ(rate.bits_per_s(), 0);
  ts_rate none;
  std::string plain = packet() + packet();
  none.feed(plain.data(), plain.size());
  EXPECT_EQ(none.bits_per_s(), 0);
}

TEST(ts_rate, a_jump_or_a_discontinuity_is_not_an_interval) {
  // 10 intervals of 20 packets per 10 ms, then the PCR jumps 5 s ahead (a resync), goes
  // back (a restarted source) and is flagged discontinuous: none of those counts.
  std::string s = stream(10, 20, 10);
  s += packet(27'000'000 + 6 * 27'000'000);
  s += packet(1000);
  s += packet(2000 + 270'000, 0x100, true);
  ts_rate rate;
  rate.feed(s.data(), s.size());
  EXPECT_NEAR(rate.seconds(), 0.1, 1e-6);
  EXPECT_NEAR(rate.bits_per_s(), 20 * 188 * 8 / 0.01, 1);
  EXPECT_EQ(rate.jumps(), 2u) << "ahead and back break the timeline; a flagged one does not";
}

TEST(ts_rate, the_timeline_leaps_ahead_but_never_goes_back) {
  ts_rate rate;
  EXPECT_EQ(rate.pcrs(), 0u);
  std::string s = stream(10, 5, 100);  // PCRs from 1 s to 2 s
  rate.feed(s.data(), s.size());
  EXPECT_EQ(rate.pcrs(), 11u);
  EXPECT_NEAR(rate.timeline_s(), 2.0, 1e-9);
  s = packet(27'000'000 * 7);  // 5 s ahead: a resync, kept
  rate.feed(s.data(), s.size());
  EXPECT_NEAR(rate.timeline_s(), 7.0, 1e-9);
  // A looped file starting over at 1 s: the timeline goes on from 7 s, as it had to.
  s = stream(5, 5, 100);
  rate.feed(s.data(), s.size());
  EXPECT_NEAR(rate.timeline_s(), 7.5, 1e-9);
  rate.restart();  // the window: the timeline is not the rate's
  EXPECT_NEAR(rate.timeline_s(), 7.5, 1e-9);
}

TEST(ts_rate, a_steady_timeline_has_no_jumps) {
  std::string s = stream(50, 10, 40);
  ts_rate rate;
  rate.feed(s.data(), s.size());
  rate.restart();
  rate.feed(s.data(), 188);  // the same PCR again after the restart: not compared
  EXPECT_EQ(rate.jumps(), 0u);
}

TEST(ts_rate, only_the_first_pcr_pid_counts) {
  std::string s;
  for (int i = 0; i <= 4; ++i) {
    s += packet(i * 270'000);                // 10 ms apart on 0x100
    s += packet(i * 270'000 + 5000, 0x101);  // another program's clock
    for (int j = 0; j < 8; ++j) s += packet();
  }
  ts_rate rate;
  rate.feed(s.data(), s.size());
  EXPECT_NEAR(rate.bits_per_s(), 10 * 188 * 8 / 0.01, 1);
}

TEST(ts_rate, restart_measures_from_the_next_pcr) {
  std::string slow = stream(5, 10, 40), fast = stream(5, 40, 40, 27'000'000 * 2);
  ts_rate rate;
  rate.feed(slow.data(), slow.size());
  rate.restart();
  rate.feed(fast.data(), fast.size());
  EXPECT_NEAR(rate.bits_per_s(), 40 * 188 * 8 / 0.04, 1);
}

}  // namespace
}  // namespace gordo::load
