// An HTTP/1.x request head parsed in place: every field is a view into the bytes the
// client sent, so parsing allocates nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gordo {

struct http_header {
  std::string_view name;
  std::string_view value;
};

struct http_request {
  static constexpr size_t max_headers = 32;
  static constexpr size_t max_request_line = 4096;

  std::string_view method;
  std::string_view target;  // as sent: path and query
  std::string_view path;
  std::string_view query;  // after '?', without it
  int minor_version = 1;   // HTTP/1.<minor>
  std::array<http_header, max_headers> headers{};
  size_t header_count = 0;
  size_t head_length = 0;  // bytes up to and including the blank line
  // Content-Length, when one was sent: 1*DIGIT up to 2^63 - 1 (anything else is refused).
  std::optional<uint64_t> content_length;
  bool transfer_encoding = false;  // a Transfer-Encoding was sent (the body is framed by it)
  // Whether the client wants the connection kept after the response: RFC 9112 §9.3, from
  // the version and the tokens of every Connection line.
  bool keep_alive = false;

  bool has_body() const { return transfer_encoding || content_length.value_or(0) > 0; }

  // The value of the first header named `name` (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
};

enum class http_parse {
  complete,
  incomplete,       // need more bytes
  bad_request,      // 400: malformed
  too_many_fields,  // 431: more than max_headers
  bad_version,      // 505: well-formed, but not HTTP/1.x
  uri_too_long,     // 414: a request line over max_request_line
  bad_host,         // 400: HTTP/1.1 without Host, two Hosts, or one that is not host[:port]
  bad_length,       // 400: a Content-Length that is not one decimal number
};

// What a refusal tells the client: which rule the request broke and what to send instead.
std::string_view http_parse_error(http_parse result);

// Parses the request head at the start of `buf` (line ends CRLF, or bare LF, which
// RFC 9112 §2.2 lets a server accept). Strict where leniency lets two parsers disagree
// (request smuggling): one space between the request line's parts, origin-form targets
// only, no whitespace before a field's colon, no line folding, no control characters in
// values, at most one Content-Length and one Transfer-Encoding. RFC 9112 §3.2: exactly
// one Host in HTTP/1.1 (HTTP/1.0 may omit it), never two.
http_parse parse_http_request(std::string_view buf, http_request& out);

// Whether a comma-separated header value (Connection: "keep-alive, Upgrade") lists
// `token`, compared case-insensitively as RFC 9110 §5.6.1 and §7.6.1 ask.
bool has_token(std::string_view list, std::string_view token);

// The password of an "Authorization: Basic BASE64(user:password)" header (any user, as
// Icecast's "source"); empty when the header is missing or malformed.
std::string basic_password(std::string_view authorization);
// The decoded "user:password" of such a header; empty when missing or malformed.
std::string basic_credentials(std::string_view authorization);

// The value of `name` in a query string ("a=1&b=x%20y+z"), percent- and '+'-decoded;
// nullopt when absent or badly encoded.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace gordo
