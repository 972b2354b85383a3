#include "load/http_head.h"

#include <strings.h>
#include <charconv>

namespace gordo::load {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool icontains(std::string_view haystack, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i)
    if (iequals(haystack.substr(i, needle.size()), needle)) return true;
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<response_head> parse_response_head(std::string_view head) {
  // HTTP/1.x SP 3DIGIT SP reason
  if (head.size() < 12 || head.substr(0, 7) != "HTTP/1." || head[8] != ' ') return std::nullopt;
  response_head r;
  auto [end, ec] = std::from_chars(head.data() + 9, head.data() + 12, r.status);
  if (ec != std::errc() || end != head.data() + 12) return std::nullopt;
  bool http10 = head[7] == '0';
  bool keep_alive = false;
  size_t nl = head.find('\n');
  while (nl != std::string_view::npos && nl + 1 < head.size()) {
    size_t next = head.find('\n', nl + 1);
    std::string_view line =
        head.substr(nl + 1, next == std::string_view::npos ? head.npos : next - nl - 1);
    nl = next;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
    if (iequals(name, "Content-Length")) {
      uint64_t n = 0;
      auto [e, err] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (err != std::errc() || e != value.data() + value.size()) return std::nullopt;
      r.content_length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      r.chunked = icontains(value, "chunked");
    } else if (iequals(name, "Connection")) {
      r.close = icontains(value, "close");
      keep_alive = icontains(value, "keep-alive");
    }
  }
  if (http10 && !keep_alive) r.close = true;
  return r;
}

}  // namespace gordo::load
