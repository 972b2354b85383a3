// The io_uring engine: a worker's operations as SQEs on its own ring, submitted together
// when the worker waits, and their CQEs as completions. Zero-copy sends, with arenas of
// chunk memory registered as fixed buffers, are this engine's alone.
#pragma once

#include <deque>
#include <vector>

#include "gordo/io/loop.h"
#include "gordo/io/uring.h"
#include "gordo/io/zerocopy.h"

namespace gordo {

class uring_loop final : public io_loop {
 public:
  explicit uring_loop(const loop_options& opts) : opts_(opts) {}
  uring_loop(const uring_loop&) = delete;
  uring_loop& operator=(const uring_loop&) = delete;

  int init() override;
  std::string error_text(int neg_errno) const override { return uring_error_text(neg_errno); }

  void accept(int fd, uint64_t user_data) override;
  void recv(int fd, void* buf, size_t len, uint64_t user_data,
            clock::duration timeout = {}) override;
  void read(int fd, void* buf, size_t len, uint64_t user_data) override;
  void send(int fd, const void* buf, size_t len, uint64_t user_data) override;
  void sendmsg(int fd, const msghdr* msg, uint64_t user_data) override;
  bool zerocopy_for(size_t bytes) const override { return zc_.use_for(bytes); }
  void send_zc(int fd, const msghdr* msg, const chunk_ref* whole, uint64_t user_data) override;
  void zerocopy_refused(int neg_errno) override { zc_.unsupported(neg_errno); }
  void cancel(int fd, uint64_t target, uint64_t user_data) override;
  void timeout(clock::duration after, uint64_t user_data) override;
  void kick(int) override {}    // a shutdown ends the ring's operations by itself
  void forget(int) override {}  // nothing is registered per fd

  int wait(bool block) override;
  std::span<const completion> take() override { return taken_; }

  io_engine engine() const override { return io_engine::uring; }
  const std::string& mode() const override { return ring_.mode(); }
  unsigned overflows() const override { return ring_.cq_overflows(); }
  const zerocopy_counters& zerocopy_stats() const override { return zc_.counters(); }

 private:
  // The user_data of what the worker never sees (a receive's linked timeout).
  static constexpr uint64_t ignored = ~uint64_t{0};

  // The kernel reads a timeout's timespec when the SQE is submitted, not when prepared:
  // kept here until the next submission.
  __kernel_timespec* timespec(clock::duration d);

  loop_options opts_;
  uring ring_;
  zerocopy zc_;
  std::deque<__kernel_timespec> times_;
  std::vector<completion> taken_;
};

}  // namespace gordo
