// The built-in test pattern, decoded: H.264 at the asked size and rate with a keyframe
// every second, AAC stereo at 48 kHz, as long as asked, in whole MPEG-TS packets.
#include "gordo/media/test_pattern.h"

#include <gtest/gtest.h>

#include "gordo/media/av.h"
#include "gordo/media/input.h"

namespace gordo {
namespace {

struct track_summary {
  int packets = 0;
  std::vector<int> keyframes;  // indices of the packets flagged key
  int64_t first_pts = AV_NOPTS_VALUE, end_pts = AV_NOPTS_VALUE;  // in the stream's time base
  AVRational time_base{};
  int decoded = 0;  // frames the decoder gave back
};

TEST(test_pattern, decodes_as_asked) {
  test_pattern_options o;
  o.width = 192;
  o.height = 108;
  o.fps = 12;
  o.seconds = 2;
  o.video_bitrate = 200'000;
  auto bytes = std::make_shared<const std::vector<uint8_t>>(encode_test_pattern(o));
  ASSERT_FALSE(bytes->empty());
  EXPECT_EQ(bytes->size() % 188, 0u);
  EXPECT_EQ((*bytes)[0], 0x47);

  source_spec spec;
  spec.memory = bytes;
  spec.label = "pattern";
  std::string error;
  auto in = input::open(spec, AVIOInterruptCB{}, error);
  ASSERT_TRUE(in) << error;
  ASSERT_EQ(in->ctx()->nb_streams, 2u);

  int video = av_find_best_stream(in->ctx(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  int audio = av_find_best_stream(in->ctx(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  ASSERT_GE(video, 0);
  ASSERT_GE(audio, 0);
  const AVCodecParameters* v = in->ctx()->streams[video]->codecpar;
  const AVCodecParameters* a = in->ctx()->streams[audio]->codecpar;
  EXPECT_EQ(v->codec_id, AV_CODEC_ID_H264);
  EXPECT_EQ(v->width, 192);
  EXPECT_EQ(v->height, 108);
  EXPECT_EQ(a->codec_id, AV_CODEC_ID_AAC);
  EXPECT_EQ(a->sample_rate, 48000);
  EXPECT_EQ(a->ch_layout.nb_channels, 2);

  // Decode every packet: a pattern a player cannot decode is no test pattern.
  std::vector<av::codec_ptr> decoders(2);
  std::vector<track_summary> tracks(2);
  for (int i : {video, audio}) {
    const AVCodecParameters* par = in->ctx()->streams[i]->codecpar;
    decoders[i].reset(avcodec_alloc_context3(avcodec_find_decoder(par->codec_id)));
    ASSERT_TRUE(decoders[i]);
    ASSERT_GE(avcodec_parameters_to_context(decoders[i].get(), par), 0);
    ASSERT_GE(avcodec_open2(decoders[i].get(), nullptr, nullptr), 0);
    tracks[i].time_base = in->ctx()->streams[i]->time_base;
  }
  av::packet_ptr pkt(av_packet_alloc());
  av::frame_ptr frame(av_frame_alloc());
  auto receive = [&](int i) {
    while (avcodec_receive_frame(decoders[i].get(), frame.get()) >= 0) {
      ++tracks[i].decoded;
      av_frame_unref(frame.get());
    }
  };
  while (av_read_frame(in->ctx(), pkt.get()) >= 0) {
    track_summary& t = tracks[pkt->stream_index];
    if (pkt->flags & AV_PKT_FLAG_KEY) t.keyframes.push_back(t.packets);
    ++t.packets;
    if (t.first_pts == AV_NOPTS_VALUE || pkt->pts < t.first_pts) t.first_pts = pkt->pts;
    t.end_pts = std::max(t.end_pts, pkt->pts + pkt->duration);
    EXPECT_GE(avcodec_send_packet(decoders[pkt->stream_index].get(), pkt.get()), 0);
    receive(pkt->stream_index);
    av_packet_unref(pkt.get());
  }
  for (int i : {video, audio}) {
    avcodec_send_packet(decoders[i].get(), nullptr);
    receive(i);
  }

  const track_summary& vt = tracks[video];
  EXPECT_EQ(vt.packets, o.fps * o.seconds);
  EXPECT_EQ(vt.decoded, o.fps * o.seconds);
  // A keyframe every second, so that a new viewer starts within one.
  EXPECT_EQ(vt.keyframes, (std::vector<int>{0, o.fps}));
  const track_summary& at = tracks[audio];
  double audio_s = static_cast<double>(at.end_pts - at.first_pts) * av_q2d(at.time_base);
  EXPECT_NEAR(audio_s, o.seconds, 0.1);
  EXPECT_EQ(at.decoded, at.packets);
}

TEST(test_pattern, other_sizes_give_other_streams) {
  test_pattern_options o;
  o.width = 320;
  o.height = 240;
  o.fps = 5;
  o.seconds = 1;
  o.video_bitrate = 200'000;
  source_spec spec;
  spec.memory = std::make_shared<const std::vector<uint8_t>>(encode_test_pattern(o));
  std::string error;
  auto in = input::open(spec, AVIOInterruptCB{}, error);
  ASSERT_TRUE(in) << error;
  int video = av_find_best_stream(in->ctx(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  ASSERT_GE(video, 0);
  EXPECT_EQ(in->ctx()->streams[video]->codecpar->width, 320);
  EXPECT_EQ(in->ctx()->streams[video]->codecpar->height, 240);
  EXPECT_EQ(av_q2d(in->ctx()->streams[video]->avg_frame_rate), 5.0);
}

}  // namespace
}  // namespace gordo
