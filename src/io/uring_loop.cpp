#include "gordo/io/uring_loop.h"

#include <spdlog/spdlog.h>

#include <cerrno>

#include "gordo/io/epoll_loop.h"

namespace gordo {

const char* to_string(io_engine e) {
  return e == io_engine::epoll ? "epoll" : "io_uring";
}

std::unique_ptr<io_loop> make_loop(const loop_options& opts) {
  if (opts.engine == io_engine::epoll) return std::make_unique<epoll_loop>();
  return std::make_unique<uring_loop>(opts);
}

int uring_loop::init() {
  if (int err = ring_.init(opts_.uring_entries); err < 0) return err;
  spdlog::debug("worker {}: io_uring ({})", opts_.worker, ring_.mode());
  if (opts_.pool) zc_.init(ring_, opts_.zerocopy, *opts_.pool, opts_.worker);
  return 0;
}

__kernel_timespec* uring_loop::timespec(clock::duration d) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return &times_.emplace_back(
      __kernel_timespec{.tv_sec = ns / 1'000'000'000, .tv_nsec = ns % 1'000'000'000});
}

void uring_loop::accept(int fd, uint64_t user_data) {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, user_data);
}

void uring_loop::recv(int fd, void* buf, size_t len, uint64_t user_data, clock::duration timeout) {
  bool timed = timeout.count() > 0;
  if (timed) ring_.reserve(2);  // the link must not be split across submissions
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_recv(sqe, fd, buf, len, 0);
  io_uring_sqe_set_data64(sqe, user_data);
  if (!timed) return;
  sqe->flags |= IOSQE_IO_LINK;
  sqe = ring_.sqe();
  io_uring_prep_link_timeout(sqe, timespec(timeout), 0);
  io_uring_sqe_set_data64(sqe, ignored);
}

void uring_loop::read(int fd, void* buf, size_t len, uint64_t user_data) {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_read(sqe, fd, buf, static_cast<unsigned>(len), 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

void uring_loop::send(int fd, const void* buf, size_t len, uint64_t user_data) {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, user_data);
}

void uring_loop::sendmsg(int fd, const msghdr* msg, uint64_t user_data) {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_sendmsg(sqe, fd, msg, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, user_data);
}

void uring_loop::send_zc(int fd, const msghdr* msg, const chunk_ref* whole, uint64_t user_data) {
  io_uring_sqe* sqe = ring_.sqe();
  int buffer = msg->msg_iovlen == 1 && whole ? zc_.buffer_index(*whole) : -1;
  if (buffer >= 0)
    io_uring_prep_send_zc_fixed(sqe, fd, msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len,
                                MSG_NOSIGNAL, 0, static_cast<unsigned>(buffer));
  else
    io_uring_prep_sendmsg_zc(sqe, fd, msg, MSG_NOSIGNAL);
  sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE;
  io_uring_sqe_set_data64(sqe, user_data);
  zc_.sent(buffer >= 0);
}

void uring_loop::cancel(int, uint64_t target, uint64_t user_data) {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_cancel64(sqe, target, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

void uring_loop::timeout(clock::duration after, uint64_t user_data) {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_timeout(sqe, timespec(after), 0, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

int uring_loop::wait(bool block) {
  int r = block ? ring_.submit_and_wait() : ring_.submit_and_get_events();
  if (io_uring_sq_ready(ring_.get()) == 0)
    times_.clear();  // all submitted: the kernel has read them
  taken_.clear();
  if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) return r;
  unsigned head, seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(ring_.get(), head, cqe) {
    ++seen;
    if (cqe->user_data == ignored) continue;  // a receive's linked timeout
    uint32_t flags = 0;
    int res = cqe->res;
    if (cqe->flags & IORING_CQE_F_MORE) flags |= completion::more;
    if (cqe->flags & IORING_CQE_F_NOTIF) {
      flags |= completion::notif;
      zc_.notified(static_cast<uint32_t>(res) & IORING_NOTIF_USAGE_ZC_COPIED);
      res = 0;
    }
    taken_.push_back({cqe->user_data, res, flags});
  }
  io_uring_cq_advance(ring_.get(), seen);
  return 0;
}

}  // namespace gordo
