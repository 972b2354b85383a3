#include "gordo/http/hls_playlist.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <vector>

#include "hls_test_stream.h"

namespace gordo {
namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The value of `attr` in a tag line: DURATION=0.320 → 0.320.
double attribute(const std::string& line, const std::string& attr) {
  size_t at = line.find(attr + "=");
  return at == std::string::npos ? NAN : std::stod(line.substr(at + attr.size() + 1));
}

double tag_value(const std::vector<std::string>& ls, const std::string& tag) {
  for (const auto& l : ls)
    if (l.rfind(tag + ":", 0) == 0) return std::stod(l.substr(tag.size() + 1));
  return NAN;
}

int count(const std::vector<std::string>& ls, const std::string& prefix) {
  int n = 0;
  for (const auto& l : ls) n += l.rfind(prefix, 0) == 0;
  return n;
}

media_playlist_options ll() {
  return {"run", ".ts", false, 2'000'000, 333'000, "", false};
}

TEST(hls_playlist, follows_the_rules_of_rfc8216bis_for_low_latency) {
  hls_index index(6);
  hls_test_stream s{index};
  for (int i = 0; i < 8; ++i) s.segment();
  s.part(0);
  s.part(1);
  auto ls = lines(media_playlist(index, ll()));
  ASSERT_EQ(ls[0], "#EXTM3U");
  EXPECT_GE(tag_value(ls, "#EXT-X-MEDIA-SEQUENCE"), 1) << "hls.js stalls on 0";
  EXPECT_EQ(tag_value(ls, "#EXT-X-MEDIA-SEQUENCE"), 3) << "the six complete segments 3 to 8";
  EXPECT_EQ(count(ls, "#EXTINF:"), 6);
  EXPECT_EQ(count(ls, "#EXT-X-INDEPENDENT-SEGMENTS"), 1);
  double target = tag_value(ls, "#EXT-X-TARGETDURATION");
  double part_target = NAN, hold_back = NAN;
  for (const auto& l : ls) {
    if (l.rfind("#EXTINF:", 0) == 0) {
      EXPECT_LE(std::round(std::stod(l.substr(8))), target) << l;
    }
    if (l.rfind("#EXT-X-PART-INF:", 0) == 0) part_target = attribute(l, "PART-TARGET");
    if (l.rfind("#EXT-X-SERVER-CONTROL:", 0) == 0) {
      EXPECT_NE(l.find("CAN-BLOCK-RELOAD=YES"), std::string::npos);
      hold_back = attribute(l, "PART-HOLD-BACK");
    }
  }
  ASSERT_FALSE(std::isnan(part_target));
  EXPECT_GE(hold_back + 1e-9, 3 * part_target) << "Apple: PART-HOLD-BACK at least 3 part targets";
  int parts = 0;
  for (const auto& l : ls) {
    if (l.rfind("#EXT-X-PART:", 0) != 0) continue;
    ++parts;
    EXPECT_LE(attribute(l, "DURATION"), part_target) << l;
  }
  // Parts only for the segments ending within three target durations (6 s) of the end:
  // the last four of 1.998 s, and the open segment's complete one.
  EXPECT_EQ(parts, 4 * 6 + 1);
  EXPECT_EQ(ls.back(), "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"run-9.1.ts\"");
  EXPECT_EQ(count(ls, "#EXT-X-PROGRAM-DATE-TIME:"), 7);
  EXPECT_EQ(count(ls, "#EXT-X-SKIP"), 0);
  EXPECT_EQ(count(ls, "#EXT-X-MAP"), 0) << "MPEG-TS segments need no init section";
}

TEST(hls_playlist, classic_hls_has_no_parts) {
  hls_index index(6);
  hls_test_stream s{index};
  for (int i = 0; i < 3; ++i) s.segment();
  media_playlist_options o = ll();
  o.part_target_us = 0;
  auto ls = lines(media_playlist(index, o));
  EXPECT_EQ(count(ls, "#EXT-X-PART"), 0);
  EXPECT_EQ(count(ls, "#EXT-X-PRELOAD-HINT"), 0);
  EXPECT_EQ(count(ls, "#EXTINF:1.998,"), 2);
  EXPECT_EQ(ls.back(), "run-2.ts");
  EXPECT_EQ(tag_value(ls, "#EXT-X-MEDIA-SEQUENCE"), 1);
}

TEST(hls_playlist, fmp4_segments_name_their_init_section_and_a_restart_is_a_discontinuity) {
  slab_pool pool(4096, 4);  // first: it outlives the chunks the index holds
  chunk_builder b(pool);
  hls_index index(6);
  hls_test_stream s{index};
  std::byte x{1};
  b.append({&x, 1});
  index.set_header(b.seal());
  s.segment();
  s.segment();
  b.append({&x, 1});
  index.set_header(b.seal());
  s.segment(chunk_restart);
  s.segment();
  media_playlist_options o = ll();
  o.fmp4 = true;
  o.extension = ".m4s";
  o.query = "token=ab&expires=9";
  std::string text = media_playlist(index, o);
  auto ls = lines(text);
  EXPECT_EQ(count(ls, "#EXT-X-MAP:URI=\"run-init0.mp4?token=ab&expires=9\""), 1);
  EXPECT_EQ(count(ls, "#EXT-X-MAP:URI=\"run-init1.mp4?token=ab&expires=9\""), 1);
  EXPECT_EQ(count(ls, "#EXT-X-DISCONTINUITY"), 1);
  EXPECT_GE(tag_value(ls, "#EXT-X-VERSION"), 6);
  EXPECT_NE(text.find("\nrun-1.m4s?token=ab&expires=9\n"), std::string::npos)
      << "every URI carries the signed URL's query";
  // The discontinuity after the MAP of the segment before it, before its own MAP.
  size_t disc = text.find("#EXT-X-DISCONTINUITY\n");
  EXPECT_LT(disc, text.find("run-init1.mp4"));
  EXPECT_GT(disc, text.find("run-2.m4s"));
  for (int i = 0; i < 8; ++i) s.segment();
  ls = lines(media_playlist(index, o));
  EXPECT_EQ(tag_value(ls, "#EXT-X-DISCONTINUITY-SEQUENCE"), 1);
  EXPECT_EQ(count(ls, "#EXT-X-DISCONTINUITY\n"), 0);
}

TEST(hls_playlist, delta_updates_skip_what_is_older_than_the_skip_boundary) {
  hls_index index(20);
  hls_test_stream s{index};
  for (int i = 0; i < 22; ++i) s.segment();
  media_playlist_options o = ll();
  auto full = lines(media_playlist(index, o));
  std::string control;
  for (const auto& l : full)
    if (l.rfind("#EXT-X-SERVER-CONTROL", 0) == 0) control = l;
  double until = attribute(control, "CAN-SKIP-UNTIL");
  EXPECT_GE(until, 6 * tag_value(full, "#EXT-X-TARGETDURATION"));
  o.skip = true;
  auto delta = lines(media_playlist(index, o));
  int skipped = -1;
  for (const auto& l : delta)
    if (l.rfind("#EXT-X-SKIP:", 0) == 0) {
      skipped = static_cast<int>(attribute(l, "SKIPPED-SEGMENTS"));
    }
  // 20 segments of 1.998 s, a 12 s boundary: the 13 oldest end more than 12 s before the end.
  EXPECT_EQ(skipped, 13);
  EXPECT_EQ(count(delta, "#EXTINF:"), 20 - skipped);
  EXPECT_EQ(tag_value(delta, "#EXT-X-MEDIA-SEQUENCE"), tag_value(full, "#EXT-X-MEDIA-SEQUENCE"));
  // A six-segment window is inside the boundary: no delta updates offered.
  hls_index small(6);
  hls_test_stream t{small};
  for (int i = 0; i < 10; ++i) t.segment();
  std::string text = media_playlist(small, o);
  EXPECT_EQ(text.find("CAN-SKIP-UNTIL"), std::string::npos);
  EXPECT_EQ(text.find("#EXT-X-SKIP"), std::string::npos);
}

TEST(hls_playlist, multivariant_lists_each_rendition) {
  std::vector<rendition> r = {
      {"hd.ts/index.m3u8", 5'000'000, 4'500'000, "avc1.640028,mp4a.40.2", 1920, 1080, 25},
      {"radio.ts/index.m3u8", 130'000, 0, "mp4a.40.2", 0, 0, 0},
  };
  std::string text = multivariant_playlist(r);
  EXPECT_NE(text.find("#EXT-X-STREAM-INF:BANDWIDTH=5000000,AVERAGE-BANDWIDTH=4500000,"
                      "CODECS=\"avc1.640028,mp4a.40.2\",RESOLUTION=1920x1080,FRAME-RATE=25.000\n"
                      "hd.ts/index.m3u8\n"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("#EXT-X-STREAM-INF:BANDWIDTH=130000,CODECS=\"mp4a.40.2\"\nradio.ts/index.m3u8\n"),
      std::string::npos)
      << text;
}

TEST(hls_playlist, segment_bitrates_peak_and_average) {
  hls_index index(6);
  hls_test_stream s{index};
  s.segment();
  s.bytes = 20'000;
  s.segment();
  s.part(0);
  auto [peak, average] = segment_bitrates(index);
  EXPECT_EQ(peak, 12ull * 20'000 * 8 * 1'000'000 / 1'998'000);
  EXPECT_EQ(average, 12ull * 30'000 * 8 * 1'000'000 / 3'996'000);
}

}  // namespace
}  // namespace gordo

namespace gordo {
namespace {

TEST(hls_playlist, part_target_covers_frame_quantised_parts_and_durations_round_up) {
  hls_index index(6);
  hls_test_stream s{index};
  s.part_us = 200'200;  // six frames at 29.97 fps
  for (int i = 0; i < 3; ++i) s.segment();
  media_playlist_options o = ll();
  o.part_target_us = 200'000;
  auto ls = lines(media_playlist(index, o));
  double part_target = NAN;
  for (const auto& l : ls)
    if (l.rfind("#EXT-X-PART-INF:", 0) == 0) part_target = attribute(l, "PART-TARGET");
  EXPECT_DOUBLE_EQ(part_target, 0.201);
  for (const auto& l : ls) {
    if (l.rfind("#EXT-X-PART:", 0) == 0) {
      EXPECT_LE(attribute(l, "DURATION"), part_target) << l;
    }
  }
  // 999.6 ms is "1.000", not "0.000".
  hls_index whole(6);
  hls_test_stream t{whole};
  t.parts = 3;
  t.part_us = 333'200;
  t.segment();
  t.segment();
  o.part_target_us = 0;
  EXPECT_NE(media_playlist(whole, o).find("#EXTINF:1.000,"), std::string::npos);
}

}  // namespace
}  // namespace gordo
