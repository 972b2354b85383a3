// MPEG-TS facts gordo needs without a demuxer: packet layout and the PAT/PMT pair that
// lets a player map PIDs to streams (the header a new viewer gets first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace gordo::ts {

inline constexpr size_t packet_size = 188;
inline constexpr std::byte sync_byte{0x47};

// The PAT packet and the packet of the PMT it names, copied from the start of `data`
// (whole TS packets), or empty when `data` holds no complete PAT + PMT.
std::vector<std::byte> psi_header(std::span<const std::byte> data);

}  // namespace gordo::ts
