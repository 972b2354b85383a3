#include "gordo/server/admission.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace gordo {
namespace {

class admission_test : public ::testing::Test {
 protected:
  mount_table mounts_;
  mount& add(uint64_t limit) {
    auto m = std::make_unique<mount>();
    m->client_limit = limit;
    m->out = std::make_unique<stream>(std::vector<wake_fd*>{}, 4);
    return mounts_.add(std::move(m));
  }
};

TEST_F(admission_test, global_limit) {
  mount& m = add(0);
  admission a({.clients = 2, .bandwidth_bps = 0, .redirect = {}});
  EXPECT_TRUE(a.admit(m));
  EXPECT_TRUE(a.admit(m));
  EXPECT_FALSE(a.admit(m));
  EXPECT_EQ(a.viewers(), 2u);  // a refusal counts nothing
  a.leave(m);
  EXPECT_TRUE(a.admit(m));
}

TEST_F(admission_test, per_mount_limit_leaves_other_mounts_alone) {
  mount& small = add(1);
  mount& big = add(0);
  admission a({});
  EXPECT_TRUE(a.admit(small));
  EXPECT_FALSE(a.admit(small));
  EXPECT_TRUE(a.admit(big));
  EXPECT_EQ(small.viewers.load(), 1u);
  EXPECT_EQ(big.viewers.load(), 1u);
  EXPECT_EQ(small.viewers_peak.load(), 1u);
}

TEST_F(admission_test, new_limits_apply_to_the_next_viewer) {
  mount& m = add(0);
  admission a({.clients = 1, .bandwidth_bps = 0, .redirect = {}});
  EXPECT_TRUE(a.admit(m));
  EXPECT_FALSE(a.admit(m));
  a.set_limits(2, 0);
  EXPECT_TRUE(a.admit(m));
  m.client_limit = 2;  // a reload lowering a mount's limit below its viewers
  EXPECT_FALSE(a.admit(m));
}

TEST_F(admission_test, concurrent_admits_never_exceed_the_limit) {
  mount& m = add(0);
  admission a({.clients = 100, .bandwidth_bps = 0, .redirect = {}});
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) admitted += a.admit(m);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 100);
  EXPECT_EQ(a.viewers(), 100u);
}

}  // namespace
}  // namespace gordo
