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

std::optional<config> parse_args(int argc, char** argv) {
  cxxopts::Options opts("gordo", "gordo " GORDO_VERSION " - live-stream fan-out server");
  opts.custom_help("[OPTION...]");
  // clang-format off
  opts.add_options()
    ("l,listen", "Address to serve viewers on: PORT, HOST:PORT or [IPV6]:PORT",
        cxxopts::value<std::string>()->default_value("0.0.0.0:8080"))
    ("i,input", "Source: a file or any FFmpeg URL (udp://, srt://, rtmp://, http://...). "
        "Default: a built-in test pattern with a tone", cxxopts::value<std::string>())
    ("m,mount", "Path viewers request", cxxopts::value<std::string>()->default_value("/live.ts"))
    ("loop", "Start the input again when it ends (files)")
    ("workers", "Serving threads", cxxopts::value<std::string>()->default_value("1"))
    ("ring-chunks", "Chunks of history kept per mount (about 32 KiB each)",
        cxxopts::value<std::string>()->default_value("1024"))
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
  if (args.count("input")) {
    c.input = args["input"].as<std::string>();
    if (c.input.empty()) throw config_error("--input is empty: give a file or URL");
  }
  c.mount = args["mount"].as<std::string>();
  if (c.mount.size() < 2 || c.mount.front() != '/' ||
      c.mount.find_first_of(" ?#\t\r\n") != std::string::npos)
    throw config_error("--mount '" + c.mount + "' must be a path like /live.ts");
  c.loop = args.count("loop") > 0;
  c.workers = number<unsigned>(args, "workers", 1, 1024);
  c.ring_chunks = number<size_t>(args, "ring-chunks", 16, size_t{1} << 20);
  c.log_level = args["log-level"].as<std::string>();
  return c;
}

}  // namespace gordo
