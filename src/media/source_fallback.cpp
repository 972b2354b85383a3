// A source's fallback: see source.h and fallback.h.
#include <spdlog/spdlog.h>

#include "gordo/core/clock.h"
#include "gordo/media/source.h"

namespace gordo {

namespace {

source_spec fallback_source(const fallback_spec& f, int64_t timeout_us) {
  source_spec spec;
  spec.url = f.url;
  spec.loop = spec.needs_pacing();  // a file, looped; a URL is reconnected when it fails
  spec.label = "fallback " + without_credentials(f.url);
  spec.timeout_us = timeout_us;
  return spec;
}

// A packet's duration when it does not say: a frame at the track's rate.
int64_t nominal_duration_us(const track& t) {
  const AVCodecParameters& p = *t.par;
  if (p.codec_type == AVMEDIA_TYPE_VIDEO && t.frame_rate.num > 0 && t.frame_rate.den > 0)
    return av_rescale(1'000'000, t.frame_rate.den, t.frame_rate.num);
  if (p.codec_type == AVMEDIA_TYPE_AUDIO && p.frame_size > 0 && p.sample_rate > 0)
    return av_rescale(1'000'000, p.frame_size, p.sample_rate);
  return 20'000;
}

}  // namespace

source_layout source::layout() const {
  std::lock_guard lock(mu_);
  return layout_ ? copy_of(*layout_) : source_layout{};
}

// A file is opened and checked now; a URL (another mount) when it goes on air.
void source::set_fallback(fallback_spec f) {
  source_spec spec = fallback_source(f, spec_.timeout_us);
  fallback_is_file_ = spec.needs_pacing();
  if (!fallback_is_file_) {
    fallback_ = std::move(f);
    return;
  }
  source probe(std::move(spec), lost_timeout_);  // throws when it cannot be opened
  std::lock_guard lock(mu_);
  if (muxed_) {
    std::string why = misfit(*muxed_, probe.layout());
    if (!why.empty())
      throw std::runtime_error(
          fmt::format("fallback {} does not fit source {}: {}; make it with "
                      "tools/make-slate",
                      without_credentials(f.url), spec_.label, why));
  }
  fallback_ = std::move(f);
}

std::string source::fallback_state() const {
  std::lock_guard lock(mu_);
  if (!fallback_) return "none";
  if (fallback_on_air_) return "on air";
  return fallback_misfit_.empty() ? "standby" : "misfit";
}

std::string source::mounts_locked() const {
  std::string mounts;
  for (const remuxer* r : outputs_) mounts += (mounts.empty() ? "" : ", ") + r->mount();
  return mounts;
}

// Every 100 ms: a source away for fallback_->after gets its fallback started (it goes on air
// with its first packet); once the source is back on air, the fallback is stopped.
void source::watch() {
  auto retry_at = std::chrono::steady_clock::time_point{};
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::milliseconds(100));
    if (stop_) break;
    if (slate_ && !fallback_wanted_) {
      std::unique_ptr<source> done = std::move(slate_);
      lock.unlock();
      done.reset();  // joins its thread, which may be waiting for mu_
      lock.lock();
      continue;
    }
    state s = current();
    auto now = std::chrono::steady_clock::now();
    if (slate_ && slate_->current() != state::live) {
      // The fallback failed (a URL gone, a file unreadable): off air, as if it were not
      // there, until it can be started again.
      spdlog::warn("source {} ({}): its fallback {} is {}; off air, trying again in 5 s",
                   spec_.label, mounts_locked(), without_credentials(fallback_->url),
                   name(slate_->current()));
      fallback_on_air_ = fallback_wanted_ = false;
      for (remuxer* r : outputs_) show_offline(*r, s);
      retry_at = now + std::chrono::seconds(5);
      continue;
    }
    bool away = s == state::hungry || s == state::lost || s == state::waiting;
    // A misfit is tried again when the source's tracks change; a URL's also after 30 s
    // (its stream may have changed).
    bool misfit = misfit_generation_ == muxed_generation_ &&
                  (fallback_is_file_ || now - misfit_at_ < std::chrono::seconds(30));
    if (slate_ || !away || misfit || now < retry_at ||
        monotonic_ns() - away_since_ns_.load(std::memory_order_relaxed) <
            std::chrono::nanoseconds(fallback_->after).count())
      continue;
    lock.unlock();
    if (!go_on_air()) retry_at = now + std::chrono::seconds(5);
    lock.lock();
  }
  std::unique_ptr<source> done = std::move(slate_);
  lock.unlock();
}

bool source::go_on_air() {
  std::unique_ptr<source> slate;
  try {
    slate = std::make_unique<source>(fallback_source(*fallback_, spec_.timeout_us), lost_timeout_);
  } catch (const std::exception& e) {
    if (e.what() != open_error_)  // once, not every 5 s
      spdlog::error("source {}: its fallback cannot be opened ({}); trying again every 5 s",
                    spec_.label, e.what());
    open_error_ = e.what();
    return false;
  }
  open_error_.clear();
  source_layout l = slate->layout();
  {
    std::lock_guard lock(mu_);
    if (stop_) return true;
    fallback_sets_.clear();
    if (muxed_) {
      std::string why = misfit(*muxed_, l);
      if (!why.empty()) {
        spdlog::error(
            "source {} ({}) is away, and its fallback {} does not fit it: {}; not "
            "played (until the source's tracks change)",
            spec_.label, mounts_locked(), without_credentials(fallback_->url), why);
        fallback_misfit_ = why;
        misfit_generation_ = muxed_generation_;
        misfit_at_ = std::chrono::steady_clock::now();
        return true;
      }
      fallback_sets_ = parameter_sets(*muxed_, l);
    }
    fallback_generation_ = muxed_generation_;
    fallback_misfit_.clear();
    fallback_layout_ = std::move(l);
    fallback_wanted_ = true;
  }
  slate->stands_in_for_ = this;
  slate->start();
  slate_ = std::move(slate);
  return true;
}

