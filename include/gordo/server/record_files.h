// Recording's pure parts: what a mount records to (its options), the file names its
// strftime template makes, which of its files are its own, and which of them to delete.
#pragma once

#include <cstdint>
#include <ctime>
#include <regex>
#include <string>
#include <vector>

namespace gordo {

struct record_options {
  std::string path;                        // strftime template; empty: not recorded
  int64_t segment_ns = 3'600'000'000'000;  // a new file at the first keyframe after this long
  int64_t flush_ns = 1'000'000'000;        // fdatasync at least this often
  int64_t keep_ns = 0;                     // finished files older than this are deleted; 0: kept
  uint64_t min_free = 0;                   // bytes the filesystem keeps free; 0: no check
  std::string command;                     // run (/bin/sh -c) on each finished file; empty: none

  bool on() const { return !path.empty(); }
  bool operator==(const record_options&) const = default;
};

// The file name for a recording started at `when` (local time): the template through
// strftime. `n` > 0 (the name was taken) puts "-n" before the last extension.
std::string record_file_name(const std::string& templ, std::time_t when, unsigned n = 0);

// The directory every file of the template is under: its directories before the first
// one with a conversion ("rec/%Y/%H.ts" -> "rec"; "%H.ts" -> ".").
std::string record_base_dir(const std::string& templ);

// Whether a path (as record_file_name makes them, with base_dir's prefix) is one the
// template could have made: each conversion stands for what strftime writes for it.
class record_matcher {
 public:
  explicit record_matcher(const std::string& templ);
  bool matches(const std::string& path) const;

 private:
  std::regex re_;
};

// A finished file of a mount, as found on disk.
struct record_file {
  std::string path;
  int64_t mtime_ns = 0;  // CLOCK_REALTIME
  uint64_t size = 0;
};

// The files to delete, oldest first: those older than keep_ns (0: none by age); then, while
// `free_bytes` is below `min_free`, the oldest of the rest until their sizes make it up.
// `files` is in any order.
std::vector<record_file> record_expired(std::vector<record_file> files, int64_t now_ns,
                                        int64_t keep_ns, uint64_t free_bytes, uint64_t min_free);

}  // namespace gordo
