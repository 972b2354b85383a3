#include "load/ts_continuity.h"

#include <gtest/gtest.h>

#include <string>

namespace gordo::load {
namespace {

// A TS packet on `pid` with continuity counter `cc`; `payload` false: adaptation only.
std::string packet(int pid, int cc, bool payload = true, bool discontinuity = false) {
  std::string p(188, '\xff');
  p[0] = 0x47;
  p[1] = static_cast<char>(pid >> 8);
  p[2] = static_cast<char>(pid & 0xff);
  p[3] = static_cast<char>((payload ? 0x30 : 0x20) | (cc & 0x0f));
  p[4] = 1;  // an adaptation field of flags only
  p[5] = static_cast<char>(discontinuity ? 0x80 : 0);
  return p;
}

// `count` packets on each of two PIDs, interleaved, counters stepping from 0 (and wrapping).
std::string stream(int count) {
  std::string s;
  for (int i = 0; i < count; ++i) s += packet(0x100, i) + packet(0x101, i + 7);
  return s;
}

uint64_t breaks_in(const std::string& s, size_t piece = 0) {
  ts_continuity c;
  if (piece == 0) piece = s.size();
  for (size_t at = 0; at < s.size(); at += piece)
    c.feed(s.data() + at, std::min(piece, s.size() - at));
  return c.breaks();
}

TEST(ts_continuity, a_whole_stream_has_no_break_in_pieces_of_any_size) {
  std::string s = stream(40);  // counters wrap past 15
  EXPECT_EQ(breaks_in(s), 0u);
  EXPECT_EQ(breaks_in(s, 1), 0u);
  EXPECT_EQ(breaks_in(s, 1000), 0u);
}

TEST(ts_continuity, a_lost_packet_is_a_break_on_its_pid) {
  std::string s = stream(10);
  s.erase(6 * 188, 188);  // the fourth packet of PID 0x100
  EXPECT_EQ(breaks_in(s), 1u);
}

TEST(ts_continuity, a_lost_piece_of_a_packet_is_a_break) {
  std::string s = stream(10);
  s.erase(5 * 188 + 100, 188 * 3);  // from inside one packet to inside another
  // The two halves either side of the hole are taken for one packet (the reader cannot
  // tell), so a counter may be read from garbage: one break or a few, never none.
  EXPECT_GE(breaks_in(s), 1u);
  EXPECT_LE(breaks_in(s), 3u);
}

TEST(ts_continuity, a_damaged_packet_is_a_break) {
  std::string bad = packet(0x100, 2);
  bad[1] = static_cast<char>(bad[1] | 0x80);  // transport_error_indicator
  EXPECT_EQ(breaks_in(packet(0x100, 1) + bad + packet(0x100, 3)), 1u);
}

TEST(ts_continuity, one_duplicate_is_allowed_two_are_not) {
  std::string once = packet(0x100, 0) + packet(0x100, 1) + packet(0x100, 1) + packet(0x100, 2);
  EXPECT_EQ(breaks_in(once), 0u);
  std::string twice = packet(0x100, 0) + packet(0x100, 1) + packet(0x100, 1) + packet(0x100, 1);
  EXPECT_EQ(breaks_in(twice), 1u);
}

TEST(ts_continuity, packets_without_payload_and_flagged_discontinuities_are_not_breaks) {
  std::string s = packet(0x100, 3) + packet(0x100, 3, false) + packet(0x100, 4) +
                  packet(0x100, 11, true, true) + packet(0x100, 12) + packet(0x1fff, 9);
  EXPECT_EQ(breaks_in(s), 0u);
}

TEST(ts_continuity, a_discontinuity_flagged_without_payload_lets_the_next_counter_start_anew) {
  std::string s =
      packet(0x100, 3) + packet(0x100, 3, false, true) + packet(0x100, 9) + packet(0x100, 10);
  EXPECT_EQ(breaks_in(s), 0u);
}

TEST(ts_continuity, a_viewer_moved_ahead_without_a_flag_is_a_break) {
  std::string s = packet(0x100, 3) + packet(0x100, 4) + packet(0x100, 9);
  EXPECT_EQ(breaks_in(s), 1u);
}

}  // namespace
}  // namespace gordo::load
