#include "gordo/server/config.h"

#include <cxxopts.hpp>

#include <fmt/format.h>

#include <charconv>
#include <iostream>

#include "gordo_version.h"

namespace gordo {

namespace {

// Numeric flags are read as text and converted here, so that a bad value gets a message
// naming the flag and its range (cxxopts' own says neither).
template <class T>
T number(const cxxopts::ParseResult& args, const std::string& flag, T min, T max) {
  std::string text = args[flag].as<std::string>();
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
    throw config_error(fmt::format("--{} '{}' is not a number from {} to {}", flag, text, min, max));
  return value;
}

}  // namespace

stream_span parse_span(const std::string& flag, const std::string& text) {
  double value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [unit, ec] = std::from_chars(begin, end, value);
  std::string_view suffix(unit, static_cast<size_t>(end - unit));
  if (text.empty() || ec != std::errc() || value < 0)
    throw config_error(fmt::format("--{} '{}' is not an amount like 2s, 500ms, 512KiB or 2MB", flag, text));
  struct unit_t {
    std::string_view name;
    double bytes;
    double ns;
  };
  constexpr unit_t units[] = {
      {"", 1, 0},          {"B", 1, 0},         {"KB", 1e3, 0},  {"KiB", 1024, 0},
      {"MB", 1e6, 0},      {"MiB", 1 << 20, 0}, {"s", 0, 1e9},   {"ms", 0, 1e6},
  };
  for (const unit_t& u : units) {
    if (suffix != u.name) continue;
    stream_span span;
    span.bytes = static_cast<uint64_t>(value * u.bytes);
    span.ns = static_cast<int64_t>(value * u.ns);
    return span;
  }
  throw config_error(fmt::format("--{} '{}': unknown unit '{}' (use s, ms, B, KB, KiB, MB or MiB)",
                                 flag, text, suffix));
}

std::vector<int> parse_cpu_list(const std::string& flag, const std::string& text) {
  std::vector<int> cpus;
  auto bad = [&] {
    return config_error(fmt::format("--{} '{}' is not a CPU list like 0-3,6", flag, text));
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
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

std::optional<config> parse_args(int argc, char** argv) {
  cxxopts::Options opts("gordo", "gordo " GORDO_VERSION " - live-stream fan-out server");
  opts.custom_help("[OPTION...]");
  // clang-format off
  opts.add_options()
    ("l,listen", "Address to serve viewers on: PORT, HOST:PORT or [IPV6]:PORT",
        cxxopts::value<std::string>()->default_value("0.0.0.0:8080"))
    ("admin-listen", "Address for GET /stats (JSON) and /metrics (Prometheus); 'off': none",
        cxxopts::value<std::string>()->default_value("127.0.0.1:8081"))
    ("access-log", "One line per request at disconnect (Apache combined + seconds) to this file "
        "(reopened on SIGUSR1), '-' for stdout, or off", cxxopts::value<std::string>()->default_value("off"))
    ("i,input", "Source: a file or any FFmpeg URL (udp://, srt://, rtmp://, http://...). "
        "Default: a built-in test pattern with a tone", cxxopts::value<std::string>())
    ("m,mount", "Path viewers request", cxxopts::value<std::string>()->default_value("/live.ts"))
    ("loop", "Start the input again when it ends (files)")
    ("workers", "Serving threads (0: one per online CPU, or per --cpus entry)",
        cxxopts::value<std::string>()->default_value("0"))
    ("cpus", "Pin worker i to the i-th CPU of this list, e.g. 0-3,6 (default: no pinning)",
        cxxopts::value<std::string>())
    ("ring-chunks", "Chunks of history kept per mount (about 32 KiB each)",
        cxxopts::value<std::string>()->default_value("1024"))
    ("chunk-size", "Publish a chunk once it holds this many bytes (and at every keyframe); "
        "bigger chunks mean fewer, larger sends", cxxopts::value<std::string>()->default_value("32KiB"))
    ("chunk-duration", "... or once its first byte is this old", cxxopts::value<std::string>()->default_value("100ms"))
    ("burst", "History a new viewer gets, from a keyframe: time (2s) or bytes (1MiB); "
        "0: from the newest keyframe", cxxopts::value<std::string>()->default_value("0"))
    ("max-lag", "How far behind live a viewer may fall before --on-slow applies: time or bytes; "
        "0: only when it falls out of the ring", cxxopts::value<std::string>()->default_value("10s"))
    ("on-slow", "What to do with a viewer past --max-lag: skip-to-keyframe or drop",
        cxxopts::value<std::string>()->default_value("skip-to-keyframe"))
    ("client-limit", "Viewers in all; more get 503 (or 302, see --redirect-on-overflow). 0: no limit",
        cxxopts::value<std::string>()->default_value("0"))
    ("mount-client-limit", "Viewers per mount; 0: no limit",
        cxxopts::value<std::string>()->default_value("0"))
    ("bandwidth-limit", "Mbit/s for all viewers together (viewers x stream bitrate); 0: no limit",
        cxxopts::value<std::string>()->default_value("0"))
    ("redirect-on-overflow", "Send viewers over a limit to this URL (302) instead of a 503",
        cxxopts::value<std::string>())
    ("header-timeout", "Seconds a client has to send its request head (then 408)",
        cxxopts::value<std::string>()->default_value("10"))
    ("write-timeout", "Seconds a send may make no progress before the viewer is closed",
        cxxopts::value<std::string>()->default_value("30"))
    ("zerocopy", "Zero-copy sends: auto (until the kernel reports copying), on or off",
        cxxopts::value<std::string>()->default_value("auto"))
    ("sndbuf", "Kernel send buffer per viewer in bytes (SO_SNDBUF); 0: autotuning",
        cxxopts::value<std::string>()->default_value("0"))
    ("log-level", "trace, debug, info, warn, error or off",
        cxxopts::value<std::string>()->default_value("info"))
    ("h,help", "Print this help and exit")
    ("version", "Print the version and exit");
  // clang-format on

  cxxopts::ParseResult args;
  try {
    args = opts.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw config_error(std::string(e.what()) + " (see gordo --help)");
  }
  if (!args.unmatched().empty())
    throw config_error("unexpected argument '" + args.unmatched().front() +
                       "' (the input goes after --input; see gordo --help)");
  if (args.count("help")) {
    std::cout << opts.help() << '\n';
    return std::nullopt;
  }
  if (args.count("version")) {
    std::cout << "gordo " GORDO_VERSION "\n";
    return std::nullopt;
  }

  config c;
  std::string listen = args["listen"].as<std::string>();
  auto addr = address::parse(listen);
  if (!addr)
    throw config_error("--listen '" + listen +
                       "' is not an address: use PORT, HOST:PORT or [IPV6]:PORT with a numeric host");
  c.listen = *addr;
  c.access_log = args["access-log"].as<std::string>();
  if (c.access_log == "off") c.access_log.clear();
  if (c.access_log.empty() && args["access-log"].as<std::string>() != "off")
    throw config_error("--access-log is empty: give a file, - or off");
  std::string admin = args["admin-listen"].as<std::string>();
  if (admin != "off") {
    auto admin_addr = address::parse(admin);
    if (!admin_addr)
      throw config_error("--admin-listen '" + admin + "' is not an address: use PORT, HOST:PORT, [IPV6]:PORT or off");
    c.admin_listen = *admin_addr;
  }
  if (args.count("input")) {
    c.input = args["input"].as<std::string>();
    if (c.input.empty()) throw config_error("--input is empty: give a file or URL");
  }
  c.mount = args["mount"].as<std::string>();
  if (c.mount.size() < 2 || c.mount.front() != '/' ||
      c.mount.find_first_of(" ?#\t\r\n") != std::string::npos)
    throw config_error("--mount '" + c.mount + "' must be a path like /live.ts");
  c.loop = args.count("loop") > 0;
  c.workers = number<unsigned>(args, "workers", 0, 1024);
  if (args.count("cpus")) c.cpus = parse_cpu_list("cpus", args["cpus"].as<std::string>());
  c.ring_chunks = number<size_t>(args, "ring-chunks", 16, size_t{1} << 20);
  stream_span size = parse_span("chunk-size", args["chunk-size"].as<std::string>());
  if (size.ns || size.bytes < 1024 || size.bytes > 512 * 1024)
    throw config_error("--chunk-size must be an amount of bytes from 1KiB to 512KiB");
  c.chunking.target_bytes = size.bytes;
  stream_span delay = parse_span("chunk-duration", args["chunk-duration"].as<std::string>());
  if (delay.bytes || delay.ns < 10'000'000 || delay.ns > 5'000'000'000)
    throw config_error("--chunk-duration must be a time from 10ms to 5s");
  c.chunking.max_delay = std::chrono::milliseconds(delay.ns / 1'000'000);
  c.policy.burst = parse_span("burst", args["burst"].as<std::string>());
  c.policy.max_lag = parse_span("max-lag", args["max-lag"].as<std::string>());
  std::string on_slow = args["on-slow"].as<std::string>();
  if (on_slow == "skip-to-keyframe")
    c.policy.on_slow = slow_policy::skip_to_keyframe;
  else if (on_slow == "drop")
    c.policy.on_slow = slow_policy::drop;
  else
    throw config_error("--on-slow '" + on_slow + "' must be skip-to-keyframe or drop");
  c.limits.clients = number<uint64_t>(args, "client-limit", 0, 1u << 30);
  c.policy.client_limit = number<uint64_t>(args, "mount-client-limit", 0, 1u << 30);
  c.limits.bandwidth_bps = number<uint64_t>(args, "bandwidth-limit", 0, 10'000'000) * 1'000'000;
  if (args.count("redirect-on-overflow")) {
    c.limits.redirect = args["redirect-on-overflow"].as<std::string>();
    if (c.limits.redirect.find_first_of("\r\n ") != std::string::npos ||
        (c.limits.redirect.rfind("http://", 0) != 0 && c.limits.redirect.rfind("https://", 0) != 0))
      throw config_error(  // not echoed: it may hold line breaks
          "--redirect-on-overflow must be an http:// or https:// URL without spaces or line breaks");
  }
  c.header_timeout_s = number<uint32_t>(args, "header-timeout", 1, 3600);
  c.write_timeout_s = number<uint32_t>(args, "write-timeout", 1, 3600);
  std::string zerocopy = args["zerocopy"].as<std::string>();
  if (zerocopy == "auto")
    c.zerocopy = zerocopy_mode::automatic;
  else if (zerocopy == "on")
    c.zerocopy = zerocopy_mode::on;
  else if (zerocopy == "off")
    c.zerocopy = zerocopy_mode::off;
  else
    throw config_error("--zerocopy '" + zerocopy + "' must be auto, on or off");
  c.sndbuf = number<int>(args, "sndbuf", 0, 1 << 30);
  c.log_level = args["log-level"].as<std::string>();
  return c;
}

}  // namespace gordo
