#include "gordo/media/fallback.h"

#include <gtest/gtest.h>

#include <vector>

namespace gordo {
namespace {

track video(int w, int h, std::vector<uint8_t> extradata = {}, AVRational rate = {25, 1}) {
  track t{av::codecpar_ptr(avcodec_parameters_alloc()), {1, 90000}, rate, false};
  t.par->codec_type = AVMEDIA_TYPE_VIDEO;
  t.par->codec_id = AV_CODEC_ID_H264;
  t.par->width = w;
  t.par->height = h;
  t.par->format = AV_PIX_FMT_YUV420P;
  if (!extradata.empty()) {
    t.par->extradata =
        static_cast<uint8_t*>(av_mallocz(extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    std::copy(extradata.begin(), extradata.end(), t.par->extradata);
    t.par->extradata_size = static_cast<int>(extradata.size());
  }
  return t;
}

track audio(int rate, int channels) {
  track t{av::codecpar_ptr(avcodec_parameters_alloc()), {1, 90000}, {0, 1}, false};
  t.par->codec_type = AVMEDIA_TYPE_AUDIO;
  t.par->codec_id = AV_CODEC_ID_AAC;
  t.par->sample_rate = rate;
  av_channel_layout_default(&t.par->ch_layout, channels);
  return t;
}

source_layout layout(track v, track a) {
  source_layout l;
  l.push_back(std::move(v));
  l.push_back(std::move(a));
  return l;
}

// Annex B: start code, SPS (type 7), start code, PPS (type 8).
const std::vector<uint8_t> annexb{0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0, 0, 0, 1, 0x68, 0xee};
const std::vector<uint8_t> annexb2{0, 0, 0, 1, 0x67, 0x64, 0, 0x28, 0, 0, 0, 1, 0x68, 0xef};
// avcC: version 1, profile, compat, level, 4-byte lengths; 1 SPS of 4 bytes; 1 PPS of 2.
const std::vector<uint8_t> avcc{1,    0x64, 0,    0x1f, 0xff, 0xe1, 0,    4,   0x67,
                                0x64, 0,    0x1f, 1,    0,    2,    0x68, 0xee};

TEST(fallback, the_same_tracks_fit) {
  EXPECT_EQ(misfit(layout(video(640, 360, annexb), audio(48000, 2)),
                   layout(video(640, 360, annexb), audio(48000, 2))),
            "");
  // Other H.264 parameter sets in the same form fit: they go in band.
  EXPECT_EQ(misfit(layout(video(640, 360, annexb), audio(48000, 2)),
                   layout(video(640, 360, annexb2), audio(48000, 2))),
            "");
}

TEST(fallback, a_misfit_says_what_differs) {
  auto muxed = layout(video(640, 360, annexb), audio(48000, 2));
  EXPECT_NE(misfit(muxed, layout(video(320, 240, annexb), audio(48000, 2))).find("picture size"),
            std::string::npos);
  EXPECT_NE(
      misfit(muxed, layout(video(640, 360, annexb, {30, 1}), audio(48000, 2))).find("frame rate"),
      std::string::npos);
  EXPECT_NE(misfit(muxed, layout(video(640, 360, annexb), audio(44100, 2))).find("sample rate"),
            std::string::npos);
  EXPECT_NE(misfit(muxed, layout(video(640, 360, annexb), audio(48000, 1))).find("channels"),
            std::string::npos);
  EXPECT_NE(misfit(muxed, layout(video(640, 360, avcc), audio(48000, 2))).find("Annex B"),
            std::string::npos);
  source_layout video_only;
  video_only.push_back(video(640, 360, annexb));
  EXPECT_NE(misfit(muxed, video_only).find("1 tracks"), std::string::npos);
  // Tracks in another order: the first already differs in codec.
  source_layout swapped;
  swapped.push_back(audio(48000, 2));
  swapped.push_back(video(640, 360, annexb));
  EXPECT_NE(misfit(muxed, swapped).find("codec"), std::string::npos);
}

TEST(fallback, parameter_sets_go_in_band_in_the_packets_form) {
  auto muxed = layout(video(640, 360, annexb), audio(48000, 2));
  auto same = parameter_sets(muxed, layout(video(640, 360, annexb), audio(48000, 2)));
  ASSERT_EQ(same.size(), 2u);
  EXPECT_TRUE(same[0].empty());
  EXPECT_TRUE(same[1].empty());
  EXPECT_EQ(parameter_sets(muxed, layout(video(640, 360, annexb2), audio(48000, 2)))[0], annexb2);
  // avcC: each parameter set with its 4-byte length, as the packets' NAL units are.
  auto from_avcc = parameter_sets(layout(video(640, 360, annexb2), audio(48000, 2)),
                                  layout(video(640, 360, avcc), audio(48000, 2)));
  EXPECT_EQ(from_avcc[0],
            (std::vector<uint8_t>{0, 0, 0, 4, 0x67, 0x64, 0, 0x1f, 0, 0, 0, 2, 0x68, 0xee}));
  EXPECT_TRUE(from_avcc[1].empty());
}

TEST(fallback, copies_and_switch_tracks) {
  auto l = layout(video(640, 360, avcc), audio(48000, 2));
  source_layout c = copy_of(l);
  EXPECT_EQ(misfit(l, c), "");
  EXPECT_NE(c[0].par.get(), l[0].par.get());
  EXPECT_EQ(switch_track(l), 0);
  source_layout audio_only;
  audio_only.push_back(audio(48000, 2));
  EXPECT_EQ(switch_track(audio_only), -1);
}

}  // namespace
}  // namespace gordo
