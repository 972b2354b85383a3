#include "gordo/io/epoll_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

namespace gordo {
namespace {

using namespace std::chrono_literals;

struct fds {
  int a = -1, b = -1;  // a connected pair of stream sockets
  fds() {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) a = sv[0], b = sv[1];
  }
  ~fds() {
    if (a >= 0) close(a);
    if (b >= 0) close(b);
  }
};

// A listening socket on a free loopback port, its address in `at`; -1 on failure.
int loopback_listener(sockaddr_in& at) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  at = {};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof at;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&at), &len) != 0)
    return -1;
  return fd;
}

int connected_to(const sockaddr_in& at) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  return connect(fd, reinterpret_cast<const sockaddr*>(&at), sizeof at) == 0 ? fd : -1;
}

// Waits until something completes (or `limit` passes); returns the completions.
std::vector<completion> next(epoll_loop& loop, std::chrono::milliseconds limit = 2000ms) {
  auto until = std::chrono::steady_clock::now() + limit;
  std::vector<completion> out;
  while (out.empty() && std::chrono::steady_clock::now() < until) {
    loop.timeout(10ms, 999);  // bounds each wait
    EXPECT_GE(loop.wait(true), 0);
    for (const completion& c : loop.take())
      if (c.user_data != 999) out.push_back(c);
  }
  return out;
}

TEST(epoll_loop, a_receive_that_would_block_completes_when_data_arrives) {
  epoll_loop loop;
  ASSERT_EQ(loop.init(), 0);
  fds s;
  char buf[16];
  loop.recv(s.a, buf, sizeof buf, 7);
  ASSERT_GE(loop.wait(false), 0);
  EXPECT_TRUE(loop.take().empty()) << "nothing to read yet";
  ASSERT_EQ(write(s.b, "hello", 5), 5);
  auto done = next(loop);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].user_data, 7u);
  EXPECT_EQ(done[0].res, 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
}

TEST(epoll_loop, reading_a_blocking_eventfd_waits_for_epoll_not_in_read) {
  epoll_loop loop;
  ASSERT_EQ(loop.init(), 0);
  int efd = eventfd(0, EFD_CLOEXEC);  // blocking, as the worker's wake fd is made
  ASSERT_GE(efd, 0);
  uint64_t value = 0;
  loop.read(efd, &value, sizeof value, 4);  // would hang here if read(2) could block
  ASSERT_GE(loop.wait(false), 0);
  EXPECT_TRUE(loop.take().empty());
  uint64_t one = 1;
  ASSERT_EQ(write(efd, &one, sizeof one), 8);
  auto done = next(loop);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].res, 8);
  EXPECT_EQ(value, 1u);
  close(efd);
}

TEST(epoll_loop, an_operation_that_can_run_at_once_completes_in_the_next_batch) {
  epoll_loop loop;
  ASSERT_EQ(loop.init(), 0);
  fds s;
  loop.send(s.a, "abc", 3, 1);
  const auto& done = loop.take();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].res, 3);
  char buf[4];
  EXPECT_EQ(read(s.b, buf, sizeof buf), 3);
}

TEST(epoll_loop, a_send_to_a_full_socket_completes_once_the_peer_reads) {
  epoll_loop loop;
  ASSERT_EQ(loop.init(), 0);
  fds s;
  std::string big(64 * 1024, 'x');
  // Fill the socket until a send would block.
  size_t queued = 0;
  for (;;) {
    loop.send(s.a, big.data(), big.size(), 1);
    const auto& done = loop.take();
    if (done.empty()) break;  // pending: it would block
    ASSERT_GT(done[0].res, 0);
    queued += static_cast<size_t>(done[0].res);
  }
  ASSERT_GT(queued, 0u);
  std::vector<char> sink(queued + big.size());
  ssize_t n = read(s.b, sink.data(), sink.size());
  ASSERT_GT(n, 0);
  auto done = next(loop);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].user_data, 1u);
  EXPECT_GT(done[0].res, 0);
}

TEST(epoll_loop, cancel_ends_the_pending_operation_then_the_cancel) {
  epoll_loop loop;
  ASSERT_EQ(loop.init(), 0);
  fds s;
  char buf[8];
  loop.recv(s.a, buf, sizeof buf, 3);
  loop.cancel(s.a, 3, 4);
  auto done = loop.take();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].user_data, 3u);
  EXPECT_EQ(done[0].res, -ECANCELED);
  EXPECT_EQ(done[1].user_data, 4u);
  EXPECT_EQ(done[1].res, 0);
  loop.cancel(s.a, 3, 5);  // nothing pending now
  done = loop.take();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].res, -ENOENT);
  // A cancelled receive no longer takes what arrives.
  ASSERT_EQ(write(s.b, "x", 1), 1);
  EXPECT_TRUE(next(loop, 100ms).empty());
}

