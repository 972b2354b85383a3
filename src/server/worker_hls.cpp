// The worker's HLS half: playlists written from its view of a mount (http/hls_playlist.h),
// segments, parts and init sections sent as the ring's chunks (never copied), and the
// requests LL-HLS holds (blocking playlist reload, preload hints) until the drain that
// brings what they wait for; the tick answers 503 to those that waited too long.
#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "gordo/http/hls_playlist.h"
#include "gordo/server/worker.h"
#include "gordo_version.h"

namespace gordo {

namespace {

constexpr std::string_view playlist_type = "application/vnd.apple.mpegurl";
// A segment's URI names its run and number: what it holds never changes.
constexpr std::string_view immutable = "public, max-age=86400, immutable";

std::string_view media_type(const hls_target& t) {
  if (t.kind == hls_kind::init || t.extension == ".m4s") return "video/mp4";
  return "video/mp2t";
}

}  // namespace

// A GET or HEAD of an HLS resource. Everything the answer needs of the request is taken
// before keep() reuses its buffer, so that a held request can be answered later.
void worker::serve_hls(client* c, const http_request& req, const route& r) {
  const hls_target& t = r.target;
  std::vector<view*> members;
  if (t.kind == hls_kind::multivariant) {
    members = renditions(t.mount);
  } else if (view* v = find_view(t.mount); v && v->hls) {
    members.push_back(v);
  }
  if (members.empty())
    return watch(c, req, r);  // not HLS after all: a mount whose path looks like it, or 404
  for (view* v : members) {
    if (v->ended) return reply(c, answer::ended, &req);
    if (v->offline) return reply(c, answer::offline, &req);
    if (!v->policy.access) continue;
    // A signed URL signs the mount's path (or its group's): the one token lets its viewer
    // fetch the playlists, segments and parts, as every URI in a playlist carries it on.
    std::optional<answer> no = check_access(c, *v, req, v->m->path);
    if (no && !v->m->hls_group.empty()) no = check_access(c, *v, req, v->m->hls_group);
    if (no) {
      v->denied.fetch_add(1, std::memory_order_relaxed);
      return reply(c, *no, &req);
    }
  }
  if (t.bad_query) return reply(c, answer::bad_request, &req);
  c->head_only = r.head_only;
  c->http.keep(&req, stopping_);  // from here on `req` is gone
  if (t.kind == hls_kind::multivariant) return answer_multivariant(c, members, t);
  answer_hls(c, *members.front(), t);
}

std::vector<worker::view*> worker::renditions(std::string_view multivariant) {
  std::vector<view*> out;
  for (auto& slot : views_) {
    view* v = slot.load(std::memory_order_relaxed);
    if (!v || v->retired || !v->hls) continue;
    if (v->m->hls_playlist == multivariant) return {v};
    if (v->m->hls_group == multivariant) out.push_back(v);
  }
  return out;
}

// Each rendition with its peak bandwidth, highest first (the order players try them in
// when they know nothing yet). A group whose keyframes do not line up is listed all the
// same, with a warning in the log: players would stall switching between them.
void worker::answer_multivariant(client* c, const std::vector<view*>& members,
                                 const hls_target& t) {
  std::vector<rendition> list;
  const hls_index::segment* reference = nullptr;
  for (view* v : members) {
    const mount& m = *v->m;
    auto [peak, average] = segment_bitrates(*v->hls);
    if (peak == 0) peak = m.out->bitrate() + m.out->bitrate() / 5;  // before a whole segment
    rendition r;
    // A mount's own playlist is beside it; a group's may be anywhere: from the root.
    r.uri = t.mount == m.hls_group ? m.path + "/index.m3u8"
                                   : m.path.substr(m.path.rfind('/') + 1) + "/index.m3u8";
    if (!t.query.empty()) r.uri += "?" + t.query;
    r.bandwidth = std::max<uint64_t>(peak, 1);
    r.average_bandwidth = average;
    if (auto variant = m.remux->variant()) {
      r.codecs = variant->codecs;
      r.width = variant->width;
      r.height = variant->height;
      r.frame_rate = variant->frame_rate;
    }
    list.push_back(std::move(r));
    v->hls_playlists.fetch_add(1, std::memory_order_relaxed);
    // Renditions are aligned when their latest common segment starts at the same time.
    const auto& segs = v->hls->segments();
    if (segs.size() < 2) continue;
    if (!reference) {
      reference = &segs[segs.size() - 2];
      continue;
    }
    const hls_index::segment* same = v->hls->find(reference->msn);
    bool aligned = same && std::abs(same->start_us - reference->start_us) <= 50'000;
    if (!aligned && !v->warned_misaligned)
      spdlog::warn(
          "{}: {} is not cut like {}: their keyframes do not line up (give the "
          "renditions the same GOP and timestamps)",
          t.mount, m.path, members.front()->m->path);
    v->warned_misaligned = !aligned;
  }
  std::stable_sort(list.begin(), list.end(), [](const rendition& a, const rendition& b) {
    return a.bandwidth > b.bandwidth;
  });
  reply_text(c, playlist_type, "no-cache",
             std::make_shared<const std::string>(multivariant_playlist(list)));
}

// True when what `t` asks for is there (or never will be, so that waiting is pointless).
bool worker::hls_ready(const view& v, const hls_target& t) const {
  const hls_index& index = *v.hls;
  if (t.kind == hls_kind::playlist) return !t.want_msn || index.has(*t.want_msn, t.want_part);
  if (t.kind == hls_kind::part) return index.has(t.msn, t.part);
  if (t.kind == hls_kind::segment) return index.has(t.msn, std::nullopt);
  return true;
}

void worker::answer_hls(client* c, view& v, const hls_target& t) {
  const hls_index& index = *v.hls;
  auto refuse = [&](answer a) { send_canned(c, answers_->get(a, c->http.keep_alive)); };
  const mount& m = *v.m;
  switch (t.kind) {
    case hls_kind::multivariant:
      return answer_multivariant(c, {&v}, t);
    case hls_kind::playlist: {
      if (t.want_msn) {
        auto edge = index.edge();
        uint64_t newest = edge ? edge->first : 0;
        if (*t.want_msn > newest + 2) return refuse(answer::hls_too_far);
        if (!hls_ready(v, t)) return hold(c, v, t);
      }
      v.hls_playlists.fetch_add(1, std::memory_order_relaxed);
      const output_format& f = m.remux->format();
      media_playlist_options o{m.hls_run,
                               f.segment_extension,
                               f.muxer == "mp4",
                               m.hls_cuts.segment_us,
                               m.hls_cuts.part_us,
                               t.query,
                               t.skip};
      bool plain = t.query.empty() && !t.skip;
      if (plain && !v.playlist)
        v.playlist = std::make_shared<const std::string>(media_playlist(index, o));
      auto text =
          plain ? v.playlist : std::make_shared<const std::string>(media_playlist(index, o));
      // A blocking reload's URL names one state of the playlist: caches may keep it briefly.
      return reply_text(c, playlist_type, t.want_msn ? "public, max-age=1" : "no-cache",
                        std::move(text));
    }
    case hls_kind::init: {
      const chunk_ref* init = t.run == m.hls_run ? index.init(t.part) : nullptr;
      if (!init) return refuse(answer::no_segment);
      v.hls_segments.fetch_add(1, std::memory_order_relaxed);
      return reply_chunks(c, v, media_type(t), 0, 0, init);
    }
    case hls_kind::segment: {
      const hls_index::segment* s =
          t.run == m.hls_run && t.extension == m.remux->format().segment_extension
              ? index.find(t.msn)
              : nullptr;
      if (s && !s->complete && s == &index.segments().back())
        return hold(c, v, t);  // listed by a worker a little ahead of this one
      if (!s || !s->complete) return refuse(answer::no_segment);
      v.hls_segments.fetch_add(1, std::memory_order_relaxed);
      return reply_chunks(c, v, media_type(t), s->first_seq, s->end_seq);
    }
    case hls_kind::part: {
      if (t.run != m.hls_run || t.extension != m.remux->format().segment_extension)
        return refuse(answer::no_segment);
      const hls_index::segment* s = index.find(t.msn);
      if (s && t.part < s->parts.size() && s->parts[t.part].complete) {
        v.hls_parts.fetch_add(1, std::memory_order_relaxed);
        const auto& p = s->parts[t.part];
        return reply_chunks(c, v, media_type(t), p.first_seq, p.end_seq);
      }
      // The part being made (a preload hint), or the first of the next segment: it is
      // sent whole once complete. Anything else is not coming.
      auto edge = index.edge();
      // (Up to three parts ahead: another worker's hint may be a little ahead of this one.)
      bool coming = edge && ((t.msn == edge->first && s && t.part <= s->parts.size() + 3) ||
                             (t.msn == edge->first + 1 && t.part <= 3));
      if (!coming) return refuse(answer::no_segment);
      return hold(c, v, t);
    }
  }
}

// Waits on the view for at most three target durations (the spec's limit for a blocking
// reload), answered by release_held() or, past that, expire_held().
void worker::hold(client* c, view& v, const hls_target& t) {
  int target =
      v.hls->target_duration(static_cast<int>((v.m->hls_cuts.segment_us + 500'000) / 1'000'000));
  c->state = client::phase::held;
  c->view = static_cast<int>(v.m->slot);
  // The tick counts whole seconds: one more, so that no request waits less than that.
  // (A target stretched by a broken source holds a request a minute at most.)
  v.held.push_back({c, t, now_s_ + 3 * static_cast<uint32_t>(std::min(target, 20)) + 1});
  v.hls_blocked.fetch_add(1, std::memory_order_relaxed);
}

// After a drain that completed a part or a segment: the held requests it satisfies.
void worker::release_held(view& v) {
  v.playlist.reset();
  if (v.held.empty()) return;
  std::vector<view::held_request> ready;
  auto keep = std::partition(v.held.begin(), v.held.end(),
                             [&](const view::held_request& h) { return !hls_ready(v, h.target); });
  ready.assign(std::make_move_iterator(keep), std::make_move_iterator(v.held.end()));
  v.held.erase(keep, v.held.end());
  for (auto& h : ready) answer_hls(h.c, v, h.target);
}

// From the tick: held requests past their time get 503.
void worker::expire_held() {
  for (auto& slot : views_) {
    view* v = slot.load(std::memory_order_relaxed);
    if (!v || v->held.empty()) continue;
    std::vector<client*> late;
    std::erase_if(v->held, [&](const view::held_request& h) {
      bool over = h.until_s <= now_s_ || v->ended || v->offline || stopping_;
      if (over) late.push_back(h.c);
      return over;
    });
    answer why = v->ended ? answer::ended : v->offline ? answer::offline : answer::hls_too_late;
    for (client* c : late) send_canned(c, answers_->get(why, c->http.keep_alive));
  }
}

std::string worker::answer_head(client* c, std::string_view type, std::string_view cache,
                                uint64_t length) {
  return fmt::format("HTTP/1.1 200 OK\r\nServer: gordo/" GORDO_VERSION
                     "\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: {}\r\n{}"
                     "Connection: {}\r\n\r\n",
                     type, length, cache, opts_.cors, c->http.keep_alive ? "keep-alive" : "close");
}

void worker::reply_text(client* c, std::string_view type, std::string_view cache,
                        std::shared_ptr<const std::string> body) {
  c->state = client::phase::serving;
  c->since_s = now_s_;  // the write timeout counts from here, however long it was held
  c->reply_head = std::make_shared<const std::string>(answer_head(c, type, cache, body->size()));
  c->queue(c->reply_head->data(), c->reply_head->size());
  c->head_bytes = static_cast<uint32_t>(c->reply_head->size());
  if (!c->head_only) c->queue(body->data(), body->size());
  c->reply_body = std::move(body);
  c->next_seq = c->body_end = 0;
  if (c->http.log) c->http.log->status = 200;
  pump(c);
}

// The ring's chunks [first, end) of `v`, or one chunk of its own (an init section).
void worker::reply_chunks(client* c, view& v, std::string_view type, uint64_t first, uint64_t end,
                          const chunk_ref* single) {
  uint64_t length = single ? single->size() : 0;
  for (uint64_t seq = first; seq < end; ++seq) {
    const stream_ring::entry* e = v.ring.at(seq);
    if (!e) return send_canned(c, answers_->get(answer::no_segment, c->http.keep_alive));
    length += e->chunk.size();
  }
  c->state = client::phase::serving;
  c->since_s = now_s_;
  c->view = static_cast<int>(v.m->slot);
  c->body_mount = v.m;
  c->reply_head = std::make_shared<const std::string>(answer_head(c, type, immutable, length));
  c->queue(c->reply_head->data(), c->reply_head->size());
  c->head_bytes = static_cast<uint32_t>(c->reply_head->size());
  c->next_seq = c->head_only ? end : first;
  c->body_end = end;
  if (single && !c->head_only) c->queue(single->data(), single->size(), single->share());
  if (c->http.log) c->http.log->status = 200;
  pump(c);
}

// Queues the next chunks of a bounded answer. False when the ring no longer holds one
// (a client so slow that its segment left the ring): it cannot be finished.
bool worker::fill_range(client* c) {
  if (c->next_seq >= c->body_end) return true;  // a text alone (its client may have no view)
  const view& v = at(c->view);
  if (v.m != c->body_mount) return false;  // its mount was retired (and its slot reused)
  const stream_ring& ring = v.ring;
  while (c->queued() < client::max_iov && c->next_seq < c->body_end) {
    const stream_ring::entry* e = ring.at(c->next_seq);
    if (!e) return false;
    c->queue(e->chunk.data(), e->chunk.size(), e->chunk.share());
    ++c->next_seq;
  }
  return true;
}

}  // namespace gordo
