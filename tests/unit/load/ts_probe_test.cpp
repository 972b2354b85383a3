#include "load/ts_probe.h"

#include <gtest/gtest.h>

#include <string>

namespace gordo::load {
namespace {

std::string packet(bool random_access, bool unit_start = true, std::string payload = "") {
  std::string p(188, '\xff');
  p[0] = 0x47;
  p[1] = static_cast<char>(unit_start ? 0x41 : 0x01);  // PID 0x100
  p[2] = 0x00;
  if (random_access) {
    p[3] = 0x30;  // adaptation field and payload
    p[4] = 1;
    p[5] = 0x40;  // random_access_indicator
  } else {
    p[3] = 0x10;  // payload only
    p.replace(4, payload.size(), payload);
  }
  return p;
}

TEST(ts_probe, random_access_packet_is_a_keyframe) {
  ts_probe probe;
  EXPECT_FALSE(probe.feed(packet(false).data(), 188));
  EXPECT_TRUE(probe.feed(packet(true).data(), 188));
  EXPECT_EQ(probe.packets(), 2u);
}

TEST(ts_probe, finds_a_keyframe_split_across_reads) {
  std::string stream = packet(false) + packet(false) + packet(true);
  ts_probe probe;
  EXPECT_FALSE(probe.feed(stream.data(), 300));
  EXPECT_FALSE(probe.feed(stream.data() + 300, 100));
  EXPECT_TRUE(probe.feed(stream.data() + 400, stream.size() - 400));
}

TEST(ts_probe, idr_nal_unit_without_the_flag_is_a_keyframe) {
  std::string pes(
      "\x00\x00\x01\xe0\x00\x00\x80\x80\x05\x21\x00\x01\x00\x01"
      "\x00\x00\x00\x01\x09\xf0\x00\x00\x00\x01\x65",
      25);
  // Each followed by a packet: the first is held until the next starts in sync.
  ts_probe probe;
  std::string idr = packet(false, true, pes) + packet(false);
  EXPECT_TRUE(probe.feed(idr.data(), idr.size()));
  std::string non_idr = pes;
  non_idr.back() = 0x41;  // a non-IDR slice
  ts_probe other;
  std::string plain = packet(false, true, non_idr) + packet(false);
  EXPECT_FALSE(other.feed(plain.data(), plain.size()));
}

TEST(ts_probe, the_first_packet_counts_once_the_next_starts_in_sync) {
  // A body that begins mid-packet at a 0x47 of a payload: 188 bytes on is no sync byte, so
  // that "packet" is dropped, and the keyframe found is the real one.
  std::string first = packet(false, true, std::string(60, '\x47'));
  std::string stream = first.substr(4 + 20) + packet(true) + packet(false);
  ASSERT_EQ(stream[0], '\x47');
  ts_probe probe;
  EXPECT_TRUE(probe.feed(stream.data(), stream.size()));
  EXPECT_EQ(probe.packets(), 1u);
}

TEST(ts_probe, resynchronises_after_garbage) {
  // The packet after garbage counts once the next one starts in sync too.
  std::string stream = "garbage" + packet(true);
  ts_probe probe;
  EXPECT_FALSE(probe.feed(stream.data(), stream.size()));
  EXPECT_TRUE(probe.feed(packet(false).data(), 188));
}

TEST(ts_probe, a_sync_byte_in_a_payload_is_not_taken_for_a_packet) {
  // Joined mid-packet: the rest of a packet whose payload holds 0x47, then packets. The
  // 0x47 starts no packet (188 bytes on is no sync byte), so the keyframe found is the
  // real one, the third packet.
  std::string first = packet(false, true, std::string(50, '\x47'));
  std::string stream = first.substr(100) + packet(false) + packet(true) + packet(false);
  ts_probe probe;
  EXPECT_TRUE(probe.feed(stream.data(), stream.size()));
  EXPECT_EQ(probe.packets(), 2u) << "the packets in sync after the join, the keyframe second";
}

}  // namespace
}  // namespace gordo::load
