// Recording mounts to files: one thread writes every recorded mount, from the same chunks
// the viewers get (each mount's stream tap: core/stream.h), cut into files at keyframes.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gordo/core/stream.h"
#include "gordo/server/counters.h"
#include "gordo/server/record_files.h"

namespace gordo {

// What /stats shows of one mount's recording.
struct record_stats {
  std::string state = "off";  // off, recording, paused (disk full or below record_min_free),
                              // error (another I/O error; retried)
  std::string file;           // being written; empty between files
  record_counts counts;
};

//  ingest ─▶ stream ─▶ tap (bounded; a full one loses chunks, never waits)
//                         │ drained every 50 ms by the recorder's thread
//                         ▼
//            header + chunks from a keyframe ─▶ file; at a keyframe after record_segment,
//            a new header or a gap: the next file. A failed write pauses the mount's
//            recording (logged once) and it starts a new file at a keyframe once it can.
class recorder {
 public:
  recorder();
  ~recorder();  // stop()
  recorder(const recorder&) = delete;
  recorder& operator=(const recorder&) = delete;

  // Server thread. Records the mount at `mount` (its stream `out`) as `opts` say, or
  // changes how; a mount whose opts are off (or that is removed) stops being recorded,
  // its file finished. The recorder's thread applies it within 50 ms.
  void set(const std::string& mount, stream* out, const record_options& opts);
  void remove(const std::string& mount) { set(mount, nullptr, {}); }
  // False once the recorder's thread has let go of `out` (its stream may be freed then).
  bool uses(const stream* out) const;
  record_stats stats(const std::string& mount) const;
  // Drains what the taps hold, finishes every file and stops the thread (idempotent).
  void stop();

  struct recording;  // one mount's, in recorder.cpp

 private:
  struct wanted {
    stream* out = nullptr;
    record_options opts;
  };
  void run();
  void reconcile();  // applies wanted_ to recordings_
  void reap();       // record_command children that ended

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool dirty_ = false;
  std::map<std::string, wanted> wanted_;                          // mu_
  std::map<std::string, std::shared_ptr<recording>> recordings_;  // mu_; the thread's to change
  std::vector<pid_t> children_;                                   // the thread's
  std::thread thread_;
};

}  // namespace gordo
