// The recording flags (--record and its settings), per mount like the other mount flags.
#include <fmt/format.h>

#include <ctime>

#include "gordo/ops/config.h"
#include "gordo/ops/config_flags.h"

namespace gordo {

namespace {

int64_t time_of(const cxxopts::ParseResult& args, const std::string& flag, int64_t min_ns,
                int64_t max_ns, std::string_view range) {
  return parse_time(flag, args[flag].as<std::string>(), min_ns, max_ns, range);
}

}  // namespace

record_options record_from(const cxxopts::ParseResult& args) {
  record_options r;
  if (!args.count("record")) return r;
  r.path = args["record"].as<std::string>();
  if (r.path.empty() || r.path.back() == '/' || r.path.find_first_of("\r\n") != std::string::npos ||
      record_file_name(r.path, std::time(nullptr)).empty())
    throw config_error("--record '" + r.path +
                       "' must be a file name template like rec/%Y-%m-%d/%H%M%S.ts (strftime, "
                       "local time)");
  r.segment_ns =
      time_of(args, "record-segment", 1'000'000'000, 86'400'000'000'000, "from 1s to 24h");
  r.flush_ns = time_of(args, "record-flush", 100'000'000, 60'000'000'000, "from 100ms to 60s");
  r.keep_ns = time_of(args, "record-keep", 0, INT64_MAX, "like 7d or 12h, or 0 (keep)");
  stream_span free = parse_span("record-min-free", args["record-min-free"].as<std::string>());
  if (free.ns) throw config_error("--record-min-free must be an amount of bytes like 1G, or 0");
  r.min_free = free.bytes;
  if (args.count("record-command")) {
    r.command = args["record-command"].as<std::string>();
    if (r.command.empty()) throw config_error("--record-command is empty: give a shell command");
  }
  return r;
}

void check_records(const std::vector<mount_config>& mounts) {
  // Each mount deletes only its own files: no template may make names another's matches.
  std::time_t now = std::time(nullptr);
  for (size_t i = 0; i < mounts.size(); ++i) {
    if (!mounts[i].record.on()) continue;
    record_matcher mine(mounts[i].record.path);
    for (size_t j = 0; j < mounts.size(); ++j) {
      if (j == i || !mounts[j].record.on()) continue;
      const std::string& other = mounts[j].record.path;
      for (std::time_t t : {now, now + 86'400 * 40 + 3'661})
        if (mine.matches(record_file_name(other, t)) || mine.matches(record_file_name(other, t, 1)))
          throw config_error(fmt::format(
              "--record: {} ({}) and {} ({}) would record to the same file names: give each "
              "mount a directory or name of its own",
              mounts[i].path, mounts[i].record.path, mounts[j].path, other));
    }
  }
}

}  // namespace gordo
