// The one kind of URL gordo-load views: http://HOST[:PORT]/PATH.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gordo::load {

struct url {
  std::string host;  // without brackets for IPv6
  uint16_t port = 80;
  std::string path = "/";
};

std::optional<url> parse_url(std::string_view text);

}  // namespace gordo::load
