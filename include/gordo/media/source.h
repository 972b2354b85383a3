// One source and its thread: demuxes it once, paces it to real time when it is a file,
// keeps it going through losses, and hands every packet to the muxers of the mounts it
// feeds (one per format).
//
//   waiting ──▶ live ◀──▶ hungry ──▶ lost ──▶ live ...      (and ended, for files)
//
// waiting: a push mount no encoder has pushed to yet (viewers refused, 503).
// live:    packets flow.
// hungry:  the source failed or sent nothing for --source-timeout; pull sources are
//          reconnected with backoff, push sources wait for the encoder. Viewers stay.
// lost:    hungry for --lost-timeout: viewers are closed and new ones refused (503)
//          until the source is live again.
// ended:   a file that is not looped reached its end; the mounts end.
//
// A pull source with alternates (more URLs of the same stream, e.g. a backup origin) fails
// over: when the URL in use fails, the next ones are tried at once, then all of them from
// the first, with backoff. Viewers stay and timestamps continue, as after any reconnect.
//
// When the source comes back with the same tracks, the stream goes on, timestamps
// continuing. With different tracks, each muxer starts again with a new header from the
// next keyframe (chunk_restart): viewers of formats that carry their header in band
// (MPEG-TS, ADTS, MP3) go on; the others are closed there, as their header no longer
// describes what follows.
//
// With a fallback (media/fallback.h), a source away (hungry, lost or waiting) for
// fallback.after has the fallback played in its place, from the fallback's start, by a
// source of its own whose packets come here (stand_in); viewers stay, and are not closed
// when the source is lost. At the source's first keyframe once it is live again, it is back
// on air. Both switches keep the timeline going: what goes on air next starts where the
// last packet out ended (main_shift_us_, fallback_shift_us_).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gordo/media/fallback.h"
#include "gordo/media/input.h"
#include "gordo/media/push.h"
#include "gordo/media/remuxer.h"

namespace gordo {

class source {
 public:
  enum class state { waiting, live, hungry, lost, ended };
  static const char* name(state s);

  // A pull source is opened here (its first URL that opens): throws std::runtime_error
  // with the reasons when none can be; with spec.relayed it is opened by its thread,
  // hungry until then. A push source (spec.push) waits for an encoder.
  source(source_spec spec, std::chrono::microseconds lost_timeout);
  ~source();
  source(const source&) = delete;
  source& operator=(const source&) = delete;

  const std::string& label() const { return spec_.label; }
  // The URL being read, or last read, without credentials (any thread).
  std::string upstream() const;
  // A pull source's URLs change (any thread; a relay that found another origin): the one
  // in use stays in use when it is still listed; the next failover uses the new list.
  void set_urls(std::vector<std::string> urls);
  bool is_push() const { return !spec_.push.empty(); }
  const std::string& push_path() const { return spec_.push; }  // the mount encoders push to

  // A mount's muxer. Opened now when the tracks are known; throws std::runtime_error
  // when its format cannot carry them (it is not attached then).
  void attach(remuxer* r);
  void detach(remuxer* r);

  void start();  // once; later calls do nothing
  // Breaks any blocking read or wait and joins the thread.
  void stop();

  // An encoder's connection (any thread). On `accepted` the source owns it; otherwise
  // the caller answers 401 or 409.
  enum class offer_result { accepted, unauthorized, busy };
  offer_result offer(push_connection& c, std::string_view authorization);

  state current() const { return state_.load(std::memory_order_relaxed); }
  // The tracks of the input read last (empty before one was opened).
  source_layout layout() const;

  // Before start(). Throws std::runtime_error when the fallback cannot be opened, or when
  // this source's tracks are known and the fallback's do not fit them (misfit).
  void set_fallback(fallback_spec f);
  // "none", "standby", "on air", or "misfit" (refused: the reason is logged)
  std::string fallback_state() const;
  // Switches to the fallback and back.
  uint64_t fallback_switches() const { return fallback_switches_.load(std::memory_order_relaxed); }
  // Encoders refused for their credentials (any thread).
  uint64_t auth_failures() const { return auth_failures_.load(std::memory_order_relaxed); }

  // A metadata update's Authorization header (any thread, cheap): the source password;
  // with an htpasswd file, the user and password an encoder last pushed with, which the
  // source thread checked against the file then.
  bool may_update(std::string_view authorization) const;
  // The stream's title (ICY StreamTitle): from the source's tags, or an encoder's
  // metadata update (any thread).
  void set_title(std::string title);

