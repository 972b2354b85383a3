#include "gordo/io/epoll_loop.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gordo {

namespace {

// Connections accepted per readiness report of the listening socket (level-triggered:
// the rest come with the next wait), and readiness reports taken per wait.
constexpr int accept_batch = 64;
constexpr int max_events = 1024;

int set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags < 0 ? -errno : fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -errno : 0;
}

}  // namespace

epoll_loop::~epoll_loop() {
  if (epfd_ >= 0) ::close(epfd_);
}

int epoll_loop::init() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  return epfd_ < 0 ? -errno : 0;
}

std::string epoll_loop::error_text(int neg_errno) const {
  return std::string("epoll_create1: ") + std::strerror(-neg_errno);
}

epoll_loop::fd_ops& epoll_loop::slot(int fd) {
  if (static_cast<size_t>(fd) >= fds_.size())
    fds_.resize(std::max<size_t>(static_cast<size_t>(fd) + 1, fds_.size() * 2));
  return fds_[static_cast<size_t>(fd)];
}

void epoll_loop::recv(int fd, void* buf, size_t len, uint64_t user_data, clock::duration timeout) {
  op& o = slot(fd).in;
  o = {kind::recv, buf, len, nullptr, user_data, ++gen_};
  if (timeout.count() > 0) timers_.push({clock::now() + timeout, user_data, fd, o.gen});
  start(fd, o);
}

void epoll_loop::read(int fd, void* buf, size_t len, uint64_t user_data) {
  // read(2) has no MSG_DONTWAIT: the fd itself must not block (once; it stays watched).
  if (!slot(fd).registered) set_nonblocking(fd);
  op& o = slot(fd).in;
  o = {kind::read, buf, len, nullptr, user_data, ++gen_};
  start(fd, o);
}

void epoll_loop::send(int fd, const void* buf, size_t len, uint64_t user_data) {
  op& o = slot(fd).out;
  o = {kind::send, const_cast<void*>(buf), len, nullptr, user_data, 0};
  start(fd, o);
}

void epoll_loop::sendmsg(int fd, const msghdr* msg, uint64_t user_data) {
  op& o = slot(fd).out;
  o = {kind::sendmsg, nullptr, 0, msg, user_data, 0};
  start(fd, o);
}

void epoll_loop::send_zc(int fd, const msghdr* msg, const chunk_ref*, uint64_t user_data) {
  op& o = slot(fd).out;
  o = {kind::sendmsg, nullptr, 0, msg, user_data, 0, true};
  start(fd, o);
}

// Like io_uring with a socket: try now; only what would block waits for epoll.
void epoll_loop::start(int fd, op& o) {
  if (!attempt(fd, o)) watch(fd);
}

bool epoll_loop::attempt(int fd, op& o) {
  ssize_t n = 0;
  switch (o.what) {
    case kind::none:
      return true;
    case kind::recv:
      n = ::recv(fd, o.buf, o.len, MSG_DONTWAIT);
      break;
    case kind::read:
      n = ::read(fd, o.buf, o.len);
      break;
    case kind::send:
      n = ::send(fd, o.buf, o.len, MSG_DONTWAIT | MSG_NOSIGNAL);
      break;
    case kind::sendmsg:
      n = ::sendmsg(fd, o.msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      break;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
  finish(o, n < 0 ? -errno : static_cast<int>(n));
  return true;
}

// The operation is over: its completion (a zero-copy send's notification with it: the
// syscall has copied the data), and the slot is free.
void epoll_loop::finish(op& o, int res) {
  uint64_t user_data = o.user_data;
  bool zc = o.zc;
  o = {};
  done(user_data, res, zc ? completion::more : 0);
  if (zc) done(user_data, 0, completion::notif);
}

// Registered once per fd, edge-triggered for both directions: a socket costs no
// epoll_ctl per operation, and an operation that hit EAGAIN is told of the next change.
// (Registering reports a socket that is already ready, so nothing is missed in between.)
void epoll_loop::watch(int fd) {
  fd_ops& s = slot(fd);
  if (s.registered) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.fd = fd;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0) {
    s.registered = true;
    return;
  }
  int err = -errno;  // (ENOMEM, ENOSPC: max_user_watches) the operations fail, not hang
  for (op* o : {&s.in, &s.out}) {
    if (o->what != kind::none) finish(*o, err);
  }
}

void epoll_loop::cancel(int fd, uint64_t target, uint64_t user_data) {
  if (listening* l = listening_on(fd); l && target == l->user_data && l->accepting) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    l->accepting = false;
    done(target, -ECANCELED);
    return done(user_data, 0);
  }
  fd_ops& s = slot(fd);
  for (op* o : {&s.in, &s.out}) {
    if (o->what == kind::none || o->user_data != target) continue;
    finish(*o, -ECANCELED);
    done(user_data, 0);
    return;
  }
  done(user_data, -ENOENT);
}

