#include "gordo/media/source.h"

#include <spdlog/spdlog.h>

#include "gordo/core/clock.h"
#include "gordo/core/secret.h"
#include "gordo/net/htpasswd.h"
#include "gordo/net/http_request.h"

#include <algorithm>
#include <stdexcept>

namespace gordo {

// Polled by FFmpeg while it blocks: stopping, or a network source that has produced no
// packet for the source timeout (silent, or sending bytes that never make a packet).
int source::interrupted(void* opaque) {
  auto* self = static_cast<source*>(opaque);
  if (self->stop_.load(std::memory_order_relaxed)) return 1;
  if (self->paced_) return 0;
  int64_t since = self->waiting_since_ns_.load(std::memory_order_relaxed);
  return since != 0 && monotonic_ns() - since > self->spec_.timeout_us * 1000;
}

AVIOInterruptCB source::interrupt() {
  waiting_since_ns_.store(monotonic_ns(), std::memory_order_relaxed);
  return {&source::interrupted, this};
}

const char* source::name(state s) {
  switch (s) {
    case state::waiting:
      return "waiting";
    case state::live:
      return "live";
    case state::hungry:
      return "hungry";
    case state::lost:
      return "lost";
    case state::ended:
      return "ended";
  }
  return "?";
}

source::source(source_spec spec, std::chrono::microseconds lost_timeout)
    : spec_(std::move(spec)),
      lost_timeout_(lost_timeout),
      paced_(spec_.needs_pacing()),
      catch_up_(!spec_.memory && spec_.push.empty() &&
                (spec_.url.starts_with("http://") || spec_.url.starts_with("https://"))) {
  away_since_ns_.store(monotonic_ns());  // waiting or hungry until live
  if (is_push()) {
    state_.store(state::waiting);
    spdlog::info("{}: waiting for an encoder{}", spec_.label,
                 spec_.password.empty() ? " (no password: anyone who can connect may push)" : "");
    return;
  }
  if (!spec_.memory) {
    urls_.push_back(spec_.url);
    urls_.insert(urls_.end(), spec_.alternates.begin(), spec_.alternates.end());
  }
  if (spec_.relayed) {
    hungry_since_ = std::chrono::steady_clock::now();
    state_.store(state::hungry);
    spdlog::info("source {}: connecting", spec_.label);
    return;
  }
  state_.store(state::live);
  std::string error;
  std::vector<size_t> all(urls_.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  in_ = spec_.memory ? input::open(spec_, interrupt(), error) : open_first(all, error);
  if (!in_) throw std::runtime_error(error);
  layout_ = layout_of(in_->ctx());
  muxed_ = copy_of(*layout_);
  take_title(in_->ctx());
  spdlog::info("source {} ({}){}{}", spec_.label, describe(*layout_), paced_ ? ", paced" : "",
               spec_.loop ? ", looped" : "");
}

source::~source() {
  stop();
}

void source::attach(remuxer* r) {
  std::lock_guard lock(mu_);
  if (muxed_) r->open(*muxed_, spec_.label);
  title_changed_ = title_changed_ || !title_.empty();  // the new muxer gets it with the next packet
  state s = current();
  show_offline(*r, s);
  outputs_.push_back(r);
}

void source::detach(remuxer* r) {
  std::lock_guard lock(mu_);
  outputs_.erase(std::remove(outputs_.begin(), outputs_.end(), r), outputs_.end());
}

void source::start() {
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { run(); });
  if (fallback_) fallback_thread_ = std::thread([this] { watch(); });
}

void source::stop() {
  {
    std::lock_guard lock(mu_);
    stop_.store(true);
    if (pusher_) pusher_->interrupt();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fallback_thread_.joinable()) fallback_thread_.join();
}

bool source::authorized(std::string_view password) const {
  if (!spec_.password.empty()) return same_secret(password, spec_.password);
  return !spec_.users;
}

bool source::may_update(std::string_view authorization) const {
  if (!spec_.users) return authorized(basic_password(authorization));
  auto [user, password] = htpasswd::credentials(authorization);
  std::lock_guard lock(mu_);
  return !verified_.first.empty() && same_secret(user, verified_.first) &&
         same_secret(password, verified_.second);
}

void source::set_title(std::string title) {
  std::lock_guard lock(mu_);
  if (title == title_) return;
  spdlog::info("source {}: title '{}'", spec_.label, title);
  title_ = std::move(title);
  title_changed_ = true;
}

// "StreamTitle", else "artist - title", else "title" of the source's tags.
void source::take_title(const AVFormatContext* ic) {
  auto tag = [ic](const char* key) -> std::string {
    const AVDictionaryEntry* e = av_dict_get(ic->metadata, key, nullptr, 0);
    return e ? e->value : "";
  };
  std::string title = tag("StreamTitle");
  if (title.empty()) {
    title = tag("title");
    if (std::string artist = tag("artist"); !artist.empty() && !title.empty())
      title = artist + " - " + title;
  }
  if (!title.empty()) set_title(std::move(title));
}

source::offer_result source::offer(push_connection& c, std::string_view authorization) {
  std::lock_guard lock(mu_);
  if (spec_.users) {
    c.authorization = authorization;  // checked on this source's thread: it is slow on purpose
  } else if (!authorized(basic_password(authorization))) {
    auth_failures_.fetch_add(1, std::memory_order_relaxed);
    return offer_result::unauthorized;
  }
  if (busy_ || stop_) return offer_result::busy;
  busy_ = true;
  pending_ = std::move(c);
  wake_.notify_all();
  return offer_result::accepted;
}

std::string source::who() {
  std::lock_guard lock(mu_);
  std::string mounts;
  for (const remuxer* r : outputs_) mounts += (mounts.empty() ? "" : ", ") + r->mount();
  return spec_.label + " (" + mounts + ")";
}

void source::set_state(state s) {
  state was = state_.exchange(s, std::memory_order_relaxed);
  if (was == s) return;
  if (was == state::live) away_since_ns_.store(monotonic_ns(), std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  if (s != state::live) held_.clear();
  for (remuxer* r : outputs_) show_offline(*r, s);
}

// Viewers are refused (and caught-up ones closed) while the source is waiting or lost and
// no fallback plays in its place, and while the muxer is not open. mu_ held.
void source::show_offline(remuxer& r, state s) {
  r.out().set_offline(((s == state::waiting || s == state::lost) && !fallback_on_air_) ||
                      !r.is_open());
}

void source::went_hungry(const std::string& why) {
  hungry_since_ = std::chrono::steady_clock::now();
  spdlog::warn("source {} is hungry ({}); {}", who(), why,
               is_push() ? "waiting for the encoder to come back" : "reconnecting");
  set_state(state::hungry);
}

// Waits `d` unless stopping; meanwhile a source hungry for too long becomes lost.
bool source::sleep_for(std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (current() == state::hungry && now - hungry_since_ >= lost_timeout_) {
      spdlog::warn("source {} is lost: hungry for {} s; its viewers are closed until it returns",
                   who(), std::chrono::duration_cast<std::chrono::seconds>(lost_timeout_).count());
      set_state(state::lost);
    }
    if (now >= until) return !stop_;
    auto step = std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::seconds(1));
    std::unique_lock lock(mu_);
    if (wake_.wait_for(lock, step, [this] { return stop_.load() || pending_.fd >= 0; }))
      return !stop_;
  }
}

