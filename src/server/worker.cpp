#include "gordo/server/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "worker_tags.h"
#include "worker_tls.h"

namespace gordo {

using namespace worker_tags;
using namespace std::chrono_literals;

namespace {

// At shutdown, how long viewers may take to finish the chunk they have begun.
constexpr auto stop_grace = 5s;
// Viewers whose sends go to the kernel in one submission (see serve_ready).
constexpr size_t ready_slice = 1024;

}  // namespace

worker::worker(unsigned id, listener sock, const worker_options& opts)
    : id_(id),
      sock_(std::move(sock)),
      opts_(opts),
      discard_(new char[http_session::linger_read_size]) {
  reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

worker::~worker() {
  stop();
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

void worker::start(mount_table& mounts, admission& admit, const slab_pool& pool) {
  mounts_ = &mounts;
  admit_ = &admit;
  pool_ = &pool;
  for (size_t i = 0; i < mounts.size(); ++i) {
    auto v = new_view(&mounts.at(i));
    views_[v->m->slot].store(v.get(), std::memory_order_release);
    owned_.push_back(std::move(v));
  }
  answers_.emplace(opts_.header_timeout_s, http_session::max_requests, admit.redirect(),
                   opts_.cors);
  loop_ = make_loop({.engine = opts_.engine,
                     .uring_entries = opts_.uring_entries,
                     .zerocopy = opts_.zerocopy,
                     .pool = &pool,
                     .worker = id_});
  std::promise<int> ready;
  auto result = ready.get_future();
  thread_ = std::thread([this, &ready] { run(ready); });
  if (int err = result.get(); err < 0) {
    thread_.join();
    throw std::runtime_error(loop_->error_text(err));
  }
}

const zerocopy_counters& worker::zerocopy_stats() const {
  static const zerocopy_counters none;  // before start(): no loop yet
  return loop_ ? loop_->zerocopy_stats() : none;
}

void worker::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  wake_.wake();
  thread_.join();
}

void worker::run(std::promise<int>& ready) {
  // Named for top -H, perf and debuggers (at most 15 characters).
  pthread_setname_np(pthread_self(), fmt::format("worker {}", id_).c_str());
  if (opts_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(opts_.cpu, &set);
    if (int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set))
      spdlog::warn("worker {}: cannot pin to CPU {}: {}", id_, opts_.cpu, std::strerror(err));
  }
  // Set up here: io_uring's SINGLE_ISSUER wants the ring made by the thread that submits.
  int err = loop_->init();
  ready.set_value(err);
  if (err < 0) return;
  arm_accept();
  if (tls_sock_) arm_accept_tls();
  arm_wake();
  arm_tick();
  // After the last client, zero-copy notifications still hold chunks: wait for them.
  while (!stopping_ || !clients_.empty() || (holds_ > 0 && !gave_up_)) {
    // With viewers still to serve from the last wake-up, only collect what completed;
    // otherwise sleep until something does.
    if (int r = loop_->wait(ready_.empty()); r < 0) {
      spdlog::critical("worker {}: {} wait: {}", id_, engine(), std::strerror(-r));
      break;
    }
    for (const completion& done : loop_->take()) handle(done);
    serve_ready();
  }
  log_counters();
}

void worker::log_counters() const {
  spdlog::info("worker {}: {}; zero-copy: {}", id_, describe(copy_counters(counters_)),
               describe(copy_counters(loop_->zerocopy_stats())));
}

void worker::handle(const completion& done) {
  auto* c = reinterpret_cast<client*>(done.user_data & ~tag_mask);
  switch (static_cast<tag>(done.user_data & tag_mask)) {
    case tag_ignore:
      break;
    case tag_accept:
      on_accept(done.res, done.flags);
      break;
    case tag_accept_retry:
      if (!stopping_) arm_accept();
      break;
    case tag_accept_tls:
      on_accept(done.res, done.flags, true);
      break;
    case tag_accept_tls_retry:
      if (!stopping_) arm_accept_tls();
      break;
    case tag_wake:
      on_wake();
      break;
    case tag_tick:
      on_tick();
      break;
    case tag_recv:
      --c->inflight;
      on_recv(c, done.res);
      break;
    case tag_send:
      --c->inflight;
      c->sending = false;
      counters_.sends_in_flight.fetch_sub(1, std::memory_order_relaxed);
      on_send(c, done.res);
      break;
    case tag_send_zc:
      on_send_zc(reinterpret_cast<zc_hold*>(c), done.res, done.flags);
      break;
    case tag_cancel:
      --c->inflight;
      on_cancel(c);
      break;
    case tag_stop_deadline:
      on_stop_deadline();
      break;
  }
}

void worker::arm_accept() {
  loop_->accept(sock_.fd(), tag_accept);
}
void worker::arm_wake() {
  loop_->read(wake_.fd(), &wake_buf_, sizeof wake_buf_, tag_wake);
}
void worker::arm_tick() {
  loop_->timeout(1s, tag_tick);
}

void worker::on_accept(int res, uint32_t flags, bool tls) {
  bool more = flags & completion::more;
  if (res >= 0) {
    if (stopping_) {
      ::close(res);
    } else {
      auto* c = new client(res);
      c->slot = static_cast<uint32_t>(clients_.size());
      c->since_s = now_s_;
      clients_.push_back(c);
      counters_.accepted.fetch_add(1, std::memory_order_relaxed);
      c->http.open(opts_.log != nullptr, opts_.log ? peer_address(res) : std::string());
      if (!tls || tls_start(c)) arm_recv(c, c->http.space(), c->http.room());
    }
  } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
    // Out of fds or memory. Viewers already connected are not affected; the waiting
    // connections get a 503 (when an fd can be had) and accepting resumes shortly.
    if (!warned_fds_)
      spdlog::warn(
          "worker {}: cannot accept: {}; answering 503 until fds free up "
          "(raise LimitNOFILE / ulimit -n)",
          id_, std::strerror(-res));
    warned_fds_ = true;
    if (res == -EMFILE || res == -ENFILE) shed_backlog(tls);
    if (!more && !stopping_) loop_->timeout(100ms, tls ? tag_accept_tls_retry : tag_accept_retry);
    return;
  } else if (res != -ECANCELED && res != -EINVAL) {
    spdlog::debug("worker {}: accept: {}", id_, std::strerror(-res));
  }
  if (!more && !stopping_) tls ? arm_accept_tls() : arm_accept();
}

