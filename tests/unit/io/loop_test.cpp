// Both engines against the same contract (io/loop.h), on real sockets: each test runs
// once with epoll and once with io_uring (skipped where the kernel refuses a ring).
#include "gordo/io/loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

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
std::vector<completion> next(io_loop& loop, std::chrono::milliseconds limit = 2000ms) {
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

// Waits until `n` completions have come (or `limit` passes).
std::vector<completion> gather(io_loop& loop, size_t n, std::chrono::milliseconds limit = 2000ms) {
  auto until = std::chrono::steady_clock::now() + limit;
  std::vector<completion> out;
  while (out.size() < n && std::chrono::steady_clock::now() < until)
    for (const completion& c : next(loop, 100ms)) out.push_back(c);
  return out;
}

const completion* find(const std::vector<completion>& done, uint64_t user_data) {
  auto it = std::find_if(done.begin(), done.end(),
                         [&](const completion& c) { return c.user_data == user_data; });
  return it == done.end() ? nullptr : &*it;
}

class loop_test : public testing::TestWithParam<io_engine> {
 protected:
  void SetUp() override {
    loop_ = make_loop({.engine = GetParam(), .uring_entries = 64});
    if (int err = loop_->init(); err < 0) {
      if (GetParam() == io_engine::uring) GTEST_SKIP() << loop_->error_text(err);
      FAIL() << loop_->error_text(err);
    }
  }
  io_loop& loop() { return *loop_; }
  std::unique_ptr<io_loop> loop_;
};

INSTANTIATE_TEST_SUITE_P(engines, loop_test, testing::Values(io_engine::epoll, io_engine::uring),
                         [](const testing::TestParamInfo<io_engine>& p) {
                           return p.param == io_engine::epoll ? "epoll" : "uring";
                         });

TEST_P(loop_test, a_receive_that_would_block_completes_when_data_arrives) {
  io_loop& loop = this->loop();
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

TEST_P(loop_test, reading_a_blocking_eventfd_never_blocks_the_loop) {
  io_loop& loop = this->loop();
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

TEST_P(loop_test, an_operation_that_can_run_at_once_completes_in_the_next_batch) {
  io_loop& loop = this->loop();
  fds s;
  loop.send(s.a, "abc", 3, 1);
  auto done = next(loop);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].res, 3);
  char buf[4];
  EXPECT_EQ(read(s.b, buf, sizeof buf), 3);
}

TEST_P(loop_test, a_send_to_a_full_socket_completes_once_the_peer_reads) {
  io_loop& loop = this->loop();
  fds s;
  std::string big(64 * 1024, 'x');
  // Fill the socket until a send would block.
  size_t queued = 0;
  for (;;) {
    loop.send(s.a, big.data(), big.size(), 1);
    auto done = next(loop, 100ms);
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

TEST_P(loop_test, cancel_ends_the_pending_operation_then_the_cancel) {
  io_loop& loop = this->loop();
  fds s;
  char buf[8];
  loop.recv(s.a, buf, sizeof buf, 3);
  ASSERT_GE(loop.wait(false), 0);  // under way
  loop.cancel(s.a, 3, 4);
  auto done = gather(loop, 2);
  ASSERT_EQ(done.size(), 2u);
  ASSERT_TRUE(find(done, 3) && find(done, 4));
  EXPECT_EQ(find(done, 3)->res, -ECANCELED);
  EXPECT_EQ(find(done, 4)->res, 0);
  loop.cancel(s.a, 3, 5);  // nothing pending now
  done = next(loop);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].res, -ENOENT);
  // A cancelled receive no longer takes what arrives.
  ASSERT_EQ(write(s.b, "x", 1), 1);
  EXPECT_TRUE(next(loop, 100ms).empty());
}

TEST_P(loop_test, a_receive_with_a_timeout_ends_with_ecanceled) {
  io_loop& loop = this->loop();
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

TEST_P(loop_test, timeouts_complete_in_order_with_etime) {
  io_loop& loop = this->loop();
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

TEST_P(loop_test, kick_after_shutdown_ends_pending_operations) {
  io_loop& loop = this->loop();
  fds s;
  char buf[8];
  loop.recv(s.a, buf, sizeof buf, 1);
  ASSERT_GE(loop.wait(false), 0);
  ASSERT_TRUE(loop.take().empty());
  shutdown(s.a, SHUT_RDWR);
  loop.kick(s.a);
  auto done = next(loop);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].res, 0);  // end of stream
}

TEST_P(loop_test, a_forgotten_fd_number_serves_its_next_owner) {
  io_loop& loop = this->loop();
  char buf[8];
  int number;
  {
    fds s;
    number = s.a;
    loop.recv(s.a, buf, sizeof buf, 1);  // epoll: would block, so s.a is registered
    ASSERT_GE(loop.wait(false), 0);
    ASSERT_EQ(write(s.b, "a", 1), 1);
    auto done = next(loop);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].user_data, 1u);
    loop.forget(s.a);  // (its operations done, as the contract asks)
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

// forget() then close() closes the socket: what a loop that holds on to sockets must keep
// (an io_uring file table holds a reference on each file it names, so its slot must be
// cleared in forget(), or the peer would never see the end).
TEST_P(loop_test, a_socket_forgotten_then_closed_is_closed) {
  io_loop& loop = this->loop();
  fds s;
  char buf[8];
  loop.send(s.a, "hello", 5, 1);
  auto done = next(loop);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].res, 5);
  loop.forget(s.a);
  ASSERT_EQ(close(s.a), 0);
  s.a = -1;
  timeval limit{.tv_sec = 2, .tv_usec = 0};
  setsockopt(s.b, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  EXPECT_EQ(read(s.b, buf, sizeof buf), 5);
  EXPECT_EQ(read(s.b, buf, sizeof buf), 0) << "the peer sees the end, not a timeout";
}