void epoll_loop::kick(int fd) {
  fd_ops& s = slot(fd);
  attempt(fd, s.in);
  attempt(fd, s.out);
}

void epoll_loop::forget(int fd) {
  fd_ops& s = slot(fd);
  if (s.registered) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  s = {};
}

epoll_loop::listening* epoll_loop::listening_on(int fd) {
  for (listening& l : listens_)
    if (l.fd == fd) return &l;
  return nullptr;
}

void epoll_loop::accept(int fd, uint64_t user_data) {
  listening* l = listening_on(fd);
  if (!l) {
    // Level-triggered, and non-blocking so that a batch ends at EAGAIN.
    set_nonblocking(fd);
    l = &listens_.emplace_back(listening{fd, user_data, false});
  }
  l->user_data = user_data;
  if (l->accepting) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return done(user_data, -errno);
  l->accepting = true;
}

void epoll_loop::accept_ready(listening& l) {
  for (int i = 0; i < accept_batch && l.accepting; ++i) {
    int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      done(l.user_data, fd, completion::more);
      continue;
    }
    int err = errno;
    if (err == EAGAIN || err == EINTR) return;
    if (err == ECONNABORTED || err == EPROTO || err == EPERM) continue;  // that one is gone
    // Out of fds or memory: stop until the worker asks again (it waits a moment), or
    // the listening socket would report ready in a loop.
    epoll_ctl(epfd_, EPOLL_CTL_DEL, l.fd, nullptr);
    l.accepting = false;
    return done(l.user_data, -err);
  }
}

void epoll_loop::timeout(clock::duration after, uint64_t user_data) {
  timers_.push({clock::now() + after, user_data, -1, 0});
}

void epoll_loop::expire(clock::time_point now) {
  while (!timers_.empty() && timers_.top().at <= now) {
    timer t = timers_.top();
    timers_.pop();
    if (t.fd < 0) {
      done(t.user_data, -ETIME);
      continue;
    }
    op& o = slot(t.fd).in;
    if (o.what == kind::none || o.gen != t.gen) continue;  // it completed in time
    finish(o, -ECANCELED);
  }
}

int epoll_loop::wait(bool block) {
  int timeout_ms = 0;
  if (block && done_.empty()) {
    if (timers_.empty()) {
      timeout_ms = -1;
    } else {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(timers_.top().at - clock::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
  }
  epoll_event events[max_events];
  int n = epoll_wait(epfd_, events, max_events, timeout_ms);
  if (n < 0) return errno == EINTR ? 0 : -errno;
  for (int i = 0; i < n; ++i) {
    int fd = events[i].data.fd;
    uint32_t ev = events[i].events;
    if (listening* l = listening_on(fd); l && l->accepting) {
      accept_ready(*l);
      continue;
    }
    fd_ops& s = slot(fd);
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) attempt(fd, s.in);
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) attempt(fd, s.out);
  }
  expire(clock::now());
  return n;
}

std::span<const completion> epoll_loop::take() {
  taken_.clear();
  taken_.swap(done_);
  return taken_;
}

}  // namespace gordo
