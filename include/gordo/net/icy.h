// SHOUTcast/Icecast in-stream metadata ("ICY"): a player that sends Icy-MetaData: 1 gets
// icy-metaint: N in the response head, and after every N bytes of audio a block: one
// byte L, then L×16 bytes of "StreamTitle='...';" padded with NULs (L = 0: no change).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gordo {

inline constexpr size_t icy_metaint = 16000;  // Icecast's default

// The metadata block announcing `title` (control characters dropped, cut to fit).
std::string icy_block(std::string_view title);

}  // namespace gordo