// Answers every connection waiting in this worker's backlog with a 503, using the fd kept
// in reserve for this: the listening socket is this worker's alone, so poll-then-accept
// cannot race another thread. On the TLS port they are just closed: a TLS client cannot
// read a plain 503, and a handshake needs more than the one fd there is.
void worker::shed_backlog(bool tls) {
  if (reserve_fd_ < 0) return;
  ::close(reserve_fd_);
  const std::string& full = answers_->get(answer::full, false).text;
  int sock = tls ? tls_sock_->fd() : sock_.fd();
  pollfd p{.fd = sock, .events = POLLIN, .revents = 0};
  while (poll(&p, 1, 0) == 1) {
    int fd = accept4(sock, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) break;
    // Read what request there is first: closing with unread bytes would send RST.
    ::recv(fd, discard_.get(), http_session::linger_read_size, MSG_DONTWAIT);
    if (!tls) ::send(fd, full.data(), full.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
    counters_.overflows.fetch_add(1, std::memory_order_relaxed);
  }
  reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

// Starts the sends of viewers woken by new chunks, a slice at a time: the kernel runs
// each send inline when it is submitted, so thousands in one submission would keep a new
// viewer's accept and request waiting for tens of milliseconds. Between slices the loop
// handles whatever completed.
void worker::serve_ready() {
  size_t n = std::min(ready_.size(), ready_slice);
  for (size_t i = 0; i < n; ++i) pump(ready_[i]);
  ready_.erase(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(n));
}

// Once a second: timeouts. A viewer parked on a quiet source never times out.
void worker::on_tick() {
  ++now_s_;
  counters_.ticks.store(now_s_, std::memory_order_relaxed);
  if (stopping_) return;
  arm_tick();
  scratch_ = clients_;  // reply() and close() may reorder clients_
  for (client* c : scratch_) {
    if (c->closing) continue;
    uint32_t limit = handshaking(c) ? opts_.tls_handshake_timeout_s : opts_.header_timeout_s;
    if (c->state == client::phase::reading && c->waited(now_s_, limit) && !c->timed_out) {
      // Its buffer belongs to the kernel until the recv ends: cancel it, answer then.
      counters_.timeouts.fetch_add(1, std::memory_order_relaxed);
      c->timed_out = true;
      loop_->cancel(c->fd, encode(c, tag_recv), tag_ignore);
    } else if (c->sending && c->waited(now_s_, opts_.write_timeout_s)) {
      counters_.timeouts.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("worker {}: viewer made no progress for {} s; closing", id_,
                    now_s_ - c->since_s);
      abort(c);
    } else if (c->sending && c->state == client::phase::streaming) {
      check_lag(c);
    }
  }
  scratch_.clear();
  expire_held();
}

void worker::close(client* c) {
  if (c->tls && !c->closing) tls_goodbye(c);
  if (!c->idle()) {
    // Its operations complete with errors now; release() follows the last one.
    if (!c->closing) {
      shutdown(c->fd, SHUT_RDWR);
      loop_->kick(c->fd);
    }
    c->closing = true;
    return;
  }
  release(c);
}

void worker::release(client* c) {
  log_request(c);
  if (c->parked) {
    auto& parked = at(c->view).parked;
    parked.erase(std::find(parked.begin(), parked.end(), c));
  }
  if (c->state == client::phase::held)
    std::erase_if(at(c->view).held, [c](const view::held_request& h) { return h.c == c; });
  if (c->state == client::phase::streaming) {
    view& v = at(c->view);
    counters_.viewers.fetch_sub(1, std::memory_order_relaxed);
    admit_->leave(*v.m);
    --v.viewers;
    maybe_release(v);
  }
  if (c->tls) tls_release(c);
  clients_[c->slot] = clients_.back();
  clients_[c->slot]->slot = c->slot;
  clients_.pop_back();
  if (c->fd >= 0) {
    loop_->forget(c->fd);
    ::close(c->fd);
  }
  delete c;
}

void worker::begin_shutdown() {
  stopping_ = true;
  // Closed below like every other client; emptied first, so that releasing 10,000
  // parked viewers is not 10,000 searches of the parked list.
  ready_.clear();
  for (auto& slot : views_) {
    view* v = slot.load(std::memory_order_relaxed);
    if (!v) continue;
    for (client* c : v->parked) c->parked = false;
    v->parked.clear();
  }
  loop_->cancel(sock_.fd(), tag_accept, tag_ignore);
  if (tls_sock_) loop_->cancel(tls_sock_->fd(), tag_accept_tls, tag_ignore);
  // Viewers with a send in flight finish the chunk they have begun (pump() sees
  // stopping_), for at most stop_grace; everyone else goes now.
  loop_->timeout(stop_grace, tag_stop_deadline);
  scratch_ = clients_;  // close() may release clients and reorder clients_
  for (client* c : scratch_)
    if (!(c->state == client::phase::streaming && c->sending)) close(c);
  scratch_.clear();
}

// First: viewers still not done are reset (SO_LINGER 0), which also frees what the kernel
// still holds of their zero-copy sends. A second later: stop waiting for those.
void worker::on_stop_deadline() {
  if (clients_.empty() && holds_ == 0) return;
  if (last_grace_) {
    spdlog::warn("worker {}: {} zero-copy sends not released at exit", id_, holds_);
    gave_up_ = true;
    return;
  }
  scratch_ = clients_;
  for (client* c : scratch_) abort(c);
  scratch_.clear();
  last_grace_ = true;
  loop_->timeout(1s, tag_stop_deadline);
}

// Closes with a reset instead of a FIN: for a viewer that stopped reading, whose unsent
// bytes (and the chunks a zero-copy send lent the kernel) would otherwise wait in its
// socket until TCP gives up on it.
void worker::abort(client* c) {
  ::linger no_linger{.l_onoff = 1, .l_linger = 0};
  setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger);
  if (c->tls) c->tls->aborted = true;
  close(c);
}

}  // namespace gordo
