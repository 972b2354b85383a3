#include "gordo/io/uring.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace gordo {

uring::~uring() {
  if (live_) io_uring_queue_exit(&ring_);
}

int uring::init(unsigned entries) {
  struct attempt {
    unsigned flags;
    const char* name;
  };
  // DEFER_TASKRUN (6.1) runs completions only when we reap, so sends never interrupt us;
  // COOP_TASKRUN (5.19) at least avoids an IPI per completion.
  const attempt attempts[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "single-issuer defer-taskrun"},
      {IORING_SETUP_COOP_TASKRUN, "coop-taskrun"},
      {0, "basic"},
  };
  int err = -EINVAL;
  for (const attempt& a : attempts) {
    io_uring_params p{};
    p.flags = a.flags | IORING_SETUP_SUBMIT_ALL;
    p.cq_entries = entries * 4;  // zero-copy sends post two CQEs; accepts are multishot
    p.flags |= IORING_SETUP_CQSIZE;
    err = io_uring_queue_init_params(entries, &ring_, &p);
    if (err == 0) {
      live_ = true;
      mode_ = a.name;
      return 0;
    }
    if (err != -EINVAL) return err;  // EPERM/ENOSYS/ENOMEM: no flag will help
  }
  return err;
}

io_uring_sqe* uring::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  while (!s) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  return s;
}

void uring::reserve(unsigned n) {
  if (io_uring_sq_space_left(&ring_) < n) io_uring_submit(&ring_);
}

int uring::submit_and_wait() {
  return io_uring_submit_and_wait(&ring_, 1);
}

int uring_probe() {
  uring ring;
  if (int err = ring.init(8); err < 0) return err;
  io_uring_probe* probe = io_uring_get_probe_ring(ring.get());
  if (!probe) return -EOPNOTSUPP;
  bool recent = io_uring_opcode_supported(probe, IORING_OP_SOCKET);
  io_uring_free_probe(probe);
  return recent ? 0 : -EOPNOTSUPP;
}

std::string uring_error_text(int neg_errno) {
  std::string text = std::string("io_uring is not available: ") + std::strerror(-neg_errno);
  int disabled = 0;
  std::ifstream("/proc/sys/kernel/io_uring_disabled") >> disabled;
  if (disabled)
    text += " (kernel.io_uring_disabled=" + std::to_string(disabled) +
            "; set it to 0 with sysctl, or run gordo as a member of kernel.io_uring_group)";
  else if (neg_errno == -EPERM)
    text += " (blocked by a seccomp policy? Docker's default profile blocks io_uring)";
  else if (neg_errno == -ENOSYS)
    text += " (the kernel was built without io_uring)";
  else if (neg_errno == -EOPNOTSUPP || neg_errno == -EINVAL)
    text += " (the kernel is older than Linux 5.19, which gordo's io_uring engine needs)";
  else if (neg_errno == -ENOMEM)
    text += " (RLIMIT_MEMLOCK too low for the ring? raise LimitMEMLOCK / ulimit -l)";
  return text;
}

}  // namespace gordo
