// The epoll engine: a worker's operations as non-blocking syscalls, for where io_uring
// cannot be used (kernel.io_uring_disabled, a seccomp policy, an old kernel). Each
// operation is tried at once and again whenever epoll says its socket is ready, and ends
// in the same completions as the io_uring engine's (io/loop.h).
//
//   worker ──recv/send/timeout──▶ try the syscall ──done──────────────▶ completions
//                                     │ EAGAIN                              ▲
//                                     ▼                                     │
//                       pending on its fd (one in, one out) ──epoll ready───┘
#pragma once

#include <queue>
#include <vector>

#include "gordo/io/loop.h"

namespace gordo {

class epoll_loop final : public io_loop {
 public:
  epoll_loop() = default;
  ~epoll_loop() override;
  epoll_loop(const epoll_loop&) = delete;
  epoll_loop& operator=(const epoll_loop&) = delete;

  int init() override;
  std::string error_text(int neg_errno) const override;

  void accept(int fd, uint64_t user_data) override;
  void recv(int fd, void* buf, size_t len, uint64_t user_data,
            clock::duration timeout = {}) override;
  // read(2) has no MSG_DONTWAIT: the fd is made non-blocking.
  void read(int fd, void* buf, size_t len, uint64_t user_data) override;
  void send(int fd, const void* buf, size_t len, uint64_t user_data) override;
  void sendmsg(int fd, const msghdr* msg, uint64_t user_data) override;
  // MSG_ZEROCOPY's notices come on the error queue, which this engine does not read: a
  // zero-copy send is a plain one, notified at once.
  bool zerocopy_for(size_t) const override { return false; }
  void send_zc(int fd, const msghdr* msg, const chunk_ref* whole, uint64_t user_data) override;
  void zerocopy_refused(int) override {}
  void cancel(int fd, uint64_t target, uint64_t user_data) override;
  void timeout(clock::duration after, uint64_t user_data) override;
  // Tries `fd`'s pending operations again now (epoll may not report a shutdown of our own).
  void kick(int fd) override;
  // Its operations and registration go.
  void forget(int fd) override;

  // Waits for readiness (when `block` and nothing has completed yet, until the next
  // timeout) and turns it into completions.
  int wait(bool block) override;
  std::span<const completion> take() override;

  io_engine engine() const override { return io_engine::epoll; }
  const std::string& mode() const override { return mode_; }
  unsigned overflows() const override { return 0; }
  const zerocopy_counters& zerocopy_stats() const override { return zc_; }

 private:
  enum class kind : uint8_t { none, recv, read, send, sendmsg };
  struct op {
    kind what = kind::none;
    void* buf = nullptr;  // recv/read/send (send: const)
    size_t len = 0;
    const msghdr* msg = nullptr;
    uint64_t user_data = 0;
    uint32_t gen = 0;  // which receive a timer is for
    bool zc = false;   // a zero-copy send: its result has flag more, and a notification follows
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
  void finish(op& o, int res);
  void watch(int fd);
  struct listening {  // a listening socket (a worker has one per address: HTTP, HTTPS)
    int fd = -1;
    uint64_t user_data = 0;
    bool accepting = false;
  };
  listening* listening_on(int fd);
  void accept_ready(listening& l);
  void expire(clock::time_point now);
  void done(uint64_t user_data, int res, uint32_t flags = 0) {
    done_.push_back({user_data, res, flags});
  }

  int epfd_ = -1;
  std::vector<listening> listens_;
  uint32_t gen_ = 0;
  std::vector<fd_ops> fds_;  // by fd
  std::priority_queue<timer, std::vector<timer>, std::greater<>> timers_;
  std::vector<completion> done_, taken_;
  std::string mode_;      // (none)
  zerocopy_counters zc_;  // always off
};

}  // namespace gordo