// A worker accepts on two addresses (HTTP and HTTPS): each listener's connections
// complete with its own user_data, and cancelling one leaves the other accepting.
TEST_P(loop_test, accepts_on_two_listeners_apart) {
  io_loop& loop = this->loop();
  sockaddr_in at_a{}, at_b{};
  int a = loopback_listener(at_a), b = loopback_listener(at_b);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  loop.accept(a, 5);
  loop.accept(b, 7);
  int ca = connected_to(at_a), cb = connected_to(at_b);
  std::vector<completion> accepted;
  auto until = std::chrono::steady_clock::now() + 2s;
  while (accepted.size() < 2 && std::chrono::steady_clock::now() < until)
    for (const completion& c : next(loop, 200ms)) accepted.push_back(c);
  ASSERT_EQ(accepted.size(), 2u);
  ASSERT_TRUE(find(accepted, 5) && find(accepted, 7));
  for (const completion& c : accepted) close(c.res);
  loop.cancel(a, 5, 6);
  ASSERT_EQ(gather(loop, 2).size(), 2u);
  int late = connected_to(at_b);
  auto done = next(loop, 1s);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].user_data, 7u);
  close(done[0].res);
  loop.cancel(b, 7, 8);
  gather(loop, 2);
  for (int fd : {ca, cb, late, a, b}) close(fd);
}

TEST_P(loop_test, accepts_each_connection_until_cancelled) {
  io_loop& loop = this->loop();
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
    EXPECT_TRUE(c.flags & completion::more);
    close(c.res);
  }
  loop.cancel(listener, 5, 6);
  auto done = gather(loop, 2);
  ASSERT_EQ(done.size(), 2u);
  ASSERT_TRUE(find(done, 5) && find(done, 6));
  EXPECT_EQ(find(done, 5)->res, -ECANCELED);
  EXPECT_FALSE(find(done, 5)->flags & completion::more);
  int late = connected_to(at);
  ASSERT_GE(late, 0);
  EXPECT_TRUE(next(loop, 100ms).empty());
  close(late);
  for (int fd : clients) close(fd);
  close(listener);
}

TEST_P(loop_test, out_of_fds_ends_accepting_with_the_error_until_asked_again) {
  io_loop& loop = this->loop();
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
  EXPECT_FALSE(done[0].flags & completion::more);
  EXPECT_TRUE(next(loop, 100ms).empty()) << "no ready loop while stopped";
  loop.accept(listener, 5);
  done = next(loop);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_GE(done[0].res, 0);
  close(done[0].res);
  close(client);
  close(listener);
}

TEST_P(loop_test, a_zero_copy_send_completes_then_notifies) {
  io_loop& loop = this->loop();
  sockaddr_in at{};
  int listener = loopback_listener(at);
  ASSERT_GE(listener, 0);
  int out = connected_to(at);
  int in = accept(listener, nullptr, nullptr);
  ASSERT_GE(in, 0);
  std::string data(16384, 'z');
  iovec iov{data.data(), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  loop.send_zc(out, &msg, nullptr, 8);
  auto done = gather(loop, 2);
  ASSERT_FALSE(done.empty());
  if (done[0].res == -EINVAL || done[0].res == -EOPNOTSUPP)
    GTEST_SKIP() << "this kernel has no zero-copy send";
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].user_data, 8u);
  EXPECT_EQ(done[0].res, 16384);
  EXPECT_EQ(done[0].flags, completion::more);  // a notification follows
  EXPECT_EQ(done[1].user_data, 8u);
  EXPECT_TRUE(done[1].flags & completion::notif);
  EXPECT_FALSE(done[1].flags & completion::more);
  std::string got(data.size(), '\0');
  EXPECT_EQ(recv(in, got.data(), got.size(), MSG_WAITALL), 16384);
  EXPECT_EQ(got, data);
  close(in);
  close(out);
  close(listener);
}

}  // namespace
}  // namespace gordo
