// The worker's TLS connections: the handshake on the loop's recvs (OpenSSL writes its
// few KiB of handshake to the socket itself), then decrypting requests into the HTTP
// session and, without kTLS, encrypting the out queue into the connection's bounded
// record buffer, which the loop sends. The plaintext queue stays the one the slow-viewer
// policy works on: at most tls_stream::out_size bytes are encrypted ahead of the socket.
#include "worker_tls.h"

#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <chrono>

#include "gordo/server/fanout.h"
#include "gordo/server/worker.h"
#include "worker_tags.h"

namespace gordo {

using namespace worker_tags;
using namespace std::chrono_literals;

void tls_conn_free::operator()(tls_conn* t) const {
  delete t;
}

namespace {

// What nginx answers a plain request on its TLS port with, more or less.
constexpr std::string_view plain_http_answer =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 46\r\n"
    "Connection: close\r\n\r\nThis port speaks HTTPS: use https:// instead.\n";
static_assert(plain_http_answer.size() - plain_http_answer.find("\r\n\r\n") - 4 == 46);

}  // namespace

void worker::arm_accept_tls() {
  loop_->accept(tls_sock_->fd(), tag_accept_tls);
}

bool worker::tls_start(client* c) {
  c->tls.reset(new tls_conn(opts_.tls->get(), c->fd));
  if (c->tls->stream.ok()) return true;
  spdlog::warn("worker {}: cannot start a TLS connection (out of memory)", id_);
  tls_failed(c);
  return false;
}

// Every recv of a client: plain, or of records for its TLS connection, which read()
// decrypts to `buf` once a whole record is in. Input already buffered (a pipelined
// request) is read on the next turn of the loop, from a timer.
void worker::arm_recv(client* c, void* buf, size_t len, io_loop::clock::duration timeout) {
  ++c->inflight;
  if (!c->tls) return loop_->recv(c->fd, buf, len, encode(c, tag_recv), timeout);
  tls_conn& t = *c->tls;
  t.to = buf;
  t.len = len;
  t.timeout = timeout;
  if (t.stream.established() && t.stream.readable()) {
    t.kicked = true;
    return loop_->timeout(0ns, encode(c, tag_recv));
  }
  loop_->recv(c->fd, t.stream.in_space(), tls_stream::in_room(), encode(c, tag_recv), timeout);
}

// A recv for a TLS connection completed: on with the handshake, or decrypt.
int worker::tls_received(client* c, int res) {
  tls_conn& t = *c->tls;
  if (c->closing) return res;
  bool kicked = std::exchange(t.kicked, false);
  if (!t.stream.established()) {
    // EOF, reset, or the request-head timeout (which cancels the recv) mid-handshake.
    // (A timeout was counted in timeouts by on_tick(); here it counts in tls_failed.)
    if (c->timed_out || (!kicked && res <= 0)) {
      tls_failed(c);
      return tls_held;
    }
    if (!kicked) t.stream.feed(static_cast<size_t>(res));
    switch (t.stream.handshake()) {
      case tls_stream::progress::again:
        arm_recv(c, t.to, t.len, t.timeout);
        return tls_held;
      case tls_stream::progress::want_write:  // rare: the socket's buffer is full
        ++c->inflight;
        t.kicked = true;
        loop_->timeout(10ms, encode(c, tag_recv));
        return tls_held;
      case tls_stream::progress::plain_http:
        // Its request was read: a FIN after the answer, not a reset that would lose it.
        ::send(c->fd, plain_http_answer.data(), plain_http_answer.size(),
               MSG_DONTWAIT | MSG_NOSIGNAL);
        counters_.tls_failed.fetch_add(1, std::memory_order_relaxed);
        close(c);
        return tls_held;
      case tls_stream::progress::failed:
        tls_failed(c);
        return tls_held;
      case tls_stream::progress::done:
        counters_.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
        counters_.tls_viewers.fetch_add(1, std::memory_order_relaxed);
        if (t.stream.ktls()) counters_.tls_ktls.fetch_add(1, std::memory_order_relaxed);
        c->since_s = now_s_;  // the request head gets its own header_timeout from here
        break;
    }
  } else if (!kicked) {
    if (res <= 0) return res;  // EOF, error, or a timeout's cancel: as for plain HTTP
    t.stream.feed(static_cast<size_t>(res));
  }
  int n = t.stream.read(t.to, t.len);
  if (n == -EAGAIN) {
    arm_recv(c, t.to, t.len, t.timeout);
    return tls_held;
  }
  return n;  // bytes, 0 (close_notify) or -EPROTO: closed like a plain EOF or error
}

// Bad input before the handshake completed: closed and counted, with a reset (nothing
// worth a graceful close was said).
void worker::tls_failed(client* c) {
  counters_.tls_failed.fetch_add(1, std::memory_order_relaxed);
  abort(c);
}

// Userspace encryption: as much of the out queue as the record buffer takes is
// encrypted and dropped from the queue (its chunks released); the records go in one send.
void worker::tls_send(client* c) {
  tls_conn& t = *c->tls;
  if (t.stream.out().empty()) {
    size_t taken = t.stream.encrypt(c->iov, c->queued());
    if (t.stream.failed()) return close(c);
    c->consume(taken);
    t.encrypted = static_cast<uint32_t>(taken);
  }
  std::span<const char> out = t.stream.out();
  if (out.empty()) return close(c);  // nothing encrypted from a non-empty queue
  ++c->inflight;
  c->sending = true;
  counters_.sends_in_flight.fetch_add(1, std::memory_order_relaxed);
  loop_->send(c->fd, out.data(), out.size(), encode(c, tag_send));
}

// A send of records completed: the rest of them, or, once all are out, the plaintext
// they carried counts as sent (on_send() goes on with it).
int worker::tls_sent(client* c, int res) {
  tls_conn& t = *c->tls;
  if (c->closing) return res;
  if (res == -ECANCELED) {
    // check_lag() cancelled a send that had sent nothing: skip the plaintext queue, but
    // the records already made must still go, whole.
    skip_to_keyframe(*c);
    counted_skip(at(c->view));
    res = 0;
  } else if (res <= 0) {
    return res;
  }
  t.stream.sent(static_cast<size_t>(res));
  counters_.tls_bytes_out.fetch_add(static_cast<uint64_t>(res), std::memory_order_relaxed);
  if (res > 0) c->since_s = now_s_;
  if (!t.stream.out().empty()) {
    std::span<const char> out = t.stream.out();
    ++c->inflight;
    c->sending = true;
    counters_.sends_in_flight.fetch_add(1, std::memory_order_relaxed);
    loop_->send(c->fd, out.data(), out.size(), encode(c, tag_send));
    return tls_held;
  }
  int plain = static_cast<int>(std::exchange(t.encrypted, 0));
  if (plain == 0) {  // only records of the TLS layer's own (an alert) went
    pump(c);
    return tls_held;
  }
  return plain;
}

// A graceful close of an established TLS connection says so before the FIN, sent at once
// if the socket takes it (a close waits for nothing). Not while records are in flight:
// closing cuts those anyway.
void worker::tls_goodbye(client* c) {
  tls_conn& t = *c->tls;
  if (t.aborted || c->sending || !t.stream.out().empty()) return;
  t.stream.close_notify();
  std::span<const char> out = t.stream.out();
  if (out.empty()) return;
  ssize_t n = ::send(c->fd, out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n > 0) counters_.tls_bytes_out.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
  t.stream.sent(out.size());
}

void worker::tls_release(client* c) {
  if (!c->tls->stream.established()) return;
  counters_.tls_viewers.fetch_sub(1, std::memory_order_relaxed);
  if (c->tls->stream.ktls()) counters_.tls_ktls.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace gordo