// A packet of the fallback, on its thread: the first switch point puts it on air, in
// place of this source, continuing the timeline.
void source::stand_in(AVPacket* pkt, AVRational time_base) {
  std::lock_guard lock(mu_);
  if (!fallback_wanted_ || !fallback_layout_) return;
  // The muxers were opened again for other tracks since it was fitted (the source back
  // with them): not played.
  if (muxed_ && fallback_generation_ != muxed_generation_) return;
  if (!fallback_on_air_) {
    int point = switch_track(*fallback_layout_);
    if (point >= 0 && (pkt->stream_index != point || !(pkt->flags & AV_PKT_FLAG_KEY))) return;
    if (current() == state::live) {  // back before the fallback began: not needed after all
      fallback_wanted_ = false;
      wake_.notify_all();
      return;
    }
    if (!muxed_) {  // nothing played yet (no encoder has pushed): the fallback sets the tracks
      for (remuxer* r : outputs_) {
        try {
          r->open(*fallback_layout_, spec_.label);
        } catch (const std::exception& e) {
          spdlog::error("{}", e.what());
        }
      }
      muxed_ = copy_of(*fallback_layout_);
      fallback_generation_ = ++muxed_generation_;
    }
    fallback_shift_us_ = splice_shift(pkt, time_base);
    fallback_on_air_ = true;
    fallback_switches_.fetch_add(1, std::memory_order_relaxed);
    for (remuxer* r : outputs_) show_offline(*r, current());
    spdlog::warn(
        "source {} ({}) away for {:.1f} s: fallback {} on air", spec_.label, mounts_locked(),
        static_cast<double>(monotonic_ns() - away_since_ns_.load(std::memory_order_relaxed)) / 1e9,
        without_credentials(fallback_->url));
  }
  write_out(pkt, time_base, fallback_shift_us_, fallback_sets_);
}

int64_t source::splice_shift(const AVPacket* pkt, AVRational tb) const {
  int64_t dts = av_rescale_q(pkt->dts, tb, av::time_base_q);
  int64_t pts = pkt->pts != AV_NOPTS_VALUE ? av_rescale_q(pkt->pts, tb, av::time_base_q) : dts;
  return std::max(out_end_us_ - dts, out_pts_end_us_ - pts);
}

void source::write_out(AVPacket* pkt, AVRational tb, int64_t shift_us,
                       const std::vector<std::vector<uint8_t>>& sets) {
  size_t index = static_cast<size_t>(pkt->stream_index);
  if (shift_us != 0) {
    int64_t shift = av_rescale_q(shift_us, av::time_base_q, tb);
    pkt->dts += shift;
    if (pkt->pts != AV_NOPTS_VALUE) pkt->pts += shift;
  }
  // The next input starts where this one's video ends (its audio follows with the offset
  // it has to its video: at most one audio frame is dropped or a few ms are left silent).
  if (muxed_ && index < muxed_->size()) {
    int64_t duration = pkt->duration > 0 ? av_rescale_q(pkt->duration, tb, av::time_base_q)
                                         : nominal_duration_us((*muxed_)[index]);
    int64_t end = av_rescale_q(pkt->dts, tb, av::time_base_q) + duration;
    track_end_us_.resize(muxed_->size());
    track_end_us_[index] = std::max(track_end_us_[index], end);
    int point = switch_track(*muxed_);
    if (point < 0 || static_cast<size_t>(point) == index) {
      out_end_us_ = std::max(out_end_us_, end);
      int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
      out_pts_end_us_ =
          std::max(out_pts_end_us_, av_rescale_q(pts, tb, av::time_base_q) + duration);
    }
  }
  // The muxers take the time bases of the tracks they were opened for.
  if (muxed_ && index < muxed_->size()) av_packet_rescale_ts(pkt, tb, (*muxed_)[index].time_base);
  if (index < sets.size() && !sets[index].empty() && (pkt->flags & AV_PKT_FLAG_KEY)) {
    const std::vector<uint8_t>& before = sets[index];
    av::packet_ptr with(av_packet_alloc());
    if (with && av_new_packet(with.get(), static_cast<int>(before.size()) + pkt->size) == 0 &&
        av_packet_copy_props(with.get(), pkt) == 0) {
      std::copy(before.begin(), before.end(), with->data);
      std::copy(pkt->data, pkt->data + pkt->size, with->data + before.size());
      with->stream_index = pkt->stream_index;
      for (remuxer* r : outputs_) r->write(with.get());
      return;
    }
  }
  for (remuxer* r : outputs_) r->write(pkt);
}

}  // namespace gordo
