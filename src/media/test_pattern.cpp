#include "gordo/media/test_pattern.h"

#include <fmt/format.h>

#include <string>

#include "gordo/media/av.h"

extern "C" {
#include <libavfilter/buffersink.h>
#include <libavutil/opt.h>
}

namespace gordo {

namespace {

void check(int err, const char* what) {
  if (err < 0)
    throw std::runtime_error(fmt::format("test pattern: {}: {}", what, av::error_text(err)));
}

// A filter graph made of source filters only, ending in a buffersink we can pull from.
struct source_graph {
  av::graph_ptr graph{avfilter_graph_alloc()};
  AVFilterContext* sink = nullptr;

  source_graph(const std::string& desc, bool video) {
    if (!graph) throw std::runtime_error("test pattern: out of memory");
    check(avfilter_graph_create_filter(&sink,
                                       avfilter_get_by_name(video ? "buffersink" : "abuffersink"),
                                       "out", nullptr, nullptr, graph.get()),
          "buffersink");
    AVFilterInOut* in = avfilter_inout_alloc();
    in->name = av_strdup("out");
    in->filter_ctx = sink;
    in->pad_idx = 0;
    in->next = nullptr;
    int err = avfilter_graph_parse_ptr(graph.get(), desc.c_str(), &in, nullptr, nullptr);
    avfilter_inout_free(&in);
    check(err, desc.c_str());
    check(avfilter_graph_config(graph.get(), nullptr), "filter graph");
  }
};

struct encoder {
  av::codec_ptr ctx;
  AVStream* stream = nullptr;
  std::vector<av::packet_ptr> packets;

  void drain() {
    for (;;) {
      av::packet_ptr pkt(av_packet_alloc());
      int err = avcodec_receive_packet(ctx.get(), pkt.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
      check(err, "encode");
      av_packet_rescale_ts(pkt.get(), ctx->time_base, stream->time_base);
      pkt->stream_index = stream->index;
      packets.push_back(std::move(pkt));
    }
  }

  // Pulls every frame out of the graph into the encoder, then flushes it.
  void run(source_graph& g) {
    AVRational tb = av_buffersink_get_time_base(g.sink);
    av::frame_ptr frame(av_frame_alloc());
    for (;;) {
      int err = av_buffersink_get_frame(g.sink, frame.get());
      if (err == AVERROR_EOF) break;
      check(err, "filter");
      frame->pts = av_rescale_q(frame->pts, tb, ctx->time_base);
      frame->pict_type = AV_PICTURE_TYPE_NONE;
      check(avcodec_send_frame(ctx.get(), frame.get()), "encode");
      av_frame_unref(frame.get());
      drain();
    }
    check(avcodec_send_frame(ctx.get(), nullptr), "encode");
    drain();
  }
};

av::codec_ptr open_encoder(const AVCodec* codec, const char* name) {
  if (!codec) throw std::runtime_error(fmt::format("test pattern: FFmpeg has no {} encoder", name));
  av::codec_ptr ctx(avcodec_alloc_context3(codec));
  if (!ctx) throw std::runtime_error("test pattern: out of memory");
  return ctx;
}

}  // namespace

std::vector<uint8_t> encode_test_pattern(const test_pattern_options& o) {
  AVFormatContext* raw = nullptr;
  check(avformat_alloc_output_context2(&raw, nullptr, "mpegts", nullptr), "muxer");
  av::output_ptr mux(raw);

  const AVCodec* h264 = avcodec_find_encoder_by_name("libx264");
  if (!h264) h264 = avcodec_find_encoder(AV_CODEC_ID_H264);
  encoder video{open_encoder(h264, "H.264"), nullptr, {}};
  AVCodecContext* v = video.ctx.get();
  v->width = o.width;
  v->height = o.height;
  v->pix_fmt = AV_PIX_FMT_YUV420P;
  v->time_base = {1, o.fps};
  v->framerate = {o.fps, 1};
  v->gop_size = o.fps;  // a keyframe every second: new viewers start within a second
  v->max_b_frames = 0;
  v->bit_rate = o.video_bitrate;
  v->rc_max_rate = o.video_bitrate;
  v->rc_buffer_size = static_cast<int>(o.video_bitrate);
  av_opt_set(v->priv_data, "preset", "veryfast", 0);
  check(avcodec_open2(v, h264, nullptr), "open H.264 encoder");

  const AVCodec* aac = avcodec_find_encoder(AV_CODEC_ID_AAC);
  encoder audio{open_encoder(aac, "AAC"), nullptr, {}};
  AVCodecContext* a = audio.ctx.get();
  a->sample_rate = 48000;
  a->sample_fmt = AV_SAMPLE_FMT_FLTP;
  a->bit_rate = o.audio_bitrate;
  a->time_base = {1, a->sample_rate};
  av_channel_layout_default(&a->ch_layout, 2);
  check(avcodec_open2(a, aac, nullptr), "open AAC encoder");

  for (encoder* e : {&video, &audio}) {
    e->stream = avformat_new_stream(mux.get(), nullptr);
    if (!e->stream) throw std::runtime_error("test pattern: out of memory");
    check(avcodec_parameters_from_context(e->stream->codecpar, e->ctx.get()), "stream parameters");
    e->stream->time_base = e->ctx->time_base;
  }

  source_graph vg(fmt::format("testsrc2=size={}x{}:rate={}:duration={},format=yuv420p[out]",
                              o.width, o.height, o.fps, o.seconds),
                  true);
  source_graph ag(fmt::format("sine=frequency=440:beep_factor=4:sample_rate=48000:duration={},"
                              "aformat=sample_fmts=fltp:channel_layouts=stereo[out]",
                              o.seconds),
                  false);
  av_buffersink_set_frame_size(ag.sink, a->frame_size);

  check(avio_open_dyn_buf(&mux->pb), "memory output");
  check(avformat_write_header(mux.get(), nullptr), "write header");
  video.run(vg);
  audio.run(ag);
  // Interleave the two packet lists by time.
  size_t vi = 0, ai = 0;
  while (vi < video.packets.size() || ai < audio.packets.size()) {
    bool take_video = ai == audio.packets.size() ||
                      (vi < video.packets.size() &&
                       av_compare_ts(video.packets[vi]->dts, video.stream->time_base,
                                     audio.packets[ai]->dts, audio.stream->time_base) <= 0);
    AVPacket* pkt = take_video ? video.packets[vi++].get() : audio.packets[ai++].get();
    check(av_write_frame(mux.get(), pkt), "mux");
  }
  check(av_write_trailer(mux.get()), "write trailer");

  uint8_t* buf = nullptr;
  int size = avio_close_dyn_buf(mux->pb, &buf);
  mux->pb = nullptr;
  std::vector<uint8_t> out(buf, buf + size);
  av_free(buf);
  return out;
}

}  // namespace gordo
