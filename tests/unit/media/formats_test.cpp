#include "gordo/media/formats.h"

#include <gtest/gtest.h>

namespace gordo {
namespace {

TEST(formats, chosen_by_extension) {
  EXPECT_EQ(format_for_path("/live.ts").muxer, "mpegts");
  EXPECT_EQ(format_for_path("/live").muxer, "mpegts");
  EXPECT_EQ(format_for_path("/tv/live.flv").muxer, "flv");
  EXPECT_EQ(format_for_path("/live.mp4").content_type, "video/mp4");
  EXPECT_EQ(format_for_path("/radio.aac").muxer, "adts");
  EXPECT_TRUE(format_for_path("/radio.mp3").audio_only);
  EXPECT_EQ(format_for_path("/live.webm").content_type, "video/webm");
  EXPECT_EQ(format_for_path("/live.mkv").muxer, "matroska");
  EXPECT_EQ(format_for_path("/radio.ogg").content_type, "audio/ogg");
  EXPECT_EQ(format_for_path("/radio.opus").muxer, "ogg");
  EXPECT_EQ(format_for_path(".flv").muxer, "mpegts");  // an extension alone is not a name
}

TEST(formats, what_each_carries) {
  EXPECT_TRUE(format_for_path("/a.flv").carries(AV_CODEC_ID_H264));
  EXPECT_FALSE(format_for_path("/a.flv").carries(AV_CODEC_ID_HEVC));
  EXPECT_TRUE(format_for_path("/a.mp4").carries(AV_CODEC_ID_HEVC));
  EXPECT_FALSE(format_for_path("/a.aac").carries(AV_CODEC_ID_MP3));
  EXPECT_TRUE(mpegts_carries(AV_CODEC_ID_AC3));
  EXPECT_EQ(codec_list(format_for_path("/a.mp3")), "mp3");
  EXPECT_EQ(codec_list(format_for_path("/a.flv")), "h264, aac, mp3");
  EXPECT_FALSE(format_for_path("/a.webm").carries(AV_CODEC_ID_H264));
  EXPECT_TRUE(format_for_path("/a.webm").carries(AV_CODEC_ID_VP9));
  EXPECT_TRUE(format_for_path("/a.mkv").carries(AV_CODEC_ID_H264));
  EXPECT_TRUE(format_for_path("/a.ogg").carries(AV_CODEC_ID_OPUS));
}

TEST(formats, which_viewers_can_follow_a_new_header) {
  for (const char* path : {"/a.ts", "/a.aac", "/a.mp3"})
    EXPECT_TRUE(format_for_path(path).header_in_band) << path;
  for (const char* path : {"/a.flv", "/a.mp4", "/a.webm", "/a.mkv", "/a.ogg"})
    EXPECT_FALSE(format_for_path(path).header_in_band) << path;
}

}  // namespace
}  // namespace gordo
