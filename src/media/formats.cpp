#include "gordo/media/formats.h"

#include <algorithm>
#include <array>

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace gordo {

namespace {

// The stream types of ISO/IEC 13818-1 (and ATSC/DVB registrations) that libavformat's
// MPEG-TS muxer writes and demuxers map back.
constexpr std::array mpegts_codecs = {
    AV_CODEC_ID_H264, AV_CODEC_ID_HEVC,  AV_CODEC_ID_MPEG2VIDEO, AV_CODEC_ID_MPEG1VIDEO,
    AV_CODEC_ID_MPEG4, AV_CODEC_ID_AAC,  AV_CODEC_ID_AAC_LATM,   AV_CODEC_ID_MP2,
    AV_CODEC_ID_MP3,  AV_CODEC_ID_AC3,   AV_CODEC_ID_EAC3,       AV_CODEC_ID_DTS,
    AV_CODEC_ID_OPUS, AV_CODEC_ID_TRUEHD, AV_CODEC_ID_CAVS,      AV_CODEC_ID_DIRAC,
};

}  // namespace

bool mpegts_carries(AVCodecID codec) {
  return std::find(mpegts_codecs.begin(), mpegts_codecs.end(), codec) != mpegts_codecs.end();
}

std::string mpegts_codec_list() {
  std::string out;
  for (AVCodecID id : mpegts_codecs) out += (out.empty() ? "" : ", ") + std::string(avcodec_get_name(id));
  return out;
}

}  // namespace gordo
