// An eventfd that other threads use to wake one worker. Coalesces: many wake() calls
// before the worker looks cost one write(2).
#pragma once

#include <atomic>

namespace gordo {

class wake_fd {
 public:
  wake_fd();  // throws std::system_error if the kernel refuses an eventfd
  ~wake_fd();
  wake_fd(const wake_fd&) = delete;
  wake_fd& operator=(const wake_fd&) = delete;

  int fd() const { return fd_; }
  // Any thread. Cheap when a wake-up is already pending.
  void wake();
  // The woken thread, before it looks at what it was woken for: later wake() calls
  // write again.
  void rearm() { pending_.store(false, std::memory_order_seq_cst); }

 private:
  int fd_;
  std::atomic<bool> pending_{false};
};

}  // namespace gordo
