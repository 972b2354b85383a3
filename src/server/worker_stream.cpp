// The worker's streaming half: filling a viewer's out queue from its cursor, sending it
// (plainly or zero-copy), and the slow-viewer policy.
#include <sys/socket.h>

#include <cerrno>

#include "gordo/server/fanout.h"
#include "gordo/server/worker.h"
#include "worker_tags.h"
#include "worker_tls.h"

namespace gordo {

using namespace worker_tags;

// A viewer that stopped reading never completes its send, so fill() never sees it fall
// behind: look from here. Its blocked send has sent nothing yet (a send that sends
// anything completes), so cancelling it leaves the stream on a slice boundary.
void worker::check_lag(client* c) {
  view& v = at(c->view);
  // A viewer about to jump to a keyframe already is where the policy wants it.
  if (c->skipping || c->need_keyframe || !v.ring.behind(c->next_seq, v.policy.max_lag)) return;
  if (v.policy.on_slow == slow_policy::drop) {
    counted_drop(v);
    return close(c);
  }
  c->skipping = true;
  ++c->inflight;
  loop_->cancel(c->fd, encode(c, tag_send), encode(c, tag_cancel));
}

void worker::on_cancel(client* c) {
  c->skipping = false;
  if (c->closing) close(c);
}

// Fills the viewer's out queue (server/fanout.h), counting what the slow-viewer policy
// did. False when the viewer is too slow and its mount's policy is to drop it.
bool worker::fill(client* c) {
  view& v = at(c->view);
  switch (gordo::fill(*c, {v.ring, v.policy, v.m->header_in_band, v.icy_block, v.icy_gen})) {
    case fill_result::filled:
      return true;
    case fill_result::skipped:
      counted_skip(v);
      return true;
    case fill_result::drop:
      counted_drop(v);
      return false;
  }
  return true;
}

void worker::counted_skip(view& v) {
  counters_.resyncs.fetch_add(1, std::memory_order_relaxed);
  v.resyncs.fetch_add(1, std::memory_order_relaxed);
}

void worker::counted_drop(view& v) {
  counters_.slow_drops.fetch_add(1, std::memory_order_relaxed);
  v.slow_drops.fetch_add(1, std::memory_order_relaxed);
}

// Starts the next send of a client with no send in flight, or parks or closes it.
void worker::pump(client* c) {
  if (stopping_ && c->state == client::phase::streaming) {
    // Shutting down: finish the chunk this viewer has begun, so it ends on a whole
    // chunk, then close.
    c->drop_unsent();
    if (c->queued() == 0) return close(c);
    return send(c);
  }
  if (c->state == client::phase::streaming && !fill(c)) return close(c);
  if (c->state == client::phase::serving && !fill_range(c)) return close(c);
  if (c->queued() == 0) {
    // Caught up. A viewer waits for the next chunk unless none will come.
    bool wait = c->state == client::phase::streaming && !at(c->view).ended &&
                !at(c->view).offline && !c->finished && !stopping_;
    bool answered = c->state == client::phase::answering || c->state == client::phase::serving;
    if (answered && c->http.keep_alive && !stopping_) {
      next_request(c);
    } else if (answered && !stopping_) {
      linger(c);
    } else if (!wait) {
      close(c);
    } else {
      c->parked = true;
      at(c->view).parked.push_back(c);
    }
    return;
  }
  send(c);
}

// One send for everything queued: zero-copy when it pays (holding the chunks until the
// kernel lets go of them), plain otherwise.
void worker::send(client* c) {
  if (userspace_tls(c)) return tls_send(c);
  size_t bytes = 0;
  for (size_t i = 0; i < c->queued(); ++i) bytes += c->iov[i].iov_len;
  ++c->inflight;
  c->sending = true;
  counters_.sends_in_flight.fetch_add(1, std::memory_order_relaxed);
  // Not with kTLS: the kernel's TLS refuses MSG_ZEROCOPY, and a refusal would turn
  // zero-copy off for the whole worker.
  bool shared =
      (c->state == client::phase::streaming || c->state == client::phase::serving) && !c->tls;
  if (!shared || !loop_->zerocopy_for(bytes)) {
    // A caught-up viewer has one chunk to send: SEND spares the kernel copying in a
    // msghdr and an iovec.
    if (c->queued() == 1)
      loop_->send(c->fd, c->iov[0].iov_base, c->iov[0].iov_len, encode(c, tag_send));
    else
      loop_->sendmsg(c->fd, c->message(), encode(c, tag_send));
    return;
  }
  auto* h = new zc_hold{c, {}, c->reply_head, c->reply_body};
  for (size_t i = 0; i < c->queued(); ++i) h->refs[i] = c->refs[i].share();
  loop_->send_zc(c->fd, c->message(), c->queued() == 1 ? &c->refs[0] : nullptr,
                 encode(h, tag_send_zc));
  ++holds_;
}

// A zero-copy send completes with its result (flag more: a notification follows), then
// the notification; the hold goes with the last of the two.
void worker::on_send_zc(zc_hold* h, int res, uint32_t flags) {
  if (!(flags & completion::notif)) {
    client* c = h->c;
    --c->inflight;
    c->sending = false;
    counters_.sends_in_flight.fetch_sub(1, std::memory_order_relaxed);
    if ((res == -EOPNOTSUPP || res == -EINVAL) && !c->closing) {
      loop_->zerocopy_refused(res);  // nothing was sent: send it again, plainly
      pump(c);
    } else {
      on_send(c, res);
    }
    if (flags & completion::more) return;
  }
  delete h;
  --holds_;
}

void worker::on_send(client* c, int res) {
  if (userspace_tls(c) && (res = tls_sent(c, res)) == tls_held) return;
  if (res == -ECANCELED && !c->closing) {
    // check_lag() cancelled a send that had sent nothing.
    skip_to_keyframe(*c);
    counted_skip(at(c->view));
    return pump(c);
  }
  if (c->closing || res <= 0) {
    close(c);  // EPIPE/ECONNRESET: the viewer went away
    return;
  }
  c->since_s = now_s_;
  c->bytes_sent += res;
  if (c->state == client::phase::streaming)
    at(c->view).bytes_out.fetch_add(res, std::memory_order_relaxed);
  counters_.bytes_sent.fetch_add(res, std::memory_order_relaxed);
  counters_.sends.fetch_add(1, std::memory_order_relaxed);
  if (c->tls && !userspace_tls(c))  // kTLS: the plaintext handed to the kernel
    counters_.tls_bytes_out.fetch_add(res, std::memory_order_relaxed);
  if (!userspace_tls(c)) c->consume(static_cast<size_t>(res));  // else when encrypted
  pump(c);
}

}  // namespace gordo
