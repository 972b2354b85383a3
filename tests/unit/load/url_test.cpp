#include "load/url.h"

#include <gtest/gtest.h>

namespace gordo::load {
namespace {

TEST(parse_url, host_port_path) {
  auto u = parse_url("http://127.0.0.1:8080/live.ts");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/live.ts");
}

TEST(parse_url, defaults_and_ipv6) {
  auto u = parse_url("http://example.org");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->path, "/");
  auto v6 = parse_url("http://[::1]:9000/a");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9000);
}

TEST(parse_url, https_defaults_to_443) {
  auto u = parse_url("https://example.org/live.ts");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(host_header(*u), "example.org");
  auto p = parse_url("https://127.0.0.1:8443/x");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->port, 8443);
  EXPECT_EQ(host_header(*p), "127.0.0.1:8443");
  EXPECT_FALSE(parse_url("http://a/")->https);
}

TEST(parse_url, rejects_what_it_cannot_view) {
  for (const char* bad :
       {"ftp://a/", "httpx://a/", "a:80/x", "http://", "http://:80/", "http://a:0/",
        "http://a:99999/", "http://a:/", "http://[::1/", "http://[::1]x/"})
    EXPECT_FALSE(parse_url(bad)) << bad;
}

}  // namespace
}  // namespace gordo::load