 private:
  // Push sources: true when `password` is the source password (or none is set). With an
  // htpasswd file and no source password, false: that file is checked off the workers.
  bool authorized(std::string_view password) const;
  static int interrupted(void* opaque);
  AVIOInterruptCB interrupt();  // for an input about to be opened
  void run();
  bool acquire();  // the next input: reconnect, reopen or wait for an encoder
  bool wait_for_push();
  void end_push(int err);  // logs and answers how the encoder's body ended
  bool reconnect(bool first_open);
  // Opens the URLs in `order` (indexes into urls_) until one opens; nullptr and each
  // one's error in `errors` when none does.
  std::unique_ptr<input> open_first(const std::vector<size_t>& order, std::string& errors);
  void adopt(std::unique_ptr<input> in);
  bool sleep_for(std::chrono::milliseconds d);  // false when stopping
  void set_state(state s);
  void show_offline(remuxer& r, state s);
  std::string who();  // "udp://... (/a.ts, /a.flv)": the source and the mounts it feeds
  void went_hungry(const std::string& why);
  bool pace(int64_t dts_us);
  void forward(AVPacket* pkt);
  void take_title(const AVFormatContext* ic);
  // Fallback (source_fallback.cpp).
  void watch();      // the fallback's thread: puts it on air when this source is away
  bool go_on_air();  // opens and starts the fallback; false when it cannot be opened
  void stand_in(AVPacket* pkt, AVRational time_base);  // a fallback's packet (its thread)
  // Shifts `pkt` (of time base `tb`) by shift_us onto the muxers' timeline, puts `sets`'
  // bytes before its keyframes, and writes it. mu_ held.
  void write_out(AVPacket* pkt, AVRational tb, int64_t shift_us,
                 const std::vector<std::vector<uint8_t>>& sets);
  std::string mounts_locked() const;  // "/a.ts, /a.flv"; mu_ held
  // What puts `pkt`, a switch point, right after what was written last: after its last DTS
  // and after every picture it shows. mu_ held.
  int64_t splice_shift(const AVPacket* pkt, AVRational tb) const;

  source_spec spec_;
  std::chrono::microseconds lost_timeout_;
  bool paced_;
  bool catch_up_;  // an HTTP upstream: publish each burst once read (remuxer::catch_up)
  std::unique_ptr<input> in_;
  std::vector<std::string> urls_;        // a pull source's: url, then alternates; guarded by mu_
  size_t upstream_ = 0;                  // the one in use; guarded by mu_
  std::optional<source_layout> layout_;  // of the last input; guarded by mu_ once started
  std::optional<source_layout> muxed_;   // what the muxers were opened for; guarded by mu_
  uint64_t muxed_generation_ = 0;        // opens of the muxers; guarded by mu_
  std::vector<std::vector<uint8_t>> main_sets_;  // parameter_sets(muxed_, layout_); mu_
  std::vector<remuxer*> outputs_;                // guarded by mu_

  // Timestamps: each new input (a loop, a reconnect, a new push) continues where the
  // previous one ended.
  int64_t offset_us_ = 0;
  int64_t end_us_ = 0;
  bool rebase_ = false;

  // Pacing: packet DTS against the monotonic clock.
  bool clock_started_ = false;
  std::chrono::steady_clock::time_point t0_;
  int64_t dts0_us_ = 0;

  std::chrono::steady_clock::time_point hungry_since_;
  push_connection pending_;              // an encoder accepted, not yet read; guarded by mu_
  std::unique_ptr<push_reader> pusher_;  // the encoder being read; guarded by mu_
  bool busy_ = false;                    // pending_ or pusher_ holds an encoder; guarded by mu_
  std::pair<std::string, std::string>
      verified_;                // user, password of the last push let in; guarded by mu_
  std::string title_;           // guarded by mu_
  bool title_changed_ = false;  // not yet given to the muxers; guarded by mu_

  // Fallback. The shifts and out_end_us_ are in microseconds, guarded by mu_.
  std::optional<fallback_spec> fallback_;
  bool fallback_is_file_ = false;    // a file (looped), not a URL; set with fallback_
  source* stands_in_for_ = nullptr;  // a fallback's own source: the source it plays for
  std::unique_ptr<source> slate_;    // the fallback while wanted; the watch thread's
  std::thread fallback_thread_;
  bool fallback_wanted_ = false;                     // guarded by mu_
  bool fallback_on_air_ = false;                     // guarded by mu_
  std::optional<source_layout> fallback_layout_;     // guarded by mu_
  std::vector<std::vector<uint8_t>> fallback_sets_;  // guarded by mu_
  std::string fallback_misfit_;                      // guarded by mu_
  uint64_t misfit_generation_ = ~uint64_t{0};        // muxed_generation_ it was found at; mu_
  std::chrono::steady_clock::time_point misfit_at_;  // guarded by mu_
  uint64_t fallback_generation_ = 0;                 // muxed_generation_ it fits; mu_
  std::string open_error_;  // the fallback's last, logged once; the watch thread's
  int64_t main_shift_us_ = 0;
  int64_t fallback_shift_us_ = 0;
  int64_t out_end_us_ = 0;             // where the video (any track, audio only) written last ends
  int64_t out_pts_end_us_ = 0;         // ... and the latest it shows ends (B-frames come before)
  std::vector<int64_t> track_end_us_;  // where each track's last packet ends
  // The source's packets since it was live again, held while the fallback is on air: those
  // of its audio that go with the keyframe it comes back at (they may come before it).
  std::deque<std::pair<av::packet_ptr, AVRational>> held_;  // guarded by mu_
  std::atomic<int64_t> away_since_ns_{0};
  std::atomic<uint64_t> fallback_switches_{0};

  std::atomic<uint64_t> auth_failures_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> waiting_since_ns_{0};  // when the current open or read began
  std::atomic<state> state_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace gordo
