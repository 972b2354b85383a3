#include "gordo/media/ts.h"

#include <algorithm>
#include <optional>
#include <vector>

namespace gordo::ts {

namespace {

uint8_t u8(std::span<const std::byte> p, size_t i) {
  return std::to_integer<uint8_t>(p[i]);
}

uint16_t pid_of(std::span<const std::byte> p) {
  return ((u8(p, 1) & 0x1f) << 8) | u8(p, 2);
}

bool starts_unit(std::span<const std::byte> p) {
  return u8(p, 1) & 0x40;
}

// Offset of the payload in a TS packet, or nullopt if it has none.
std::optional<size_t> payload_offset(std::span<const std::byte> p) {
  uint8_t afc = (u8(p, 3) >> 4) & 0x3;
  if (!(afc & 0x1)) return std::nullopt;
  size_t off = 4;
  if (afc & 0x2) off += 1 + u8(p, 4);
  if (off >= packet_size) return std::nullopt;
  return off;
}

// The PMT PID of the first program listed in a PAT packet.
std::optional<uint16_t> pmt_pid(std::span<const std::byte> p) {
  auto off = payload_offset(p);
  if (!off || !starts_unit(p)) return std::nullopt;
  size_t i = *off + 1 + u8(p, *off);                                 // skip pointer_field
  if (i + 8 > packet_size || u8(p, i) != 0x00) return std::nullopt;  // table_id: PAT
  size_t section_len = ((u8(p, i + 1) & 0x0f) << 8) | u8(p, i + 2);
  size_t end = i + 3 + section_len - 4;  // before CRC
  if (end > packet_size) return std::nullopt;
  for (size_t j = i + 8; j + 4 <= end; j += 4) {
    uint16_t program = (u8(p, j) << 8) | u8(p, j + 1);
    if (program != 0) return ((u8(p, j + 2) & 0x1f) << 8) | u8(p, j + 3);
  }
  return std::nullopt;
}

}  // namespace

bool lead_with_psi(std::span<std::byte> data) {
  size_t count = data.size() / packet_size;
  auto packet = [&](size_t i) {
    return std::span<const std::byte>(data.subspan(i * packet_size, packet_size));
  };
  std::optional<uint16_t> pmt;  // once the PAT is found
  std::vector<size_t> psi;      // packet indexes, in order
  for (size_t i = 0; i < count; ++i) {
    auto p = packet(i);
    if (p[0] != sync_byte) return false;
    uint16_t pid = pid_of(p);
    if (!pmt) {
      if (pid == 0 && (pmt = pmt_pid(p))) psi.push_back(i);
    } else if (pid == *pmt && (psi.size() > 1 || starts_unit(p))) {
      psi.push_back(i);  // the PMT, and any packets it continues into
    } else if (psi.size() > 1 && pid != *pmt) {
      break;
    }
  }
  if (psi.size() < 2) return false;
  if (psi.back() + 1 == psi.size()) return true;  // already leading
  std::vector<std::byte> copy(
      data.begin(), data.begin() + static_cast<ptrdiff_t>((psi.back() + 1) * packet_size));
  std::byte* out = data.data();
  auto put = [&](size_t i) {
    std::copy_n(copy.data() + i * packet_size, packet_size, out);
    out += packet_size;
  };
  for (size_t i : psi) put(i);
  for (size_t i = 0, k = 0; i <= psi.back(); ++i) {
    if (k < psi.size() && psi[k] == i)
      ++k;
    else
      put(i);
  }
  return true;
}

}  // namespace gordo::ts
