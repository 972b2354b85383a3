#include "gordo/ops/relay.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace gordo {
namespace {

const char* stats = R"({"version": "0.1.0", "listen": "0.0.0.0:8080",
  "mounts": [{"path": "/a.ts"}, {"path": "/b.flv"}, {"path": "bad"}, {"path": "/c d.ts"},
             {"nopath": 1}]})";

TEST(parse_origin_stats, a_wildcard_listen_is_reached_at_the_stats_host) {
  origin_list o = parse_origin_stats("http://user:secret@origin.example:8081/stats", stats);
  EXPECT_EQ(o.base, "http://origin.example:8080");                    // no password in viewer URLs
  EXPECT_EQ(o.paths, (std::vector<std::string>{"/a.ts", "/b.flv"}));  // bad paths left out
  EXPECT_EQ(parse_origin_stats("http://[2001:db8::1]:8081/stats", stats).base,
            "http://[2001:db8::1]:8080");
}

TEST(parse_origin_stats, a_specific_listen_address_is_used_as_it_is) {
  origin_list o = parse_origin_stats("http://127.0.0.1:8081/stats",
                                     R"({"listen": "10.0.0.5:9000", "mounts": []})");
  EXPECT_EQ(o.base, "http://10.0.0.5:9000");
  EXPECT_TRUE(o.paths.empty());
}

TEST(parse_origin_stats, not_a_gordo_says_so) {
  EXPECT_THROW(parse_origin_stats("http://o/stats", "<html>"), std::runtime_error);
  EXPECT_THROW(parse_origin_stats("http://o/stats", R"({"mounts": []})"), std::runtime_error);
  EXPECT_THROW(parse_origin_stats("http://o/stats", R"({"listen": "nowhere", "mounts": []})"),
               std::runtime_error);
}

TEST(relay_merge, mounts_of_any_origin_from_every_origin_in_order) {
  std::vector<std::string> bases{"http://o1:8080", "http://o2:8080"};
  std::vector<std::optional<origin_list>> answers{origin_list{bases[0], {"/a.ts", "/b.ts"}},
                                                  origin_list{bases[1], {"/a.ts", "/c.ts"}}};
  auto m = relay::merge(answers, bases, {});
  ASSERT_TRUE(m);
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[0], (relay::mount{"/a.ts", {"http://o1:8080/a.ts", "http://o2:8080/a.ts"}}));
  EXPECT_EQ((*m)[2].path, "/c.ts");
  EXPECT_EQ((*m)[2].urls.front(), "http://o1:8080/c.ts");  // the primary first, always
}

TEST(relay_merge, an_origin_down_leaves_the_others_mounts_and_urls_stay) {
  std::vector<std::string> bases{"http://o1:8080", "http://o2:8080"};
  std::map<std::string, relay::mount> before;
  before["/a.ts"] = {"/a.ts", {"http://o1:8080/a.ts", "http://o2:8080/a.ts"}};
  before["/only1.ts"] = {"/only1.ts", {"http://o1:8080/only1.ts", "http://o2:8080/only1.ts"}};
  // The primary is gone: what only it listed goes; the rest keep their URLs (primary first).
  auto m = relay::merge({std::nullopt, origin_list{bases[1], {"/a.ts"}}}, bases, before);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0], before["/a.ts"]);
  // No origin answers: no change at all (the sources retry on their own).
  EXPECT_FALSE(relay::merge({std::nullopt, std::nullopt}, bases, before));
}

TEST(relay_merge, an_origin_never_seen_is_no_alternate) {
  auto m = relay::merge({origin_list{"http://o1:8080", {"/a.ts"}}, std::nullopt},
                        {"http://o1:8080", ""}, {});
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)[0].urls, std::vector<std::string>{"http://o1:8080/a.ts"});
}

}  // namespace
}  // namespace gordo
