// One mount's ingest: a thread that demuxes the source, paces it to real time when it is
// a file, and remuxes it once, into the format its path names (MPEG-TS by default), as
// chunks for every viewer of the mount.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gordo/core/chunk.h"
#include "gordo/core/stream.h"
#include "gordo/media/av.h"
#include "gordo/media/chunk_writer.h"
#include "gordo/media/formats.h"
#include "gordo/media/input.h"

namespace gordo {

class ingest {
 public:
  // Opens the source and the muxer. Throws std::runtime_error naming the mount and the
  // reason when the source cannot be opened or its codecs cannot be remuxed.
  ingest(std::string mount, source_spec spec, stream& out, slab_pool& pool,
         chunk_writer_options opts);
  ~ingest();
  ingest(const ingest&) = delete;
  ingest& operator=(const ingest&) = delete;

  void start();
  // Breaks any blocking read or pacing wait and joins the thread.
  void stop();

  // What the source is doing, for stats (any thread).
  enum class state { live, reconnecting, ended };
  state current() const { return state_.load(std::memory_order_relaxed); }

 private:
  void run();
  void setup_output();
  bool reopen();
  bool reconnect(const std::string& why);
  bool pace(int64_t dts_us);
  bool write(AVPacket* pkt);

  std::string mount_;
  const output_format& format_;
  source_spec spec_;
  stream& out_;
  chunk_writer writer_;
  std::unique_ptr<input> in_;
  av::output_ptr mux_;
  std::vector<int> stream_map_;  // input stream index → output index, -1 when dropped
  std::vector<int64_t> last_dts_;  // per output stream, in its time base
  int video_out_ = -1;

  // Timestamps: each loop of a file is shifted to follow the previous one.
  int64_t offset_us_ = 0;
  int64_t end_us_ = 0;
  bool rebase_ = false;

  // Pacing: packet DTS against the monotonic clock.
  bool paced_;
  bool clock_started_ = false;
  std::chrono::steady_clock::time_point t0_;
  int64_t dts0_us_ = 0;

  std::atomic<bool> stop_{false};
  std::atomic<state> state_{state::live};
  std::mutex mu_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace gordo
