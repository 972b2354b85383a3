#include "load/url.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace gordo::load {

std::optional<url> parse_url(std::string_view text) {
  url u;
  if (text.substr(0, 7) == "http://") {
    text.remove_prefix(7);
  } else if (text.substr(0, 8) == "https://") {
    text.remove_prefix(8);
    u.https = true;
    u.port = 443;
  } else {
    return std::nullopt;
  }
  size_t slash = text.find('/');
  std::string_view authority = text.substr(0, slash);
  if (slash != std::string_view::npos) u.path = std::string(text.substr(slash));
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return std::nullopt;
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
      return std::nullopt;
    u.port = static_cast<uint16_t>(value);
  } else if (authority.back() == ':') {
    return std::nullopt;
  }
  return u;
}

std::string host_header(const url& u) {
  bool v6 = u.host.find(':') != std::string::npos;
  std::string host;
  if (v6) host.push_back('[');
  host.append(u.host);
  if (v6) host.push_back(']');
  if (u.port != (u.https ? 443 : 80)) host.append(":").append(std::to_string(u.port));
  return host;
}

bool resolve(const url& u, sockaddr_storage& addr, socklen_t& len, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int err = getaddrinfo(u.host.c_str(), std::to_string(u.port).c_str(), &hints, &res)) {
    error = "cannot resolve " + u.host + ": " + gai_strerror(err);
    return false;
  }
  std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  freeaddrinfo(res);
  return true;
}

uint64_t source_net::hosts() const {
  uint64_t size = uint64_t{1} << (32 - prefix);
  return size <= 2 ? size : size - 2;  // a /31 or /32 has no network or broadcast address
}

sockaddr_in source_net::host(uint64_t j) const {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(network + static_cast<uint32_t>(prefix >= 31 ? j : j + 1));
  return a;
}

std::optional<source_net> parse_source(std::string_view text, std::string& error) {
  std::string shown(text);
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    error = "--source " + shown + " is not an IPv4 CIDR: give ADDRESS/PREFIX, e.g. 198.19.16.0/21";
    return std::nullopt;
  }
  std::string address(text.substr(0, slash));
  std::string_view len = text.substr(slash + 1);
  in_addr a{};
  if (inet_pton(AF_INET, address.c_str(), &a) != 1) {
    error =
        "--source " + shown + ": '" + address + "' is not an IPv4 address (IPv6 is not supported)";
    return std::nullopt;
  }
  unsigned prefix = 0;
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
  if (len.empty() || ec != std::errc() || end != len.data() + len.size() || prefix > 32) {
    error = "--source " + shown + ": the prefix length is a number from 0 to 32";
    return std::nullopt;
  }
  source_net net;
  net.prefix = prefix;
  net.network = ntohl(a.s_addr);
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  if ((net.network & ~mask) != 0) {
    in_addr masked{htonl(net.network & mask)};
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &masked, buf, sizeof buf);
    error = "--source " + shown + " has host bits set: give the network, " + buf + "/" +
            std::to_string(prefix) + " (viewer j takes its host address j+1)";
    return std::nullopt;
  }
  return net;
}

bool source_fits(const std::optional<source_net>& source, const sockaddr_storage& addr,
                 const url& u, std::string& error) {
  if (!source || addr.ss_family == AF_INET) return true;
  error = "--source is an IPv4 network but " + u.host + " is not IPv4";
  return false;
}

int bind_source(int fd, const source_net& net, uint64_t j) {
  // Ignored where the kernel lacks it (before Linux 4.2): bind() then takes the port itself,
  // which is fine here, each viewer having an address of its own.
  int one = 1;
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_in a = net.host(j);
  return bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? 0 : -errno;
}

}  // namespace gordo::load
