#include "load/url.h"

#include <netdb.h>

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

}  // namespace gordo::load
