#include "gordo/server/worker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "gordo/net/http_response.h"
#include "gordo/net/icy.h"
#include "gordo/net/signed_url.h"
#include "worker_tags.h"

namespace gordo {

using namespace worker_tags;

namespace {

// Lingering close: how long to wait for each read, how many reads, into how big a buffer.
constexpr long linger_read_ns = 1'000'000'000;
constexpr uint8_t linger_reads = 16;
constexpr size_t discard_size = 64 * 1024;
// "192.0.2.7" or "2001:db8::7" (the log names hosts, not ports).
std::string peer_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "-";
  char text[INET6_ADDRSTRLEN] = "-";
  if (ss.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, text, sizeof text);
  else if (ss.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, text, sizeof text);
  return text;
}

std::chrono::nanoseconds span(const __kernel_timespec& t) {
  return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

// At shutdown, how long viewers may take to finish the chunk they have begun.
constexpr long stop_grace_s = 5;
// Viewers whose sends go to the kernel in one submission (see serve_ready).
constexpr size_t ready_slice = 1024;
// Requests answered on one kept-alive connection before it is closed.
constexpr unsigned max_requests = 100;

}  // namespace

worker::worker(unsigned id, listener sock, const worker_options& opts)
    : id_(id), sock_(std::move(sock)), opts_(opts), discard_(new char[discard_size]) {
  reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  linger_timeout_ = {.tv_sec = 0, .tv_nsec = linger_read_ns};
  tick_ = {.tv_sec = 1, .tv_nsec = 0};
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
  const std::string& redirect = admit.redirect();
  answers_ = {
      http_error(400, "malformed HTTP request"),
      http_error(404, "no such mount"),
      http_error(405, "only GET and HEAD (and PUT, POST or SOURCE from an encoder) are allowed",
                 "Allow: GET, HEAD, PUT, POST, SOURCE\r\n"),
      http_error(408, "the request head did not arrive in time"),
      http_error(431, "request head too large"),
      http_error(503, "the source of this mount has ended"),
      http_error(503, "server full: too many viewers or too much bandwidth", "Retry-After: 10\r\n"),
      http_error(302, "server full: try " + redirect, "Location: " + redirect + "\r\n"),
      http_error(505, "only HTTP/1.0 and HTTP/1.1 are supported"),
      http_error(503, "the source of this mount is not live; try again shortly", "Retry-After: 5\r\n"),
      http_error(401, "this mount needs the source password", "WWW-Authenticate: Basic realm=\"gordo source\"\r\n"),
      http_error(409, "another encoder is pushing to this mount"),
      http_error(405, "this mount pulls its source; it takes no pushes", "Allow: GET, HEAD\r\n"),
      // What Icecast answers its sources' metadata updates.
      http_response(200, "text/xml",
                    "<?xml version=\"1.0\"?>\n<iceresponse><message>Metadata update successful</message>"
                    "<return>1</return></iceresponse>\n"),
      http_error(403, "this mount pulls its source; its title comes from there"),
      http_error(400, "give mode=updinfo, mount=PATH and song=TITLE"),
      http_error(414, "request line too long"),
      http_error(403, "your address may not watch this mount"),
      http_error(403, "this mount needs a signed link"),
      http_error(403, "this link has expired"),
      http_error(400, http_parse_error(http_parse::bad_host)),
      http_error(400, http_parse_error(http_parse::bad_length)),
  };
  for (const std::string& a : answers_) {
    std::string kept = a;
    size_t at = kept.find("Connection: close\r\n");
    kept.replace(at, 19, fmt::format("Connection: keep-alive\r\nKeep-Alive: timeout={}, max={}\r\n",
                                     opts_.header_timeout_s, max_requests));
    answers_kept_.push_back(std::move(kept));
  }
  std::promise<int> ready;
  auto result = ready.get_future();
  thread_ = std::thread([this, &ready] { run(ready); });
  int err = result.get();
  if (err < 0) {
    thread_.join();
    throw std::runtime_error(opts_.epoll ? std::string("epoll_create1: ") + std::strerror(-err) : uring_error_text(err));
  }
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
  // Created here: SINGLE_ISSUER wants the ring made by the thread that submits.
  int err = opts_.epoll ? poll_.init() : ring_.init(opts_.uring_entries);
  ready.set_value(err);
  if (err < 0) return;
  if (!opts_.epoll) {
    spdlog::debug("worker {}: io_uring ({})", id_, ring_.mode());
    zc_.init(ring_, opts_.zerocopy, *pool_, id_);
  }
  arm_accept();
  arm_wake();
  arm_tick();
  // After the last client, zero-copy notifications still hold chunks: wait for them.
  while (!stopping_ || !clients_.empty() || (holds_ > 0 && !gave_up_)) {
    // With viewers still to serve from the last wake-up, only collect what completed;
    // otherwise sleep until something does.
    if (opts_.epoll) {
      if (int r = poll_.wait(ready_.empty()); r < 0) {
        spdlog::critical("worker {}: epoll_wait: {}", id_, std::strerror(-r));
        break;
      }
      for (const completion& done : poll_.take()) handle(done.user_data, done.res, done.flags);
      serve_ready();
      continue;
    }
    int r = ready_.empty() ? ring_.submit_and_wait() : ring_.submit_and_get_events();
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      spdlog::critical("worker {}: io_uring_submit_and_wait: {}", id_, std::strerror(-r));
      break;
    }
    unsigned head, seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring_.get(), head, cqe) {
      handle(cqe->user_data, cqe->res, cqe->flags);
      ++seen;
    }
    io_uring_cq_advance(ring_.get(), seen);
    serve_ready();
  }
  log_counters();
}

