// What each output format can carry and how it is served.
#pragma once

#include <string>

extern "C" {
#include <libavcodec/codec_id.h>
}

namespace gordo {

// True when MPEG-TS has a standard stream type for the codec, so players can decode it.
// (libavformat's muxer writes anything else as private data that players ignore.)
bool mpegts_carries(AVCodecID codec);

// The codecs mpegts_carries() accepts, for error messages: "h264, hevc, ...".
std::string mpegts_codec_list();

}  // namespace gordo
