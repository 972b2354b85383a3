#include "gordo/net/ip_acl.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace gordo {
namespace {

cidr at(const char* text) {
  return cidr::parse(text);
}

TEST(cidr, ranges_of_both_families) {
  EXPECT_TRUE(at("10.0.0.0/8").contains(at("10.200.3.4")));
  EXPECT_FALSE(at("10.0.0.0/8").contains(at("11.0.0.1")));
  EXPECT_TRUE(at("192.0.2.128/25").contains(at("192.0.2.200")));
  EXPECT_FALSE(at("192.0.2.128/25").contains(at("192.0.2.127")));
  EXPECT_TRUE(at("0.0.0.0/0").contains(at("203.0.113.9")));
  EXPECT_TRUE(at("2001:db8::/32").contains(at("2001:db8:ffff::1")));
  EXPECT_FALSE(at("2001:db8::/32").contains(at("2001:db9::1")));
  EXPECT_FALSE(at("::/0").contains(at("127.0.0.1"))) << "families never match each other";
  EXPECT_TRUE(at("127.0.0.1").contains(at("127.0.0.1")));
  EXPECT_EQ(at("2001:db8::1").address(), "2001:db8::1");
  for (const char* bad :
       {"", "10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "10.0.0.0/x", "host"})
    EXPECT_THROW(cidr::parse(bad), std::invalid_argument) << bad;
}

TEST(ip_acl, deny_wins_then_allow_must_match) {
  ip_acl acl;
  acl.allow = ip_acl::parse_list("10.0.0.0/8, 2001:db8::/32");
  acl.deny = ip_acl::parse_list("10.6.6.0/24");
  EXPECT_TRUE(acl.permits(at("10.1.2.3")));
  EXPECT_FALSE(acl.permits(at("10.6.6.6")));
  EXPECT_FALSE(acl.permits(at("192.0.2.1")));
  EXPECT_TRUE(acl.permits(at("2001:db8::5")));
  ip_acl deny_only;
  deny_only.deny = ip_acl::parse_list("192.0.2.0/24 198.51.100.7");
  EXPECT_TRUE(deny_only.permits(at("203.0.113.1")));
  EXPECT_FALSE(deny_only.permits(at("198.51.100.7")));
  EXPECT_THROW(ip_acl::parse_list("10.0.0.0/8,bogus"), std::invalid_argument);
}

TEST(peer_cidr, ipv4_mapped_ipv6_clients_are_ipv4) {
  sockaddr_storage ss{};
  auto& a6 = reinterpret_cast<sockaddr_in6&>(ss);
  a6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:192.0.2.7", &a6.sin6_addr);
  cidr c;
  ASSERT_TRUE(peer_cidr(ss, c));
  EXPECT_TRUE(c.v4);
  EXPECT_EQ(c.address(), "192.0.2.7");
  EXPECT_TRUE(at("192.0.2.0/24").contains(c));
}

}  // namespace
}  // namespace gordo
