// wake_fd: a wake-up makes the eventfd readable; wake-ups before rearm() cost one write;
// after rearm() the next one writes again, from any thread.
#include "gordo/core/wake_fd.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace gordo {
namespace {

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

// The eventfd's counter (what the worker reads), which resets it to zero.
uint64_t take(int fd) {
  uint64_t n = 0;
  EXPECT_EQ(read(fd, &n, sizeof n), static_cast<ssize_t>(sizeof n));
  return n;
}

TEST(wake_fd, starts_quiet_and_close_on_exec) {
  wake_fd w;
  ASSERT_GE(w.fd(), 0);
  EXPECT_FALSE(readable(w.fd()));
  EXPECT_TRUE(fcntl(w.fd(), F_GETFD) & FD_CLOEXEC);  // not inherited by ffmpeg helpers or reexecs
}

TEST(wake_fd, wakes_coalesce_until_rearmed) {
  wake_fd w;
  w.wake();
  EXPECT_TRUE(readable(w.fd()));
  w.wake();
  w.wake();
  EXPECT_EQ(take(w.fd()), 1u);  // three wake-ups, one write
  // Not rearmed: the worker has not looked yet, so a pending wake-up still covers it.
  w.wake();
  EXPECT_FALSE(readable(w.fd()));
  w.rearm();
  w.wake();
  EXPECT_TRUE(readable(w.fd()));
  EXPECT_EQ(take(w.fd()), 1u);
}

TEST(wake_fd, many_threads_waking_write_once) {
  wake_fd w;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&w] {
      for (int i = 0; i < 10000; ++i) w.wake();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(take(w.fd()), 1u);
}

TEST(wake_fd, every_wake_from_another_thread_after_rearm_is_seen) {
  // The worker's side: rearm, then look. Each wake-up after a rearm must leave the fd
  // readable, or the worker would sleep with work queued.
  wake_fd w;
  for (int i = 0; i < 100; ++i) {
    w.rearm();
    std::thread waker([&w] { w.wake(); });
    waker.join();
    ASSERT_TRUE(readable(w.fd())) << "round " << i;
    take(w.fd());
  }
}

}  // namespace
}  // namespace gordo
