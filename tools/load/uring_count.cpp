#include "load/uring_count.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>

namespace gordo::load {

std::unique_ptr<uring_count> uring_count::make(std::string& error) {
  std::unique_ptr<uring_count> u(new uring_count);
  io_uring_params p{};
  // Receives run when reap() asks (DEFER_TASKRUN), in batches, not as each arrival
  // interrupts; TASKRUN_FLAG says when some are still due.
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG;
  p.cq_entries = completions;
  int r = io_uring_queue_init_params(entries, &u->ring_, &p);
  if (r < 0) {
    error = fmt::format("io_uring: {}", std::strerror(-r));
    return nullptr;
  }
  u->ring_open_ = true;
  u->event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (u->event_fd_ < 0 || (r = io_uring_register_eventfd(&u->ring_, u->event_fd_)) < 0) {
    error = fmt::format("io_uring eventfd: {}", std::strerror(u->event_fd_ < 0 ? errno : -r));
    return nullptr;
  }
  u->buffers_bytes_ = buffer_count * sizeof(io_uring_buf);
  void* mem =
      mmap(nullptr, u->buffers_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    error = fmt::format("mmap: {}", std::strerror(errno));
    return nullptr;
  }
  u->buffers_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(u->buffers_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = buffer_count;
  reg.bgid = 0;
  r = io_uring_register_buf_ring(&u->ring_, &reg, 0);
  if (r < 0) {
    error = fmt::format("io_uring provided buffer rings: {}", std::strerror(-r));
    return nullptr;
  }
  u->scratch_ = std::make_unique<char[]>(buffer_size);
  for (unsigned i = 0; i < buffer_count; ++i) u->recycle(static_cast<uint16_t>(i), i);
  io_uring_buf_ring_advance(u->buffers_, buffer_count);
  return u;
}

uring_count::~uring_count() {
  if (ring_open_) io_uring_queue_exit(&ring_);  // cancels what is still receiving
  if (event_fd_ >= 0) ::close(event_fd_);
  if (buffers_) munmap(buffers_, buffers_bytes_);
}

void uring_count::recycle(uint16_t bid, unsigned offset) {
  io_uring_buf_ring_add(buffers_, scratch_.get(), buffer_size, bid,
                        io_uring_buf_ring_mask(buffer_count), static_cast<int>(offset));
}

void uring_count::drain_event_fd() {
  uint64_t n;
  while (::read(event_fd_, &n, sizeof n) > 0) {
  }
}

bool uring_count::watch(int fd, uint32_t id) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
    if (!sqe) return false;
  }
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, MSG_TRUNC);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = 0;
  sqe->user_data = id;
  return true;
}

}  // namespace gordo::load
