// gordo-load --recv uring: the counting viewers' receives on io_uring instead of epoll and
// recv(). Each counting viewer has one multishot recv with MSG_TRUNC (the kernel drops the
// bytes and says how many) into provided buffers that, for that reason, are never
// written: one submission per viewer for the whole run instead of a wake-up and a recv
// per arrival. The receives run when reap() asks (DEFER_TASKRUN), in batches; an eventfd
// registered with the ring, in gordo-load's epoll set, says when there is work.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>

namespace gordo::load {

class uring_count {
 public:
  // nullptr and `error` when this kernel has no io_uring, or no multishot receives.
  static std::unique_ptr<uring_count> make(std::string& error);
  ~uring_count();
  uring_count(const uring_count&) = delete;
  uring_count& operator=(const uring_count&) = delete;

  // Readable when the ring has work for reap() (an eventfd).
  int fd() const { return event_fd_; }
  // Starts counting `fd`'s bytes (submitted with the next reap()); false when the
  // submission queue stays full (the caller receives some other way).
  bool watch(int fd, uint32_t id);
  // Submits what watch() queued, runs the receives that are due, and calls
  // on(id, res, more) for each completion: res bytes dropped (> 0), 0 at the end of the
  // stream, or -errno; `more` false when that viewer's multishot receive ended (watch it
  // again to go on, -ENOBUFS included).
  template <class F>
  void reap(F&& on) {
    drain_event_fd();
    // The kernel runs a bounded number of receives per call and flags the rest.
    for (int round = 0; round < max_rounds; ++round) {
      io_uring_submit_and_get_events(&ring_);
      io_uring_cqe* cqe;
      unsigned head, seen = 0, buffers = 0;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        if (cqe->flags & IORING_CQE_F_BUFFER)
          recycle(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT), buffers++);
        on(static_cast<uint32_t>(cqe->user_data), cqe->res, (cqe->flags & IORING_CQE_F_MORE) != 0);
      }
      if (buffers) io_uring_buf_ring_advance(buffers_, static_cast<int>(buffers));
      io_uring_cq_advance(&ring_, seen);
      if (!(IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN)) break;
    }
  }

 private:
  uring_count() = default;
  void recycle(uint16_t bid, unsigned offset);
  void drain_event_fd();

  static constexpr unsigned entries = 4096;  // submission queue
  static constexpr unsigned completions = 65536;
  static constexpr unsigned buffer_count = 4096;  // provided buffers, all the same memory
  static constexpr unsigned buffer_size = 1 << 18;
  // Rounds of reap() before the caller's other work (connects, epoll) gets its turn.
  static constexpr int max_rounds = 64;

  io_uring ring_{};
  bool ring_open_ = false;
  int event_fd_ = -1;
  io_uring_buf_ring* buffers_ = nullptr;
  size_t buffers_bytes_ = 0;
  std::unique_ptr<char[]> scratch_;  // what the buffers point at: never written (MSG_TRUNC)
};

}  // namespace gordo::load
