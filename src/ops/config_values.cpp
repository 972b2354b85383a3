// The values of flags that take an amount (2s, 512KiB) or a CPU list (0-3,6).
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "gordo/ops/config.h"

namespace gordo {

stream_span parse_span(const std::string& flag, const std::string& text) {
  double value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [unit, ec] = std::from_chars(begin, end, value);
  std::string_view suffix(unit, static_cast<size_t>(end - unit));
  if (text.empty() || ec != std::errc() || !std::isfinite(value) || value < 0)
    throw config_error(
        fmt::format("--{} '{}' is not an amount like 2s, 500ms, 512KiB or 2MB", flag, text));
  struct unit_t {
    std::string_view name;
    double bytes;
    double ns;
  };
  constexpr unit_t units[] = {
      {"", 1, 0},       {"B", 1, 0},         {"KB", 1e3, 0},    {"KiB", 1024, 0},
      {"MB", 1e6, 0},   {"MiB", 1 << 20, 0}, {"s", 0, 1e9},     {"ms", 0, 1e6},
      {"GB", 1e9, 0},   {"GiB", 0x1p30, 0},  {"TB", 1e12, 0},   {"TiB", 0x1p40, 0},
      {"K", 0x1p10, 0}, {"M", 0x1p20, 0},    {"G", 0x1p30, 0},  {"T", 0x1p40, 0},
      {"m", 0, 60e9},   {"h", 0, 3600e9},    {"d", 0, 86400e9},
  };
  for (const unit_t& u : units) {
    if (suffix != u.name) continue;
    // Beyond 2^63 (8 EiB, 292 years) the conversion would overflow; no setting means it.
    if (value * u.bytes >= 0x1p63 || value * u.ns >= 0x1p63)
      throw config_error(fmt::format("--{} '{}' is far too large", flag, text));
    stream_span span;
    span.bytes = static_cast<uint64_t>(value * u.bytes);
    span.ns = static_cast<int64_t>(value * u.ns);
    return span;
  }
  throw config_error(
      fmt::format("--{} '{}': unknown unit '{}' (use ms, s, m, h, d or B, KB, KiB, MB, MiB, G...)",
                  flag, text, suffix));
}

int64_t parse_time(const std::string& flag, const std::string& text, int64_t min_ns, int64_t max_ns,
                   std::string_view range) {
  stream_span s = parse_span(flag, text);
  if (s.bytes || s.ns < min_ns || s.ns > max_ns)
    throw config_error(fmt::format("--{} must be a time {}", flag, range));
  return s.ns;
}

std::vector<int> parse_cpu_list(const std::string& flag, const std::string& text) {
  std::vector<int> cpus;
  auto bad = [&] {
    return config_error(fmt::format("--{} '{}' is not a CPU list like 0-3,6", flag, text));
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item =
        text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t dash = item.find('-');
    int lo = 0, hi = 0;
    auto read = [&](std::string_view v, int& out) {
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      if (v.empty() || ec != std::errc() || end != v.data() + v.size() || out < 0 || out > 4095)
        throw bad();
    };
    if (dash == std::string::npos) {
      read(item, lo);
      hi = lo;
    } else {
      read(std::string_view(item).substr(0, dash), lo);
      read(std::string_view(item).substr(dash + 1), hi);
      if (hi < lo) throw bad();
    }
    for (int c = lo; c <= hi; ++c) cpus.push_back(c);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return cpus;
}

}  // namespace gordo
