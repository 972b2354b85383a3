// The admin endpoint's cache of verified credentials: hits only for the exact user and
// password, for ttl, one entry per user, forgotten on clear().
#include "gordo/ops/credential_cache.h"

#include <gtest/gtest.h>

namespace gordo {
namespace {

using namespace std::chrono_literals;
using clock = credential_cache::clock;

TEST(credential_cache, hits_only_the_verified_user_and_password) {
  credential_cache cache(60s);
  clock::time_point t0 = clock::now();
  EXPECT_FALSE(cache.contains("ops", "scrape me", t0));
  cache.insert("ops", "scrape me", t0);
  EXPECT_TRUE(cache.contains("ops", "scrape me", t0 + 1s));
  EXPECT_FALSE(cache.contains("ops", "scrape me ", t0 + 1s));
  EXPECT_FALSE(cache.contains("ops", "", t0 + 1s));
  EXPECT_FALSE(cache.contains("ops2", "scrape me", t0 + 1s));
  // "user:password" is what is hashed; a colon moved between them is another credential.
  EXPECT_FALSE(cache.contains("op", "s:scrape me", t0 + 1s));
}

TEST(credential_cache, entries_expire_after_ttl) {
  credential_cache cache(60s);
  clock::time_point t0 = clock::now();
  cache.insert("ops", "scrape me", t0);
  EXPECT_TRUE(cache.contains("ops", "scrape me", t0 + 59s));
  EXPECT_FALSE(cache.contains("ops", "scrape me", t0 + 60s));
  EXPECT_EQ(cache.size(), 0u);                 // an expired entry goes when it is found expired
  cache.insert("ops", "scrape me", t0 + 61s);  // verified again: good for another ttl
  EXPECT_TRUE(cache.contains("ops", "scrape me", t0 + 100s));
}

TEST(credential_cache, one_entry_per_user_and_clear_forgets_all) {
  credential_cache cache(60s);
  clock::time_point t0 = clock::now();
  cache.insert("ops", "old password", t0);
  cache.insert("ops", "new password", t0);
  cache.insert("grafana", "x", t0);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.contains("ops", "old password", t0));
  EXPECT_TRUE(cache.contains("ops", "new password", t0));
  cache.clear();
  EXPECT_FALSE(cache.contains("ops", "new password", t0));
  EXPECT_FALSE(cache.contains("grafana", "x", t0));
}

}  // namespace
}  // namespace gordo
