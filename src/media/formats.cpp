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
    AV_CODEC_ID_H264,  AV_CODEC_ID_HEVC,   AV_CODEC_ID_MPEG2VIDEO, AV_CODEC_ID_MPEG1VIDEO,
    AV_CODEC_ID_MPEG4, AV_CODEC_ID_AAC,    AV_CODEC_ID_AAC_LATM,   AV_CODEC_ID_MP2,
    AV_CODEC_ID_MP3,   AV_CODEC_ID_AC3,    AV_CODEC_ID_EAC3,       AV_CODEC_ID_DTS,
    AV_CODEC_ID_OPUS,  AV_CODEC_ID_TRUEHD, AV_CODEC_ID_CAVS,       AV_CODEC_ID_DIRAC,
};
// What flv.js, browsers' MSE and the rest play from these containers.
constexpr std::array flv_codecs = {AV_CODEC_ID_H264, AV_CODEC_ID_AAC, AV_CODEC_ID_MP3};
constexpr std::array mp4_codecs = {AV_CODEC_ID_H264, AV_CODEC_ID_HEVC, AV_CODEC_ID_AAC,
                                   AV_CODEC_ID_MP3, AV_CODEC_ID_OPUS};
constexpr std::array webm_codecs = {AV_CODEC_ID_VP8, AV_CODEC_ID_VP9, AV_CODEC_ID_AV1,
                                    AV_CODEC_ID_OPUS, AV_CODEC_ID_VORBIS};
constexpr std::array mkv_codecs = {AV_CODEC_ID_H264, AV_CODEC_ID_HEVC, AV_CODEC_ID_VP8,
                                   AV_CODEC_ID_VP9,  AV_CODEC_ID_AV1,  AV_CODEC_ID_AAC,
                                   AV_CODEC_ID_MP3,  AV_CODEC_ID_OPUS, AV_CODEC_ID_VORBIS,
                                   AV_CODEC_ID_FLAC, AV_CODEC_ID_AC3,  AV_CODEC_ID_EAC3};
constexpr std::array adts_codecs = {AV_CODEC_ID_AAC};
constexpr std::array mp3_codecs = {AV_CODEC_ID_MP3};
constexpr std::array ogg_codecs = {AV_CODEC_ID_OPUS, AV_CODEC_ID_VORBIS, AV_CODEC_ID_FLAC,
                                   AV_CODEC_ID_SPEEX};

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

template <const auto& list>
constexpr entry make(std::string_view extension, std::string_view muxer,
                     std::string_view content_type, std::string_view options, header_source header,
                     bool mark_keyframes, bool audio_only, bool header_in_band,
                     bool holds_packets = false) {
  return {extension,
          {muxer, content_type, options, header, mark_keyframes, audio_only, header_in_band,
           holds_packets, in<list>},
          span_of<list>};
}

// Matroska live. The muxer keeps a cluster in memory until the next begins; its own
// limits are set out of reach, so that clusters end only where the remuxer flushes: before
// each video keyframe (a cluster starting with a keyframe is a sync point) and once a
// chunk's worth of time has passed. The header (EBML, Info, Tracks) is the muxer's.
constexpr std::string_view mkv_live =
    "live=1:cluster_time_limit=3600000:cluster_size_limit=1073741824";
// Fragmented MP4 for HLS (CMAF): a fragment wherever the remuxer flushes, which it does at
// every part and keyframe.
constexpr std::string_view mp4_hls = "movflags=frag_custom+empty_moov+default_base_moof+cmaf";
entry with_hls(entry e, std::string_view segment_extension, std::string_view hls_options) {
  e.format.segment_extension = segment_extension;
  e.format.hls_options = hls_options;
  return e;
}
const entry formats[] = {
    make<flv_codecs>(".flv", "flv", "video/x-flv", "flvflags=no_duration_filesize",
                     header_source::muxer, false, false, false),
    // Fragmented: the init segment is the header, every fragment starts at a keyframe.
    with_hls(make<mp4_codecs>(".mp4", "mp4", "video/mp4",
                              "movflags=frag_keyframe+empty_moov+default_base_moof",
                              header_source::muxer, false, false, false),
             ".m4s", mp4_hls),
    make<webm_codecs>(".webm", "webm", "video/webm", mkv_live, header_source::muxer, true, false,
                      false, true),
    make<mkv_codecs>(".mkv", "matroska", "video/x-matroska", mkv_live, header_source::muxer, true,
                     false, false, true),
    make<adts_codecs>(".aac", "adts", "audio/aac", "", header_source::muxer, true, true, true),
    make<mp3_codecs>(".mp3", "mp3", "audio/mpeg", "id3v2_version=0:write_xing=0",
                     header_source::muxer, true, true, true),
    // Pages of at most 100 ms, so that a chunk is not a second late. The header is the
    // codec's header pages.
    make<ogg_codecs>(".ogg", "ogg", "audio/ogg", "page_duration=100000", header_source::muxer, true,
                     true, false),
    make<ogg_codecs>(".opus", "ogg", "audio/ogg", "page_duration=100000", header_source::muxer,
                     true, true, false),
};
// Video PES packets say their length (when it fits in 16 bits), so that a demuxer reading
// this stream (an edge) has a frame's PES when its last byte arrives, not at the next one's.
constexpr std::string_view ts_options = "omit_video_pes_length=0";
const entry mpegts = with_hls(make<mpegts_codecs>(".ts", "mpegts", "video/mp2t", ts_options,
                                                  header_source::ts_psi, true, false, true),
                              ".ts", ts_options);

const entry& entry_for(const output_format& f) {
  for (const entry& e : formats)
    if (&e.format == &f) return e;
  return mpegts;
}

}  // namespace

const output_format& format_for_path(std::string_view path) {
  for (const entry& e : formats)
    if (path.size() > e.extension.size() &&
        path.substr(path.size() - e.extension.size()) == e.extension)
      return e.format;
  return mpegts.format;
}

bool mpegts_carries(AVCodecID codec) {
  return in<mpegts_codecs>(codec);
}

std::string codec_list(const output_format& f) {
  std::string out;
  for (AVCodecID id : entry_for(f).codecs())
    out += (out.empty() ? "" : ", ") + std::string(avcodec_get_name(id));
  return out;
}

}  // namespace gordo
