#include "gordo/server/worker.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "gordo/net/http_response.h"

namespace gordo {

namespace {

// user_data: a client pointer (8-byte aligned) with the operation in its low bits, or
// just the tag for the worker's own operations.
enum tag : uint64_t { tag_ignore = 0, tag_accept = 1, tag_accept_retry = 2, tag_wake = 3, tag_recv = 4, tag_send = 5 };
constexpr uint64_t tag_mask = 7;

// Lingering close: how long to wait for each read, how many reads, into how big a buffer.
constexpr long linger_read_ns = 1'000'000'000;
constexpr uint8_t linger_reads = 16;
constexpr size_t discard_size = 64 * 1024;

uint64_t encode(client* c, tag t) { return reinterpret_cast<uint64_t>(c) | t; }

}  // namespace

worker::worker(unsigned id, listener sock, const worker_options& opts)
    : id_(id), sock_(std::move(sock)), opts_(opts), discard_(new char[discard_size]) {
  linger_timeout_ = {.tv_sec = 0, .tv_nsec = linger_read_ns};
  for (int status : {400, 404, 405, 431, 503, 505}) {
    std::string_view body;
    std::string_view extra;
    switch (status) {
      case 400: body = "malformed HTTP request"; break;
      case 404: body = "no such mount"; break;
      case 405: body = "only GET and HEAD are allowed"; extra = "Allow: GET, HEAD\r\n"; break;
      case 431: body = "request head too large"; break;
      case 503: body = "the source of this mount has ended"; break;
      case 505: body = "only HTTP/1.0 and HTTP/1.1 are supported"; break;
    }
    answers_[status] = http_error(status, body, extra);
  }
}

worker::~worker() { stop(); }

void worker::start(mount_table& mounts) {
  mounts_ = &mounts;
  for (size_t i = 0; i < mounts.size(); ++i) {
    auto v = std::make_unique<view>(opts_.ring_chunks);
    v->source = mounts.at(i).out.get();
    v->head = &mounts.at(i).response_head;
    views_.push_back(std::move(v));
  }
  std::promise<int> ready;
  auto result = ready.get_future();
  thread_ = std::thread([this, &ready] { run(ready); });
  int err = result.get();
  if (err < 0) {
    thread_.join();
    throw std::runtime_error(uring_error_text(err));
  }
}

void worker::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  wake_.wake();
  thread_.join();
}

void worker::run(std::promise<int>& ready) {
  // Created here: SINGLE_ISSUER wants the ring made by the thread that submits.
  int err = ring_.init(opts_.uring_entries);
  ready.set_value(err);
  if (err < 0) return;
  spdlog::debug("worker {}: io_uring ({})", id_, ring_.mode());
  arm_accept();
  arm_wake();
  while (!stopping_ || !clients_.empty()) {
    int r = ring_.submit_and_wait();
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      spdlog::critical("worker {}: io_uring_submit_and_wait: {}", id_, std::strerror(-r));
      break;
    }
    unsigned head, seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring_.get(), head, cqe) {
      handle(cqe);
      ++seen;
    }
    io_uring_cq_advance(ring_.get(), seen);
  }
}

void worker::handle(io_uring_cqe* cqe) {
  uint64_t data = cqe->user_data;
  auto t = static_cast<tag>(data & tag_mask);
  auto* c = reinterpret_cast<client*>(data & ~tag_mask);
  switch (t) {
    case tag_ignore: break;
    case tag_accept: on_accept(cqe->res, cqe->flags); break;
    case tag_accept_retry: if (!stopping_) arm_accept(); break;
    case tag_wake: on_wake(); break;
    case tag_recv: --c->inflight; on_recv(c, cqe->res); break;
    case tag_send: --c->inflight; on_send(c, cqe->res); break;
  }
}

void worker::arm_accept() {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_multishot_accept(sqe, sock_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tag_accept);
}

void worker::arm_wake() {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_read(sqe, wake_.fd(), &wake_buf_, sizeof wake_buf_, 0);
  io_uring_sqe_set_data64(sqe, tag_wake);
}