// The next encoder whose push can be read, once one is accepted.
bool source::wait_for_push() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return false;
      if (pending_.fd >= 0) {
        pusher_ = std::make_unique<push_reader>(std::move(pending_), spec_.timeout_us);
        pending_ = push_connection();
      }
    }
    if (!pusher_) {
      if (!sleep_for(std::chrono::seconds(1))) return false;
      continue;
    }
    if (spec_.users) {
      auto [user, password] = htpasswd::credentials(pusher_->authorization());
      if (spec_.users->check(user, password)) {
        std::lock_guard lock(mu_);
        verified_ = {std::move(user), std::move(password)};
      } else {
        auth_failures_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("{}: push from {} refused: user '{}' unknown or wrong password", spec_.label,
                     pusher_->peer(), user);
        pusher_->refuse(401, "this mount needs a source user and password",
                        "WWW-Authenticate: Basic realm=\"gordo source\"\r\n");
        std::lock_guard lock(mu_);
        pusher_.reset();
        busy_ = false;
        continue;
      }
    }
    pusher_->greet();
    spdlog::info("{}: encoder {} connected", spec_.label, pusher_->peer());
    std::string error;
    push_reader* r = pusher_.get();
    auto in = input::open([r](uint8_t* out, int size) { return r->read(out, size); },
                          "the push from " + r->peer(), interrupt(), error);
    if (in) {
      adopt(std::move(in));
      return true;
    }
    if (r->fault_status() != 0) {
      // The body's framing or its timing failed, not its bytes: say so (400, 408).
      spdlog::warn("{}: push from {} refused ({}): {}", spec_.label, r->peer(), r->fault_status(),
                   r->fault());
      r->refuse(r->fault_status(), r->fault());
    } else {
      spdlog::warn("{}: {}", spec_.label, error);
      r->refuse(415, "cannot read a stream from this: " + error);
    }
    std::lock_guard lock(mu_);
    pusher_.reset();
    busy_ = false;
  }
}

