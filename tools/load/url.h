// The one kind of URL gordo-load views: http://HOST[:PORT]/PATH, or https:// (--tls).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gordo::load {

struct url {
  std::string host;    // without brackets for IPv6
  uint16_t port = 80;  // 443 for https:// without a port
  bool https = false;
  std::string path = "/";
};

std::optional<url> parse_url(std::string_view text);

// The Host header for `u` as RFC 9110 §7.2 has it: an IPv6 address in brackets, the port
// unless it is the scheme's default (80, or 443 for https).
std::string host_header(const url& u);

// The first address getaddrinfo gives for u's host and port; false with `error` set when
// there is none.
bool resolve(const url& u, sockaddr_storage& addr, socklen_t& len, std::string& error);

}  // namespace gordo::load
