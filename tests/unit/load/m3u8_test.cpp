#include "load/m3u8.h"

#include <gtest/gtest.h>

#include "test_playlists.h"

namespace gordo::load {
namespace {

using testing::classic_playlist;
using testing::ll_playlist;
using testing::wall_ms;

TEST(m3u8, reads_a_low_latency_playlist_as_gordo_writes_it) {
  m3u8_media pl;
  const std::string text1 = ll_playlist(5, 6, 2);  // the parse points into it
  ASSERT_TRUE(parse_media_playlist(text1, pl));
  EXPECT_EQ(pl.target_duration, 2);
  EXPECT_EQ(pl.media_sequence, 5u);
  EXPECT_DOUBLE_EQ(pl.part_target, 0.333);
  EXPECT_DOUBLE_EQ(pl.part_hold_back, 0.999);
  EXPECT_TRUE(pl.can_block_reload);
  EXPECT_FALSE(pl.ended);
  ASSERT_EQ(pl.segments.size(), 7u) << "six whole, one being made";
  for (size_t i = 0; i < 6; ++i) {
    const m3u8_segment& s = pl.segments[i];
    EXPECT_EQ(s.msn, 5 + i);
    EXPECT_TRUE(s.complete());
    EXPECT_EQ(s.uri, "r-" + std::to_string(5 + i) + ".ts");
    EXPECT_DOUBLE_EQ(s.duration, 1.998);
    EXPECT_EQ(s.wall_ms, wall_ms(5 + i));
    EXPECT_EQ(s.parts.size(), i < 3 ? 0u : 6u) << "parts for the last three only";
  }
  const m3u8_segment& open = pl.segments.back();
  EXPECT_EQ(open.msn, 11u);
  EXPECT_FALSE(open.complete());
  EXPECT_EQ(open.wall_ms, wall_ms(11));
  ASSERT_EQ(open.parts.size(), 2u);
  EXPECT_EQ(open.parts[0].uri, "r-11.0.ts");
  EXPECT_TRUE(open.parts[0].independent);
  EXPECT_FALSE(open.parts[1].independent);
  EXPECT_DOUBLE_EQ(open.parts[1].duration, 0.333);
  EXPECT_EQ(pl.preload_hint, "r-11.2.ts");
  EXPECT_EQ(pl.find(11), &open);
  EXPECT_EQ(pl.find(4), nullptr);
  EXPECT_EQ(pl.find(12), nullptr);
}

TEST(m3u8, carries_a_date_on_to_segments_without_one) {
  m3u8_media pl;
  ASSERT_TRUE(parse_media_playlist(
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:3\n"
      "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:00:04.000+00:00\n#EXTINF:2.5,\na.ts\n"
      "#EXTINF:2,\nb.ts\n#EXTINF:2,\nc.ts\n#EXT-X-ENDLIST\n",
      pl));
  ASSERT_EQ(pl.segments.size(), 3u);
  EXPECT_EQ(pl.segments[0].wall_ms, wall_ms(3));
  EXPECT_EQ(pl.segments[1].wall_ms, wall_ms(3) + 2500);
  EXPECT_EQ(pl.segments[2].wall_ms, wall_ms(3) + 4500);
  EXPECT_EQ(pl.segments[2].msn, 5u);
  EXPECT_TRUE(pl.ended);
  EXPECT_EQ(pl.part_target, 0) << "not low-latency";
}

TEST(m3u8, reads_ffmpeg_classic_playlists_with_crlf_and_zone_offsets) {
  m3u8_media pl;
  const std::string text2 = classic_playlist(40, 6);  // the parse points into it
  ASSERT_TRUE(parse_media_playlist(text2, pl));
  ASSERT_EQ(pl.segments.size(), 6u);
  EXPECT_EQ(pl.segments[0].msn, 40u);
  EXPECT_EQ(pl.segments[5].uri, "seg45.ts");
  EXPECT_EQ(pl.segments[5].wall_ms, wall_ms(45));
  EXPECT_DOUBLE_EQ(pl.segments[5].duration, 2.0);
  EXPECT_FALSE(pl.can_block_reload);
}

TEST(m3u8, reuses_its_vectors_and_forgets_the_last_parse) {
  m3u8_media pl;
  const std::string text3 = ll_playlist(5, 6, 2);  // the parse points into it
  ASSERT_TRUE(parse_media_playlist(text3, pl));
  const std::string text4 = ll_playlist(9, 3, 0);  // the parse points into it
  ASSERT_TRUE(parse_media_playlist(text4, pl));
  ASSERT_EQ(pl.segments.size(), 3u);
  EXPECT_EQ(pl.segments[0].msn, 9u);
  EXPECT_EQ(pl.segments[0].parts.size(), 6u);
  EXPECT_EQ(pl.preload_hint, "r-12.0.ts");
  const std::string text5 = classic_playlist(1, 1);  // the parse points into it
  ASSERT_TRUE(parse_media_playlist(text5, pl));
  ASSERT_EQ(pl.segments.size(), 1u);
  EXPECT_TRUE(pl.segments[0].parts.empty());
  EXPECT_EQ(pl.part_target, 0);
  EXPECT_TRUE(pl.preload_hint.empty());
}

TEST(m3u8, refuses_what_is_no_media_playlist) {
  m3u8_media pl;
  EXPECT_FALSE(parse_media_playlist("", pl));
  EXPECT_FALSE(parse_media_playlist("<html>not found</html>", pl));
  EXPECT_FALSE(parse_media_playlist("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n", pl));
}

TEST(m3u8, follows_the_first_rendition_of_a_multivariant_playlist) {
  std::string text =
      "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=2712000,CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720\n"
      "live.ts/index.m3u8?token=x\n#EXT-X-STREAM-INF:BANDWIDTH=1\nother.m3u8\n";
  EXPECT_TRUE(is_multivariant(text));
  EXPECT_EQ(first_rendition(text), "live.ts/index.m3u8?token=x");
  EXPECT_FALSE(is_multivariant(ll_playlist(1, 1, 0)));
  EXPECT_FALSE(first_rendition("#EXTM3U\n"));
}

TEST(m3u8, resolves_uris_as_a_player_does) {
  EXPECT_EQ(resolve_uri("/live.ts/index.m3u8", "r-5.1.ts"), "/live.ts/r-5.1.ts");
  EXPECT_EQ(resolve_uri("/live.ts/index.m3u8?_HLS_msn=5&_HLS_part=1", "r-5.1.ts?t=a/b"),
            "/live.ts/r-5.1.ts?t=a/b");
  EXPECT_EQ(resolve_uri("/live.m3u8", "live.ts/index.m3u8"), "/live.ts/index.m3u8");
  EXPECT_EQ(resolve_uri("/a/b.m3u8", "/c/d.ts"), "/c/d.ts");
  EXPECT_EQ(resolve_uri("/a/b.m3u8", "http://host:8080/e/f.ts"), "/e/f.ts");
  EXPECT_EQ(resolve_uri("/a/b.m3u8", "https://host"), "/");
}

TEST(m3u8, reads_dates_in_the_forms_iso_8601_allows) {
  EXPECT_EQ(parse_date_time("2024-05-01T12:00:00Z"), testing::epoch_ms);
  EXPECT_EQ(parse_date_time("2024-05-01T12:00:00.25Z"), testing::epoch_ms + 250);
  EXPECT_EQ(parse_date_time("2024-05-01T12:00:00.123456Z"), testing::epoch_ms + 123);
  EXPECT_EQ(parse_date_time("2024-05-01T14:00:00.000+02:00"), testing::epoch_ms);
  EXPECT_EQ(parse_date_time("2024-05-01T10:30:00-0130"), testing::epoch_ms);
  EXPECT_EQ(parse_date_time("2024-05-01T12:00:00"), testing::epoch_ms);
  for (const char* bad :
       {"", "2024-05-01", "2024-05-01 12:00:00Z", "2024-05-01T12:00:00Q", "2024-05-01T12:00:00+xx"})
    EXPECT_FALSE(parse_date_time(bad)) << bad;
}

}  // namespace
}  // namespace gordo::load
