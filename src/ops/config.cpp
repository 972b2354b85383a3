#include "gordo/ops/config.h"
#include "gordo/ops/config_flags.h"

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
  int64_t delay = parse_time("chunk-duration", args["chunk-duration"].as<std::string>(), 10'000'000,
                             5'000'000'000, "from 10ms to 5s");
  c.chunking.max_delay = std::chrono::milliseconds(delay / 1'000'000);
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
  c.source_timeout_us = parse_time("source-timeout", args["source-timeout"].as<std::string>(),
                                   100'000'000, 600'000'000'000, "from 100ms to 600s") /
                        1000;
  c.lost_timeout =
      std::chrono::microseconds(parse_time("lost-timeout", args["lost-timeout"].as<std::string>(),
                                           1'000'000'000, 86'400'000'000'000, "from 1s to 86400s") /
                                1000);
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
  stream_span lowat = parse_span("notsent-lowat", args["notsent-lowat"].as<std::string>());
  if (lowat.ns || (lowat.bytes && (lowat.bytes < 1024 || lowat.bytes > (64u << 20))))
    throw config_error("--notsent-lowat must be 0 or an amount of bytes from 1KiB to 64MiB");
  c.notsent_lowat = static_cast<int>(lowat.bytes);
  c.cors_origin = args["cors-origin"].as<std::string>();
  if (c.cors_origin == "off") c.cors_origin.clear();
  if (c.cors_origin.find_first_of("\r\n") != std::string::npos)
    throw config_error("--cors-origin must be an origin (https://example.com), * or off");
  std::string player_page = args["player-page"].as<std::string>();
  if (player_page == "on" || player_page == "true")
    c.player_page = true;
  else if (player_page == "off" || player_page == "false")
    c.player_page = false;
  else
    throw config_error("--player-page '" + player_page + "' must be on or off");
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
  int64_t segment = parse_time("hls-segment", args["hls-segment"].as<std::string>(), 1'000'000'000,
                               30'000'000'000, "from 1s to 30s");
  stream_span part = parse_span("hls-part", args["hls-part"].as<std::string>());
  if (part.bytes || (part.ns != 0 && (part.ns < 200'000'000 || part.ns > 1'000'000'000)))
    throw config_error("--hls-part must be a time from 200ms to 1s, or 0 (classic HLS)");
  return {segment / 1000, part.ns / 1000};
}

// Every value given to a flag, in order (a repeated flag's ParseResult keeps the last).
std::vector<std::string> all_of(const cxxopts::ParseResult& args, const std::string& flag) {
  std::vector<std::string> out;
  for (const auto& kv : args.arguments())
    if (kv.key() == flag) out.push_back(kv.value());
  return out;
}

// `inputs`: the mount's source, then the alternates tried after it.
mount_config mount_from(const cxxopts::ParseResult& args, const std::string& path,
                        const std::vector<std::string>& inputs) {
  mount_config m;
  m.path = path;
  check_mount_path(m.path);
  if (!inputs.empty()) m.input = inputs.front();
  if (args.count("input") && m.input.empty())
    throw config_error("--input is empty: give a file or URL");
  for (size_t i = 1; i < inputs.size(); ++i) {
    if (inputs[i].empty() || inputs[i].rfind("push", 0) == 0 || m.input.rfind("push", 0) == 0)
      throw config_error("--input is repeated for " + path +
                         ": each must be a file or URL (upstreams tried in order), not push "
                         "or empty");
    m.alternates.push_back(inputs[i]);
  }
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
  m.record = record_from(args);
  if (args.count("hls")) m.hls = hls_from(args, m.path);
  m.hls_window = number<unsigned>(args, "hls-window", 6, 1000);
  if (args.count("hls-group")) {
    m.hls_group = args["hls-group"].as<std::string>();
    check_mount_path(m.hls_group);
    if (!m.hls || !m.hls_group.ends_with(".m3u8"))
      throw config_error("--hls-group " + m.hls_group + " for " + m.path +
                         ": give a path ending in .m3u8, for a mount offered with --hls");
  }
  if (args.count("fallback")) {
    m.fallback = args["fallback"].as<std::string>();
    if (m.fallback.empty() || m.fallback == m.path)
      throw config_error("--fallback for " + m.path +
                         " must be a file, a URL or another mount's path");
  }
  m.fallback_after = std::chrono::milliseconds(
      parse_time("fallback-after", args["fallback-after"].as<std::string>(), 100'000'000,
                 3'600'000'000'000, "from 100ms to 1h") /
      1'000'000);
  return m;
}
// HTTPS: the listener and its certificates, read and checked now (a reload reads them
// again; a bad one fails the reload, which keeps the running ones).
void tls_from(const cxxopts::ParseResult& args, config& c) {
  std::vector<std::string> certs = all_of(args, "tls-cert"), keys = all_of(args, "tls-key");
  c.tls_handshake_timeout_s = number<uint32_t>(args, "tls-handshake-timeout", 0, 3600);
  if (!args.count("tls-listen")) {
    if (!certs.empty() || !keys.empty())
      throw config_error("--tls-cert/--tls-key without --tls-listen: give the HTTPS address too");
    return;
  }
  std::string listen = args["tls-listen"].as<std::string>();
  auto addr = address::parse(listen);
  if (!addr)
    throw config_error("--tls-listen '" + listen +
                       "' is not an address: use PORT, HOST:PORT or [IPV6]:PORT");
  c.tls_listen = *addr;
  if (certs.empty()) throw config_error("--tls-listen needs a --tls-cert and its --tls-key");
  if (certs.size() != keys.size())
    throw config_error(fmt::format(
        "{} --tls-cert and {} --tls-key: give each certificate its key, in the same order",
        certs.size(), keys.size()));
  for (size_t i = 0; i < certs.size(); ++i) c.tls_pairs.push_back({certs[i], keys[i]});
  std::string why, error;
  c.tls = tls_config::load(c.tls_pairs, ktls_available(why), error);
  if (!c.tls) throw config_error("TLS: " + error);
}

// --relay and what relayed mounts are made like: the mount flags given with it.
void relay_from(const cxxopts::ParseResult& args, config& c) {
  c.relay = all_of(args, "relay");
  for (const std::string& url : c.relay)
    if ((url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) ||
        url.find_first_of(" \t\r\n") != std::string::npos)
      throw config_error(
          "--relay must be the http:// URL of an origin's admin /stats "
          "(http://user:pass@origin:8081/stats)");
  c.relay_interval = std::chrono::microseconds(
      parse_time("relay-interval", args["relay-interval"].as<std::string>(), 1'000'000'000,
                 3'600'000'000'000, "from 1s to 3600s") /
      1000);
  if (args.count("hls-group"))
    throw config_error("--hls-group names renditions of this gordo's mounts, not relayed ones");
  c.relay_mount = mount_from(args, "/relayed.ts", {"relayed"});
  c.relay_mount.input.clear();
  c.relay_mount.loop = false;
  c.relay_mount.fallback.clear();  // a relayed mount's tracks are not known to fit it
  c.relay_mount.record = {};       // one template for every relayed mount would mix their files
}

}  // namespace

std::string mount_config::push_path() const {
  if (input == "push") return path;
  if (input.rfind("push:", 0) == 0) return input.substr(5);
  return {};
}

std::string mount_config::source_key() const {
  std::string key;
  if (std::string push = push_path(); !push.empty()) {
    key = "push:" + push;
  } else if (relayed) {
    key = "relay:" + path;  // its URLs change as origins are seen
  } else {
    key = (loop ? "loop:" : "once:") + input;
    for (const std::string& a : alternates) key += "\n" + a;  // a URL holds no line break
  }
  if (!fallback.empty())
    key += fmt::format("\nfallback {} ms: {}{}", fallback_after.count(),
                       fallback_is_mount ? "mount " : "", fallback);
  return key;
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
  cxxopts::Options opts = flag_table();
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

  std::vector<std::string> inputs = all_of(args, "input");
  if (!specs.empty()) {
    for (const std::string& spec : specs) {
      size_t eq = spec.find('=');
      c.mounts.push_back(eq == std::string::npos
                             ? mount_from(args, spec, inputs)
                             : mount_from(args, spec.substr(0, eq), {spec.substr(eq + 1)}));
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
        // The table's own inputs; else one given on the command line.
        std::vector<std::string> own;
        for (size_t i = 0; i + 1 < fm.args.size(); ++i)
          if (fm.args[i] == "--input") own.push_back(fm.args[i + 1]);
        if (own.empty() && margs.count("input")) own.push_back(margs["input"].as<std::string>());
        c.mounts.push_back(mount_from(margs, margs["mount"].as<std::string>(), own));
      } catch (const config_error& e) {
        throw config_error(fm.where + ": " + e.what());
      }
    }
  } else if (args.count("relay") == 0 || !inputs.empty()) {  // a relay alone has no own mount
    c.mounts.push_back(mount_from(args, args["mount"].as<std::string>(), inputs));
  }
  if (args.count("relay")) relay_from(args, c);
  tls_from(args, c);
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
  // A fallback naming a mount of this gordo plays that mount (one that is not fed by this
  // mount's own source, which is away when it is needed).
  // Mounts sharing a source share its fallback.
  auto source_of = [](mount_config m) {
    m.fallback.clear();
    return m.source_key();
  };
  for (mount_config& m : c.mounts) {
    for (const mount_config& o : c.mounts)
      if (source_of(o) == source_of(m) &&
          (o.fallback != m.fallback || o.fallback_after != m.fallback_after))
        throw config_error("mounts " + o.path + " and " + m.path +
                           " have one source: give them the same fallback and fallback_after");
    auto other = std::find_if(c.mounts.begin(), c.mounts.end(),
                              [&](const mount_config& o) { return o.path == m.fallback; });
    if (other == c.mounts.end()) continue;
    if (source_of(*other) == source_of(m))
      throw config_error("--fallback " + m.fallback + " for " + m.path +
                         " has the same source: it would be away too");
    if (!other->fallback.empty())
      throw config_error("--fallback " + m.fallback + " for " + m.path +
                         " has a fallback of its own: a fallback's fallback is not followed");
    m.fallback_is_mount = true;
  }
  check_records(c.mounts);
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
