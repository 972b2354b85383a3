#include "gordo/ops/config.h"

#include "gordo/media/formats.h"

#include <cxxopts.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "gordo_version.h"

namespace gordo {

namespace {

// An htpasswd file's errors are the configuration's.
std::shared_ptr<const htpasswd> load_users(const std::string& path) {
  try {
    return htpasswd::parse(read_regular_file(path, "htpasswd file"),
                           path);  // never a FIFO: reloads read it
  } catch (const std::runtime_error& e) {
    throw config_error(e.what());
  }
}

// Numeric flags are read as text and converted here, so that a bad value gets a message
// naming the flag and its range (cxxopts' own says neither).
template <class T>
T number(const cxxopts::ParseResult& args, const std::string& flag, T min, T max) {
  std::string text = args[flag].as<std::string>();
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    throw config_error(
        fmt::format("--{} '{}' is not a number from {} to {}", flag, text, min, max));
  if (value < min || value > max)
    throw config_error(
        fmt::format("--{} {} is out of range: give a number from {} to {}", flag, text, min, max));
  return value;
}

cxxopts::Options options() {
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
    ("i,input", "Source: a file or any FFmpeg URL (udp://, srt://, rtmp://, http://...), or "
        "'push' (encoders PUT/POST/SOURCE to the mount), or 'push:/PATH' (the source pushed to "
        "mount /PATH). Default: a built-in test pattern with a tone", cxxopts::value<std::string>())
    ("m,mount", "Path viewers request, or PATH=SOURCE; repeat for more mounts (--input is the "
        "source of mounts given without one)", cxxopts::value<std::string>()->default_value("/live.ts"))
    ("loop", "Start the input again when it ends (files)")
    ("workers", "Serving threads (0: one per online CPU, or per --cpus entry)",
        cxxopts::value<std::string>()->default_value("0"))
    ("cpus", "Pin worker i to the i-th CPU of this list, e.g. 0-3,6 (default: no pinning)",
        cxxopts::value<std::string>())
    ("ring-chunks", "Chunks of history kept per mount (about 32 KiB each), 16 to 1048576",
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
    ("source-timeout", "A network source that sends nothing for this long is reconnected "
        "(with backoff; viewers stay connected)", cxxopts::value<std::string>()->default_value("10s"))
    ("lost-timeout", "A source hungry (failed or silent) this long is lost: its viewers are "
        "closed and new ones get 503 until it is back", cxxopts::value<std::string>()->default_value("30s"))
    ("source-password", "Password encoders must send (HTTP Basic, any user) to push; also "
        "$GORDO_SOURCE_PASSWORD. Default: none asked", cxxopts::value<std::string>())
    ("allow", "Only clients in these ranges may watch: addresses or CIDR ranges, comma-"
        "separated (10.0.0.0/8,2001:db8::/32); others get 403", cxxopts::value<std::string>())
    ("deny", "Clients in these ranges may not watch (403)", cxxopts::value<std::string>())
    ("token-secret-file", "Viewers need a signed URL (?expires=UNIX&token=HEX(HMAC-SHA256(secret, "
        "path+expires))); the secret is this file's first line. Also $GORDO_TOKEN_SECRET",
        cxxopts::value<std::string>())
    ("token-secret", "The same secret given directly (for the config file: a command line shows "
        "in ps)", cxxopts::value<std::string>())
    ("token-bind-ip", "Signed URLs also sign the viewer's IP address (path+expires+ip)")
    ("admin-htpasswd", "/stats and /metrics need HTTP Basic auth as a user of this htpasswd file "
        "(bcrypt: htpasswd -B; SHA-crypt; yescrypt)", cxxopts::value<std::string>())
    ("source-htpasswd", "Encoders push as a user of this htpasswd file (instead of the source "
        "password)", cxxopts::value<std::string>())
    ("hls", "Also offer the mount as HLS (MPEG-TS and fragmented MP4 mounts): /live.ts at "
        "/live.m3u8, its segments and parts under /live.ts/")
    ("hls-segment", "HLS: a segment ends at the first keyframe after this long",
        cxxopts::value<std::string>()->default_value("2s"))
    ("hls-part", "Low-latency HLS part target, 200ms to 1s; 0: classic HLS (no parts)",
        cxxopts::value<std::string>()->default_value("333ms"))
    ("hls-window", "HLS: segments a playlist lists (older ones are gone: 404), 6 to 1000",
        cxxopts::value<std::string>()->default_value("6"))
    ("hls-group", "HLS: a multivariant playlist (/show.m3u8) listing this mount with the other "
        "mounts given the same group: renditions of one programme, for adaptive bitrate",
        cxxopts::value<std::string>())
    ("cors-origin", "Access-Control-Allow-Origin on viewer answers, so players on other sites "
        "can fetch streams: an origin, * or off", cxxopts::value<std::string>()->default_value("*"))
    ("header-timeout", "Seconds a client has to send its request head (then 408)",
        cxxopts::value<std::string>()->default_value("10"))
    ("write-timeout", "Seconds a send may make no progress before the viewer is closed",
        cxxopts::value<std::string>()->default_value("30"))
    ("zerocopy", "Zero-copy sends: auto (until the kernel reports copying), on or off",
        cxxopts::value<std::string>()->default_value("auto"))
    ("engine", "How workers do I/O: auto (io_uring, or epoll where io_uring is blocked or "
        "missing), uring or epoll", cxxopts::value<std::string>()->default_value("auto"))
    ("sndbuf", "Kernel send buffer per viewer in bytes (SO_SNDBUF); 0: autotuning",
        cxxopts::value<std::string>()->default_value("0"))
    ("log-level", "trace, debug, info, warn, error or off",
        cxxopts::value<std::string>()->default_value("info"))
    ("c,config", "Read settings and [[mount]] tables from this TOML file; flags override it",
        cxxopts::value<std::string>())
    ("check-config", "Check the configuration, print a summary and exit")
    ("h,help", "Print this help and exit")
    ("version", "Print the version and exit");
  // clang-format on
  return opts;
}

// Parses `argv` (argv[0] first) with `opts`; a bad flag becomes a config_error.
cxxopts::ParseResult parse(cxxopts::Options& opts, const std::vector<std::string>& argv) {
  std::vector<char*> ptrs;
  for (const std::string& a : argv) ptrs.push_back(const_cast<char*>(a.c_str()));
  try {
    auto args = opts.parse(static_cast<int>(ptrs.size()), ptrs.data());
    if (!args.unmatched().empty())
      throw config_error("unexpected argument '" + args.unmatched().front() +
                         "' (the input goes after --input; see gordo --help)");
    return args;
  } catch (const cxxopts::exceptions::exception& e) {
    throw config_error(std::string(e.what()) + " (see gordo --help)");
  }
}

// Everything but the mounts.
// --allow, --deny and the signed-URL secret; nullptr when none is set.
std::shared_ptr<const mount_access> access_from(const cxxopts::ParseResult& args) {
  auto a = std::make_shared<mount_access>();
  try {
    if (args.count("allow")) a->ips.allow = ip_acl::parse_list(args["allow"].as<std::string>());
    if (args.count("deny")) a->ips.deny = ip_acl::parse_list(args["deny"].as<std::string>());
  } catch (const std::invalid_argument& e) {
    throw config_error(std::string(args.count("allow") ? "--allow/--deny: " : "--deny: ") +
                       e.what());
  }
  if (args.count("token-secret")) {
    a->token_secret = args["token-secret"].as<std::string>();
  } else if (args.count("token-secret-file")) {
    std::string path = args["token-secret-file"].as<std::string>();
    std::istringstream in(read_regular_file(path, "--token-secret-file"));
    if (!std::getline(in, a->token_secret))
      throw config_error("--token-secret-file " + path + " is empty");
  } else if (const char* env = std::getenv("GORDO_TOKEN_SECRET")) {
    a->token_secret = env;
  }
  if (args.count("token-secret") + args.count("token-secret-file") && a->token_secret.size() < 16)
    throw config_error("the token secret must be at least 16 characters");  // never echoed
  a->token_binds_ip = args.count("token-bind-ip") > 0;
  if (a->ips.empty() && a->token_secret.empty()) return nullptr;
  return a;
}

config from_args(const cxxopts::ParseResult& args) {
  config c;
  std::string listen = args["listen"].as<std::string>();
  auto addr = address::parse(listen);
  if (!addr)
    throw config_error(
        "--listen '" + listen +
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
      throw config_error("--admin-listen '" + admin +
                         "' is not an address: use PORT, HOST:PORT, [IPV6]:PORT or off");
    c.admin_listen = *admin_addr;
  }
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
  c.policy.access = access_from(args);
  c.limits.bandwidth_bps = number<uint64_t>(args, "bandwidth-limit", 0, 10'000'000) * 1'000'000;
  if (args.count("redirect-on-overflow")) {
    c.limits.redirect = args["redirect-on-overflow"].as<std::string>();
    if (c.limits.redirect.find_first_of("\r\n ") != std::string::npos ||
        (c.limits.redirect.rfind("http://", 0) != 0 && c.limits.redirect.rfind("https://", 0) != 0))
      throw config_error(  // not echoed: it may hold line breaks
          "--redirect-on-overflow must be an http:// or https:// URL without spaces or line "
          "breaks");
  }
  stream_span source_timeout =
      parse_span("source-timeout", args["source-timeout"].as<std::string>());
  if (source_timeout.bytes || source_timeout.ns < 100'000'000 ||
      source_timeout.ns > 600'000'000'000)
    throw config_error("--source-timeout must be a time from 100ms to 600s");
  c.source_timeout_us = source_timeout.ns / 1000;
  stream_span lost = parse_span("lost-timeout", args["lost-timeout"].as<std::string>());
  if (lost.bytes || lost.ns < 1'000'000'000 || lost.ns > 86'400'000'000'000)
    throw config_error("--lost-timeout must be a time from 1s to 86400s");
  c.lost_timeout = std::chrono::microseconds(lost.ns / 1000);
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
  std::string engine = args["engine"].as<std::string>();
  if (engine == "auto")
    c.engine = engine_choice::automatic;
  else if (engine == "uring" || engine == "io_uring")
    c.engine = engine_choice::uring;
  else if (engine == "epoll")
    c.engine = engine_choice::epoll;
  else
    throw config_error("--engine '" + engine + "' must be auto, uring or epoll");
  c.sndbuf = number<int>(args, "sndbuf", 0, 1 << 30);
  c.cors_origin = args["cors-origin"].as<std::string>();
  if (c.cors_origin == "off") c.cors_origin.clear();
  if (c.cors_origin.find_first_of("\r\n") != std::string::npos)
    throw config_error("--cors-origin must be an origin (https://example.com), * or off");
  c.log_level = args["log-level"].as<std::string>();
  if (args.count("admin-htpasswd"))
    c.admin_users = load_users(args["admin-htpasswd"].as<std::string>());
  if (args.count("source-htpasswd"))
    c.source_users = load_users(args["source-htpasswd"].as<std::string>());
  return c;
}

void check_mount_path(const std::string& path) {
  if (path.size() < 2 || path.front() != '/' ||
      path.find_first_of(" ?#=\t\r\n") != std::string::npos)
    throw config_error("--mount '" + path + "' must be a path like /live.ts");
}

hls_cut_options hls_from(const cxxopts::ParseResult& args, const std::string& path) {
  const output_format& f = format_for_path(path);
  if (f.segment_extension.empty())
    throw config_error("--hls: " + path + " is " + std::string(f.muxer) +
                       "; HLS is offered for MPEG-TS (.ts) and fragmented MP4 (.mp4) mounts");
  stream_span segment = parse_span("hls-segment", args["hls-segment"].as<std::string>());
  if (segment.bytes || segment.ns < 1'000'000'000 || segment.ns > 30'000'000'000)
    throw config_error("--hls-segment must be a time from 1s to 30s");
  stream_span part = parse_span("hls-part", args["hls-part"].as<std::string>());
  if (part.bytes || (part.ns != 0 && (part.ns < 200'000'000 || part.ns > 1'000'000'000)))
    throw config_error("--hls-part must be a time from 200ms to 1s, or 0 (classic HLS)");
  return {segment.ns / 1000, part.ns / 1000};
}

mount_config mount_from(const cxxopts::ParseResult& args, const std::string& path,
                        const std::string& input) {
  mount_config m;
  m.path = path;
  check_mount_path(m.path);
  m.input = input;
  if (args.count("input") && m.input.empty())
    throw config_error("--input is empty: give a file or URL");
  m.loop = args.count("loop") > 0;
  if (args.count("source-password")) {
    m.password = args["source-password"].as<std::string>();
  } else if (const char* env = std::getenv("GORDO_SOURCE_PASSWORD")) {
    m.password = env;
  }
  if (m.input.rfind("push", 0) == 0) {
    if (m.input != "push" && m.input.rfind("push:", 0) != 0)
      throw config_error("source '" + m.input + "' must be push or push:/PATH");
    if (m.input != "push") check_mount_path(m.input.substr(5));
    m.loop = false;  // --loop is for files
  }
  m.policy = from_args(args).policy;
  if (args.count("hls")) m.hls = hls_from(args, m.path);
  m.hls_window = number<unsigned>(args, "hls-window", 6, 1000);
  if (args.count("hls-group")) {
    m.hls_group = args["hls-group"].as<std::string>();
    check_mount_path(m.hls_group);
    if (!m.hls || !m.hls_group.ends_with(".m3u8"))
      throw config_error("--hls-group " + m.hls_group + " for " + m.path +
                         ": give a path ending in .m3u8, for a mount offered with --hls");
  }
  return m;
}
}  // namespace

std::string mount_config::push_path() const {
  if (input == "push") return path;
  if (input.rfind("push:", 0) == 0) return input.substr(5);
  return {};
}

std::string mount_config::source_key() const {
  if (std::string push = push_path(); !push.empty()) return "push:" + push;
  return (loop ? "loop:" : "once:") + input;
}

std::string mount_config::hls_playlist() const {
  size_t dot = path.rfind('.');
  size_t slash = path.rfind('/');
  return (dot != std::string::npos && dot > slash ? path.substr(0, dot) : path) + ".m3u8";
}

std::optional<config> parse_args(int argc, char** argv) {
  // --mount may be repeated (cxxopts keeps one value), so mounts are taken out first.
  std::vector<std::string> specs, rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--mount" || a == "-m") {
      if (i + 1 == argc) throw config_error("--mount needs a path (see gordo --help)");
      specs.emplace_back(argv[++i]);
    } else if (a.substr(0, 8) == "--mount=") {
      specs.emplace_back(a.substr(8));
    } else {
      rest.emplace_back(a);
    }
  }
  cxxopts::Options opts = options();
  cxxopts::ParseResult args = parse(opts, rest);
  if (args.count("help")) {
    std::cout << opts.help() << '\n';
    return std::nullopt;
  }
  if (args.count("version")) {
    std::cout << "gordo " GORDO_VERSION "\n";
    return std::nullopt;
  }

  // The file's settings come first, so that flags after them win; each is checked alone
  // first, so that an error names its line.
  std::vector<std::string> merged{argv[0]};
  file_args file;
  if (args.count("config")) {
    file = read_config_file(args["config"].as<std::string>());
    for (size_t i = 0; i < file.flags.size(); ++i) {
      const auto& [flag, value] = file.flags[i];
      try {
        from_args(value.empty() ? parse(opts, {argv[0], flag})
                                : parse(opts, {argv[0], flag, value}));
      } catch (const config_error& e) {
        throw config_error(file.where[i] + ": " + e.what());
      }
      merged.push_back(flag);
      if (!value.empty()) merged.push_back(value);
    }
  }
  merged.insert(merged.end(), rest.begin() + 1, rest.end());
  args = parse(opts, merged);
  config c = from_args(args);
  if (args.count("config")) c.config_file = args["config"].as<std::string>();
  c.check_only = args.count("check-config") > 0;

  std::string input = args.count("input") ? args["input"].as<std::string>() : "";
  if (!specs.empty()) {
    for (const std::string& spec : specs) {
      size_t eq = spec.find('=');
      c.mounts.push_back(eq == std::string::npos
                             ? mount_from(args, spec, input)
                             : mount_from(args, spec.substr(0, eq), spec.substr(eq + 1)));
      if (eq != std::string::npos && c.mounts.back().input.empty())
        throw config_error("--mount '" + spec + "' has an empty source");
    }
  } else if (!file.mounts.empty()) {
    for (const file_mount& fm : file.mounts) {
      std::vector<std::string> argv_m = merged;
      argv_m.insert(argv_m.end(), fm.args.begin(), fm.args.end());
      try {
        auto margs = parse(opts, argv_m);
        if (!margs.count("mount")) throw config_error("a [[mount]] needs a path");
        c.mounts.push_back(
            mount_from(margs, margs["mount"].as<std::string>(),
                       margs.count("input") ? margs["input"].as<std::string>() : ""));
      } catch (const config_error& e) {
        throw config_error(fm.where + ": " + e.what());
      }
    }
  } else {
    c.mounts.push_back(mount_from(args, args["mount"].as<std::string>(), input));
  }
  for (size_t i = 0; i < c.mounts.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (c.mounts[i].path == c.mounts[j].path)
        throw config_error("mount " + c.mounts[i].path + " is given twice");
  // Each HLS playlist names one mount, and no mount is at a playlist's path.
  for (size_t i = 0; i < c.mounts.size(); ++i) {
    if (!c.mounts[i].hls) continue;
    std::string playlist = c.mounts[i].hls_playlist();
    for (size_t j = 0; j < c.mounts.size(); ++j)
      if (c.mounts[j].path == playlist ||
          (j != i && c.mounts[j].hls && c.mounts[j].hls_playlist() == playlist))
        throw config_error("--hls: " + c.mounts[i].path + "'s playlist " + playlist + " would be " +
                           c.mounts[j].path + "'s too: rename one");
  }
  // The renditions of a group are cut alike, in one container, at a path of their own.
  for (const mount_config& m : c.mounts) {
    if (m.hls_group.empty()) continue;
    for (const mount_config& o : c.mounts) {
      if (o.path == m.hls_group || (o.hls && o.hls_playlist() == m.hls_group))
        throw config_error("--hls-group " + m.hls_group + " is " + o.path + "'s path too");
      if (o.hls_group != m.hls_group) continue;
      if (format_for_path(o.path).segment_extension != format_for_path(m.path).segment_extension ||
          o.hls->segment_us != m.hls->segment_us || o.hls->part_us != m.hls->part_us)
        throw config_error("--hls-group " + m.hls_group + ": " + m.path + " and " + o.path +
                           " must have the same format, --hls-segment and --hls-part");
    }
  }
  // push:/PATH takes what encoders push to /PATH, so /PATH must be a mount they push to.
  for (const mount_config& m : c.mounts) {
    std::string push = m.push_path();
    if (push.empty() || push == m.path) continue;
    auto target = std::find_if(c.mounts.begin(), c.mounts.end(),
                               [&](const mount_config& t) { return t.path == push; });
    if (target == c.mounts.end() || target->push_path() != push)
      throw config_error("mount " + m.path + " takes the stream pushed to " + push +
                         ", which is not a push mount: add " + "--mount " + push +
                         "=push (in a file: a [[mount]] with input = \"push\")");
  }
  return c;
}

}  // namespace gordo
