#include "gordo/media/hls_cutter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace gordo {
namespace {

struct cut_at {
  int64_t us;
  hls_cutter::cut kind;
  uint64_t msn;
  uint32_t part;
};

// Video at `fps` with a keyframe every `gop` frames, plus an audio packet every 21.333 ms
// (AAC at 48 kHz), as interleaved by time: the cuts, in order.
std::vector<cut_at> run(hls_cutter& c, double fps, int gop, int64_t until_us) {
  std::vector<cut_at> cuts;
  int64_t frame_us = static_cast<int64_t>(1e6 / fps);
  int64_t audio_us = 0;
  for (int64_t n = 0; n * frame_us < until_us; ++n) {
    int64_t v = n * frame_us;
    for (; audio_us < v; audio_us += 21333) {
      auto k = c.before(audio_us, false, false);
      EXPECT_EQ(k, hls_cutter::cut::none) << "audio never cuts a video stream";
    }
    auto k = c.before(v, n % gop == 0, true);
    if (k != hls_cutter::cut::none) cuts.push_back({v, k, c.msn(), c.part()});
  }
  return cuts;
}

TEST(hls_cutter, segments_start_at_the_first_keyframe_past_the_target) {
  hls_cutter c({2'000'000, 0});
  auto cuts = run(c, 25, 25, 10'000'000);
  ASSERT_EQ(cuts.size(), 5u);
  for (size_t i = 0; i < cuts.size(); ++i) {
    EXPECT_EQ(cuts[i].kind, hls_cutter::cut::segment);
    EXPECT_EQ(cuts[i].us, static_cast<int64_t>(i) * 2'000'000);
    EXPECT_EQ(cuts[i].msn, i + 1) << "MEDIA-SEQUENCE starts at 1";
  }
  // Keyframes every 3 s and a 2 s target: 3 s segments, never a cut between keyframes.
  hls_cutter sparse({2'000'000, 0});
  cuts = run(sparse, 25, 75, 12'000'000);
  ASSERT_EQ(cuts.size(), 4u);
  EXPECT_EQ(cuts[1].us, 3'000'000);
}

TEST(hls_cutter, parts_stay_within_their_target_and_above_85_percent) {
  for (int64_t target : {200'000, 333'000, 500'000, 1'000'000}) {
    for (double fps : {25.0, 30.0, 29.97, 50.0, 60.0}) {
      hls_cutter c({2'000'000, target});
      auto cuts = run(c, fps, static_cast<int>(fps), 12'000'000);
      ASSERT_GT(cuts.size(), 10u);
      for (size_t i = 0; i + 1 < cuts.size(); ++i) {
        int64_t len = cuts[i + 1].us - cuts[i].us;
        EXPECT_LE(len, target + 1000) << target << " @ " << fps << " fps, cut " << i;
        // All but a segment's last part: at least 85% of the target.
        if (cuts[i + 1].kind == hls_cutter::cut::part) {
          EXPECT_GE(len * 100, target * 85) << target << " @ " << fps << " fps, cut " << i;
          EXPECT_EQ(cuts[i + 1].part, cuts[i].part + 1);
        } else {
          EXPECT_EQ(cuts[i + 1].part, 0u);
        }
      }
    }
  }
}

TEST(hls_cutter, audio_only_streams_cut_anywhere) {
  hls_cutter c({2'000'000, 500'000});
  std::vector<cut_at> cuts;
  for (int64_t t = 0; t < 6'000'000; t += 21333) {
    auto k = c.before(t, true, true);
    if (k != hls_cutter::cut::none) cuts.push_back({t, k, c.msn(), c.part()});
  }
  int segments = 0;
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    EXPECT_LE(cuts[i + 1].us - cuts[i].us, 501'000);
    segments += cuts[i].kind == hls_cutter::cut::segment;
  }
  EXPECT_EQ(segments, 3);
}

TEST(hls_cutter, a_restart_begins_a_segment_at_the_next_keyframe) {
  hls_cutter c({2'000'000, 0});
  EXPECT_EQ(c.before(0, true, true), hls_cutter::cut::segment);
  EXPECT_EQ(c.before(40'000, false, true), hls_cutter::cut::none);
  c.restart();
  EXPECT_EQ(c.before(80'000, false, true), hls_cutter::cut::none) << "not before a keyframe";
  EXPECT_EQ(c.before(120'000, true, true), hls_cutter::cut::segment);
  EXPECT_EQ(c.msn(), 2u);
  EXPECT_EQ(c.before(160'000, true, true), hls_cutter::cut::none) << "then by time again";
}

TEST(hls_cutter, renditions_that_start_apart_are_cut_alike) {
  // Two renditions of one programme, timestamps from 100 s, keyframes every second: one
  // joins 3.5 s later. From its first segment on they cut at the same times into segments
  // with the same numbers.
  hls_cutter early({2'000'000, 0}), late({2'000'000, 0});
  std::vector<std::pair<int64_t, uint64_t>> a, b;
  for (int64_t t = 100'000'000; t < 120'000'000; t += 40'000) {
    bool key = (t - 100'000'000) % 1'000'000 == 0;
    if (early.before(t, key, true) == hls_cutter::cut::segment) a.push_back({t, early.msn()});
    if (t >= 103'500'000 && late.before(t, key, true) == hls_cutter::cut::segment)
      b.push_back({t, late.msn()});
  }
  ASSERT_GE(b.size(), 7u);
  EXPECT_EQ(b.front(), (std::pair<int64_t, uint64_t>{104'000'000, 53}));
  for (const auto& cut : b) EXPECT_NE(std::find(a.begin(), a.end(), cut), a.end()) << cut.first;
  EXPECT_EQ(a.front().second, 51u) << "numbered by the grid: 100 s / 2 s + 1";
}

TEST(hls_cutter, nothing_is_cut_before_the_first_keyframe) {
  hls_cutter c({2'000'000, 200'000});
  EXPECT_EQ(c.before(0, false, true), hls_cutter::cut::none);
  EXPECT_EQ(c.before(500'000, false, true), hls_cutter::cut::none);
  EXPECT_EQ(c.msn(), 0u);
  EXPECT_EQ(c.before(520'000, true, true), hls_cutter::cut::segment);
  EXPECT_EQ(c.msn(), 1u);
}

}  // namespace
}  // namespace gordo
