#include "gordo/media/remuxer.h"

#include <spdlog/spdlog.h>

#include "gordo/media/codec_string.h"
#include "gordo/net/icy.h"

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace gordo {

source_layout layout_of(const AVFormatContext* ic) {
  source_layout out;
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    const AVStream* s = ic->streams[i];
    track t;
    t.par.reset(avcodec_parameters_alloc());
    if (!t.par || avcodec_parameters_copy(t.par.get(), s->codecpar) < 0) throw std::bad_alloc();
    t.time_base = s->time_base;
    t.frame_rate = s->avg_frame_rate;
    t.attached_pic = s->disposition & AV_DISPOSITION_ATTACHED_PIC;
    out.push_back(std::move(t));
  }
  return out;
}

bool same_layout(const source_layout& a, const source_layout& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const AVCodecParameters& x = *a[i].par;
    const AVCodecParameters& y = *b[i].par;
    if (x.codec_type != y.codec_type || x.codec_id != y.codec_id || x.width != y.width ||
        x.height != y.height || x.sample_rate != y.sample_rate ||
        x.ch_layout.nb_channels != y.ch_layout.nb_channels ||
        x.extradata_size != y.extradata_size ||
        (x.extradata_size > 0 &&
         std::memcmp(x.extradata, y.extradata, static_cast<size_t>(x.extradata_size)) != 0) ||
        a[i].attached_pic != b[i].attached_pic)
      return false;
  }
  return true;
}

namespace {

// AAC from MPEG-TS or ADTS carries its configuration in each frame's header, not as
// extradata, but Matroska, MP4 and FLV need it in theirs (their muxers strip the ADTS
// headers from the packets): the AudioSpecificConfig of ISO/IEC 14496-3 §1.6.2.1.
void add_aac_config(AVCodecParameters& p) {
  constexpr int rates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                           22050, 16000, 12000, 11025, 8000,  7350};
  int index = -1;
  for (int i = 0; i < 13; ++i)
    if (rates[i] == p.sample_rate) index = i;
  int channels = p.ch_layout.nb_channels;
  if (index < 0 || channels < 1 || channels > 7) return;  // the muxer says what is wrong
  int object_type =
      p.profile >= 0 && p.profile < 31 ? p.profile + 1 : 2;  // FF_PROFILE_AAC_LOW + 1: LC
  auto* config = static_cast<uint8_t*>(av_mallocz(2 + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!config) throw std::bad_alloc();
  unsigned bits = (static_cast<unsigned>(object_type) << 11) | (static_cast<unsigned>(index) << 7) |
                  (static_cast<unsigned>(channels) << 3);
  config[0] = static_cast<uint8_t>(bits >> 8);
  config[1] = static_cast<uint8_t>(bits);
  p.extradata = config;
  p.extradata_size = 2;
}

// ... and the frames keep their ADTS headers, which MP4 refuses ("Malformed AAC
// bitstream") and Matroska and FLV would store as audio: the header goes (7 bytes, 9 with
// a CRC), as aac_adtstoasc does. A packet is our own reference: only its view moves.
void strip_adts(AVPacket& pkt) {
  if (pkt.size < 7 || pkt.data[0] != 0xff || (pkt.data[1] & 0xf6) != 0xf0) return;
  int header = (pkt.data[1] & 1) ? 7 : 9;  // protection_absent
  if (pkt.size <= header) return;
  pkt.data += header;
  pkt.size -= header;
}

std::string describe(const AVCodecParameters& p) {
  std::string name = avcodec_get_name(p.codec_id);
  if (p.codec_type == AVMEDIA_TYPE_VIDEO) return fmt::format("{} {}x{}", name, p.width, p.height);
  if (p.codec_type == AVMEDIA_TYPE_AUDIO)
    return fmt::format("{} {} Hz {} ch", name, p.sample_rate, p.ch_layout.nb_channels);
  return name;
}
}  // namespace

std::string describe(const source_layout& l) {
  std::string out;
  for (const track& t : l) {
    AVMediaType type = t.par->codec_type;
    if (type != AVMEDIA_TYPE_VIDEO && type != AVMEDIA_TYPE_AUDIO) continue;
    out += (out.empty() ? "" : ", ") + describe(*t.par);
  }
  return out;
}

remuxer::remuxer(std::string mount, stream& out, slab_pool& pool, chunk_writer_options opts,
                 std::optional<hls_cut_options> hls)
    : mount_(std::move(mount)),
      format_(format_for_path(mount_)),
      mux_options_(hls && !format_.hls_options.empty() ? format_.hls_options : format_.options),
      holds_packets_(format_.holds_packets || (hls && !format_.hls_options.empty())),
      out_(out),
      writer_(out, pool, format_.header, opts),
      pkt_(av_packet_alloc()),
      opts_(opts) {
  if (!pkt_) throw std::bad_alloc();
  if (hls) cutter_.emplace(*hls);
}

