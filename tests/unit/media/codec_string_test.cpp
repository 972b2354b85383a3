#include "gordo/media/codec_string.h"

#include <gtest/gtest.h>

extern "C" {
#include <libavcodec/avcodec.h>
}

#include "gordo/media/remuxer.h"

namespace gordo {
namespace {

struct params {
  AVCodecParameters* p = avcodec_parameters_alloc();
  ~params() { avcodec_parameters_free(&p); }
  void extradata(std::initializer_list<uint8_t> bytes) {
    p->extradata = static_cast<uint8_t*>(av_mallocz(bytes.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    std::copy(bytes.begin(), bytes.end(), p->extradata);
    p->extradata_size = static_cast<int>(bytes.size());
  }
};

TEST(codec_string, h264_from_an_avcc_record_and_from_annex_b) {
  params avcc;
  avcc.p->codec_id = AV_CODEC_ID_H264;
  avcc.extradata({1, 0x64, 0x00, 0x1f, 0xff, 0xe1});
  EXPECT_EQ(rfc6381(*avcc.p), "avc1.64001f");
  params annex_b;
  annex_b.p->codec_id = AV_CODEC_ID_H264;
  // A start code, an SPS NAL header (0x67), then profile 66 with constraint_set1, level 13.
  annex_b.extradata({0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x0d, 0xd9, 0, 0, 0, 1, 0x68, 0xce});
  EXPECT_EQ(rfc6381(*annex_b.p), "avc1.42c00d");
  params none;
  none.p->codec_id = AV_CODEC_ID_H264;
  none.p->profile = 77;
  none.p->level = 31;
  EXPECT_EQ(rfc6381(*none.p), "avc1.4d001f");
}

TEST(codec_string, audio_codecs) {
  params aac;
  aac.p->codec_id = AV_CODEC_ID_AAC;
  aac.p->profile = FF_PROFILE_AAC_LOW;
  EXPECT_EQ(rfc6381(*aac.p), "mp4a.40.2");
  aac.p->profile = FF_PROFILE_AAC_HE;
  EXPECT_EQ(rfc6381(*aac.p), "mp4a.40.5");
  params mp3;
  mp3.p->codec_id = AV_CODEC_ID_MP3;
  EXPECT_EQ(rfc6381(*mp3.p), "mp4a.40.34");
  params opus;
  opus.p->codec_id = AV_CODEC_ID_OPUS;
  EXPECT_EQ(rfc6381(*opus.p), "opus");
  params pcm;
  pcm.p->codec_id = AV_CODEC_ID_PCM_S16LE;
  EXPECT_EQ(rfc6381(*pcm.p), "");
}

TEST(codec_string, a_variant_names_the_tracks_it_keeps) {
  source_layout tracks(3);
  for (auto& t : tracks) t.par.reset(avcodec_parameters_alloc());
  tracks[0].par->codec_type = AVMEDIA_TYPE_VIDEO;
  tracks[0].par->codec_id = AV_CODEC_ID_H264;
  tracks[0].par->profile = 100;
  tracks[0].par->level = 40;
  tracks[0].par->width = 1280;
  tracks[0].par->height = 720;
  tracks[0].frame_rate = {30000, 1001};
  tracks[1].par->codec_type = AVMEDIA_TYPE_SUBTITLE;
  tracks[2].par->codec_type = AVMEDIA_TYPE_AUDIO;
  tracks[2].par->codec_id = AV_CODEC_ID_AAC;
  tracks[2].par->profile = FF_PROFILE_AAC_LOW;
  hls_variant v = variant_of(tracks, {0, -1, 1});
  EXPECT_EQ(v.codecs, "avc1.640028,mp4a.40.2");
  EXPECT_EQ(v.width, 1280);
  EXPECT_EQ(v.height, 720);
  EXPECT_NEAR(v.frame_rate, 29.97, 0.01);
}

}  // namespace
}  // namespace gordo