// The encoder's body ended (av_read_frame's `err`): a whole body is answered 200; one cut
// short, badly framed or stalled is logged as such and answered with its status.
void source::end_push(int err) {
  push_reader& r = *pusher_;
  if (r.fault_status() != 0) {
    spdlog::warn("{}: encoder {} {}: {}", spec_.label, r.peer(),
                 r.truncated() ? "truncated" : "failed", r.fault());
    r.refuse(r.fault_status(), r.fault());
  } else if (err == AVERROR_EOF) {
    // Logged before the answer, so that whoever reads the answer finds the line.
    spdlog::info("{}: encoder {} finished after {} bytes", spec_.label, r.peer(), r.bytes());
    r.finish();
  } else {
    spdlog::info("{}: encoder {} failed ({}) after {} bytes", spec_.label, r.peer(),
                 av::error_text(err), r.bytes());
  }
}

// A new input for the mounts: the same tracks go on as they were; different ones give
// every muxer a new header (see the rule in source.h). While the fallback is on air,
// tracks that fit the muxers' (it may have opened them) go on too.
void source::adopt(std::unique_ptr<input> in) {
  source_layout next = layout_of(in->ctx());
  std::string name = who();
  {
    std::lock_guard lock(mu_);
    bool keep = muxed_ &&
                (same_layout(*muxed_, next) || (fallback_on_air_ && misfit(*muxed_, next).empty()));
    if (!keep) {
      if (fallback_on_air_) {  // it was fitted to the old tracks: off air, tried again later
        fallback_on_air_ = fallback_wanted_ = false;
        held_.clear();
        wake_.notify_all();
      }
      if (muxed_)
        spdlog::warn("source {} came back with other tracks ({}); new stream headers", name,
                     describe(next));
      for (remuxer* r : outputs_) {
        try {
          r->open(next, spec_.label);
        } catch (const std::exception& e) {
          spdlog::error("{}", e.what());  // that mount stays offline until a source it can carry
        }
      }
      muxed_ = copy_of(next);
      ++muxed_generation_;
    }
    main_sets_ = parameter_sets(*muxed_, next);
    layout_ = std::move(next);
  }
  rebase_ = end_us_ != 0;  // not for the first input
  take_title(in->ctx());
  in_ = std::move(in);
  set_state(state::live);
}

bool source::acquire() {
  if (is_push()) return wait_for_push();
  if (spec_.loop) {
    std::string error;
    auto in = input::open(spec_, interrupt(), error);
    if (!in) {
      if (!stop_) spdlog::error("source {}: cannot loop: {}", who(), error);
      return false;
    }
    adopt(std::move(in));
    return true;
  }
  bool opened = false;
  {
    std::lock_guard lock(mu_);
    opened = layout_.has_value();
  }
  return reconnect(!opened);
}

