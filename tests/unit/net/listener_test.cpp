// listener on loopback: port 0 resolved for the rest of a group, several listeners on one
// address (SO_REUSEPORT) all accepting, SO_SNDBUF handed to accepted sockets, and a
// taken address refused with the address in the message.
#include "gordo/net/listener.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace gordo {
namespace {

address loopback(uint16_t port = 0) {
  auto a = address::parse("127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(a);
  return *a;
}

int connect_to(const address& at) {
  int fd = socket(at.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&at.storage), at.len), 0)
      << strerror(errno);
  return fd;
}

// A connection waiting in `l`'s accept queue, accepted; -1 if none arrives within 5 s.
int accept_from(const listener& l, int timeout_ms = 5000) {
  pollfd p{l.fd(), POLLIN, 0};
  if (poll(&p, 1, timeout_ms) != 1) return -1;
  return accept4(l.fd(), nullptr, nullptr, SOCK_CLOEXEC);
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len), 0);
  address a;
  a.storage = ss;
  a.len = len;
  return a.port();
}

TEST(listener, port_zero_is_replaced_by_the_port_bound) {
  address at = loopback();
  listener l(at);
  ASSERT_GE(l.fd(), 0);
  EXPECT_NE(at.port(), 0);
  EXPECT_EQ(bound_port(l.fd()), at.port());
  int c = connect_to(at);
  int s = accept_from(l);
  EXPECT_GE(s, 0);
  close(s);
  close(c);
}

TEST(listener, a_group_on_one_port_shares_the_connections) {
  // What each worker does: the first listener picks the port, the others reuse it.
  address at = loopback();
  std::vector<listener> group;
  for (int i = 0; i < 3; ++i) group.emplace_back(at);
  for (const listener& l : group) EXPECT_EQ(bound_port(l.fd()), at.port());
  // Every connection lands in exactly one of the group's accept queues.
  constexpr int n = 30;
  std::vector<int> clients;
  for (int i = 0; i < n; ++i) clients.push_back(connect_to(at));
  int accepted = 0;
  for (const listener& l : group) {
    for (int s; (s = accept_from(l, 0)) >= 0; ++accepted) close(s);
  }
  EXPECT_EQ(accepted, n);
  for (int c : clients) close(c);
}

TEST(listener, moving_hands_over_the_socket) {
  address at = loopback();
  listener a(at);
  int fd = a.fd();
  listener b(std::move(a));
  EXPECT_EQ(a.fd(), -1);
  EXPECT_EQ(b.fd(), fd);
  int c = connect_to(at);
  int s = accept_from(b);
  EXPECT_GE(s, 0);
  close(s);
  close(c);
}

TEST(listener, accepted_sockets_inherit_the_send_buffer) {
  address at = loopback();
  listener l(at, 96 * 1024);
  int c = connect_to(at);
  int s = accept_from(l);
  ASSERT_GE(s, 0);
  int sndbuf = 0;
  socklen_t len = sizeof sndbuf;
  ASSERT_EQ(getsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len), 0);
  EXPECT_EQ(sndbuf, 2 * 96 * 1024);  // Linux doubles what was asked, for its bookkeeping
  close(s);
  close(c);
}

TEST(listener, a_port_held_without_reuseport_is_refused_with_the_address) {
  // Another program on the port (no SO_REUSEPORT): gordo must not start beside it.
  int other = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  address taken = loopback();
  ASSERT_EQ(bind(other, reinterpret_cast<const sockaddr*>(&taken.storage), taken.len), 0);
  ASSERT_EQ(listen(other, 1), 0);
  taken.set_port(bound_port(other));
  try {
    listener l(taken);
    ADD_FAILURE() << "bound a port another socket holds";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
    EXPECT_NE(std::string(e.what()).find("cannot listen on " + taken.to_string()),
              std::string::npos)
        << e.what();
  }
  close(other);
}

TEST(listener, ipv6_listeners_are_ipv6_only) {
  // "[::]:8080" must not also take IPv4 connections: a separate "0.0.0.0:8080" does.
  auto at = address::parse("[::1]:0");
  ASSERT_TRUE(at);
  std::optional<listener> l;
  try {
    l.emplace(*at);
  } catch (const std::system_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  int v6only = 0;
  socklen_t len = sizeof v6only;
  ASSERT_EQ(getsockopt(l->fd(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len), 0);
  EXPECT_EQ(v6only, 1);
  EXPECT_NE(at->port(), 0);
  int c = connect_to(*at);
  int s = accept_from(*l);
  EXPECT_GE(s, 0);
  close(s);
  close(c);
}

}  // namespace
}  // namespace gordo
