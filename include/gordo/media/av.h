// RAII owners for FFmpeg objects and the error text of an AVERROR code.
#pragma once

#include <memory>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavformat/avformat.h>
}

namespace gordo::av {

std::string error_text(int averror);

// AV_TIME_BASE_Q as a constant: the macro is a C compound literal, which C++ compilers
// accept only as an extension (clang's -Wpedantic refuses it).
inline constexpr AVRational time_base_q{1, AV_TIME_BASE};

struct input_closer {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct packet_freer {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct frame_freer {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct codec_freer {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct codecpar_freer {
  void operator()(AVCodecParameters* p) const { avcodec_parameters_free(&p); }
};
struct graph_freer {
  void operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); }
};
// An output context with custom I/O: frees the AVIOContext we allocated, then the muxer.
struct output_freer {
  void operator()(AVFormatContext* c) const;
};

using input_ptr = std::unique_ptr<AVFormatContext, input_closer>;
using output_ptr = std::unique_ptr<AVFormatContext, output_freer>;
using packet_ptr = std::unique_ptr<AVPacket, packet_freer>;
using frame_ptr = std::unique_ptr<AVFrame, frame_freer>;
using codec_ptr = std::unique_ptr<AVCodecContext, codec_freer>;
using graph_ptr = std::unique_ptr<AVFilterGraph, graph_freer>;
using codecpar_ptr = std::unique_ptr<AVCodecParameters, codecpar_freer>;

}  // namespace gordo::av