void worker::on_accept(int res, uint32_t flags) {
  bool more = flags & IORING_CQE_F_MORE;
  if (res >= 0) {
    if (stopping_) {
      ::close(res);
    } else {
      auto* c = new client(res);
      c->slot = static_cast<uint32_t>(clients_.size());
      clients_.push_back(c);
      counters_.accepted.fetch_add(1, std::memory_order_relaxed);
      c->request = std::make_unique<char[]>(client::request_buffer);
      io_uring_sqe* sqe = ring_.sqe();
      io_uring_prep_recv(sqe, c->fd, c->request.get(), client::request_buffer, 0);
      io_uring_sqe_set_data64(sqe, encode(c, tag_recv));
      ++c->inflight;
    }
  } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
    // Out of fds or memory: the connection stays in the backlog. Retry shortly rather
    // than spin; viewers already connected are not affected.
    spdlog::warn("worker {}: cannot accept: {}; retrying in 100 ms", id_, std::strerror(-res));
    if (!more && !stopping_) {
      accept_retry_ = {.tv_sec = 0, .tv_nsec = 100'000'000};
      io_uring_sqe* sqe = ring_.sqe();
      io_uring_prep_timeout(sqe, &accept_retry_, 0, 0);
      io_uring_sqe_set_data64(sqe, tag_accept_retry);
    }
    return;
  } else if (res != -ECANCELED && res != -EINVAL) {
    spdlog::debug("worker {}: accept: {}", id_, std::strerror(-res));
  }
  if (!more && !stopping_) arm_accept();
}

void worker::on_wake() {
  wake_.rearm();
  if (stop_.load() && !stopping_) {
    begin_shutdown();
    return;
  }
  if (stopping_) return;
  arm_wake();
  for (auto& vp : views_) {
    view& v = *vp;
    // Read before draining: once ended, the drain yields every chunk there will be.
    bool ended = v.source->ended();
    v.source->feed(id_).drain([&v](feed_item&& item) {
      if (item.kind == feed_item::header)
        v.ring.set_header(std::move(item.ref));
      else
        v.ring.push(item.seq, std::move(item.ref), item.flags);
    });
    v.ended = ended;
    woken_.swap(v.parked);
    for (client* c : woken_) {
      c->parked = false;
      pump(c);
    }
    woken_.clear();
  }
}

void worker::on_recv(client* c, int res) {
  if (c->state == client::phase::lingering) {
    if (!c->closing && res > 0 && c->lingered < linger_reads)
      discard(c);
    else
      close(c);  // EOF, error, timed out (-ECANCELED) or enough
    return;
  }
  if (c->closing || res <= 0) {
    close(c);  // the viewer left before finishing its request, or we are shutting down
    return;
  }
  c->request_len += res;
  http_request req;
  std::string_view text(c->request.get(), c->request_len);
  switch (parse_http_request(text, req)) {
    case http_parse::complete: route(c, req); return;
    case http_parse::bad_request: answer(c, 400); return;
    case http_parse::too_many_fields: answer(c, 431); return;
    case http_parse::bad_version: answer(c, 505); return;
    case http_parse::incomplete: break;
  }
  if (c->request_len == client::request_buffer) {
    answer(c, 431);
    return;
  }
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_recv(sqe, c->fd, c->request.get() + c->request_len,
                     client::request_buffer - c->request_len, 0);
  io_uring_sqe_set_data64(sqe, encode(c, tag_recv));
  ++c->inflight;
}

void worker::route(client* c, const http_request& req) {
  bool head = req.method == "HEAD";
  if (!head && req.method != "GET") return answer(c, 405);
  int index = mounts_->find(req.path);
  if (index < 0) return answer(c, 404);
  view& v = *views_[index];
  if (v.ended) return answer(c, 503);
  c->request.reset();
  c->queue(v.head->data(), v.head->size());
  if (head) {
    c->state = client::phase::answering;
  } else {
    c->state = client::phase::streaming;
    c->view = index;
    c->need_keyframe = true;
    counters_.viewers.fetch_add(1, std::memory_order_relaxed);
    if (v.ring.header()) c->queue(v.ring.header().data(), v.ring.header().size(), v.ring.header().share());
  }
  pump(c);
}

