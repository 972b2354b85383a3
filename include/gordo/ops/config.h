// What gordo was asked to do, from its command line and, with --config, a TOML file
// (flags override the file).
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gordo/io/zerocopy.h"
#include "gordo/media/chunk_writer.h"
#include "gordo/media/hls_cutter.h"
#include "gordo/net/address.h"
#include "gordo/net/htpasswd.h"
#include "gordo/net/tls.h"
#include "gordo/server/admission.h"
#include "gordo/server/mount.h"
#include "gordo/server/record_files.h"

namespace gordo {

struct mount_config {
  std::string path;   // "/live.ts"
  std::string input;  // empty: the built-in test pattern; "push" or "push:/PATH": encoders push
  std::vector<std::string> alternates;  // more URLs of the same stream, tried in order after input
  bool loop = false;
  std::string password;                // push: the source password; empty: none asked
  mount_policy policy;                 // --burst, --max-lag, --on-slow, --mount-client-limit
  std::optional<hls_cut_options> hls;  // --hls: also offered as HLS, cut like this
  unsigned hls_window = 6;             // segments a playlist lists
  std::string hls_group;               // a multivariant playlist listing it among other renditions
  bool relayed = false;                // made by --relay for a mount of an origin
  std::string fallback;                // --fallback: a file or URL, or a mount's path
  bool fallback_is_mount = false;      // ... which is one of the configured mounts
  std::chrono::milliseconds fallback_after{2000};
  record_options record;  // --record and its settings (server/recorder.h)

  // Where encoders push this mount's source ("push" → its own path), or empty.
  std::string push_path() const;
  // Mounts with equal keys are fed by one source.
  std::string source_key() const;
  // --hls: where its multivariant playlist is ("/live.ts" → "/live.m3u8").
  std::string hls_playlist() const;
};

// How workers do their I/O: io_uring; epoll with sendmsg; or io_uring where the kernel
// allows it, else epoll (saying why, once).
enum class engine_choice { automatic, uring, epoll };

struct config {
  address listen;
  std::optional<address> admin_listen;    // /stats and /metrics; nullopt: none
  std::optional<address> tls_listen;      // HTTPS for viewers; nullopt: none
  std::vector<tls_pair> tls_pairs;        // --tls-cert/--tls-key, in order
  std::shared_ptr<const tls_config> tls;  // those, loaded and checked
  uint32_t tls_handshake_timeout_s = 0;   // 0: header_timeout_s
  std::string access_log;                 // a file, "-" (stdout) or empty (none)
  std::vector<mount_config> mounts;       // at least one
  unsigned workers = 0;                   // 0: one per online CPU (or per --cpus entry)
  std::vector<int> cpus;                  // pin worker i to cpus[i % size]; empty: no pinning
  size_t ring_chunks = 1024;
  chunk_writer_options chunking;  // --chunk-size, --chunk-duration
  mount_policy policy;            // every mount's unless its [[mount]] table says otherwise
  admission_limits limits;        // --client-limit, --bandwidth-limit, --redirect-on-overflow
  uint32_t header_timeout_s = 10;
  uint32_t write_timeout_s = 30;
  int64_t source_timeout_us = 10'000'000;  // a network source quiet this long is reconnected
  std::chrono::microseconds lost_timeout{30'000'000};  // hungry this long: lost
  zerocopy_mode zerocopy = zerocopy_mode::automatic;
  engine_choice engine = engine_choice::automatic;
  int sndbuf = 0;  // SO_SNDBUF per viewer; 0: kernel autotuning
  // TCP_NOTSENT_LOWAT per viewer: bytes the kernel takes beyond what is in flight; the rest
  // waits in the ring, where --max-lag sees it. 0: the kernel's (net.ipv4.tcp_notsent_lowat).
  int notsent_lowat = 32 * 1024;
  std::string cors_origin = "*";  // Access-Control-Allow-Origin on viewer answers; empty: none
  bool player_page = true;        // --player-page: GET / lists the mounts, each with a player
  std::string log_level = "info";
  std::shared_ptr<const htpasswd>
      admin_users;  // --admin-htpasswd: /stats and /metrics need Basic auth
  std::shared_ptr<const htpasswd> source_users;  // --source-htpasswd: encoders push as one of these
  std::string config_file;                       // --config, when given
  // --relay: mirror every mount of these origins (their admin /stats URLs, primary first),
  // read every relay_interval; relayed mounts are made like relay_mount (its policy, HLS).
  std::vector<std::string> relay;
  std::chrono::microseconds relay_interval{5'000'000};
  mount_config relay_mount;
  bool check_only = false;  // --check-config: validate, print a summary, exit
};

// A bad command line; the message says what was wrong.
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Recorded mounts whose files could be taken for each other's (retention would delete
// them). Throws config_error.
void check_records(const std::vector<mount_config>& mounts);

// "0-3,6" → {0,1,2,3,6}. Throws config_error naming `flag` when malformed.
std::vector<int> parse_cpu_list(const std::string& flag, const std::string& text);

// "2s", "500ms", "1.5s", "30m", "12h", "7d" (time) or "65536", "512KiB", "2MB", "1MiB", "1G"
// (bytes; K, M, G and T are powers of 1024); "0": none.
// Throws config_error naming `flag` when malformed.
stream_span parse_span(const std::string& flag, const std::string& text);
// A time (parse_span) from min_ns to max_ns, in nanoseconds; otherwise throws config_error
// "--FLAG must be a time RANGE" (`range` says it: "from 1s to 30s").
int64_t parse_time(const std::string& flag, const std::string& text, int64_t min_ns, int64_t max_ns,
                   std::string_view range);

// nullopt after printing --help or --version; throws config_error on a bad flag or a bad
// config file (the message names the file, line and key).
std::optional<config> parse_args(int argc, char** argv);

// A config file as command-line arguments: its top-level keys as flags, and each
// [[mount]] table's keys as the flags of one mount, with where each came from.
struct file_mount {
  std::vector<std::string> args;  // "--mount", path, "--input", url, ...
  std::string where;              // "FILE:LINE" of the table
};
struct file_args {
  std::vector<std::pair<std::string, std::string>> flags;  // "--workers" → "4"
  std::vector<std::string> where;                          // "FILE:LINE: key 'workers'" per flag
  std::vector<file_mount> mounts;
};
// A regular file's bytes; anything else (a directory, a FIFO, a device) is refused before
// it is read, so that reading never blocks. Throws config_error "cannot read WHAT PATH: ...".
std::string read_regular_file(const std::string& path, std::string_view what);
// Throws config_error "FILE:LINE: ..." for a syntax error, an unknown key or a value of
// the wrong type.
file_args read_config_file(const std::string& path);
// The same from text in memory; `path` names it in messages.
file_args read_config_text(std::string_view text, const std::string& path);

}  // namespace gordo
