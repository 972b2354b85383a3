// Listening sockets. Each worker gets its own on the same address (SO_REUSEPORT), so
// the kernel spreads new connections across workers without a shared accept queue.
#pragma once

#include "gordo/net/address.h"

namespace gordo {

class listener {
 public:
  // Binds and listens. Throws std::system_error with the address in its message. A port
  // of 0 is replaced in `at` by the port the kernel chose, so that later listeners of
  // the same group bind the same one. Accepted sockets inherit both options: sndbuf is
  // SO_SNDBUF (bytes the kernel buffers per viewer; 0 keeps the kernel's autotuning),
  // notsent_lowat TCP_NOTSENT_LOWAT (0 keeps net.ipv4.tcp_notsent_lowat).
  explicit listener(address& at, int sndbuf = 0, int notsent_lowat = 0);
  ~listener();
  listener(listener&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;
  listener& operator=(listener&&) = delete;

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace gordo
