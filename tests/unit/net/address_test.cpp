#include "gordo/net/address.h"

#include <gtest/gtest.h>

namespace gordo {
namespace {

TEST(address, forms_users_write) {
  auto a = address::parse("8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "0.0.0.0:8080");
  EXPECT_TRUE(a->is_any());
  EXPECT_EQ(a->url_host(), "127.0.0.1");

  a = address::parse(":9000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "0.0.0.0:9000");

  a = address::parse("127.0.0.1:0");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port(), 0);
  EXPECT_FALSE(a->is_any());
  EXPECT_EQ(a->url_host(), "127.0.0.1");

  a = address::parse("[::1]:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family(), AF_INET6);
  EXPECT_EQ(a->to_string(), "[::1]:8080");
  EXPECT_EQ(a->url_host(), "[::1]");

  a = address::parse("[::]:80");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_any());
  EXPECT_EQ(a->url_host(), "[::1]");
}

TEST(address, rejects_what_is_not_a_numeric_address_and_port) {
  for (const char* bad : {"", ":", "host:80", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:80x",
                          "::1:80", "[::1]", "[::1]80", "[nope]:80", "1.2.3.4:-1"})
    EXPECT_FALSE(address::parse(bad)) << bad;
}

}  // namespace
}  // namespace gordo
