// Listen addresses as users write them: "8080", ":8080", "127.0.0.1:8080", "[::]:8080".
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gordo {

struct address {
  sockaddr_storage storage{};
  socklen_t len = 0;

  int family() const { return storage.ss_family; }
  uint16_t port() const;
  void set_port(uint16_t port);
  bool is_any() const;       // 0.0.0.0 or ::
  bool is_loopback() const;  // 127.0.0.0/8 or ::1
  std::string host() const;  // numeric, IPv6 without brackets
  // "host:port" with IPv6 in brackets.
  std::string to_string() const;
  // How a player on this machine reaches it: the wildcard becomes loopback.
  std::string url_host() const;

  // nullopt when `text` is not a numeric address with a port.
  static std::optional<address> parse(std::string_view text);
};

// The host a connected socket's peer is on, for logs: "192.0.2.7", "2001:db8::7"; "-" when
// it cannot be had.
std::string peer_address(int fd);

}  // namespace gordo
