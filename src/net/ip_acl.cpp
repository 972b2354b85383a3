#include "gordo/net/ip_acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace gordo {

cidr cidr::parse(std::string_view text) {
  cidr out;
  size_t slash = text.find('/');
  std::string host(text.substr(0, slash));
  if (inet_pton(AF_INET, host.c_str(), out.bytes.data()) == 1) {
    out.v4 = true;
    out.prefix = 32;
  } else if (inet_pton(AF_INET6, host.c_str(), out.bytes.data()) == 1) {
    out.v4 = false;
    out.prefix = 128;
  } else {
    throw std::invalid_argument("'" + std::string(text) + "' is not an IP address or CIDR range");
  }
  if (slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    unsigned prefix = 0;
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() ||
        prefix > out.prefix)
      throw std::invalid_argument("'" + std::string(text) + "' has a bad prefix length");
    out.prefix = prefix;
  }
  return out;
}

bool cidr::contains(const cidr& a) const {
  if (a.v4 != v4) return false;
  unsigned whole = prefix / 8, rest = prefix % 8;
  if (std::memcmp(bytes.data(), a.bytes.data(), whole) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (bytes[whole] & mask) == (a.bytes[whole] & mask);
}

std::string cidr::address() const {
  char text[INET6_ADDRSTRLEN] = "";
  inet_ntop(v4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof text);
  return text;
}

bool peer_cidr(const sockaddr_storage& peer, cidr& out) {
  out = cidr{};
  if (peer.ss_family == AF_INET) {
    std::memcpy(out.bytes.data(), &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, 4);
    return true;
  }
  if (peer.ss_family != AF_INET6) return false;
  const auto& a6 = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&a6)) {
    std::memcpy(out.bytes.data(), a6.s6_addr + 12, 4);
    return true;
  }
  std::memcpy(out.bytes.data(), a6.s6_addr, 16);
  out.v4 = false;
  out.prefix = 128;
  return true;
}

bool ip_acl::permits(const cidr& a) const {
  for (const cidr& d : deny)
    if (d.contains(a)) return false;
  if (allow.empty()) return true;
  for (const cidr& ok : allow)
    if (ok.contains(a)) return true;
  return false;
}

std::vector<cidr> ip_acl::parse_list(std::string_view text) {
  std::vector<cidr> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find_first_of(", \t", i);
    if (end == std::string_view::npos) end = text.size();
    if (end > i) out.push_back(cidr::parse(text.substr(i, end - i)));
    i = end + 1;
  }
  return out;
}

}  // namespace gordo
