// A small real stream for unit tests that need one but not its size: the test pattern at
// 160x120, 10 fps, 1 s (H.264 + AAC in MPEG-TS), encoded once per test binary.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "gordo/media/test_pattern.h"

namespace gordo {

inline std::shared_ptr<const std::vector<uint8_t>> small_pattern() {
  static auto bytes = [] {
    test_pattern_options o;
    o.width = 160;
    o.height = 120;
    o.fps = 10;
    o.seconds = 1;
    o.video_bitrate = 200'000;
    return std::make_shared<const std::vector<uint8_t>>(encode_test_pattern(o));
  }();
  return bytes;
}

}  // namespace gordo
