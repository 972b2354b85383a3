#include "gordo/media/ingest.h"

#include <spdlog/spdlog.h>

#include <random>
#include <stdexcept>

#include "gordo/media/formats.h"

namespace gordo {

namespace {

std::string describe(const AVStream* s) {
  const AVCodecParameters* p = s->codecpar;
  std::string name = avcodec_get_name(p->codec_id);
  if (p->codec_type == AVMEDIA_TYPE_VIDEO) return fmt::format("{} {}x{}", name, p->width, p->height);
  if (p->codec_type == AVMEDIA_TYPE_AUDIO)
    return fmt::format("{} {} Hz {} ch", name, p->sample_rate, p->ch_layout.nb_channels);
  return name;
}

}  // namespace

ingest::ingest(std::string mount, source_spec spec, stream& out, slab_pool& pool,
               chunk_writer_options opts)
    : mount_(std::move(mount)),
      format_(format_for_path(mount_)),
      spec_(std::move(spec)),
      out_(out),
      writer_(out, pool, format_.header, opts),
      paced_(spec_.needs_pacing()) {
  std::string error;
  in_ = input::open(spec_, stop_, error);
  if (!in_) throw std::runtime_error(mount_ + ": " + error);
  setup_output();
}

ingest::~ingest() { stop(); }

void ingest::setup_output() {
  AVFormatContext* oc = nullptr;
  std::string muxer(format_.muxer);
  int err = avformat_alloc_output_context2(&oc, nullptr, muxer.c_str(), nullptr);
  if (err < 0) throw std::runtime_error(mount_ + ": no " + muxer + " muxer: " + av::error_text(err));
  mux_.reset(oc);

  AVFormatContext* ic = in_->ctx();
  std::string streams;
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    const AVStream* is = ic->streams[i];
    AVMediaType type = is->codecpar->codec_type;
    bool wanted = type == AVMEDIA_TYPE_VIDEO || type == AVMEDIA_TYPE_AUDIO;
    if (type == AVMEDIA_TYPE_VIDEO && (is->disposition & AV_DISPOSITION_ATTACHED_PIC)) wanted = false;
    if (type == AVMEDIA_TYPE_VIDEO && format_.audio_only) wanted = false;
    if (!wanted) {
      stream_map_.push_back(-1);
      continue;
    }
    if (!format_.carries(is->codecpar->codec_id))
      throw std::runtime_error(fmt::format(
          "{}: {} has {} {}, which {} cannot carry (it carries {}); transcode it first, "
          "e.g. ffmpeg -i IN -c:v libx264 -c:a aac OUT.ts",
          mount_, spec_.label, av_get_media_type_string(type), avcodec_get_name(is->codecpar->codec_id),
          format_.muxer == "mpegts" ? "MPEG-TS" : muxer, codec_list(format_)));
    AVStream* os = avformat_new_stream(oc, nullptr);
    if (!os || avcodec_parameters_copy(os->codecpar, is->codecpar) < 0)
      throw std::runtime_error(mount_ + ": out of memory");
    os->codecpar->codec_tag = 0;
    os->time_base = is->time_base;
    if (type == AVMEDIA_TYPE_VIDEO && video_out_ < 0) video_out_ = os->index;
    stream_map_.push_back(os->index);
    streams += (streams.empty() ? "" : ", ") + describe(is);
  }
  if (oc->nb_streams == 0)
    throw std::runtime_error(mount_ + ": " + spec_.label + " has no audio or video stream");
  last_dts_.assign(oc->nb_streams, AV_NOPTS_VALUE);

  oc->pb = writer_.make_avio();
  if (!oc->pb) throw std::runtime_error(mount_ + ": out of memory");
  AVDictionary* mux_opts = nullptr;
  av_dict_parse_string(&mux_opts, std::string(format_.options).c_str(), "=", ":", 0);
  err = avformat_write_header(oc, &mux_opts);
  av_dict_free(&mux_opts);
  if (err < 0)
    throw std::runtime_error(mount_ + ": cannot remux " + spec_.label + " (" + streams + ") to " +
                             (format_.muxer == "mpegts" ? "MPEG-TS" : muxer) + ": " + av::error_text(err));
  spdlog::info("{}: source {} ({}){}{}", mount_, spec_.label, streams, paced_ ? ", paced" : "",
               spec_.loop ? ", looped" : "");
}

void ingest::start() { thread_ = std::thread([this] { run(); }); }