TEST(epoll_loop, a_receive_with_a_timeout_ends_with_ecanceled) {
  epoll_loop loop;
  ASSERT_EQ(loop.init(), 0);
  fds s;
  char buf[8];
  auto start = std::chrono::steady_clock::now();
  loop.recv(s.a, buf, sizeof buf, 9, 50ms);
  auto done = next(loop);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].user_data, 9u);
  EXPECT_EQ(done[0].res, -ECANCELED);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  // The timer of a receive that completed in time does nothing.
  loop.recv(s.a, buf, sizeof buf, 10, 50ms);
  ASSERT_EQ(write(s.b, "y", 1), 1);
  done = next(loop);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].res, 1);
  EXPECT_TRUE(next(loop, 150ms).empty());
}

TEST(epoll_loop, timeouts_complete_in_order_with_etime) {
  epoll_loop loop;
  ASSERT_EQ(loop.init(), 0);
  loop.timeout(40ms, 2);
  loop.timeout(10ms, 1);
  std::vector<uint64_t> order;
  auto until = std::chrono::steady_clock::now() + 2s;
  while (order.size() < 2 && std::chrono::steady_clock::now() < until) {
    ASSERT_GE(loop.wait(true), 0);
    for (const completion& c : loop.take()) {
      EXPECT_EQ(c.res, -ETIME);
      order.push_back(c.user_data);
    }
  }
  EXPECT_EQ(order, (std::vector<uint64_t>{1, 2}));
}

TEST(epoll_loop, kick_after_shutdown_ends_pending_operations) {
  epoll_loop loop;
  ASSERT_EQ(loop.init(), 0);
  fds s;
  char buf[8];
  loop.recv(s.a, buf, sizeof buf, 1);
  ASSERT_GE(loop.wait(false), 0);
  ASSERT_TRUE(loop.take().empty());
  shutdown(s.a, SHUT_RDWR);
  loop.kick(s.a);
  auto done = loop.take();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].res, 0);  // end of stream
}

TEST(epoll_loop, a_forgotten_fd_number_serves_its_next_owner) {
  epoll_loop loop;
  ASSERT_EQ(loop.init(), 0);
  char buf[8];
  int number;
  {
    fds s;
    number = s.a;
    loop.recv(s.a, buf, sizeof buf, 1);  // registers s.a
    loop.forget(s.a);
  }
  fds again;  // most likely the same numbers
  ASSERT_EQ(again.a, number);
  loop.recv(again.a, buf, sizeof buf, 2);
  ASSERT_EQ(write(again.b, "z", 1), 1);
  auto done = next(loop);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].user_data, 2u);
  EXPECT_EQ(done[0].res, 1);
}

TEST(epoll_loop, accepts_each_connection_until_cancelled) {
  epoll_loop loop;
  ASSERT_EQ(loop.init(), 0);
  sockaddr_in at{};
  int listener = loopback_listener(at);
  ASSERT_GE(listener, 0);
  loop.accept(listener, 5);
  std::vector<int> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(connected_to(at));
    ASSERT_GE(clients.back(), 0);
  }
  std::vector<completion> accepted;
  auto until = std::chrono::steady_clock::now() + 2s;
  while (accepted.size() < 3 && std::chrono::steady_clock::now() < until)
    for (const completion& c : next(loop, 200ms)) accepted.push_back(c);
  ASSERT_EQ(accepted.size(), 3u);
  for (const completion& c : accepted) {
    EXPECT_EQ(c.user_data, 5u);
    EXPECT_GE(c.res, 0);
    EXPECT_TRUE(c.flags & IORING_CQE_F_MORE);
    close(c.res);
  }
  loop.cancel(listener, 5, 6);
  auto done = loop.take();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].user_data, 5u);
  EXPECT_EQ(done[0].res, -ECANCELED);
  EXPECT_EQ(done[1].user_data, 6u);
  int late = connected_to(at);
  ASSERT_GE(late, 0);
  EXPECT_TRUE(next(loop, 100ms).empty());
  close(late);
  for (int fd : clients) close(fd);
  close(listener);
}

TEST(epoll_loop, out_of_fds_ends_accepting_with_the_error_until_asked_again) {
  epoll_loop loop;
  ASSERT_EQ(loop.init(), 0);
  sockaddr_in at{};
  int listener = loopback_listener(at);
  ASSERT_GE(listener, 0);
  int client = connected_to(at);
  ASSERT_GE(client, 0);
  rlimit old{};
  getrlimit(RLIMIT_NOFILE, &old);
  // Every number below the lowest free one is taken: a limit there leaves none.
  int lowest_free = dup(client);
  close(lowest_free);
  rlimit tight = {static_cast<rlim_t>(lowest_free), old.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  loop.accept(listener, 5);
  auto done = next(loop);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].res, -EMFILE);
  EXPECT_FALSE(done[0].flags & IORING_CQE_F_MORE);
  EXPECT_TRUE(next(loop, 100ms).empty()) << "no ready loop while stopped";
  loop.accept(listener, 5);
  done = next(loop);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_GE(done[0].res, 0);
  close(done[0].res);
  close(client);
  close(listener);
}

}  // namespace
}  // namespace gordo
