#include "gordo/net/listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace gordo {

listener::listener(address& at, int sndbuf, int notsent_lowat) {
  fd_ = socket(at.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
  int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (sndbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);  // inherited
  // Inherited too (the accepted socket is a copy of the listener's, Linux 3.12 on): a send
  // queues while the unsent bytes are under it, and a socket is writable again below half.
  if (notsent_lowat > 0)
    setsockopt(fd_, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &notsent_lowat, sizeof notsent_lowat);
  if (at.family() == AF_INET6) setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd_, reinterpret_cast<const sockaddr*>(&at.storage), at.len) < 0 ||
      listen(fd_, 4096) < 0) {
    int err = errno;
    close(fd_);
    fd_ = -1;
    throw std::system_error(err, std::generic_category(), "cannot listen on " + at.to_string());
  }
  if (at.port() == 0) {
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &len);
    address b;
    b.storage = bound;
    b.len = len;
    at.set_port(b.port());
  }
}

listener::~listener() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace gordo
