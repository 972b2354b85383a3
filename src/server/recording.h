// One mount's recording, as the recorder's thread runs it (server/recorder.h): the file
// being written, where it is in the stream, and what /stats shows of it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "gordo/core/chunk_feed.h"
#include "gordo/server/recorder.h"

namespace gordo {

struct recorder::recording {
  enum class state { waiting, writing, paused, error };

  recording(std::string mount, stream* out, const record_options& opts);
  ~recording();  // finishes the file

  // The recorder's thread. Handles what the tap holds; `children` gets the pid of each
  // record_command started.
  void pump(int64_t now_ns, std::vector<pid_t>& children);
  // A new template (or other options): the file is finished when the template changed.
  void set_options(const record_options& opts, std::vector<pid_t>& children);
  // Finished, fdatasync'd, its command started.
  void finish(std::vector<pid_t>& children);

  // The stream's header as the recording starts (later ones come through the tap).
  void adopt_header(chunk_ref header) { header_ = std::move(header); }

  record_stats stats() const;

  const std::string mount;
  stream* const out;
  chunk_feed* tap;

 private:
  void handle(feed_item&& item, int64_t now_ns, std::vector<pid_t>& children);
  bool open_file(int64_t now_ns);
  bool write_all(std::span<const std::byte> bytes);
  void fail(int err, const std::string& what, int64_t now_ns, std::vector<pid_t>& children);
  void resumed();
  // record_keep and record_min_free: deletes expired files; false when there is still
  // less than record_min_free free.
  bool sweep(int64_t now_ns);
  uint64_t free_bytes() const;
  void show(state s);

  record_options opts_;
  std::string base_;
  record_matcher matcher_;
  int fd_ = -1;
  std::string file_;
  uint64_t file_bytes_ = 0;  // written to the file, header included
  bool file_has_chunks_ = false;
  int64_t file_start_ns_ = 0;  // the first chunk's publish time
  int64_t synced_ns_ = 0;      // last fdatasync
  int64_t next_sweep_ns_ = 0;  // the next look at record_keep
  int64_t next_check_ns_ = 0;  // the next look at record_min_free
  int64_t retry_ns_ = 0;       // paused or error: the next try, at a keyframe after this
  uint64_t next_seq_ = 0;
  bool have_seq_ = false;
  chunk_ref header_;
  bool header_changed_ = false;
  state state_ = state::waiting;
  bool episode_ = false;  // a pause was logged; its end is logged once recording resumes

  std::atomic<state> shown_{state::waiting};
  mutable std::mutex file_mu_;  // shown_file_, for stats
  std::string shown_file_;
  record_counters counters_;
};

}  // namespace gordo
