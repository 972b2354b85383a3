#include "gordo/ops/relay.h"

#include "gordo/media/input.h"

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
  auto m = relay::merge(answers, bases);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[0], (relay::mount{"/a.ts", {"http://o1:8080/a.ts", "http://o2:8080/a.ts"}}));
  EXPECT_EQ((*m)[2].path, "/c.ts");
  EXPECT_EQ((*m)[2].urls.front(), "http://o1:8080/c.ts");  // the primary first, always
}

TEST(relay_merge, an_origin_down_leaves_the_others_mounts) {
  std::vector<std::string> bases{"http://o1:8080", "http://o2:8080"};
  // The primary is gone: what only it listed goes; the rest keep both URLs, primary first.
  auto m = relay::merge({std::nullopt, origin_list{bases[1], {"/a.ts"}}}, bases);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0], (relay::mount{"/a.ts", {"http://o1:8080/a.ts", "http://o2:8080/a.ts"}}));
  // No origin answers: no change at all (the sources retry on their own).
  EXPECT_FALSE(relay::merge({std::nullopt, std::nullopt}, bases));
}

TEST(relay_merge, an_origin_seen_later_becomes_an_alternate) {
  auto before = relay::merge({origin_list{"http://o1:8080", {"/a.ts"}}, std::nullopt},
                             {"http://o1:8080", ""});
  ASSERT_TRUE(before);
  EXPECT_EQ((*before)[0].urls, std::vector<std::string>{"http://o1:8080/a.ts"});
  auto after =
      relay::merge({origin_list{"http://o1:8080", {"/a.ts"}}, origin_list{"http://o2:8080", {}}},
                   {"http://o1:8080", "http://o2:8080"});
  ASSERT_TRUE(after);
  EXPECT_EQ((*after)[0].urls,
            (std::vector<std::string>{"http://o1:8080/a.ts", "http://o2:8080/a.ts"}));
}

TEST(without_credentials, user_and_password_go) {
  EXPECT_EQ(without_credentials("http://u:p@o1:8080/a.ts"), "http://o1:8080/a.ts");
  EXPECT_EQ(without_credentials("http://o1:8080/a.ts?x=a@b"), "http://o1:8080/a.ts?x=a@b");
  EXPECT_EQ(without_credentials("/srv/file@2.ts"), "/srv/file@2.ts");
}

}  // namespace
}  // namespace gordo
