// MPEG-TS facts gordo needs without a demuxer: packet layout and the PAT/PMT pair that
// lets a player map PIDs to streams (what a new viewer must get first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace gordo::ts {

inline constexpr size_t packet_size = 188;
inline constexpr std::byte sync_byte{0x47};

// Moves the first PAT packet in `data` (whole TS packets) and the packets of the PMT it
// names that follow it to the front, keeping every other packet in its order. Returns
// false, leaving `data` as it was, when it holds no PAT followed by its PMT.
//
// The muxer writes PAT + PMT just before each video keyframe, but may first flush audio
// it held: a keyframe chunk moved to start with its own tables needs no separate stream
// header, so every viewer's continuity counters run unbroken from its first byte.
// (Reordering packets of different PIDs is allowed; the tables carry no timing.)
bool lead_with_psi(std::span<std::byte> data);

}  // namespace gordo::ts