remuxer::~remuxer() = default;

void remuxer::open(const source_layout& in, const std::string& source_label) {
  if (mux_) {
    drain();
    writer_.restart();
    if (cutter_) cutter_->restart();  // a discontinuity: a new segment from the next keyframe
  }
  mux_.reset();
  stream_map_.clear();
  strip_adts_.clear();
  in_tb_.clear();
  video_out_ = -1;
  need_keyframe_ = true;
  start_us_ = INT64_MIN;

  AVFormatContext* oc = nullptr;
  std::string muxer(format_.muxer);
  std::string name = format_.muxer == "mpegts" ? "MPEG-TS" : muxer;
  int err = avformat_alloc_output_context2(&oc, nullptr, muxer.c_str(), nullptr);
  if (err < 0)
    throw std::runtime_error(mount_ + ": no " + muxer + " muxer: " + av::error_text(err));
  av::output_ptr mux(oc);

  for (const track& t : in) {
    in_tb_.push_back(t.time_base);
    AVMediaType type = t.par->codec_type;
    bool wanted = (type == AVMEDIA_TYPE_VIDEO && !t.attached_pic && !format_.audio_only) ||
                  type == AVMEDIA_TYPE_AUDIO;
    if (!wanted) {
      stream_map_.push_back(-1);
      continue;
    }
    if (!format_.carries(t.par->codec_id))
      throw std::runtime_error(fmt::format(
          "{}: {} has {} {}, which {} cannot carry (it carries {}); transcode it first, "
          "e.g. ffmpeg -i IN -c:v libx264 -c:a aac OUT.ts",
          mount_, source_label, av_get_media_type_string(type), avcodec_get_name(t.par->codec_id),
          name, codec_list(format_)));
    AVStream* os = avformat_new_stream(oc, nullptr);
    if (!os || avcodec_parameters_copy(os->codecpar, t.par.get()) < 0) throw std::bad_alloc();
    os->codecpar->codec_tag = 0;
    os->time_base = t.time_base;
    bool raw_aac = format_.muxer != "mpegts" && format_.muxer != "adts";
    if (os->codecpar->codec_id == AV_CODEC_ID_AAC && os->codecpar->extradata_size == 0 && raw_aac)
      add_aac_config(*os->codecpar);
    strip_adts_.push_back(os->codecpar->codec_id == AV_CODEC_ID_AAC && raw_aac);
    if (type == AVMEDIA_TYPE_VIDEO && video_out_ < 0) video_out_ = os->index;
    stream_map_.push_back(os->index);
  }
  writer_.every_chunk_is_keyframe(video_out_ < 0);
  if (oc->nb_streams == 0)
    throw std::runtime_error(mount_ + ": " + source_label + " has no " +
                             (format_.audio_only ? "audio" : "audio or video") + " stream");
  last_dts_.assign(oc->nb_streams, AV_NOPTS_VALUE);

  oc->pb = writer_.make_avio();
  if (!oc->pb) throw std::bad_alloc();
  AVDictionary* mux_opts = nullptr;
  av_dict_parse_string(&mux_opts, mux_options_.c_str(), "=", ":", 0);
  err = avformat_write_header(oc, &mux_opts);
  av_dict_free(&mux_opts);
  if (err < 0)
    throw std::runtime_error(mount_ + ": cannot remux " + source_label + " (" + describe(in) +
                             ") to " + name + ": " + av::error_text(err));
  mux_ = std::move(mux);
  variant_.store(std::make_shared<const hls_variant>(variant_of(in, stream_map_)));
  if (opened_before_) spdlog::info("{}: new stream header ({})", mount_, describe(in));
  opened_before_ = true;
}

