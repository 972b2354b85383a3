#include "gordo/core/wake_fd.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace gordo {

wake_fd::wake_fd() : fd_(eventfd(0, EFD_CLOEXEC)) {
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

wake_fd::~wake_fd() {
  close(fd_);
}

void wake_fd::wake() {
  if (pending_.exchange(true, std::memory_order_seq_cst)) return;
  uint64_t one = 1;
  // Blocking unless the epoll engine made it not; either way the counter cannot
  // realistically saturate, so this never waits.
  [[maybe_unused]] ssize_t n = write(fd_, &one, sizeof one);
}

}  // namespace gordo
