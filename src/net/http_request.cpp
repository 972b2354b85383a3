#include "gordo/net/http_request.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace gordo {

namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// Visible ASCII, no spaces: what an origin-form target may contain.
bool is_target_char(char c) {
  return c > 0x20 && c < 0x7f;
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

bool is_hex(char c) {
  return isxdigit(static_cast<unsigned char>(c)) != 0;
}

// RFC 3986 unreserved / sub-delims, the characters of a reg-name besides pct-encoded.
bool is_host_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~!$&'()*+,;=").find(c) != std::string_view::npos;
}

// RFC 9110 §7.2: Host = uri-host [ ":" port ]: an IP-literal in brackets, or an IPv4
// address or reg-name (percent-encoding allowed), and a port of digits. Empty is allowed
// (a target without authority).
bool is_host_value(std::string_view v) {
  std::string_view rest;
  if (!v.empty() && v.front() == '[') {
    size_t close = v.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    std::string_view literal = v.substr(1, close - 1);  // IPv6address / IPvFuture
    if (!std::all_of(literal.begin(), literal.end(),
                     [](char c) { return c == ':' || is_host_char(c); }))
      return false;
    rest = v.substr(close + 1);
  } else {
    size_t colon = v.find(':');
    std::string_view name = v.substr(0, colon);
    for (size_t i = 0; i < name.size(); ++i) {
      if (name[i] == '%') {
        if (i + 2 >= name.size() || !is_hex(name[i + 1]) || !is_hex(name[i + 2])) return false;
        i += 2;
      } else if (!is_host_char(name[i])) {
        return false;
      }
    }
    rest = colon == std::string_view::npos ? std::string_view() : v.substr(colon);
  }
  if (rest.empty()) return true;
  if (rest.front() != ':') return false;
  rest.remove_prefix(1);
  return std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// RFC 9110 §8.6: Content-Length = 1*DIGIT. No sign, no list, no blank; past 2^63 - 1 no
// body size is real, and a reader that wraps it (a signed off_t) would misframe.
std::optional<uint64_t> parse_length(std::string_view v) {
  if (v.empty()) return std::nullopt;
  constexpr uint64_t max = static_cast<uint64_t>(INT64_MAX);
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    auto digit = static_cast<uint64_t>(c - '0');
    if (n > (max - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
  }
  return n;
}

// Splits off the next line (without its CRLF/LF). False when no line end is in `buf` yet.
bool next_line(std::string_view& buf, std::string_view& line) {
  size_t lf = buf.find('\n');
  if (lf == std::string_view::npos) return false;
  line = buf.substr(0, lf);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  buf.remove_prefix(lf + 1);
  return true;
}

http_parse parse_request_line(std::string_view line, http_request& out) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return http_parse::bad_request;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return http_parse::bad_request;
  out.method = line.substr(0, sp1);
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(out.method)) return http_parse::bad_request;
  if (out.target.empty() || out.target.front() != '/' ||
      !std::all_of(out.target.begin(), out.target.end(), is_target_char))
    return http_parse::bad_request;
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !isdigit(static_cast<unsigned char>(version[5])) ||
      !isdigit(static_cast<unsigned char>(version[7])))
    return http_parse::bad_request;
  if (version[5] != '1') return http_parse::bad_version;
  out.minor_version = version[7] - '0';
  size_t q = out.target.find('?');
  out.path = out.target.substr(0, q);
  out.query = q == std::string_view::npos ? std::string_view{} : out.target.substr(q + 1);
  return http_parse::complete;
}

}  // namespace

std::string_view http_parse_error(http_parse result) {
  switch (result) {
    case http_parse::complete:
    case http_parse::incomplete:
      return "";
    case http_parse::bad_request:
      return "malformed HTTP request";
    case http_parse::too_many_fields:
      return "request head too large";
    case http_parse::bad_version:
      return "only HTTP/1.0 and HTTP/1.1 are supported";
    case http_parse::uri_too_long:
      return "request line too long";
    case http_parse::bad_host:
      return "an HTTP/1.1 request needs exactly one Host header, host[:port] (RFC 9112 section "
             "3.2)";
    case http_parse::bad_length:
      return "Content-Length must be one decimal number of bytes, below 2^63 (RFC 9110 section "
             "8.6)";
  }
  return "malformed HTTP request";
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!item.empty() && is_ows(item.front())) item.remove_prefix(1);
    while (!item.empty() && is_ows(item.back())) item.remove_suffix(1);
    if (iequals(item, token)) return true;
  }
  return false;
}

