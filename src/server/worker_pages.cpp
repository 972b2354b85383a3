// The worker's pages half (--player-page): GET / (the mounts this viewer may watch), a
// mount's player page, and the files embedded from www/ (scripts, styles, vendored
// JavaScript). A mount of the same path always wins: its stream is what it gets.
#include <memory>

#include "gordo/http/www.h"
#include "gordo/server/worker.h"

namespace gordo {

namespace {

constexpr std::string_view html_type = "text/html; charset=utf-8";
// The pages say what is live now: never kept.
constexpr std::string_view page_cache = "no-cache";

}  // namespace

void worker::serve_page(client* c, const http_request& req, const route& r) {
  if (!opts_.player_page || find_view(req.path)) return watch(c, req, r);  // or 404
  if (r.which_page == page_kind::file) {
    const www_file* f = www_by_url(req.path);
    if (!f) return reply(c, answer::not_found, &req);
    c->head_only = r.head_only;
    c->http.keep(&req, stopping_);
    return reply_static(c, f->type, www_cache, f->body);
  }
  std::string text;
  if (r.which_page == page_kind::list) {
    std::vector<page_mount> list;
    for (auto& slot : views_) {
      view* v = slot.load(std::memory_order_relaxed);
      if (v && !v->retired && listed(c, *v, req)) list.push_back(page_mount_of(*v));
    }
    text = mount_list_page(list);
  } else {
    view* v = find_view(r.mount);
    if (!v) return reply(c, answer::not_found, &req);
    // The page of a mount this viewer may not watch is refused as its stream would be (a
    // signed link to the page signs the mount's path: its query is passed on to the stream).
    if (v->policy.access) {
      if (std::optional<answer> no = check_access(c, *v, req, v->m->path)) {
        v->denied.fetch_add(1, std::memory_order_relaxed);
        return reply(c, *no, &req);
      }
    }
    text = player_page(page_mount_of(*v));
  }
  c->head_only = r.head_only;
  c->http.keep(&req, stopping_);
  reply_text(c, html_type, page_cache, std::make_shared<const std::string>(std::move(text)));
}

// A mount with access rules is listed only to whom they let watch it without a signed
// link (a list is no place to leak the names of private mounts).
bool worker::listed(client* c, const view& v, const http_request& req) {
  return !v.policy.access ||
         (v.policy.access->token_secret.empty() && !check_access(c, v, req, v.m->path).has_value());
}

page_mount worker::page_mount_of(const view& v) const {
  page_mount p;
  const mount& m = *v.m;
  p.path = m.path;
  p.content_type = m.content_type;
  p.hls = m.hls_playlist;
  if (auto variant = m.remux->variant()) p.codecs = variant->codecs;
  p.live = !v.offline && !v.ended;
  p.viewers = m.viewers.load(std::memory_order_relaxed);
  return p;
}

// A bounded answer whose body lives as long as the process (an embedded file): sent from
// where it is, like a playlist's text but with nothing to hold.
void worker::reply_static(client* c, std::string_view type, std::string_view cache,
                          std::string_view body) {
  c->state = client::phase::serving;
  c->since_s = now_s_;
  c->reply_head = std::make_shared<const std::string>(answer_head(c, type, cache, body.size()));
  c->queue(c->reply_head->data(), c->reply_head->size());
  c->head_bytes = static_cast<uint32_t>(c->reply_head->size());
  if (!c->head_only) c->queue(body.data(), body.size());
  c->next_seq = c->body_end = 0;
  if (c->http.log) c->http.log->status = 200;
  pump(c);
}

}  // namespace gordo