void ingest::stop() {
  {
    std::lock_guard lock(mu_);
    stop_.store(true);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ingest::reopen() {
  std::string error;
  in_.reset();
  in_ = input::open(spec_, stop_, error);
  if (!in_) {
    if (!stop_) spdlog::error("{}: cannot loop: {}", mount_, error);
    return false;
  }
  if (in_->ctx()->nb_streams != stream_map_.size()) {
    spdlog::error("{}: {} changed its streams; cannot loop it", mount_, spec_.label);
    return false;
  }
  rebase_ = true;
  return true;
}

// A network source that failed or went quiet: open it again, waiting 0.5 s, 1 s, 2 s ...
// up to 30 s (each ±20%) between attempts, until it is back or gordo stops. Viewers stay
// connected meanwhile; the stream goes on with timestamps continuing where they were.
bool ingest::reconnect(const std::string& why) {
  state_.store(state::reconnecting, std::memory_order_relaxed);
  spdlog::warn("{}: source {} lost ({}); reconnecting", mount_, spec_.label, why);
  std::minstd_rand jitter(static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::chrono::milliseconds wait{500};
  for (unsigned attempt = 1; !stop_; ++attempt) {
    {
      auto delay = wait * (80 + static_cast<int>(jitter() % 41)) / 100;
      std::unique_lock lock(mu_);
      if (wake_.wait_for(lock, delay, [this] { return stop_.load(); })) return false;
    }
    std::string error;
    in_.reset();
    in_ = input::open(spec_, stop_, error);
    if (in_ && in_->ctx()->nb_streams == stream_map_.size()) {
      spdlog::info("{}: source {} is back after {} attempt{}", mount_, spec_.label, attempt,
                   attempt == 1 ? "" : "s");
      rebase_ = true;
      state_.store(state::live, std::memory_order_relaxed);
      return true;
    }
    if (in_) error = "its streams changed; gordo needs a restart for a different layout";
    if (attempt == 1 || attempt % 10 == 0) spdlog::warn("{}: reconnecting: {}", mount_, error);
    wait = std::min<std::chrono::milliseconds>(wait * 2, std::chrono::seconds(30));
  }
  return false;
}

bool ingest::pace(int64_t dts_us) {
  if (!paced_) return true;
  auto now = std::chrono::steady_clock::now();
  if (!clock_started_) {
    clock_started_ = true;
    t0_ = now;
    dts0_us_ = dts_us;
    return true;
  }
  auto due = t0_ + std::chrono::microseconds(dts_us - dts0_us_);
  std::unique_lock lock(mu_);
  wake_.wait_until(lock, due, [this] { return stop_.load(); });
  return !stop_;
}

bool ingest::write(AVPacket* pkt) {
  int out_index = stream_map_[pkt->stream_index];
  const AVStream* is = in_->ctx()->streams[pkt->stream_index];
  if (pkt->dts == AV_NOPTS_VALUE) pkt->dts = pkt->pts;
  if (pkt->dts == AV_NOPTS_VALUE) return true;  // cannot be placed in time: skip

  if (rebase_) {
    // First packet of a new loop: continue right where the previous loop ended.
    offset_us_ = end_us_ - av_rescale_q(pkt->dts, is->time_base, AV_TIME_BASE_Q);
    rebase_ = false;
  }
  int64_t shift = av_rescale_q(offset_us_, AV_TIME_BASE_Q, is->time_base);
  pkt->dts += shift;
  if (pkt->pts != AV_NOPTS_VALUE) pkt->pts += shift;
  int64_t dts_us = av_rescale_q(pkt->dts, is->time_base, AV_TIME_BASE_Q);
  end_us_ = std::max(end_us_, dts_us + av_rescale_q(std::max<int64_t>(pkt->duration, 1),
                                                    is->time_base, AV_TIME_BASE_Q));
  if (!pace(dts_us)) return false;

  AVStream* os = mux_->streams[out_index];
  av_packet_rescale_ts(pkt, is->time_base, os->time_base);
  if (last_dts_[out_index] != AV_NOPTS_VALUE && pkt->dts <= last_dts_[out_index]) {
    spdlog::debug("{}: dropped a packet with non-increasing DTS", mount_);
    return true;
  }
  last_dts_[out_index] = pkt->dts;
  pkt->stream_index = out_index;
  pkt->pos = -1;

  // MPEG-TS (and raw audio) mark no sync points themselves: mark each video keyframe so
  // that it starts a new chunk. Audio-only streams can start anywhere, so every chunk is
  // a start. FLV and fragmented MP4 mark their own, where their framing allows.
  bool key = out_index == video_out_ ? (pkt->flags & AV_PKT_FLAG_KEY) : video_out_ < 0;
  if (key && format_.mark_keyframes) avio_write_marker(mux_->pb, AV_NOPTS_VALUE, AVIO_DATA_MARKER_SYNC_POINT);
  int err = av_write_frame(mux_.get(), pkt);
  if (err < 0) {
    spdlog::warn("{}: muxer rejected a packet: {}", mount_, av::error_text(err));
    return true;
  }
  avio_flush(mux_->pb);  // so that every chunk ends on a packet boundary
  writer_.tick(chunk_writer::clock::now());
  return true;
}

void ingest::run() {
  av::packet_ptr pkt(av_packet_alloc());
  while (!stop_) {
    int err = av_read_frame(in_->ctx(), pkt.get());
    if (err == AVERROR(EAGAIN)) continue;
    if (err < 0) {
      if (stop_) break;
      if (spec_.loop && err == AVERROR_EOF && reopen()) continue;
      if (!paced_ && reconnect(av::error_text(err))) continue;  // network sources come back
      if (stop_) break;
      if (err != AVERROR_EOF) spdlog::error("{}: reading {}: {}", mount_, spec_.label, av::error_text(err));
      spdlog::info("{}: source ended", mount_);
      break;
    }
    bool mapped = static_cast<size_t>(pkt->stream_index) < stream_map_.size() &&
                  stream_map_[pkt->stream_index] >= 0;
    bool go_on = !mapped || write(pkt.get());
    av_packet_unref(pkt.get());
    if (!go_on) break;
  }
  writer_.flush();
  state_.store(state::ended, std::memory_order_relaxed);
  out_.end();
}

}  // namespace gordo
