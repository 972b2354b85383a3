// IP allow and deny lists: "10.0.0.0/8, 192.0.2.7, 2001:db8::/32". IPv4 clients reaching
// an IPv6 socket (::ffff:a.b.c.d) match IPv4 entries.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace gordo {

struct cidr {
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4
  bool v4 = true;
  unsigned prefix = 32;

  // "192.0.2.0/24", "2001:db8::/32" or a single address. Throws std::invalid_argument.
  static cidr parse(std::string_view text);
  bool contains(const cidr& address) const;
  std::string address() const;  // "192.0.2.7", "2001:db8::1" (without the prefix)
};

// The client's address as a /32 or /128; false for other families.
bool peer_cidr(const sockaddr_storage& peer, cidr& out);

struct ip_acl {
  std::vector<cidr> allow;  // empty: everyone not denied
  std::vector<cidr> deny;

  bool empty() const { return allow.empty() && deny.empty(); }
  // Denied when a deny entry matches, or when there are allow entries and none matches.
  bool permits(const cidr& address) const;

  // Comma- or space-separated entries. Throws std::invalid_argument naming the bad one.
  static std::vector<cidr> parse_list(std::string_view text);
};

}  // namespace gordo
