#include "load/hls_viewer.h"

#include <algorithm>
#include <utility>

namespace gordo::load {

hls_viewer::hls_viewer(hls_mode mode, std::string path, hls_common* common, double phase)
    : mode_(mode), entry_(std::move(path)), common_(common), phase_(phase), request_(entry_) {}

hls_viewer::next hls_viewer::ask(fetch kind, std::string path) {
  kind_ = kind;
  request_ = std::move(path);
  return {};
}

hls_viewer::next hls_viewer::on_response(std::string_view body, double t, double wall) {
  lost_in_row_ = 0;
  if (kind_ == fetch::media) {
    on_media(queue_[queue_head_++], t, wall);
    if (queue_head_ < queue_.size()) return ask(fetch::media, queue_[queue_head_].path);
    return after_queue(t);
  }
  if (kind_ == fetch::entry && is_multivariant(body)) {
    if (common_->recording) ++common_->playlists;
    auto uri = first_rendition(body);
    if (!uri) return {next::what::stop};
    playlist_ = resolve_uri(entry_, *uri);
    return ask(fetch::playlist, playlist_);
  }
  if (kind_ == fetch::entry) playlist_ = entry_;
  return on_playlist(body, t, wall);
}

hls_viewer::next hls_viewer::on_playlist(std::string_view body, double t, double) {
  if (common_->recording) ++common_->playlists;
  if (!parse_media_playlist(body, common_->parsed)) {
    last_poll_ = t;
    return {next::what::wait, t + target_s_ / 2};  // ask again: request() is unchanged
  }
  const m3u8_media& pl = common_->parsed;
  if (pl.target_duration > 0) target_s_ = pl.target_duration;
  // The first playlist was asked for just before; the viewer's phase shifts its polls.
  if (last_poll_ < 0) last_poll_ = t - phase_ * target_s_ / 2;
  // hls.js plays a playlist without parts the classic way, whatever it was asked.
  if (mode_ == hls_mode::low_latency && pl.part_target <= 0) mode_ = hls_mode::classic;
  bool live = joined_;
  if (joined_ && !pl.segments.empty() && next_msn_ < pl.segments.front().msn) {
    ++skips_;  // what it was to fetch next has left the playlist: catch up
    live = joined_ = false;
  }
  if (!joined_) {
    join(pl);
    joined_ = true;
  }
  if (mode_ == hls_mode::low_latency)
    queue_low_latency(pl, live);
  else
    queue_classic(pl, live);
  if (queue_head_ < queue_.size()) return ask(fetch::media, queue_[queue_head_].path);
  return after_queue(t);
}

void hls_viewer::join(const m3u8_media& pl) {
  next_part_ = 0;
  taken_in_segment_ = 0;
  const auto& segs = pl.segments;
  if (segs.empty()) {
    next_msn_ = pl.media_sequence;
    return;
  }
  if (mode_ == hls_mode::classic) {
    // hls.js's liveSyncDurationCount: three segments from the end.
    size_t complete = segs.back().complete() ? segs.size() : segs.size() - 1;
    next_msn_ = segs[complete > 3 ? complete - 3 : 0].msn;
    return;
  }
  // Low latency: PART-HOLD-BACK from the end of the newest part, from the independent
  // part at or before that point (where decoding can begin).
  struct at {
    uint64_t msn;
    uint32_t part;
    double duration;
    bool independent;
  };
  std::vector<at> parts;
  bool any_independent = false;
  for (const m3u8_segment& s : segs)
    for (size_t i = 0; i < s.parts.size(); ++i) {
      parts.push_back(
          {s.msn, static_cast<uint32_t>(i), s.parts[i].duration, s.parts[i].independent});
      any_independent |= s.parts[i].independent;
    }
  if (parts.empty()) {  // none made yet: the first part of the next one
    next_msn_ = segs.back().complete() ? segs.back().msn + 1 : segs.back().msn;
    return;
  }
  double hold_back = pl.part_hold_back > 0 ? pl.part_hold_back : 3 * pl.part_target;
  size_t i = parts.size() - 1;
  for (double covered = parts[i].duration; i > 0 && covered < hold_back;
       covered += parts[--i].duration) {
  }
  if (any_independent) {
    size_t j = i;
    while (j > 0 && !parts[j].independent) --j;
    if (parts[j].independent) i = j;
  }
  next_msn_ = parts[i].msn;
  next_part_ = parts[i].part;
}

void hls_viewer::queue_low_latency(const m3u8_media& pl, bool live) {
  for (const m3u8_segment* s = pl.find(next_msn_); s; s = pl.find(next_msn_)) {
    double wall = s->wall_ms >= 0 ? static_cast<double>(s->wall_ms) / 1000 : -1;
    if (next_part_ < s->parts.size()) {
      double offset = 0;
      for (uint32_t k = 0; k < next_part_; ++k) offset += s->parts[k].duration;
      for (size_t k = next_part_; k < s->parts.size(); ++k) {
        double d = s->parts[k].duration;
        queue_.push_back({resolve_uri(playlist_, s->parts[k].uri), d, wall < 0 ? -1 : wall + offset,
                          wall < 0 ? -1 : wall + offset + d, live});
        offset += d;
        taken_in_segment_ += d;
      }
      next_part_ = static_cast<uint32_t>(s->parts.size());
    } else if (s->parts.empty() && s->complete()) {
      // Its parts are no longer listed (the viewer is behind): the whole segment, of
      // which only what it had not received yet adds to the buffer.
      queue_.push_back({resolve_uri(playlist_, s->uri),
                        std::max(0.0, s->duration - taken_in_segment_), wall,
                        wall < 0 ? -1 : wall + s->duration, live});
    }
    if (!s->complete()) break;
    ++next_msn_;
    next_part_ = 0;
    taken_in_segment_ = 0;
  }
}

void hls_viewer::queue_classic(const m3u8_media& pl, bool live) {
  for (const m3u8_segment* s = pl.find(next_msn_); s && s->complete(); s = pl.find(++next_msn_)) {
    double wall = s->wall_ms >= 0 ? static_cast<double>(s->wall_ms) / 1000 : -1;
    queue_.push_back({resolve_uri(playlist_, s->uri), s->duration, wall,
                      wall < 0 ? -1 : wall + s->duration, live});
  }
}

hls_viewer::next hls_viewer::after_queue(double t) {
  queue_.clear();
  queue_head_ = 0;
  if (mode_ == hls_mode::low_latency) {
    std::string reload = playlist_;
    reload += playlist_.find('?') == std::string::npos ? '?' : '&';
    reload += "_HLS_msn=" + std::to_string(next_msn_) + "&_HLS_part=" + std::to_string(next_part_);
    return ask(fetch::playlist, std::move(reload));
  }
  ask(fetch::playlist, playlist_);
  double at = last_poll_ + target_s_ / 2;
  if (at <= t) {
    last_poll_ = t;
    return {};
  }
  return {next::what::wait, at};
}

hls_viewer::next hls_viewer::on_timer(double t) {
  if (kind_ == fetch::playlist && request_ == playlist_) last_poll_ = t;
  return {};
}

hls_viewer::next hls_viewer::on_status(int status, double t) {
  lost_in_row_ = 0;
  if (kind_ == fetch::media) {
    if (status != 404) return {next::what::wait, t + 0.5};  // the same again, shortly
    // Gone or never coming: without it, the buffer runs dry sooner; go on from the next.
    ++skips_;
    if (++queue_head_ < queue_.size()) return ask(fetch::media, queue_[queue_head_].path);
    return after_queue(t);
  }
  bool blocking = request_.find("_HLS_msn=") != std::string::npos;
  if (blocking && status == 503) return {};  // held too long: ask again
  if (blocking && status == 400) {
    // Too far ahead of the playlist (a new run numbering from 1 again): start over.
    ++skips_;
    joined_ = false;
    queue_.clear();
    queue_head_ = 0;
    return ask(fetch::playlist, playlist_);
  }
  if (kind_ == fetch::playlist && blocking) ask(fetch::playlist, playlist_);
  return {next::what::wait, t + target_s_ / 2};
}

hls_viewer::next hls_viewer::on_lost(double t) {
  if (++lost_in_row_ <= 2) return {};
  return {next::what::wait, t + 1};
}

void hls_viewer::on_media(const item& it, double t, double wall) {
  if (!playing_) {
    playing_ = true;
    play_start_ = t;
    media_s_ = it.media_s;
  } else {
    double buffer = buffer_s(t);
    // In the window only: joining, the backlog comes part after part, each arriving with
    // less than the one before it in the buffer.
    if (common_->recording) min_buffer_ = std::min(min_buffer_, buffer);
    if (buffer < 0) {
      // It ran dry: playback waited until now.
      ++stalls_;
      stalled_s_ -= buffer;
      play_start_ -= buffer;
    }
    media_s_ += it.media_s;
  }
  if (!common_->recording) return;
  ++common_->media;
  if (it.live && it.end_wall >= 0) {
    common_->delivery_ms.add((wall - it.end_wall) * 1000);
    common_->age_ms.add((wall - it.start_wall) * 1000);
  }
}

void hls_viewer::finish(double t) {
  if (!playing_) return;
  double buffer = buffer_s(t);
  if (buffer < 0) {
    ++stalls_;
    stalled_s_ -= buffer;
  }
}

}  // namespace gordo::load
