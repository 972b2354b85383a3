#include "load/hls_viewer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_playlists.h"

namespace gordo::load {
namespace {

using testing::classic_playlist;
using testing::ll_playlist;
using testing::wall_ms;
using what = hls_viewer::next::what;

// Answers every media request with its part, all at time `t`; returns the paths fetched
// (and in `last`, what the viewer does after the last).
std::vector<std::string> take_media(hls_viewer& v, double t, double wall = 0,
                                    hls_viewer::next* last = nullptr) {
  std::vector<std::string> got;
  hls_viewer::next n;
  while (v.kind() == hls_viewer::fetch::media) {
    got.push_back(v.request());
    n = v.on_response("", t, wall);
  }
  if (last) *last = n;
  return got;
}

TEST(hls_viewer, joins_low_latency_at_the_independent_part_before_the_hold_back) {
  hls_common common;
  hls_viewer v(hls_mode::low_latency, "/live.m3u8", &common);
  EXPECT_EQ(v.request(), "/live.m3u8");
  EXPECT_EQ(v.kind(), hls_viewer::fetch::entry);
  v.on_response("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlive.ts/index.m3u8\n", 0, 0);
  EXPECT_EQ(v.request(), "/live.ts/index.m3u8");
  EXPECT_EQ(v.kind(), hls_viewer::fetch::playlist);
  // Segments 5–10 whole, 11 with two parts: 0.999 s back from 11.1 is 10.5; the
  // independent part at or before it is 10.0.
  EXPECT_EQ(v.on_response(ll_playlist(5, 6, 2), 0, 0).w, what::request);
  std::vector<std::string> want;
  for (int p = 0; p < 6; ++p) want.push_back("/live.ts/r-10." + std::to_string(p) + ".ts");
  want.push_back("/live.ts/r-11.0.ts");
  want.push_back("/live.ts/r-11.1.ts");
  EXPECT_EQ(take_media(v, 0.1), want);
  EXPECT_TRUE(v.playing());
  EXPECT_EQ(v.request(), "/live.ts/index.m3u8?_HLS_msn=11&_HLS_part=2");
  EXPECT_NEAR(v.buffer_s(0.1), 8 * 0.333, 1e-9);
}

TEST(hls_viewer, follows_parts_with_blocking_reloads_across_segments) {
  hls_common common;
  hls_viewer v(hls_mode::low_latency, "/live.ts/index.m3u8?token=t", &common);
  v.on_response(ll_playlist(5, 6, 5), 0, 0);
  take_media(v, 0);
  EXPECT_EQ(v.request(), "/live.ts/index.m3u8?token=t&_HLS_msn=11&_HLS_part=5");
  v.on_response(ll_playlist(5, 6, 6), 0.3, 0);
  EXPECT_EQ(take_media(v, 0.3), std::vector<std::string>{"/live.ts/r-11.5.ts"});
  EXPECT_EQ(v.request(), "/live.ts/index.m3u8?token=t&_HLS_msn=11&_HLS_part=6");
  // The segment ends with no more parts: the next is the first of segment 12.
  v.on_response(ll_playlist(5, 7, 0), 0.4, 0);
  EXPECT_TRUE(take_media(v, 0.4).empty());
  EXPECT_EQ(v.request(), "/live.ts/index.m3u8?token=t&_HLS_msn=12&_HLS_part=0");
  v.on_response(ll_playlist(6, 6, 1), 0.6, 0);
  EXPECT_EQ(take_media(v, 0.6), std::vector<std::string>{"/live.ts/r-12.0.ts"});
  EXPECT_EQ(v.stalls(), 0u);
  EXPECT_EQ(v.skips(), 0u);
}

TEST(hls_viewer, times_delivery_from_publication_for_what_it_did_not_join_with) {
  hls_common common;
  common.recording = true;
  hls_viewer v(hls_mode::low_latency, "/live.ts/index.m3u8", &common);
  v.on_response(ll_playlist(5, 6, 2), 0, 0);
  take_media(v, 0, 1e10);  // the backlog it joins with: not timed
  EXPECT_EQ(common.delivery_ms.count(), 0u);
  v.on_response(ll_playlist(5, 6, 3), 0.3, 0);
  // Part 11.2 begins 0.666 s into segment 11 and ends 0.333 s later; received 20 ms after.
  double published = static_cast<double>(wall_ms(11)) / 1000 + 0.999;
  v.on_response("", 0.3, published + 0.020);
  EXPECT_EQ(common.delivery_ms.count(), 1u);
  EXPECT_NEAR(common.delivery_ms.percentile(50), 20, 1);
  EXPECT_NEAR(common.age_ms.percentile(50), 353, 1);
  EXPECT_EQ(common.media, 9u);
}

TEST(hls_viewer, counts_a_stall_when_the_buffer_runs_dry) {
  hls_common common;
  common.recording = true;
  hls_viewer v(hls_mode::low_latency, "/live.ts/index.m3u8", &common);
  v.on_response(ll_playlist(5, 6, 1), 0, 0);  // joins at 10.0: seven parts
  take_media(v, 10);
  EXPECT_NEAR(v.buffer_s(10), 7 * 0.333, 1e-9);
  v.on_response(ll_playlist(5, 6, 2), 10.1, 0);
  take_media(v, 13);  // 2.331 s of buffer lasted until 12.331
  EXPECT_EQ(v.stalls(), 1u);
  EXPECT_NEAR(v.stalled_s(), 13 - 12.331, 1e-9);
  EXPECT_NEAR(v.min_buffer_s(), 12.331 - 13, 1e-9);
  EXPECT_NEAR(v.buffer_s(13), 0.333, 1e-9) << "playback waited, then went on";
  v.finish(13.2);
  EXPECT_EQ(v.stalls(), 1u);
  v.finish(14);
  EXPECT_EQ(v.stalls(), 2u) << "dry at the end of the run";
}

TEST(hls_viewer, polls_a_classic_playlist_every_half_target_duration) {
  hls_common common;
  hls_viewer v(hls_mode::classic, "/live/index.m3u8", &common);
  EXPECT_EQ(v.on_response(classic_playlist(40, 6), 0, 0).w, what::request);
  hls_viewer::next n;
  EXPECT_EQ(take_media(v, 0.2, 0, &n),
            (std::vector<std::string>{"/live/seg43.ts", "/live/seg44.ts", "/live/seg45.ts"}));
  // Three segments from the end; the playlist came at 0, so the next poll is at 1.
  EXPECT_EQ(n.w, what::wait);
  EXPECT_DOUBLE_EQ(n.at, 1.0);
  EXPECT_EQ(v.request(), "/live/index.m3u8");
  EXPECT_EQ(v.kind(), hls_viewer::fetch::playlist);
  EXPECT_EQ(v.on_timer(1.0).w, what::request);
  EXPECT_EQ(v.on_response(classic_playlist(41, 6), 1.01, 0).w, what::request);
  EXPECT_EQ(take_media(v, 1.1, 0, &n), std::vector<std::string>{"/live/seg46.ts"});
  EXPECT_EQ(n.w, what::wait);
  EXPECT_DOUBLE_EQ(n.at, 2.0);
  EXPECT_EQ(v.on_timer(2.0).w, what::request);
  n = v.on_response(classic_playlist(41, 6), 2.02, 0);  // nothing new
  EXPECT_EQ(n.w, what::wait);
  EXPECT_DOUBLE_EQ(n.at, 3.0);
  EXPECT_EQ(v.stalls(), 0u);
}

TEST(hls_viewer, polls_in_its_own_phase) {
  hls_common common;
  hls_viewer v(hls_mode::classic, "/live/index.m3u8", &common, 0.75);
  v.on_response(classic_playlist(40, 6), 10, 0);
  hls_viewer::next n;
  take_media(v, 10.1, 0, &n);
  EXPECT_EQ(n.w, what::wait);
  EXPECT_DOUBLE_EQ(n.at, 10.25) << "a quarter of the interval after the first playlist";
  EXPECT_EQ(v.on_timer(10.25).w, what::request);
  n = v.on_response(classic_playlist(40, 6), 10.3, 0);
  EXPECT_DOUBLE_EQ(n.at, 11.25);
}

TEST(hls_viewer, plays_the_classic_way_when_the_playlist_has_no_parts) {
  hls_common common;
  hls_viewer v(hls_mode::low_latency, "/live/index.m3u8", &common);
  v.on_response(classic_playlist(40, 6), 0, 0);
  EXPECT_EQ(v.mode(), hls_mode::classic);
  EXPECT_EQ(v.request(), "/live/seg43.ts");
}

TEST(hls_viewer, goes_on_after_a_missing_part_and_retries_a_held_reload) {
  hls_common common;
  hls_viewer v(hls_mode::low_latency, "/live.ts/index.m3u8", &common);
  v.on_response(ll_playlist(5, 6, 2), 0, 0);
  EXPECT_EQ(v.request(), "/live.ts/r-10.0.ts");
  EXPECT_EQ(v.on_status(404, 0).w, what::request);
  EXPECT_EQ(v.request(), "/live.ts/r-10.1.ts");
  EXPECT_EQ(v.skips(), 1u);
  take_media(v, 0);
  std::string reload = v.request();
  EXPECT_EQ(v.on_status(503, 9).w, what::request);
  EXPECT_EQ(v.request(), reload);
  // Too far ahead (the server started again from 1): a plain reload, joining afresh.
  EXPECT_EQ(v.on_status(400, 9).w, what::request);
  EXPECT_EQ(v.request(), "/live.ts/index.m3u8");
  v.on_response(ll_playlist(1, 1, 1), 9.1, 0);
  EXPECT_EQ(v.request(), "/live.ts/r-1.0.ts");
}

TEST(hls_viewer, catches_up_when_its_next_segment_left_the_playlist) {
  hls_common common;
  hls_viewer v(hls_mode::classic, "/live/index.m3u8", &common);
  v.on_response(classic_playlist(40, 6), 0, 0);
  take_media(v, 0);
  v.on_response(classic_playlist(50, 6), 1, 0);
  EXPECT_EQ(v.skips(), 1u);
  EXPECT_EQ(v.request(), "/live/seg53.ts");
}

TEST(hls_viewer, asks_again_after_a_lost_connection_then_waits) {
  hls_common common;
  hls_viewer v(hls_mode::classic, "/live/index.m3u8", &common);
  EXPECT_EQ(v.on_lost(0).w, what::request);
  EXPECT_EQ(v.on_lost(0).w, what::request);
  auto n = v.on_lost(0);
  EXPECT_EQ(n.w, what::wait);
  EXPECT_EQ(n.at, 1);
  EXPECT_EQ(v.request(), "/live/index.m3u8");
}

}  // namespace
}  // namespace gordo::load
