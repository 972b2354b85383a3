// The worker's HTTP half: reading a request head, handing it to its route's handler
// (watch a mount, take an encoder's push, retitle a mount), short answers with
// keep-alive, the access log, and lingering close.
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <ctime>

#include "gordo/net/icy.h"
#include "gordo/net/signed_url.h"
#include "gordo/server/worker.h"
#include "worker_tags.h"

namespace gordo {

using namespace worker_tags;

void worker::on_recv(client* c, int res) {
  if (c->tls && (res = tls_received(c, res)) == tls_held) return;
  if (c->closing) return close(c);
  if (c->state == client::phase::lingering) {
    if (res > 0 && c->http.lingered < http_session::linger_reads)
      discard(c);
    else
      close(c);  // EOF, error, timed out (-ECANCELED) or enough
    return;
  }
  if (c->timed_out) {
    // A kept connection that stayed idle is just closed (no request was begun).
    if (c->http.answered > 0 && c->http.length == 0 && res <= 0) return close(c);
    return reply(c, answer::timeout);
  }
  if (res <= 0)
    return close(c);  // the viewer left before finishing its request, or we are stopping
  c->http.received(static_cast<size_t>(res));
  read_request(c);
}

// Parses what has arrived of a request head: dispatches it when complete, else reads more.
void worker::read_request(client* c) {
  http_request req;
  http_parse parsed = c->http.parse(req);
  if (parsed == http_parse::complete) return dispatch(c, req);
  if (parsed != http_parse::incomplete) return reply(c, answer_for(parsed));
  if (c->http.full()) return reply(c, answer::too_large);
  arm_recv(c, c->http.space(), c->http.room());
}

void worker::dispatch(client* c, const http_request& req) {
  c->http.record(req);
  route r = route_request(req);
  switch (r.kind) {
    case route::watch:
      return watch(c, req, r);
    case route::push:  // its fd goes to the source, which reads it plainly
      return c->tls ? reply(c, answer::bad_method, &req) : take_push(c, req);
    case route::metadata:
      return update_metadata(c, req, r);
    case route::hls:
      return serve_hls(c, req, r);
    case route::page:
      return serve_page(c, req, r);
    case route::refuse:
      return reply(c, r.refused, &req);
  }
}

// A player's GET (the stream) or HEAD (its head alone) of a mount.
void worker::watch(client* c, const http_request& req, const route& r) {
  view* found = find_view(req.path);
  if (!found) return reply(c, answer::not_found, &req);
  view& v = *found;
  if (v.ended) return reply(c, answer::ended, &req);
  if (v.offline) return reply(c, answer::offline, &req);
  if (v.policy.access) {
    if (std::optional<answer> no = check_access(c, v, req, req.path)) {
      v.denied.fetch_add(1, std::memory_order_relaxed);
      return reply(c, *no, &req);
    }
  }
  // A radio player asking for ICY metadata, where the format offers it.
  bool icy = r.icy && !v.m->icy_head.empty();
  const std::string& response_head = icy ? v.m->icy_head : v.m->response_head;
  if (r.head_only) {
    c->http.done();
    c->state = client::phase::answering;
    c->queue(response_head.data(), response_head.size());
    c->head_bytes = static_cast<uint32_t>(response_head.size());
    if (c->http.log) c->http.log->status = 200;
    return pump(c);
  }
  if (!admit_->admit(*v.m)) {
    counters_.overflows.fetch_add(1, std::memory_order_relaxed);
    return reply(c, admit_->redirect().empty() ? answer::full : answer::redirect);
  }
  c->http.done();
  c->state = client::phase::streaming;
  c->since_s = now_s_;
  c->view = static_cast<int>(v.m->slot);
  ++v.viewers;
  c->need_keyframe = true;
  c->icy = icy;
  c->icy_left = static_cast<uint32_t>(icy_metaint);
  counters_.viewers.fetch_add(1, std::memory_order_relaxed);
  c->queue(response_head.data(), response_head.size());
  c->head_bytes = static_cast<uint32_t>(response_head.size());
  if (c->http.log) c->http.log->status = 200;
  pump(c);  // fill() queues the header with the first chunk
}

// The mount's --allow/--deny and signed-URL rules; what to answer when they refuse.
std::optional<answer> worker::check_access(client* c, const view& v, const http_request& req,
                                           std::string_view path) {
  const mount_access& a = *v.policy.access;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  cidr peer;
  if (getpeername(c->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 || !peer_cidr(ss, peer))
    return answer::ip_denied;
  if (!a.ips.permits(peer)) return answer::ip_denied;
  if (a.token_secret.empty()) return std::nullopt;
  std::string ip = a.token_binds_ip ? peer.address() : std::string();
  switch (
      check_url_token(a.token_secret, path, req.query, ip, static_cast<int64_t>(time(nullptr)))) {
    case token_check::ok:
      return std::nullopt;
    case token_check::expired:
      return answer::token_expired;
    case token_check::missing:
    case token_check::invalid:
      return answer::token_needed;
  }
  return answer::token_needed;
}

// Icecast's metadata update, as encoders send it to the stream's port, with the source
// password (or the user and password the encoder pushes with).
void worker::update_metadata(client* c, const http_request& req, const route& r) {
  view* found = find_view(r.mount);
  if (!found) return reply(c, answer::not_found, &req);
  source& feed = *found->m->feed;
  if (!feed.is_push()) return reply(c, answer::not_pushed, &req);
  if (!feed.may_update(req.header("authorization"))) {
    found->denied.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("{}: metadata update from {} refused: wrong or missing source credentials",
                 r.mount, peer(c));
    return reply(c, answer::unauthorized, &req);
  }
  feed.set_title(r.title);
  reply(c, answer::metadata_updated, &req);
}

// An encoder's upload to a push mount: checked here, then the connection is the
// source's, which reads it on its own thread.
void worker::take_push(client* c, const http_request& req) {
  view* found = find_view(req.path);
  if (!found) return reply(c, answer::not_found, &req);
  source& feed = *found->m->feed;
  if (!feed.is_push()) return reply(c, answer::not_push, &req);
  if (!found->push_elsewhere.text.empty()) {
    spdlog::warn("{}: push from {} refused: this mount takes the stream pushed to {}", req.path,
                 peer(c), feed.push_path());
    c->http.keep(nullptr, stopping_);
    return send_canned(c, found->push_elsewhere);
  }
  push_connection p;
  if (!push_framing(req.content_length, req.header("transfer-encoding"), req.header("expect"), p))
    return reply(c, answer::bad_request, &req);
  p.icecast = req.method == "SOURCE";
  p.fd = c->fd;
  p.peer = peer(c);
  p.leftover.assign(c->http.buffer.get() + req.head_length, c->http.length - req.head_length);
  loop_->forget(c->fd);  // before the source thread may close it
  switch (feed.offer(p, req.header("authorization"))) {
    case source::offer_result::accepted:
      if (c->http.log) c->http.log->status = 200;
      c->fd = -1;  // the source's now
      return release(c);
    case source::offer_result::unauthorized:
      p.fd = -1;
      spdlog::warn("{}: push from {} refused: wrong or missing source password", req.path, p.peer);
      return reply(c, answer::unauthorized, &req);
    case source::offer_result::busy:
      p.fd = -1;
      return reply(c, answer::push_busy, &req);
  }
}

// Keep-alive for answers to requests without a body, up to max_requests each: a monitor
// polling a 404, a player probing.
void worker::reply(client* c, answer what, const http_request* req) {
  send_canned(c, answers_->get(what, c->http.keep(req, stopping_)));
}

void worker::send_canned(client* c, const canned_response& r) {
  c->state = client::phase::answering;
  c->queue(r.text.data(), r.text.size());
  c->head_bytes = r.head_bytes;
  if (c->http.log) c->http.log->status = r.status;
  pump(c);
}

// The answer is sent and the connection kept: the next request, which may have arrived.
void worker::next_request(client* c) {
  log_request(c);
  c->http.next();
  c->state = client::phase::reading;
  c->since_s = now_s_;  // the header timeout counts from here
  c->bytes_sent = 0;
  c->head_bytes = 0;
  c->head_only = false;
  c->reply_head.reset();
  c->reply_body.reset();
  read_request(c);
}

// One line per request (a connection that never sent a request is not one).
void worker::log_request(client* c) {
  if (std::string line = c->http.finish(c->bytes_sent, c->head_bytes); !line.empty())
    opts_.log->write(std::move(line));
}

std::string worker::peer(client* c) {
  return c->http.log ? c->http.log->peer : peer_address(c->fd);
}

// Closing a socket whose receive queue holds unread bytes sends RST, which can destroy
// the response before the client reads it (a 431 for a request still being sent). So,
// as nginx's lingering_close: half-close, and read until the client closes too, for a
// bounded number of reads each bounded in time.
void worker::linger(client* c) {
  c->state = client::phase::lingering;
  if (c->tls) tls_goodbye(c);
  shutdown(c->fd, SHUT_WR);
  discard(c);
}

void worker::discard(client* c) {
  ++c->http.lingered;
  arm_recv(c, discard_.get(), http_session::linger_read_size, http_session::linger_read_time);
}

}  // namespace gordo
