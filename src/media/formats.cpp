#include "gordo/media/formats.h"

#include <algorithm>
#include <array>
#include <span>

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
// What flv.js, browsers' MSE and the rest play from these containers.
constexpr std::array flv_codecs = {AV_CODEC_ID_H264, AV_CODEC_ID_AAC, AV_CODEC_ID_MP3};
constexpr std::array mp4_codecs = {AV_CODEC_ID_H264, AV_CODEC_ID_HEVC, AV_CODEC_ID_AAC,
                                   AV_CODEC_ID_MP3, AV_CODEC_ID_OPUS};
constexpr std::array adts_codecs = {AV_CODEC_ID_AAC};
constexpr std::array mp3_codecs = {AV_CODEC_ID_MP3};

template <const auto& list>
bool in(AVCodecID codec) {
  return std::find(list.begin(), list.end(), codec) != list.end();
}

template <const auto& list>
std::span<const AVCodecID> span_of() {
  return {list.data(), list.size()};
}

struct entry {
  std::string_view extension;
  output_format format;
  std::span<const AVCodecID> (*codecs)();
};

const entry formats[] = {
    {".flv", {"flv", "video/x-flv", "flvflags=no_duration_filesize", header_source::muxer, false, false, in<flv_codecs>},
     span_of<flv_codecs>},
    // Fragmented: the init segment is the header, every fragment starts at a keyframe.
    {".mp4",
     {"mp4", "video/mp4", "movflags=frag_keyframe+empty_moov+default_base_moof", header_source::muxer, false, false,
      in<mp4_codecs>},
     span_of<mp4_codecs>},
    {".aac", {"adts", "audio/aac", "", header_source::muxer, true, true, in<adts_codecs>}, span_of<adts_codecs>},
    {".mp3", {"mp3", "audio/mpeg", "id3v2_version=0:write_xing=0", header_source::muxer, true, true, in<mp3_codecs>},
     span_of<mp3_codecs>},
};
const entry mpegts = {".ts", {"mpegts", "video/mp2t", "", header_source::ts_psi, true, false, in<mpegts_codecs>},
                      span_of<mpegts_codecs>};

const entry& entry_for(const output_format& f) {
  for (const entry& e : formats)
    if (&e.format == &f) return e;
  return mpegts;
}

}  // namespace

const output_format& format_for_path(std::string_view path) {
  for (const entry& e : formats)
    if (path.size() > e.extension.size() && path.substr(path.size() - e.extension.size()) == e.extension)
      return e.format;
  return mpegts.format;
}

bool mpegts_carries(AVCodecID codec) { return in<mpegts_codecs>(codec); }

std::string codec_list(const output_format& f) {
  std::string out;
  for (AVCodecID id : entry_for(f).codecs()) out += (out.empty() ? "" : ", ") + std::string(avcodec_get_name(id));
  return out;
}

}  // namespace gordo
