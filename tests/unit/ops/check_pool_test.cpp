// The admin endpoint's password-check pool: checks run on its threads, one address has
// at most per_address of them, the total is capped, and a slow check on one thread does
// not hold up another's.
#include "gordo/ops/check_pool.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace gordo {
namespace {

using namespace std::chrono_literals;

// Waits (up to a generous deadline) for results: the fd readable, then a take. The fd may
// be readable with nothing to take (a result's wake-up that an earlier take() already
// collected), as the admin loop also sees; then it waits again.
std::vector<check_pool::result> wait_take(check_pool& pool) {
  auto until = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    pollfd p{.fd = pool.fd(), .events = POLLIN, .revents = 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) != 1) {
      ADD_FAILURE() << "no result within 10 s";
      return {};
    }
    if (auto r = pool.take(); !r.empty()) return r;
  }
}

TEST(check_pool, checks_run_on_the_pools_threads_and_report_through_the_fd) {
  check_pool pool(2, 1, 16);
  std::thread::id ran_on;
  ASSERT_EQ(pool.submit(7, "a",
                        [&] {
                          ran_on = std::this_thread::get_id();
                          return true;
                        }),
            check_pool::admit::queued);
  auto r = wait_take(pool);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, 7u);
  EXPECT_TRUE(r[0].ok);
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_EQ(pool.pending(), 0u);
  EXPECT_TRUE(pool.take().empty());  // nothing twice, and take() never blocks
}

TEST(check_pool, one_address_waits_for_its_own_check_while_others_go_past) {
  check_pool pool(2, 1, 16);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  // The attacker's check holds one thread until released.
  ASSERT_EQ(pool.submit(1, "attacker",
                        [released] {
                          released.wait();
                          return false;
                        }),
            check_pool::admit::queued);
  EXPECT_EQ(pool.submit(2, "attacker", [] { return false; }), check_pool::admit::address_busy);
  EXPECT_EQ(pool.submit(3, "attacker", [] { return false; }), check_pool::admit::address_busy);
  // Someone else's check runs on the other thread and finishes while the first is stuck.
  ASSERT_EQ(pool.submit(4, "operator", [] { return true; }), check_pool::admit::queued);
  auto r = wait_take(pool);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, 4u);
  EXPECT_TRUE(r[0].ok);
  EXPECT_EQ(pool.pending(), 1u);
  release.set_value();
  r = wait_take(pool);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, 1u);
  EXPECT_FALSE(r[0].ok);
  // Its check done, the address may have another.
  EXPECT_EQ(pool.submit(5, "attacker", [] { return false; }), check_pool::admit::queued);
  EXPECT_EQ(wait_take(pool).size(), 1u);
}

TEST(check_pool, at_most_max_pending_in_all) {
  check_pool pool(1, 1, 3);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  for (uint64_t i = 0; i < 3; ++i)
    ASSERT_EQ(pool.submit(i, "addr" + std::to_string(i),
                          [released] {
                            released.wait();
                            return true;
                          }),
              check_pool::admit::queued);
  EXPECT_EQ(pool.submit(9, "addr9", [] { return true; }), check_pool::admit::full);
  EXPECT_EQ(pool.pending(), 3u);
  release.set_value();
  size_t got = 0;
  while (got < 3) got += wait_take(pool).size();
  EXPECT_EQ(pool.pending(), 0u);
  EXPECT_EQ(pool.submit(9, "addr9", [] { return true; }), check_pool::admit::queued);
  EXPECT_EQ(wait_take(pool).size(), 1u);
}

TEST(check_pool, destroying_waits_for_the_running_check) {
  std::atomic<bool> finished{false};
  std::promise<void> started;
  {
    check_pool pool(1, 1, 16);
    pool.submit(1, "a", [&] {
      started.set_value();
      std::this_thread::sleep_for(50ms);  // however long: the destructor waits for it
      finished = true;
      return true;
    });
    pool.submit(2, "b", [] { return true; });  // queued behind it: dropped or run, either is fine
    started.get_future().wait();
  }
  EXPECT_TRUE(finished.load());
}

}  // namespace
}  // namespace gordo
