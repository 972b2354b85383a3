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

// PAT listing program 1 at `pmt_pid` (CRC not checked by psi_header).
packet pat(uint16_t pmt_pid) {
  return ts_packet(0, true, {0x00,                    // pointer_field
                             0x00, 0xb0, 0x0d,        // table 0, section length 13
                             0x00, 0x01, 0xc1, 0x00, 0x00,  // ts id, version, sections
                             0x00, 0x01,              // program 1
                             uint8_t(0xe0 | (pmt_pid >> 8)), uint8_t(pmt_pid & 0xff),
                             0xde, 0xad, 0xbe, 0xef});  // CRC
}

packet pmt(uint16_t pid) { return ts_packet(pid, true, {0x00, 0x02, 0xb0, 0x12}); }
packet pes(uint16_t pid) { return ts_packet(pid, true, {0x00, 0x00, 0x01, 0xe0}); }

std::vector<std::byte> join(std::initializer_list<packet> packets) {
  std::vector<std::byte> out;
  for (const auto& p : packets) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(ts, header_is_pat_then_its_pmt) {
  auto data = join({pat(0x1000), pmt(0x1000), pes(0x100), pes(0x101)});
  auto header = ts::psi_header(data);
  EXPECT_EQ(header, join({pat(0x1000), pmt(0x1000)}));
}

TEST(ts, packets_before_the_pat_and_other_tables_are_skipped) {
  auto data = join({pes(0x100), ts_packet(0x11, true, {0x00, 0x42}), pat(0x0abc), pes(0x100),
                    pmt(0x0abc)});
  EXPECT_EQ(ts::psi_header(data), join({pat(0x0abc), pmt(0x0abc)}));
}

TEST(ts, no_header_without_a_pmt) {
  EXPECT_TRUE(ts::psi_header(join({pat(0x1000), pes(0x100)})).empty());
  EXPECT_TRUE(ts::psi_header(join({pmt(0x1000), pes(0x100)})).empty());  // PMT before PAT
}

TEST(ts, no_header_from_bytes_that_are_not_ts) {
  std::vector<std::byte> garbage(188 * 3, std::byte{0x12});
  EXPECT_TRUE(ts::psi_header(garbage).empty());
  EXPECT_TRUE(ts::psi_header({}).empty());
  auto truncated = join({pat(0x1000), pmt(0x1000)});
  truncated.resize(188 + 100);
  EXPECT_TRUE(ts::psi_header(truncated).empty());
}

TEST(ts, pat_with_only_network_pid_names_no_pmt) {
  packet network_only = ts_packet(0, true, {0x00, 0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00,
                                            0x00, 0x00, 0x00, 0xe0, 0x10, 0, 0, 0, 0});
  EXPECT_TRUE(ts::psi_header(join({network_only, pmt(0x10)})).empty());
}

}  // namespace
}  // namespace gordo
