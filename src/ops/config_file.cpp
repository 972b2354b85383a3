// The TOML config file, turned into the flags it stands for: one set of rules (the
// flags') checks both, and a file's error still names its line.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "gordo/ops/config.h"
#include "gordo/ops/config_flags.h"

namespace gordo {

namespace {

// Top-level keys: the flags of the same name with '_' for '-'.
constexpr std::string_view global_keys[] = {
    "listen",
    "admin_listen",
    "access_log",
    "workers",
    "cpus",
    "ring_chunks",
    "chunk_size",
    "chunk_duration",
    "burst",
    "max_lag",
    "on_slow",
    "client_limit",
    "mount_client_limit",
    "bandwidth_limit",
    "redirect_on_overflow",
    "header_timeout",
    "write_timeout",
    "zerocopy",
    "engine",
    "sndbuf",
    "notsent_lowat",
    "log_level",
    "source_timeout",
    "lost_timeout",
    "source_password",
    "allow",
    "deny",
    "token_secret",
    "token_secret_file",
    "token_bind_ip",
    "hls",
    "hls_segment",
    "hls_part",
    "hls_window",
    "hls_group",
    "fallback",
    "fallback_after",
    "cors_origin",
    "player_page",
    "admin_htpasswd",
    "source_htpasswd",
    "relay",
    "relay_interval",
    "tls_listen",
    "tls_cert",
    "tls_key",
    "tls_handshake_timeout",
    "record",
    "record_segment",
    "record_flush",
    "record_keep",
    "record_min_free",
    "record_command",
};
// Keys of a [[mount]] table, and the flag each stands for.
constexpr std::pair<std::string_view, std::string_view> mount_keys[] = {
    {"path", "--mount"},
    {"input", "--input"},
    {"loop", "--loop"},
    {"burst", "--burst"},
    {"max_lag", "--max-lag"},
    {"on_slow", "--on-slow"},
    {"client_limit", "--mount-client-limit"},
    {"source_password", "--source-password"},
    {"allow", "--allow"},
    {"deny", "--deny"},
    {"token_secret", "--token-secret"},
    {"token_secret_file", "--token-secret-file"},
    {"token_bind_ip", "--token-bind-ip"},
    {"hls", "--hls"},
    {"hls_segment", "--hls-segment"},
    {"hls_part", "--hls-part"},
    {"hls_window", "--hls-window"},
    {"hls_group", "--hls-group"},
    {"fallback", "--fallback"},
    {"fallback_after", "--fallback-after"},
    {"record", "--record"},
    {"record_segment", "--record-segment"},
    {"record_flush", "--record-flush"},
    {"record_keep", "--record-keep"},
    {"record_min_free", "--record-min-free"},
    {"record_command", "--record-command"},
};

}  // namespace

std::span<const std::string_view> file_keys() {
  return global_keys;
}

std::span<const std::pair<std::string_view, std::string_view>> mount_file_keys() {
  return mount_keys;
}

std::string flag_of(std::string_view key) {
  std::string flag = "--" + std::string(key);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

namespace {

std::string where(const std::string& path, const toml::node& n) {
  return fmt::format("{}:{}", path, n.source().begin.line);
}

// A value as flag text: strings as they are, numbers written out. Booleans only where
// the flag is a switch (`loop`), handled by the caller.
std::string text_of(const std::string& path, std::string_view key, const toml::node& v) {
  if (auto s = v.as_string()) return s->get();
  if (auto b = v.as_boolean(); b && key == "player_page") return b->get() ? "on" : "off";
  if (auto i = v.as_integer()) return std::to_string(i->get());
  if (auto f = v.as_floating_point()) return fmt::format("{}", f->get());
  throw config_error(fmt::format("{}: key '{}' must be a string or a number, not {}",
                                 where(path, v), key,
                                 toml::impl::node_type_friendly_names[static_cast<int>(v.type())]));
}

file_args config_args(const toml::table& root, const std::string& path);

// Keys whose flags take no value: true sets them.
bool is_switch(std::string_view key) {
  return key == "loop" || key == "token_bind_ip" || key == "hls";
}

bool switch_on(const std::string& path, std::string_view key, const toml::node& v) {
  auto b = v.as_boolean();
  if (!b)
    throw config_error(fmt::format("{}: key '{}' must be true or false", where(path, v), key));
  return b->get();
}

std::string_view kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string not_regular(std::string_view what, const std::string& path, mode_t mode) {
  return fmt::format("cannot read {} {}: it is {}; give the path of a regular file", what, path,
                     kind_of(mode));
}

}  // namespace

// A FIFO would block the main thread (and SIGTERM with it) until someone writes to it, a
// device may never end and a directory reads as nothing: all are refused before a read.
// stat() first, so that a device is not even opened (opening some has side effects);
// then fstat() on what was opened, which is what is read (the path may have changed).
std::string read_regular_file(const std::string& path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw config_error(fmt::format("cannot read {} {}: {}", what, path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw config_error(not_regular(what, path, st.st_mode));
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    throw config_error(fmt::format("cannot read {} {}: {}", what, path, std::strerror(errno)));
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_it{fd};
  if (::fstat(fd, &st) != 0)
    throw config_error(fmt::format("cannot read {} {}: {}", what, path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw config_error(not_regular(what, path, st.st_mode));
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw config_error(fmt::format("cannot read {} {}: {}", what, path, std::strerror(errno)));
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

file_args read_config_file(const std::string& path) {
  return read_config_text(read_regular_file(path, "config file"), path);
}

file_args read_config_text(std::string_view text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw config_error(fmt::format("{}:{}: {}", path, e.source().begin.line, e.description()));
  }
  return config_args(root, path);
}

namespace {

file_args config_args(const toml::table& root, const std::string& path) {
  file_args out;
  for (auto&& [key, value] : root) {
    std::string_view k = key.str();
    if (k == "mount") {
      auto* tables = value.as_array();
      if (!tables || !tables->is_array_of_tables())
        throw config_error(fmt::format("{}: 'mount' must be [[mount]] tables", where(path, value)));
      for (auto&& item : *tables) {
        const toml::table& t = *item.as_table();
        file_mount m;
        m.where = where(path, t);
        for (auto&& [mkey, mvalue] : t) {
          std::string_view name = mkey.str();  // (clang 14 cannot capture a structured binding)
          auto known = std::find_if(std::begin(mount_keys), std::end(mount_keys),
                                    [name](const auto& p) { return p.first == name; });
          if (known == std::end(mount_keys))
            throw config_error(fmt::format(
                "{}: unknown key '{}' in [[mount]] (known: path, input, loop, burst, "
                "max_lag, on_slow, client_limit, source_password, allow, deny, token_secret, "
                "token_secret_file, token_bind_ip, hls, hls_segment, hls_part, hls_window, "
                "hls_group, "
                "record, record_segment, record_flush, record_keep, record_min_free, "
                "record_command)",
                where(path, mvalue), mkey.str()));
          if (is_switch(name)) {
            if (switch_on(path, name, mvalue)) m.args.emplace_back(known->second);
            continue;
          }
          if (auto* list = mvalue.as_array(); list && name == "input") {  // upstreams in order
            for (auto&& url : *list) {
              m.args.emplace_back(known->second);
              m.args.push_back(text_of(path, mkey.str(), url));
            }
            continue;
          }
          m.args.emplace_back(known->second);
          m.args.push_back(text_of(path, mkey.str(), mvalue));
        }
        out.mounts.push_back(std::move(m));
      }
      continue;
    }
    if (std::find(std::begin(global_keys), std::end(global_keys), k) == std::end(global_keys))
      throw config_error(fmt::format(
          "{}: unknown key '{}'{}", where(path, value), k,
          k == "input" || k == "path" || k == "loop" ? " (it belongs in a [[mount]] table)" : ""));
    if (auto* list = value.as_array();
        list && (k == "relay" || k == "tls_cert" || k == "tls_key")) {  // in order
      for (auto&& url : *list) {
        out.flags.emplace_back(flag_of(k), text_of(path, k, url));
        out.where.push_back(fmt::format("{}: key '{}'", where(path, url), k));
      }
      continue;
    }
    if (is_switch(k)) {
      if (switch_on(path, k, value))
        out.flags.emplace_back(flag_of(k), "");  // a flag without a value
    } else {
      out.flags.emplace_back(flag_of(k), text_of(path, k, value));
    }
    out.where.push_back(fmt::format("{}: key '{}'", where(path, value), k));
  }
  return out;
}

}  // namespace

}  // namespace gordo