void remuxer::write(const AVPacket* in) {
  if (!mux_ || static_cast<size_t>(in->stream_index) >= stream_map_.size()) return;
  int out_index = stream_map_[in->stream_index];
  if (out_index < 0) return;
  // A viewer's first chunk must start at a keyframe: so must the muxer's first packet.
  // Nor may any packet precede that one (FLV refuses a DTS below its first).
  bool key = out_index == video_out_ && (in->flags & AV_PKT_FLAG_KEY);
  int64_t dts_us = av_rescale_q(in->dts, in_tb_[in->stream_index], av::time_base_q);
  if (need_keyframe_) {
    if (video_out_ >= 0 && !key) return;
    need_keyframe_ = false;
    start_us_ = dts_us;
  }
  if (dts_us < start_us_) return;

  AVPacket* pkt = pkt_.get();
  if (av_packet_ref(pkt, in) < 0) return;
  AVStream* os = mux_->streams[out_index];
  av_packet_rescale_ts(pkt, in_tb_[in->stream_index], os->time_base);
  if (last_dts_[out_index] != AV_NOPTS_VALUE && pkt->dts <= last_dts_[out_index]) {
    spdlog::debug("{}: dropped a packet with non-increasing DTS", mount_);
    av_packet_unref(pkt);
    return;
  }
  last_dts_[out_index] = pkt->dts;
  pkt->stream_index = out_index;
  pkt->pos = -1;
  if (strip_adts_[static_cast<size_t>(out_index)]) strip_adts(*pkt);

  // MPEG-TS and Matroska mark no sync points themselves: mark each video keyframe so that
  // it starts a new chunk (for Matroska, after ending the cluster before it, so that the
  // keyframe starts the next). FLV and fragmented MP4 mark their own, where their framing
  // allows. Audio-only streams can start anywhere: every chunk is a start.
  auto now = chunk_writer::clock::now();
  if (cutter_) cut(out_index, key, dts_us, now);
  if (key && holds_packets_) end_cluster(now);
  if (key && format_.mark_keyframes)
    avio_write_marker(mux_->pb, AV_NOPTS_VALUE, AVIO_DATA_MARKER_SYNC_POINT);
  int err = av_write_frame(mux_.get(), pkt);
  av_packet_unref(pkt);
  if (err < 0) {
    spdlog::warn("{}: muxer rejected a packet: {}", mount_, av::error_text(err));
    return;
  }
  if (holds_packets_ && now - flushed_at_ >= opts_.max_delay) end_cluster(now);
  avio_flush(mux_->pb);  // so that every chunk ends on a packet boundary
  writer_.tick(now);
}

// Matroska: write out the cluster held in memory (the next packet starts another).
void remuxer::end_cluster(chunk_writer::clock::time_point now) {
  av_write_frame(mux_.get(), nullptr);
  flushed_at_ = now;
}

// HLS: when this packet starts a segment or a part, what the muxer holds goes out first
// (MPEG-TS's buffered audio, MP4's fragment), so that the part ends on its last packet.
void remuxer::cut(int out_index, bool key, int64_t dts_us, chunk_writer::clock::time_point now) {
  bool audio_only = video_out_ < 0;
  bool reference = audio_only ? out_index == 0 : out_index == video_out_;
  if (cutter_->before(dts_us, audio_only || key, reference) == hls_cutter::cut::none) return;
  end_cluster(now);
  avio_flush(mux_->pb);
  // EXT-X-PROGRAM-DATE-TIME runs with the media clock from an anchor, so that dates
  // advance as the durations say even when an encoder's first seconds arrive in a burst;
  // the anchor moves when the two clocks are more than 2 s apart (a source back after a
  // gap, its timestamps continuing where they stopped).
  timespec wall{};
  clock_gettime(CLOCK_REALTIME, &wall);
  int64_t now_ms = int64_t{wall.tv_sec} * 1000 + wall.tv_nsec / 1'000'000;
  int64_t date_ms = anchor_wall_ms_ + (dts_us - anchor_media_us_) / 1000;
  if (anchor_wall_ms_ == 0 || std::abs(date_ms - now_ms) > 2000) {
    anchor_wall_ms_ = date_ms = now_ms;
    anchor_media_us_ = dts_us;
  }
  writer_.begin_part({cutter_->msn(), cutter_->part(), dts_us, date_ms}, audio_only || key);
}

void remuxer::catch_up(bool whole_chunks) {
  // A source sending a little at a time (not a gordo) must not make chunks of a few
  // packets: small ones go out at most every half --chunk-duration.
  auto now = chunk_writer::clock::now();
  size_t pending = mux_ ? writer_.pending() : 0;
  if (pending == 0 || (!whole_chunks && pending < opts_.target_bytes / 4 &&
                       now - caught_up_at_ < opts_.max_delay / 2))
    return;
  caught_up_at_ = now;
  writer_.flush();
}

void remuxer::set_title(std::string_view title) {
  writer_.publish_metadata(icy_block(title));
}

// Whatever the muxer holds goes out.
void remuxer::drain() {
  if (holds_packets_) end_cluster(chunk_writer::clock::now());
  avio_flush(mux_->pb);
}

void remuxer::end() {
  if (mux_) drain();
  writer_.flush();
  out_.end();
}

}  // namespace gordo