mount_counters worker::mount_stats(uint32_t slot) const {
  mount_counters out;
  const view* p = slot < max_mounts ? views_[slot].load(std::memory_order_acquire) : nullptr;
  if (!p) return out;
  const view& v = *p;
  out.bytes_out = v.bytes_out.load(std::memory_order_relaxed);
  out.resyncs = v.resyncs.load(std::memory_order_relaxed);
  out.slow_drops = v.slow_drops.load(std::memory_order_relaxed);
  out.denied = v.denied.load(std::memory_order_relaxed);
  out.chunks_in_ring = v.chunks_in_ring.load(std::memory_order_relaxed);
  return out;
}

void worker::log_counters() const {
  const zerocopy_counters& zc = zc_.counters();
  spdlog::info("worker {}: {} connections, {} bytes in {} sends, {} resyncs, {} slow drops, "
               "{} refused, {} timeouts; zero-copy: {} sends ({} fixed), {} notified, {} copied",
               id_, counters_.accepted.load(), counters_.bytes_sent.load(),
               counters_.sends.load(), counters_.resyncs.load(), counters_.slow_drops.load(),
               counters_.overflows.load(), counters_.timeouts.load(), zc.sends.load(),
               zc.fixed_sends.load(), zc.notified.load(), zc.copied.load());
}

void worker::handle(uint64_t user_data, int res, uint32_t flags) {
  auto* c = reinterpret_cast<client*>(user_data & ~tag_mask);
  switch (static_cast<tag>(user_data & tag_mask)) {
    case tag_ignore: break;
    case tag_accept: on_accept(res, flags); break;
    case tag_accept_retry: if (!stopping_) arm_accept(); break;
    case tag_wake: on_wake(); break;
    case tag_tick: on_tick(); break;
    case tag_recv: --c->inflight; on_recv(c, res); break;
    case tag_send:
      --c->inflight;
      c->sending = false;
      counters_.sends_in_flight.fetch_sub(1, std::memory_order_relaxed);
      on_send(c, res);
      break;
    case tag_send_zc: on_send_zc(reinterpret_cast<zc_hold*>(c), res, flags); break;
    case tag_cancel: --c->inflight; on_cancel(c); break;
    case tag_stop_deadline: on_stop_deadline(); break;
  }
}

void worker::io_recv(client* c, void* buf, size_t len, __kernel_timespec* timeout) {
  ++c->inflight;
  uint64_t data = encode(c, tag_recv);
  if (opts_.epoll) return poll_.recv(c->fd, buf, len, data, timeout ? span(*timeout) : epoll_loop::clock::duration{});
  if (timeout) ring_.reserve(2);  // the link must not be split across submissions
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_recv(sqe, c->fd, buf, len, 0);
  io_uring_sqe_set_data64(sqe, data);
  if (!timeout) return;
  sqe->flags |= IOSQE_IO_LINK;
  sqe = ring_.sqe();
  io_uring_prep_link_timeout(sqe, timeout, 0);
  io_uring_sqe_set_data64(sqe, tag_ignore);
}

