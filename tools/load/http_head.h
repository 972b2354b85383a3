// The head of an HTTP/1.1 response, as a keep-alive client needs it: the status, how the
// body ends (Content-Length, chunked, or the connection's close) and whether the
// connection may carry the next request.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace gordo::load {

struct response_head {
  int status = 0;
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool close = false;  // Connection: close, or HTTP/1.0 without keep-alive
};

// `head`: the bytes up to and including the blank line. nullopt when it is no response.
std::optional<response_head> parse_response_head(std::string_view head);

}  // namespace gordo::load
