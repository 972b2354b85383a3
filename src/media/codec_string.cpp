#include "gordo/media/codec_string.h"

#include <fmt/format.h>

#include "gordo/media/remuxer.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace gordo {

namespace {

// The SPS's first three bytes after its NAL header: profile_idc, the constraint flags,
// level_idc. From an avcC record (MP4, FLV, Matroska) or Annex B start codes (MPEG-TS).
bool h264_profile(const AVCodecParameters& p, uint8_t out[3]) {
  const uint8_t* d = p.extradata;
  int n = p.extradata_size;
  if (n >= 4 && d[0] == 1) {
    out[0] = d[1], out[1] = d[2], out[2] = d[3];
    return true;
  }
  for (int i = 0; i + 6 < n; ++i) {
    if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1 && (d[i + 3] & 0x1f) == 7) {
      out[0] = d[i + 4], out[1] = d[i + 5], out[2] = d[i + 6];
      return true;
    }
  }
  return false;
}

}  // namespace

std::string rfc6381(const AVCodecParameters& p) {
  switch (p.codec_id) {
    case AV_CODEC_ID_H264: {
      uint8_t b[3];
      if (!h264_profile(p, b)) {
        // No SPS seen: the profile and level the demuxer parsed, no constraint flags.
        b[0] = static_cast<uint8_t>(p.profile > 0 ? p.profile : 100);
        b[1] = 0;
        b[2] = static_cast<uint8_t>(p.level > 0 ? p.level : 40);
      }
      return fmt::format("avc1.{:02x}{:02x}{:02x}", b[0], b[1], b[2]);
    }
    case AV_CODEC_ID_HEVC: {
      // General profile and level only (tier main, no constraint bytes): what players
      // need to choose; "hvc1" as Apple asks for.
      int profile = p.profile > 0 ? p.profile : 1;
      int level = p.level > 0 ? p.level : 120;
      return fmt::format("hvc1.{}.{}.L{}.B0", profile, profile == 2 ? 4 : 6, level);
    }
    case AV_CODEC_ID_AAC: {
      // The audio object type: FF_PROFILE_AAC_* + 1 (LC 2, HE 5, HEv2 29).
      int object = p.profile >= 0 && p.profile < 31 ? p.profile + 1 : 2;
      return fmt::format("mp4a.40.{}", object);
    }
    case AV_CODEC_ID_MP3:
      return "mp4a.40.34";
    case AV_CODEC_ID_AC3:
      return "ac-3";
    case AV_CODEC_ID_EAC3:
      return "ec-3";
    case AV_CODEC_ID_OPUS:
      return "opus";
    default:
      return {};
  }
}

hls_variant variant_of(const source_layout& tracks, const std::vector<int>& map) {
  hls_variant v;
  for (size_t i = 0; i < tracks.size() && i < map.size(); ++i) {
    if (map[i] < 0) continue;
    const AVCodecParameters& p = *tracks[i].par;
    std::string name = rfc6381(p);
    if (!name.empty()) v.codecs += (v.codecs.empty() ? "" : ",") + name;
    if (p.codec_type == AVMEDIA_TYPE_VIDEO && v.width == 0) {
      v.width = p.width;
      v.height = p.height;
      AVRational rate = tracks[i].frame_rate;
      if (rate.num > 0 && rate.den > 0) v.frame_rate = av_q2d(rate);
    }
  }
  return v;
}

}  // namespace gordo
