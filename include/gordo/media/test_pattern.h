// The built-in default source: a moving test pattern with a tone, encoded once at
// start-up (H.264 + AAC in MPEG-TS, in memory) and then looped like any file.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace gordo {

struct test_pattern_options {
  int width = 1280;
  int height = 720;
  int fps = 30;
  int seconds = 10;
  int64_t video_bitrate = 2'000'000;
  int64_t audio_bitrate = 128'000;
};

// Throws std::runtime_error when an encoder or filter is missing from this FFmpeg build.
std::vector<uint8_t> encode_test_pattern(const test_pattern_options& opts);

}  // namespace gordo
