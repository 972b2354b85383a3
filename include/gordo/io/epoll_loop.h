// The epoll engine: a worker's operations as non-blocking syscalls, for where io_uring
// cannot be used (kernel.io_uring_disabled, a seccomp policy, an old kernel). Each
// operation is tried at once and again whenever epoll says its socket is ready, and ends
// in a completion shaped like an io_uring CQE, so the worker above is the same code for
// both engines.
//
//   worker ──recv/send/timeout──▶ try the syscall ──done──────────────▶ completions
//                                     │ EAGAIN                              ▲
//                                     ▼                                     │
//                       pending on its fd (one in, one out) ──epoll ready───┘
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <queue>
#include <vector>

namespace gordo {

struct completion {
  uint64_t user_data;
  int res;         // bytes, a new fd, or -errno
  uint32_t flags;  // IORING_CQE_F_MORE on an accept that goes on accepting
};

class epoll_loop {
 public:
  using clock = std::chrono::steady_clock;

  epoll_loop() = default;
  ~epoll_loop();
  epoll_loop(const epoll_loop&) = delete;
  epoll_loop& operator=(const epoll_loop&) = delete;

  // 0 or -errno.
  int init();

  // At most one receive (or read) and one send pending per fd at a time, as the worker
  // issues them. A receive with a timeout completes with -ECANCELED when it runs out.
  void recv(int fd, void* buf, size_t len, uint64_t user_data, clock::duration timeout = {});
  void read(int fd, void* buf, size_t len, uint64_t user_data);  // an eventfd (made non-blocking)
  void send(int fd, const void* buf, size_t len, uint64_t user_data);
  void sendmsg(int fd, const msghdr* msg, uint64_t user_data);
  // The pending operation `target` on `fd` (or accepting on it) completes with
  // -ECANCELED, then `user_data` with 0; when none is pending, `user_data` completes
  // with -ENOENT.
  void cancel(int fd, uint64_t target, uint64_t user_data);
  // Tries `fd`'s pending operations again now (after a shutdown(2), they end at once).
  void kick(int fd);
  // The fd is about to be closed or given away: its operations and registration go.
  void forget(int fd);

  // Accepts connections on the listening `fd` until cancelled: one completion each (flag
  // MORE). Running out of fds or memory completes with the error and no MORE; call
  // accept() again to resume.
  void accept(int fd, uint64_t user_data);
  // `user_data` completes with -ETIME after `after`.
  void timeout(clock::duration after, uint64_t user_data);

  // Waits for readiness (when `block` and nothing has completed yet, until the next
  // timeout) and turns it into completions.
  int wait(bool block);
  // The completions so far, to handle in order; operations issued meanwhile complete
  // into the next batch.
  const std::vector<completion>& take();

 private:
  enum class kind : uint8_t { none, recv, read, send, sendmsg };
  struct op {
    kind what = kind::none;
    void* buf = nullptr;  // recv/read/send (send: const)
    size_t len = 0;
    const msghdr* msg = nullptr;
    uint64_t user_data = 0;
    uint32_t gen = 0;  // which receive a timer is for
  };
  struct fd_ops {
    op in, out;
    bool registered = false;
  };
  struct timer {
    clock::time_point at;
    uint64_t user_data;
    int fd;  // -1: a plain timeout; else the receive of this fd, if still generation gen
    uint32_t gen;
    bool operator>(const timer& o) const { return at > o.at; }
  };

  fd_ops& slot(int fd);
  void start(int fd, op& o);
  bool attempt(int fd, op& o);  // false: would block
  void watch(int fd);
  void accept_ready();
  void expire(clock::time_point now);
  void done(uint64_t user_data, int res, uint32_t flags = 0) { done_.push_back({user_data, res, flags}); }

  int epfd_ = -1;
  int listen_fd_ = -1;
  uint64_t accept_data_ = 0;
  bool accepting_ = false;
  uint32_t gen_ = 0;
  std::vector<fd_ops> fds_;  // by fd
  std::priority_queue<timer, std::vector<timer>, std::greater<>> timers_;
  std::vector<completion> done_, taken_;
};

}  // namespace gordo
