// What gordo was asked to do, from its command line.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gordo/io/zerocopy.h"
#include "gordo/media/chunk_writer.h"
#include "gordo/net/address.h"
#include "gordo/server/admission.h"
#include "gordo/server/mount.h"

namespace gordo {

struct config {
  address listen;
  std::optional<address> admin_listen;  // /stats and /metrics; nullopt: none
  std::string access_log;               // a file, "-" (stdout) or empty (none)
  std::string input;  // empty: the built-in test pattern
  std::string mount = "/live.ts";
  bool loop = false;
  unsigned workers = 0;   // 0: one per online CPU (or per --cpus entry)
  std::vector<int> cpus;  // pin worker i to cpus[i % size]; empty: no pinning
  size_t ring_chunks = 1024;
  chunk_writer_options chunking;  // --chunk-size, --chunk-duration
  mount_policy policy;     // for the mount (--burst, --max-lag, --on-slow, --mount-client-limit)
  admission_limits limits;  // --client-limit, --bandwidth-limit, --redirect-on-overflow
  uint32_t header_timeout_s = 10;
  uint32_t write_timeout_s = 30;
  zerocopy_mode zerocopy = zerocopy_mode::automatic;
  int sndbuf = 0;  // SO_SNDBUF per viewer; 0: kernel autotuning
  std::string log_level = "info";
};

// A bad command line; the message says what was wrong.
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "0-3,6" → {0,1,2,3,6}. Throws config_error naming `flag` when malformed.
std::vector<int> parse_cpu_list(const std::string& flag, const std::string& text);

// "2s", "500ms", "1.5s" (time) or "65536", "512KiB", "2MB", "1MiB" (bytes); "0": none.
// Throws config_error naming `flag` when malformed.
stream_span parse_span(const std::string& flag, const std::string& text);

// nullopt after printing --help or --version; throws config_error on a bad flag.
std::optional<config> parse_args(int argc, char** argv);

}  // namespace gordo
