// An io_uring owned by one thread: created in that thread with the best setup flags the
// kernel accepts, falling back flag by flag on older kernels.
#pragma once

#include <liburing.h>

#include <string>

// liburing 2.3 predates the zero-copy usage report; Linux 6.2 has it.
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

namespace gordo {

class uring {
 public:
  uring() = default;
  ~uring();
  uring(const uring&) = delete;
  uring& operator=(const uring&) = delete;

  // Returns 0 or -errno (ENOSYS/EPERM: io_uring missing or blocked by policy).
  int init(unsigned entries);

  // A free SQE; submits the queued ones first when the SQ is full.
  io_uring_sqe* sqe();
  // Makes sure the next `n` sqe() calls land in one submission (linked SQEs need that).
  void reserve(unsigned n);
  // Submits what is queued and waits for at least one completion.
  int submit_and_wait();
  // Submits what is queued and collects completions without waiting.
  int submit_and_get_events() { return io_uring_submit_and_get_events(&ring_); }

  io_uring* get() { return &ring_; }
  // Completions the kernel could not post because the CQ was full (any thread).
  unsigned cq_overflows() const {
    return live_ ? __atomic_load_n(ring_.cq.koverflow, __ATOMIC_RELAXED) : 0;
  }
  // The setup flags in use, for logs: e.g. "single-issuer defer-taskrun".
  const std::string& mode() const { return mode_; }

 private:
  io_uring ring_{};
  bool live_ = false;
  std::string mode_;
};

// 0 when this process can serve with io_uring: a ring can be set up, and the kernel has
// what the worker uses (Linux 5.19: multishot accept; IORING_OP_SOCKET came with it and
// is what a probe can see). Else -errno: why not (-EOPNOTSUPP: too old).
int uring_probe();

// Why io_uring cannot be used, and what to do about it.
std::string uring_error_text(int neg_errno);

}  // namespace gordo