bool source::pace(int64_t dts_us) {
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

void source::forward(AVPacket* pkt) {
  const AVStream* is = in_->ctx()->streams[pkt->stream_index];
  if (pkt->dts == AV_NOPTS_VALUE) pkt->dts = pkt->pts;
  if (pkt->dts == AV_NOPTS_VALUE) return;  // cannot be placed in time: skip
  if (rebase_) {
    // First packet of a new input: continue right where the previous one ended.
    offset_us_ = end_us_ - av_rescale_q(pkt->dts, is->time_base, av::time_base_q);
    rebase_ = false;
  }
  int64_t shift = av_rescale_q(offset_us_, av::time_base_q, is->time_base);
  pkt->dts += shift;
  if (pkt->pts != AV_NOPTS_VALUE) pkt->pts += shift;
  int64_t dts_us = av_rescale_q(pkt->dts, is->time_base, av::time_base_q);
  end_us_ = std::max(end_us_, dts_us + av_rescale_q(std::max<int64_t>(pkt->duration, 1),
                                                    is->time_base, av::time_base_q));
  if (!pace(dts_us)) return;
  if (stands_in_for_) return stands_in_for_->stand_in(pkt, is->time_base);
  std::lock_guard lock(mu_);
  if (title_changed_) {
    for (remuxer* r : outputs_) r->set_title(title_);
    title_changed_ = false;
  }
  if (fallback_on_air_) {
    // Back on air at a switch point once live: a keyframe (any packet, audio only).
    int point = switch_track(*layout_);
    if (current() != state::live) return;
    if (point >= 0 && (pkt->stream_index != point || !(pkt->flags & AV_PKT_FLAG_KEY))) {
      if (pkt->stream_index != point) {  // its audio, for the switch (a GOP's worth at most)
        if (held_.size() >= 256) held_.pop_front();
        held_.emplace_back(av::packet_ptr(av_packet_clone(pkt)), is->time_base);
      }
      return;
    }
    main_shift_us_ = splice_shift(pkt, is->time_base);
    fallback_on_air_ = fallback_wanted_ = false;
    fallback_switches_.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("source {} ({}) is back on air; fallback {} off air", spec_.label, mounts_locked(),
                 without_credentials(fallback_->url));
    wake_.notify_all();  // the watch thread stops the fallback
    write_out(pkt, is->time_base, main_shift_us_, main_sets_);
    // Its audio from where the fallback's ended (it may have ended before the video did).
    for (auto& [held, tb] : held_) {
      auto index = held ? static_cast<size_t>(held->stream_index) : track_end_us_.size();
      if (index < track_end_us_.size() &&
          av_rescale_q(held->dts, tb, av::time_base_q) + main_shift_us_ >= track_end_us_[index])
        write_out(held.get(), tb, main_shift_us_, main_sets_);
    }
    held_.clear();
    return;
  }
  write_out(pkt, is->time_base, main_shift_us_, main_sets_);
}

void source::run() {
  av::packet_ptr pkt(av_packet_alloc());
  while (!stop_) {
    if (!in_ && !acquire()) break;
    waiting_since_ns_.store(monotonic_ns(), std::memory_order_relaxed);
    int err = av_read_frame(in_->ctx(), pkt.get());
    if (err == AVERROR(EAGAIN)) continue;
    if (err < 0) {
      if (stop_) break;
      if (pusher_) {
        end_push(err);
        in_.reset();
        std::lock_guard lock(mu_);
        pusher_.reset();
        busy_ = false;
      } else {
        in_.reset();
      }
      if (spec_.loop && err == AVERROR_EOF) continue;  // acquire() opens it again
      if (paced_) {
        if (err != AVERROR_EOF) spdlog::error("source {}: {}", who(), av::error_text(err));
        spdlog::info("source {} ended", who());
        break;
      }
      went_hungry(err == AVERROR_EOF ? "it ended"
                  : err == AVERROR_EXIT
                      ? fmt::format("no packet for {} ms", spec_.timeout_us / 1000)
                      : av::error_text(err));
      continue;
    }
    if (in_->ctx()->event_flags & AVFMT_EVENT_FLAG_METADATA_UPDATED) {
      in_->ctx()->event_flags &= ~AVFMT_EVENT_FLAG_METADATA_UPDATED;
      take_title(in_->ctx());
    }
    if (static_cast<size_t>(pkt->stream_index) < in_->ctx()->nb_streams) forward(pkt.get());
    av_packet_unref(pkt.get());
    // All that arrived is read: an upstream gordo sends a chunk at a time, and its viewers
    // should not wait for the next one to get this one.
    if (const AVIOContext* pb = in_->ctx()->pb; catch_up_ && pb && pb->buf_ptr >= pb->buf_end) {
      std::lock_guard lock(mu_);
      for (remuxer* r : outputs_) r->catch_up(spec_.relayed);
    }
  }
  state_.store(state::ended, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  fallback_wanted_ = fallback_on_air_ = false;
  for (remuxer* r : outputs_) r->end();
}

}  // namespace gordo
