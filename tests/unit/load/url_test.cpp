#include "load/url.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

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

std::string address(const sockaddr_in& a) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
  return buf;
}

source_net source(const char* text) {
  std::string error;
  auto net = parse_source(text, error);
  EXPECT_TRUE(net) << text << ": " << error;
  return net.value_or(source_net{});
}

TEST(parse_source, viewer_j_takes_host_address_j_plus_1) {
  source_net net = source("198.19.16.0/21");
  EXPECT_EQ(net.prefix, 21u);
  EXPECT_EQ(net.hosts(), 2046u);
  EXPECT_EQ(address(net.host(0)), "198.19.16.1");
  EXPECT_EQ(address(net.host(1)), "198.19.16.2");
  EXPECT_EQ(address(net.host(254)), "198.19.16.255");
  EXPECT_EQ(address(net.host(255)), "198.19.17.0");  // inside a /21, an address like any
  EXPECT_EQ(address(net.host(2045)), "198.19.23.254");
  EXPECT_EQ(net.host(0).sin_family, AF_INET);
  EXPECT_EQ(net.host(0).sin_port, 0);  // the kernel chooses it at connect()
}

TEST(parse_source, host_counts) {
  EXPECT_EQ(source("127.7.0.0/24").hosts(), 254u);
  EXPECT_EQ(source("127.1.0.0/16").hosts(), 65534u);
  EXPECT_EQ(source("127.0.0.0/8").hosts(), 16777214u);
  EXPECT_EQ(source("127.7.0.0/30").hosts(), 2u);
  EXPECT_EQ(address(source("127.7.0.0/30").host(1)), "127.7.0.2");
  EXPECT_EQ(source("0.0.0.0/0").hosts(), 4294967294u);
}

TEST(parse_source, a_31_has_two_hosts_and_a_32_one) {
  source_net p2p = source("10.0.0.6/31");  // RFC 3021: no network or broadcast address
  EXPECT_EQ(p2p.hosts(), 2u);
  EXPECT_EQ(address(p2p.host(0)), "10.0.0.6");
  EXPECT_EQ(address(p2p.host(1)), "10.0.0.7");
  source_net one = source("10.0.0.9/32");
  EXPECT_EQ(one.hosts(), 1u);
  EXPECT_EQ(address(one.host(0)), "10.0.0.9");
}

TEST(parse_source, rejects_what_is_not_an_ipv4_network) {
  for (const char* bad :
       {"", "/", "127.0.0.0", "127.0.0.0/", "/24", "127.0.0.0/33", "127.0.0.0/-1", "127.0.0.0/+8",
        "127.0.0.0/24x", "127.0.0.0/ 24", "127.0.0.0/024a", "127.0.0/24", "127.0.0.0.0/24",
        "256.0.0.0/8", "localhost/24", "::1/128", "fd00::/64", "127.0.0.0/24/8"}) {
    std::string error;
    EXPECT_FALSE(parse_source(bad, error)) << bad;
    EXPECT_NE(error.find("--source"), std::string::npos) << bad << ": " << error;
  }
  std::string error;
  EXPECT_FALSE(parse_source("::1/128", error));
  EXPECT_NE(error.find("not an IPv4 address"), std::string::npos) << error;
  EXPECT_FALSE(parse_source("127.0.0.0/33", error));
  EXPECT_NE(error.find("0 to 32"), std::string::npos) << error;
}

TEST(parse_source, host_bits_set_are_refused_and_the_network_is_named) {
  std::string error;
  EXPECT_FALSE(parse_source("198.19.16.5/21", error));
  EXPECT_NE(error.find("host bits set"), std::string::npos) << error;
  EXPECT_NE(error.find("198.19.16.0/21"), std::string::npos) << error;
  EXPECT_FALSE(parse_source("10.0.0.7/31", error));
  EXPECT_NE(error.find("10.0.0.6/31"), std::string::npos) << error;
  EXPECT_FALSE(parse_source("1.0.0.0/0", error));
  EXPECT_NE(error.find("0.0.0.0/0"), std::string::npos) << error;
}

}  // namespace
}  // namespace gordo::load
