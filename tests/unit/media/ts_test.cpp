#include "gordo/media/ts.h"

#include <gtest/gtest.h>

#include <vector>

namespace gordo {
namespace {

using packet = std::vector<std::byte>;

packet ts_packet(uint16_t pid, bool unit_start, std::vector<uint8_t> payload) {
  packet p(ts::packet_size, std::byte{0xff});
  p[0] = ts::sync_byte;
  p[1] = std::byte(((unit_start ? 0x40 : 0) | (pid >> 8)) & 0xff);
  p[2] = std::byte(pid & 0xff);
  p[3] = std::byte{0x10};  // payload only, CC 0
  for (size_t i = 0; i < payload.size(); ++i) p[4 + i] = std::byte(payload[i]);
  return p;
}

// PAT listing program 1 at `pmt_pid` (its CRC is not checked).
packet pat(uint16_t pmt_pid) {
  return ts_packet(
      0, true,
      {0x00,                          // pointer_field
       0x00, 0xb0, 0x0d,              // table 0, section length 13
       0x00, 0x01, 0xc1, 0x00, 0x00,  // ts id, version, sections
       0x00, 0x01,                    // program 1
       uint8_t(0xe0 | (pmt_pid >> 8)), uint8_t(pmt_pid & 0xff), 0xde, 0xad, 0xbe, 0xef});  // CRC
}

packet pmt(uint16_t pid) {
  return ts_packet(pid, true, {0x00, 0x02, 0xb0, 0x12});
}
packet pes(uint16_t pid) {
  return ts_packet(pid, true, {0x00, 0x00, 0x01, 0xe0});
}

std::vector<std::byte> join(std::initializer_list<packet> packets) {
  std::vector<std::byte> out;
  for (const auto& p : packets) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A packet that carries `tag` in its last byte, to tell packets apart after a move.
packet tagged(packet p, uint8_t tag) {
  p[ts::packet_size - 1] = std::byte(tag);
  return p;
}

std::vector<std::byte> lead(std::vector<std::byte> data, bool expect = true) {
  EXPECT_EQ(ts::lead_with_psi(data), expect);
  return data;
}

TEST(ts, psi_already_leading_stays) {
  auto data = join({pat(0x1000), pmt(0x1000), pes(0x100), pes(0x101)});
  EXPECT_EQ(lead(data), data);
}

TEST(ts, psi_moves_ahead_of_audio_flushed_before_it) {
  packet audio1 = tagged(pes(0x101), 1), audio2 = tagged(pes(0x101), 2), video = pes(0x100);
  auto data = join({audio1, audio2, pat(0x1000), pmt(0x1000), video, audio1});
  EXPECT_EQ(lead(data), join({pat(0x1000), pmt(0x1000), audio1, audio2, video, audio1}));
}

TEST(ts, other_tables_and_packets_between_pat_and_pmt_keep_their_order) {
  packet sdt = ts_packet(0x11, true, {0x00, 0x42});
  packet a = tagged(pes(0x100), 7);
  auto data = join({sdt, pat(0x0abc), a, pmt(0x0abc), pes(0x100)});
  EXPECT_EQ(lead(data), join({pat(0x0abc), pmt(0x0abc), sdt, a, pes(0x100)}));
}

TEST(ts, a_pmt_continued_in_the_next_packet_moves_whole) {
  packet more = tagged(ts_packet(0x1000, false, {0x01}), 9);
  auto data = join({pes(0x101), pat(0x1000), pmt(0x1000), more, pes(0x100)});
  EXPECT_EQ(lead(data), join({pat(0x1000), pmt(0x1000), more, pes(0x101), pes(0x100)}));
}

TEST(ts, nothing_moves_without_a_pat_and_its_pmt) {
  auto no_pmt = join({pes(0x101), pat(0x1000), pes(0x100)});
  EXPECT_EQ(lead(no_pmt, false), no_pmt);
  auto pmt_first = join({pes(0x101), pmt(0x1000), pat(0x1000)});
  EXPECT_EQ(lead(pmt_first, false), pmt_first);
  packet network_only = ts_packet(
      0, true,
      {0x00, 0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x10, 0, 0, 0, 0});
  auto no_program = join({pes(0x101), network_only, pmt(0x10)});
  EXPECT_EQ(lead(no_program, false), no_program);
}

TEST(ts, bytes_that_are_not_ts_are_left_alone) {
  std::vector<std::byte> garbage(188 * 3, std::byte{0x12});
  EXPECT_EQ(lead(garbage, false), garbage);
  EXPECT_EQ(lead({}, false), std::vector<std::byte>{});
  auto truncated = join({pes(0x101), pat(0x1000), pmt(0x1000)});
  truncated.resize(2 * 188 + 100);  // the PMT is cut
  EXPECT_EQ(lead(truncated, false), truncated);
}

}  // namespace
}  // namespace gordo