void worker::io_cancel(int fd, uint64_t target, uint64_t user_data) {
  if (opts_.epoll) return poll_.cancel(fd, target, user_data);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_cancel64(sqe, target, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

void worker::io_timeout(__kernel_timespec* after, uint64_t user_data) {
  if (opts_.epoll) return poll_.timeout(span(*after), user_data);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_timeout(sqe, after, 0, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

void worker::arm_accept() {
  if (opts_.epoll) return poll_.accept(sock_.fd(), tag_accept);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_multishot_accept(sqe, sock_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tag_accept);
}

void worker::arm_wake() {
  if (opts_.epoll) return poll_.read(wake_.fd(), &wake_buf_, sizeof wake_buf_, tag_wake);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_read(sqe, wake_.fd(), &wake_buf_, sizeof wake_buf_, 0);
  io_uring_sqe_set_data64(sqe, tag_wake);
}

void worker::arm_tick() { io_timeout(&tick_, tag_tick); }

void worker::on_accept(int res, uint32_t flags) {
  bool more = flags & IORING_CQE_F_MORE;
  if (res >= 0) {
    if (stopping_) {
      ::close(res);
    } else {
      auto* c = new client(res);
      c->slot = static_cast<uint32_t>(clients_.size());
      c->since_s = now_s_;
      clients_.push_back(c);
      counters_.accepted.fetch_add(1, std::memory_order_relaxed);
      if (opts_.log) {
        c->log = std::make_unique<access_record>();
        c->log->at = std::chrono::system_clock::now();
        c->log->peer = peer_address(res);
      }
      c->request = std::make_unique<char[]>(client::request_buffer);
      io_recv(c, c->request.get(), client::request_buffer);
    }
  } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
    // Out of fds or memory. Viewers already connected are not affected; the waiting
    // connections get a 503 (when an fd can be had) and accepting resumes shortly.
    if (!warned_fds_)
      spdlog::warn("worker {}: cannot accept: {}; answering 503 until fds free up "
                   "(raise LimitNOFILE / ulimit -n)", id_, std::strerror(-res));
    warned_fds_ = true;
    if (res == -EMFILE || res == -ENFILE) shed_backlog();
    if (!more && !stopping_) {
      accept_retry_ = {.tv_sec = 0, .tv_nsec = 100'000'000};
      io_timeout(&accept_retry_, tag_accept_retry);
    }
    return;
  } else if (res != -ECANCELED && res != -EINVAL) {
    spdlog::debug("worker {}: accept: {}", id_, std::strerror(-res));
  }
  if (!more && !stopping_) arm_accept();
}

// Answers every connection waiting in this worker's backlog with a 503, using the fd kept
// in reserve for this: the listening socket is this worker's alone, so poll-then-accept
// cannot race another thread.
void worker::shed_backlog() {
  if (reserve_fd_ < 0) return;
  ::close(reserve_fd_);
  const std::string& full = answers_[static_cast<size_t>(canned::full)];
  pollfd p{.fd = sock_.fd(), .events = POLLIN, .revents = 0};
  while (poll(&p, 1, 0) == 1) {
    int fd = accept4(sock_.fd(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) break;
    // Read what request there is first: closing with unread bytes would send RST.
    ::recv(fd, discard_.get(), discard_size, MSG_DONTWAIT);
    ::send(fd, full.data(), full.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
    counters_.overflows.fetch_add(1, std::memory_order_relaxed);
  }
  reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void worker::on_wake() {
  wake_.rearm();
  if (stop_.load() && !stopping_) {
    begin_shutdown();
    return;
  }
  if (stopping_) return;
  arm_wake();
  run_commands();
  for (auto& slot : views_) {
    view* vp = slot.load(std::memory_order_relaxed);
    if (!vp || vp->retired) continue;
    view& v = *vp;
    // Read before draining: once ended, the drain yields every chunk there will be.
    bool ended = v.m->out->ended();
    v.m->out->feed(id_).drain([&v](feed_item&& item) {
      if (item.kind == feed_item::header) {
        v.ring.set_header(std::move(item.ref));
      } else if (item.kind == feed_item::metadata) {
        v.icy_block = std::move(item.ref);
        ++v.icy_gen;
      } else
        v.ring.push(item.seq, std::move(item.ref), item.flags, item.pos, item.time_ns);
    });
    v.ended = ended;
    v.offline = v.m->out->offline();
    v.chunks_in_ring.store(v.ring.size(), std::memory_order_relaxed);
    // Every viewer that was caught up gets its next send now; they all go to the kernel
    // in the one submit at the top of the loop.
    for (client* c : v.parked) {
      c->parked = false;
      c->since_s = now_s_;  // the write timeout counts from here
    }
    ready_.insert(ready_.end(), v.parked.begin(), v.parked.end());
    v.parked.clear();
  }
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

void worker::add_mount(mount* m) { post({command::add, m, m->slot, {}}); }
void worker::set_policy(uint32_t slot, const mount_policy& policy) { post({command::policy, nullptr, slot, policy}); }
void worker::retire_mount(uint32_t slot) { post({command::retire, nullptr, slot, {}}); }

void worker::post(command cmd) {
  {
    std::lock_guard lock(commands_mu_);
    commands_.push_back(std::move(cmd));
  }
  wake_.wake();
}

// Reload's changes, between two batches of sends.
void worker::run_commands() {
  std::vector<command> todo;
  {
    std::lock_guard lock(commands_mu_);
    todo.swap(commands_);
  }
  for (command& cmd : todo) {
    switch (cmd.kind) {
      case command::add: {
        auto v = new_view(cmd.m);
        views_[cmd.slot].store(v.get(), std::memory_order_release);
        owned_.push_back(std::move(v));
        break;
      }
      case command::policy:
        at(static_cast<int>(cmd.slot)).policy = cmd.pol;
        break;
      case command::retire: {
        view& v = at(static_cast<int>(cmd.slot));
        v.retired = true;
        v.ended = true;  // its viewers finish what they have queued, then close
        for (client* c : v.parked) {
          c->parked = false;
          ready_.push_back(c);
        }
        v.parked.clear();
        maybe_release(v);
        break;
      }
    }
  }
}

std::unique_ptr<worker::view> worker::new_view(mount* m) {
  auto v = std::make_unique<view>(opts_.ring_chunks);
  v->m = m;
  v->policy = m->policy;
  // `push:/PATH`: an encoder pushing here would become /PATH's, unasked. Built here
  // because views live as long as the worker, so the answer outlives any send of it.
  const source& feed = *m->feed;
  if (feed.is_push() && feed.push_path() != m->path)
    v->push_elsewhere = http_error(
        405, fmt::format("push to {}; {} takes its stream from there", feed.push_path(), m->path),
        "Allow: GET, HEAD\r\n");
  return v;
}

// A retired mount with no viewers left here: tell the server this worker is done with it.
void worker::maybe_release(view& v) {
  if (!v.retired || v.viewers > 0 || !v.m) return;
  v.ring.clear();
  v.ring.set_header({});
  v.m->released.fetch_add(1, std::memory_order_release);
  v.m = nullptr;
}

worker::view* worker::find_view(std::string_view path) {
  for (auto& slot : views_) {
    view* v = slot.load(std::memory_order_relaxed);
    if (v && !v->retired && v->m->path == path) return v;
  }
  return nullptr;
}

// Once a second: timeouts. A viewer parked on a quiet source never times out.
void worker::on_tick() {
  ++now_s_;
  counters_.ticks.store(now_s_, std::memory_order_relaxed);
  if (stopping_) return;
  arm_tick();
  scratch_ = clients_;  // answer() and close() may reorder clients_
  for (client* c : scratch_) {
    if (c->closing) continue;
    uint32_t idle = now_s_ - c->since_s;
    if (c->state == client::phase::reading && idle >= opts_.header_timeout_s && !c->timed_out) {
      // Its buffer belongs to the kernel until the recv ends: cancel it, answer then.
      counters_.timeouts.fetch_add(1, std::memory_order_relaxed);
      c->timed_out = true;
      io_cancel(c->fd, encode(c, tag_recv), tag_ignore);
    } else if (c->sending && idle >= opts_.write_timeout_s) {
      counters_.timeouts.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("worker {}: viewer made no progress for {} s; closing", id_, idle);
      abort(c);
    } else if (c->sending && c->state == client::phase::streaming) {
      check_lag(c);
    }
  }
  scratch_.clear();
}

void worker::on_recv(client* c, int res) {
  if (c->closing) return close(c);
  if (c->state == client::phase::lingering) {
    if (res > 0 && c->lingered < linger_reads)
      discard(c);
    else
      close(c);  // EOF, error, timed out (-ECANCELED) or enough
    return;
  }
  if (c->timed_out) {
    // A kept connection that stayed idle is just closed (no request was begun).
    if (c->answered > 0 && c->request_len == 0 && res <= 0) return close(c);
    return answer(c, canned::timeout);
  }
  if (res <= 0) {
    close(c);  // the viewer left before finishing its request, or we are shutting down
    return;
  }
  c->request_len += res;
  read_request(c);
}

// Parses what has arrived of a request head: routes it when complete, else reads more.
void worker::read_request(client* c) {
  http_request req;
  std::string_view text(c->request.get(), c->request_len);
  switch (parse_http_request(text, req)) {
    case http_parse::complete: route(c, req); return;
    case http_parse::bad_request: answer(c, canned::bad_request); return;
    case http_parse::too_many_fields: answer(c, canned::too_large); return;
    case http_parse::bad_version: answer(c, canned::bad_version); return;
    case http_parse::uri_too_long: answer(c, canned::uri_too_long); return;
    case http_parse::bad_host: answer(c, canned::bad_host); return;
    case http_parse::bad_length: answer(c, canned::bad_length); return;
    case http_parse::incomplete: break;
  }
  if (c->request_len == client::request_buffer) {
    answer(c, canned::too_large);
    return;
  }
  io_recv(c, c->request.get() + c->request_len, client::request_buffer - c->request_len);
}

void worker::route(client* c, const http_request& req) {
  if (c->log) {
    c->log->request_line = fmt::format("{} {} HTTP/1.{}", req.method, req.target, req.minor_version);
    c->log->referer = req.header("referer");
    c->log->user_agent = req.header("user-agent");
  }
  if (req.method == "PUT" || req.method == "POST" || req.method == "SOURCE") return take_push(c, req);
  if (req.path == "/admin/metadata" && req.method == "GET") return update_metadata(c, req);
  bool head = req.method == "HEAD";
  if (!head && req.method != "GET") return answer(c, canned::bad_method, &req);
  view* found = find_view(req.path);
  if (!found) return answer(c, canned::not_found, &req);
  view& v = *found;
  if (v.ended) return answer(c, canned::ended, &req);
  if (v.offline) return answer(c, canned::offline, &req);
  if (v.policy.access) {
    if (std::optional<canned> no = check_access(c, v, req)) {
      v.denied.fetch_add(1, std::memory_order_relaxed);
      return answer(c, *no, &req);
    }
  }
  // A radio player asking for ICY metadata, where the format offers it.
  bool icy = req.header("icy-metadata") == "1" && !v.m->icy_head.empty();
  const std::string& response_head = icy ? v.m->icy_head : v.m->response_head;
  if (head) {
    c->request.reset();
    c->state = client::phase::answering;
    c->queue(response_head.data(), response_head.size());
    c->head_bytes = static_cast<uint32_t>(response_head.size());
    if (c->log) c->log->status = 200;
    return pump(c);
  }
  if (!admit_->admit(*v.m)) {
    counters_.overflows.fetch_add(1, std::memory_order_relaxed);
    return answer(c, admit_->redirect().empty() ? canned::full : canned::redirect);
  }
  c->request.reset();
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
  if (c->log) c->log->status = 200;
  pump(c);  // fill() queues the header with the first chunk
}

// The mount's --allow/--deny and signed-URL rules; what to answer when they refuse.
std::optional<worker::canned> worker::check_access(client* c, const view& v, const http_request& req) {
  const mount_access& a = *v.policy.access;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  cidr peer;
  if (getpeername(c->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 || !peer_cidr(ss, peer))
    return canned::ip_denied;
  if (!a.ips.permits(peer)) return canned::ip_denied;
  if (a.token_secret.empty()) return std::nullopt;
  std::string ip = a.token_binds_ip ? peer.address() : std::string();
  switch (check_url_token(a.token_secret, req.path, req.query, ip, static_cast<int64_t>(time(nullptr)))) {
    case token_check::ok: return std::nullopt;
    case token_check::expired: return canned::token_expired;
    case token_check::missing:
    case token_check::invalid: return canned::token_needed;
  }
  return canned::token_needed;
}

// Icecast's metadata update, as encoders send it to the stream's port:
// GET /admin/metadata?mode=updinfo&mount=/radio.mp3&song=TITLE with the source password
// (or the user and password the encoder pushes with).
void worker::update_metadata(client* c, const http_request& req) {
  std::string mode = query_param(req.query, "mode").value_or("");
  std::string path = query_param(req.query, "mount").value_or("");
  std::optional<std::string> song = query_param(req.query, "song");
  if (mode != "updinfo" || path.empty() || !song) return answer(c, canned::bad_metadata, &req);
  view* found = find_view(path);
  if (!found) return answer(c, canned::not_found, &req);
  source& feed = *found->m->feed;
  if (!feed.is_push()) return answer(c, canned::not_pushed, &req);
  if (!feed.may_update(req.header("authorization"))) {
    found->denied.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("{}: metadata update from {} refused: wrong or missing source credentials", path,
                 c->log ? c->log->peer : peer_address(c->fd));
    return answer(c, canned::unauthorized, &req);
  }
  feed.set_title(*song);
  answer(c, canned::metadata_updated, &req);
}

// An encoder's upload to a push mount: checked here, then the connection is the
// source's, which reads it on its own thread.
void worker::take_push(client* c, const http_request& req) {
  view* found = find_view(req.path);
  if (!found) return answer(c, canned::not_found, &req);
  source& feed = *found->m->feed;
  if (!feed.is_push()) return answer(c, canned::not_push, &req);
  if (!found->push_elsewhere.empty()) {
    spdlog::warn("{}: push from {} refused: this mount takes the stream pushed to {}", req.path,
                 c->log ? c->log->peer : peer_address(c->fd), feed.push_path());
    c->keep_alive = false;
    c->request.reset();
    return send_answer(c, found->push_elsewhere);
  }
  push_connection p;
  if (!push_framing(req.content_length, req.header("transfer-encoding"), req.header("expect"), p))
    return answer(c, canned::bad_request, &req);
  p.icecast = req.method == "SOURCE";
  p.fd = c->fd;
  p.peer = c->log ? c->log->peer : peer_address(c->fd);
  p.leftover.assign(c->request.get() + req.head_length, c->request_len - req.head_length);
  if (opts_.epoll) poll_.forget(c->fd);  // before the source thread may close it
  switch (feed.offer(p, req.header("authorization"))) {
    case source::offer_result::accepted:
      if (c->log) c->log->status = 200;
      c->fd = -1;  // the source's now
      return release(c);
    case source::offer_result::unauthorized:
      p.fd = -1;
      spdlog::warn("{}: push from {} refused: wrong or missing source password", req.path, p.peer);
      return answer(c, canned::unauthorized, &req);
    case source::offer_result::busy:
      p.fd = -1;
      return answer(c, canned::push_busy, &req);
  }
}

void worker::answer(client* c, canned what, const http_request* req) {
  // Keep-alive, for answers to requests without a body, up to max_requests each: a
  // monitor polling a 404, a player probing. What is left of the connection after the
  // head is the next request.
  bool keep = false;
  if (req && !stopping_ && c->answered + 1u < max_requests && req->header("transfer-encoding").empty() &&
      req->content_length.value_or(0) == 0) {
    std::string_view connection = req->header("connection");
    keep = req->minor_version == 1 ? !has_token(connection, "close") : has_token(connection, "keep-alive");
  }
  c->keep_alive = keep;
  if (keep) {
    c->pipelined = static_cast<uint32_t>(c->request_len - req->head_length);
    std::memmove(c->request.get(), c->request.get() + req->head_length, c->pipelined);
  } else {
    c->request.reset();
  }
  send_answer(c, (keep ? answers_kept_ : answers_)[static_cast<size_t>(what)]);
}

void worker::send_answer(client* c, const std::string& text) {
  c->state = client::phase::answering;
  c->queue(text.data(), text.size());
  c->head_bytes = static_cast<uint32_t>(text.find("\r\n\r\n") + 4);
  if (c->log) c->log->status = std::atoi(text.c_str() + 9);  // "HTTP/1.1 404 ..."
  pump(c);
}

// The answer is sent and the connection kept: the next request, which may have arrived.
void worker::next_request(client* c) {
  if (c->log) {
    log_request(c);
    std::string peer = std::move(c->log->peer);
    *c->log = access_record{};
    c->log->peer = std::move(peer);
    c->log->at = std::chrono::system_clock::now();
  }
  ++c->answered;
  c->keep_alive = false;
  c->state = client::phase::reading;
  c->since_s = now_s_;  // the header timeout counts from here
  c->bytes_sent = 0;
  c->head_bytes = 0;
  c->request_len = c->pipelined;
  c->pipelined = 0;
  read_request(c);
}

// One line per request, when the connection ends (a connection that never sent a
// request is not one).
void worker::log_request(client* c) {
  access_record& r = *c->log;
  if (r.status == 0) return;
  r.body_bytes = c->bytes_sent > c->head_bytes ? c->bytes_sent - c->head_bytes : 0;
  r.seconds = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - r.at).count());
  opts_.log->write(format_access_line(r));
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
  io_recv(c, discard_.get(), discard_size, &linger_timeout_);
}

void worker::close(client* c) {
  if (!c->idle()) {
    // Its operations complete with errors now; release() follows the last one.
    if (!c->closing) {
      shutdown(c->fd, SHUT_RDWR);
      if (opts_.epoll) poll_.kick(c->fd);  // epoll may not report a shutdown of our own
    }
    c->closing = true;
    return;
  }
  release(c);
}

void worker::release(client* c) {
  if (c->log) log_request(c);
  if (c->parked) {
    auto& parked = at(c->view).parked;
    parked.erase(std::find(parked.begin(), parked.end(), c));
  }
  if (c->state == client::phase::streaming) {
    view& v = at(c->view);
    counters_.viewers.fetch_sub(1, std::memory_order_relaxed);
    admit_->leave(*v.m);
    --v.viewers;
    maybe_release(v);
  }
  clients_[c->slot] = clients_.back();
  clients_[c->slot]->slot = c->slot;
  clients_.pop_back();
  if (c->fd >= 0) {
    if (opts_.epoll) poll_.forget(c->fd);
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
  io_cancel(sock_.fd(), tag_accept, tag_ignore);
  // Viewers with a send in flight finish the chunk they have begun (pump() sees
  // stopping_), for at most stop_grace_; everyone else goes now.
  stop_grace_ = {.tv_sec = stop_grace_s, .tv_nsec = 0};
  io_timeout(&stop_grace_, tag_stop_deadline);
  scratch_ = clients_;  // close() may release clients and reorder clients_
  for (client* c : scratch_)
    if (!(c->state == client::phase::streaming && c->sending)) close(c);
  scratch_.clear();
}

// First: viewers still not done are reset (SO_LINGER 0), which also frees what the kernel
// still holds of their zero-copy sends. A second later: stop waiting for those.
void worker::on_stop_deadline() {
  if (!clients_.empty() || holds_ > 0) {
    if (stop_grace_.tv_sec == 1) {
      spdlog::warn("worker {}: {} zero-copy sends not released at exit", id_, holds_);
      gave_up_ = true;
      return;
    }
    scratch_ = clients_;
    for (client* c : scratch_) abort(c);
    scratch_.clear();
    stop_grace_ = {.tv_sec = 1, .tv_nsec = 0};
    io_timeout(&stop_grace_, tag_stop_deadline);
  }
}

// Closes with a reset instead of a FIN: for a viewer that stopped reading, whose unsent
// bytes (and the chunks a zero-copy send lent the kernel) would otherwise wait in its
// socket until TCP gives up on it.
void worker::abort(client* c) {
  ::linger no_linger{.l_onoff = 1, .l_linger = 0};
  setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger);
  close(c);
}

}  // namespace gordo