void worker::answer(client* c, int status) {
  c->request.reset();
  c->state = client::phase::answering;
  const std::string& text = answers_.at(status);
  c->queue(text.data(), text.size());
  pump(c);
}

// Queues chunks from the client's cursor, up to its out queue's capacity.
void worker::fill(client* c) {
  view& v = *views_[c->view];
  const stream_ring& ring = v.ring;
  if (!c->need_keyframe && c->next_seq < ring.begin_seq()) {
    // Fell out of the window. Finish the chunks already queued (so it stops on a chunk
    // boundary), then resume at the newest keyframe.
    if (c->queued()) return;
    c->need_keyframe = true;
    counters_.resyncs.fetch_add(1, std::memory_order_relaxed);
  }
  if (c->need_keyframe) {
    auto key = ring.newest_keyframe();
    if (!key) return;
    c->next_seq = *key;
    c->need_keyframe = false;
  }
  while (c->queued() < client::max_iov && c->next_seq < ring.end_seq()) {
    const stream_ring::entry* e = ring.at(c->next_seq);
    c->queue(e->chunk.data(), e->chunk.size(), e->chunk.share());
    ++c->next_seq;
  }
}

// Starts the next send of an idle client, or parks or closes it.
void worker::pump(client* c) {
  if (c->state == client::phase::streaming) fill(c);
  if (c->queued() == 0) {
    // Caught up. A viewer waits for the next chunk unless none will come.
    bool wait = c->state == client::phase::streaming && !views_[c->view]->ended && !stopping_;
    if (c->state == client::phase::answering && !stopping_) {
      linger(c);
    } else if (!wait) {
      close(c);
    } else {
      c->parked = true;
      views_[c->view]->parked.push_back(c);
    }
    return;
  }
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_sendmsg(sqe, c->fd, c->message(), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, encode(c, tag_send));
  ++c->inflight;
}

// Closing a socket whose receive queue holds unread bytes sends RST, which can destroy
// the response before the client reads it (a 431 for a request still being sent). So,
// as nginx's lingering_close: half-close, and read until the client closes too, for a
// bounded number of reads each bounded in time.
void worker::linger(client* c) {
  c->state = client::phase::lingering;
  shutdown(c->fd, SHUT_WR);
  discard(c);
}

void worker::discard(client* c) {
  ++c->lingered;
  ring_.reserve(2);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_recv(sqe, c->fd, discard_.get(), discard_size, 0);
  io_uring_sqe_set_data64(sqe, encode(c, tag_recv));
  sqe->flags |= IOSQE_IO_LINK;
  ++c->inflight;
  sqe = ring_.sqe();
  io_uring_prep_link_timeout(sqe, &linger_timeout_, 0);
  io_uring_sqe_set_data64(sqe, tag_ignore);
}

void worker::on_send(client* c, int res) {
  if (c->closing || res <= 0) {
    close(c);  // EPIPE/ECONNRESET: the viewer went away
    return;
  }
  c->bytes_sent += res;
  counters_.bytes_sent.fetch_add(res, std::memory_order_relaxed);
  c->consume(static_cast<size_t>(res));
  pump(c);
}

void worker::close(client* c) {
  if (!c->idle()) {
    // Its operations complete with errors now; release() follows the last one.
    if (!c->closing) shutdown(c->fd, SHUT_RDWR);
    c->closing = true;
    return;
  }
  release(c);
}

void worker::release(client* c) {
  if (c->parked) {
    auto& parked = views_[c->view]->parked;
    parked.erase(std::find(parked.begin(), parked.end(), c));
  }
  if (c->state == client::phase::streaming) counters_.viewers.fetch_sub(1, std::memory_order_relaxed);
  clients_[c->slot] = clients_.back();
  clients_[c->slot]->slot = c->slot;
  clients_.pop_back();
  ::close(c->fd);
  delete c;
}

void worker::begin_shutdown() {
  stopping_ = true;
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_cancel64(sqe, tag_accept, 0);
  io_uring_sqe_set_data64(sqe, 0);
  // Copy: close() may release clients and reorder clients_.
  std::vector<client*> all = clients_;
  for (client* c : all) close(c);
}

}  // namespace gordo
