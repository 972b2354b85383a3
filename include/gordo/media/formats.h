// The output formats a mount can serve, chosen by its path's extension, and what each
// can carry and how it is served.
#pragma once

#include <string>
#include <string_view>

extern "C" {
#include <libavcodec/codec_id.h>
#include <libavutil/avutil.h>
}

#include "gordo/media/chunk_writer.h"

namespace gordo {

struct output_format {
  std::string_view muxer;  // libavformat's name
  std::string_view content_type;
  std::string_view options;  // muxer options, "key=value:key=value"
  header_source header;
  bool mark_keyframes;  // the remuxer marks video keyframes as sync points (the muxer marks none)
  bool audio_only;      // video streams are left out
  bool header_in_band;  // a viewer can follow a change of header mid-stream
  bool holds_packets;   // the muxer writes only when flushed (Matroska clusters)
  bool (*carries)(AVCodecID);
  // HLS: the extension of its segments (empty: not offered as HLS), and the muxer options
  // it needs then (empty: the same).
  std::string_view segment_extension = {};
  std::string_view hls_options = {};
};

// By the extension of `path`: .flv, .mp4 (fragmented), .webm, .mkv, .aac (ADTS), .mp3,
// .ogg and .opus (Ogg); anything else (.ts, none) is MPEG-TS.
const output_format& format_for_path(std::string_view path);

// True when MPEG-TS has a standard stream type for the codec, so players can decode it.
// (libavformat's muxer writes anything else as private data that players ignore.)
bool mpegts_carries(AVCodecID codec);

// The codecs `f` carries, for error messages: "h264, hevc, ...".
std::string codec_list(const output_format& f);

}  // namespace gordo
