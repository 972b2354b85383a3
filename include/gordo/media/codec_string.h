// How a rendition's codecs are named to players (RFC 6381 `CODECS`, as HLS multivariant
// playlists and MSE's isTypeSupported use them), read from the codec parameters.
#pragma once

#include <string>
#include <vector>

extern "C" {
#include <libavcodec/codec_par.h>
}

namespace gordo {

struct track;
using source_layout = std::vector<track>;

// What an HLS multivariant playlist says of a rendition, from its tracks.
struct hls_variant {
  std::string codecs;  // "avc1.64001f,mp4a.40.2"
  int width = 0;       // 0: no video
  int height = 0;
  double frame_rate = 0;
};

// "avc1.64001f" (profile, constraint flags and level from the SPS), "hvc1.1.6.L93.B0",
// "mp4a.40.2", "mp4a.40.34" (MP3), "ac-3", "ec-3", "opus"; empty when there is no
// registered name.
std::string rfc6381(const AVCodecParameters& par);

// The tracks `map` keeps (map[i] >= 0: track i is muxed).
hls_variant variant_of(const source_layout& tracks, const std::vector<int>& map);

}  // namespace gordo