std::string_view http_request::header(std::string_view name) const {
  for (size_t i = 0; i < header_count; ++i)
    if (iequals(headers[i].name, name)) return headers[i].value;
  return {};
}

http_parse parse_http_request(std::string_view buf, http_request& out) {
  const size_t total = buf.size();
  out.header_count = 0;
  out.content_length.reset();
  out.transfer_encoding = false;
  out.keep_alive = false;
  std::string_view line;
  // RFC 9112 §2.2: ignore at least one empty line before the request line.
  do {
    if (!next_line(buf, line))
      return buf.size() > http_request::max_request_line ? http_parse::uri_too_long
                                                         : http_parse::incomplete;
  } while (line.empty() && total - buf.size() <= 4);
  if (line.empty()) return http_parse::bad_request;
  if (line.size() > http_request::max_request_line) return http_parse::uri_too_long;
  if (http_parse r = parse_request_line(line, out); r != http_parse::complete) return r;
  bool has_length = false, has_encoding = false;
  size_t hosts = 0;
  bool bad_host = false;
  bool close = false, keep_alive = false;  // Connection's tokens, over all its lines

  for (;;) {
    if (!next_line(buf, line)) return http_parse::incomplete;
    if (line.empty()) break;
    // No whitespace before the colon, no obsolete line folding (RFC 9112 §5.1, §5.2).
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
      return http_parse::bad_request;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && is_ows(value.front())) value.remove_prefix(1);
    while (!value.empty() && is_ows(value.back())) value.remove_suffix(1);
    if (std::any_of(value.begin(), value.end(), [](char c) {
          return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
        }))
      return http_parse::bad_request;
    if (out.header_count == http_request::max_headers) return http_parse::too_many_fields;
    std::string_view name = line.substr(0, colon);
    if (iequals(name, "content-length")) {
      // Two lengths (even equal ones) or one that is not a number: which body size holds?
      if (has_length || !(out.content_length = parse_length(value))) return http_parse::bad_length;
      has_length = true;
    } else if (iequals(name, "transfer-encoding")) {
      if (has_encoding) return http_parse::bad_request;  // two framings: which one holds?
      has_encoding = true;
    } else if (iequals(name, "host")) {
      ++hosts;
      bad_host = bad_host || !is_host_value(value);
    } else if (iequals(name, "connection")) {
      close = close || has_token(value, "close");
      keep_alive = keep_alive || has_token(value, "keep-alive");
    }
    out.headers[out.header_count++] = {name, value};
  }
  // Decided once the head is whole, so that a head still arriving is not refused early.
  if (hosts > 1 || bad_host || (hosts == 0 && out.minor_version >= 1)) return http_parse::bad_host;
  out.head_length = total - buf.size();
  out.transfer_encoding = has_encoding;
  // RFC 9112 §9.3: HTTP/1.1 persists unless closed; HTTP/1.0 only when asked.
  out.keep_alive = !close && (out.minor_version >= 1 || keep_alive);
  return http_parse::complete;
}

std::string basic_password(std::string_view authorization) {
  std::string out = basic_credentials(authorization);
  size_t colon = out.find(':');
  return colon == std::string::npos ? std::string() : out.substr(colon + 1);
}

std::string basic_credentials(std::string_view authorization) {
  constexpr std::string_view scheme = "basic ";
  if (authorization.size() < scheme.size()) return {};
  for (size_t i = 0; i < scheme.size(); ++i)
    if ((authorization[i] | 0x20) != scheme[i]) return {};
  std::string_view b64 = authorization.substr(scheme.size());
  while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : b64) {
    int v = ch >= 'A' && ch <= 'Z'   ? ch - 'A'
            : ch >= 'a' && ch <= 'z' ? ch - 'a' + 26
            : ch >= '0' && ch <= '9' ? ch - '0' + 52
            : ch == '+'              ? 62
            : ch == '/'              ? 63
            : ch == '='              ? -2
                                     : -1;
    if (v == -1) return {};
    if (v == -2) break;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  auto hex = [](char ch) {
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
  };
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        out += ' ';
      } else if (raw[i] == '%') {
        if (i + 2 >= raw.size()) return std::nullopt;
        int hi = hex(raw[i + 1]), lo = hex(raw[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        out += raw[i];
      }
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace gordo
