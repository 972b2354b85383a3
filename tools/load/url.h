// The addresses gordo-load uses: the one kind of URL it views, http://HOST[:PORT]/PATH or
// https:// (--tls), and the IPv4 network its viewers connect from (--source CIDR).
#pragma once

#include <netinet/in.h>
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

// --source CIDR: viewer j binds, before it connects, to the j-th host address of an IPv4
// network, its own source address (with its own ephemeral ports: one address has about
// 28,000 for connections to one server port). The host addresses are those of Python's
// ipaddress.hosts(): network+1 to broadcast-1; for a /31 both addresses (RFC 3021) and for
// a /32 the one. So in 198.19.16.0/21 viewer 0 is 198.19.16.1, viewer 1 198.19.16.2.
struct source_net {
  uint32_t network = 0;  // host byte order, host bits clear
  unsigned prefix = 32;
  uint64_t hosts() const;
  // The j-th host address (j < hosts()), ready for bind() with port 0.
  sockaddr_in host(uint64_t j) const;
};

// "A.B.C.D/N", N from 0 to 32, strictly: host bits set (198.19.16.5/21) are refused rather
// than guessed at (is that the network, or where to start?). nullopt with `error` saying
// what was wrong.
std::optional<source_net> parse_source(std::string_view text, std::string& error);

// Binds `fd` to `net`'s j-th host address with IP_BIND_ADDRESS_NO_PORT, so that the port is
// chosen at connect() (unique per destination, not per source address). 0 or -errno.
int bind_source(int fd, const source_net& net, uint64_t j);

// Whether viewers from `source` (if given) can reach `addr`, the resolved `u`: --source is
// IPv4. False with `error` saying so.
bool source_fits(const std::optional<source_net>& source, const sockaddr_storage& addr,
                 const url& u, std::string& error);

}  // namespace gordo::load
