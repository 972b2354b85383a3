// One HLS viewer's player logic, as hls.js plays a live stream over one connection: which
// request comes next (playlist, blocking reload, part or segment), and a model of its
// buffer (stalls), its delivery times and what went wrong. No sockets: tools/load/hls_load
// does the I/O, and tests drive this with playlists.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "load/histogram.h"
#include "load/m3u8.h"

namespace gordo::load {

enum class hls_mode : uint8_t {
  low_latency,  // blocking playlist reloads for the next part, then the part(s) it lists
  classic,      // the playlist polled every half target duration, whole segments
};

// What all viewers share: where a playlist is parsed (one at a time: one thread), and what
// every viewer adds to while the window is measured (the driver switches `recording` on).
struct hls_common {
  m3u8_media parsed;
  bool recording = false;
  // Milliseconds from a part's (or segment's) publication, the wall time its last sample
  // was made (PROGRAM-DATE-TIME + its offset + its duration), to its last byte's receipt.
  histogram delivery_ms{-2000, 60000, 1};
  // The same from its first sample: what it adds to a viewer's latency behind live.
  histogram age_ms{-2000, 60000, 1};
  uint64_t media = 0;      // parts and segments received
  uint64_t playlists = 0;  // playlists received (multivariant ones included)
};

class hls_viewer {
 public:
  enum class fetch : uint8_t { entry, playlist, media };
  // What the viewer does next: send request() now, wait until `at`, or nothing more.
  struct next {
    enum class what : uint8_t { request, wait, stop } w = what::request;
    double at = 0;
  };

  // `path`: the URL's path, a multivariant or a media playlist. `phase` (0–1): where in
  // the polling interval a classic viewer's polls fall, so that viewers that joined at
  // once still poll at times spread as real viewers' are (not all just before, or all
  // just after, each new segment).
  hls_viewer(hls_mode mode, std::string path, hls_common* common, double phase = 0);

  // The request to send now; valid until the next call to on_*.
  const std::string& request() const { return request_; }
  fetch kind() const { return kind_; }

  // A whole 200 response to request(), at monotonic time `t`, wall (Unix) time `wall`
  // (both seconds); `body` is the playlist for playlists and unused for media.
  next on_response(std::string_view body, double t, double wall);
  // Any other status: what to do instead.
  next on_status(int status, double t);
  // The connection broke before the response was whole: ask again (after a pause when it
  // keeps happening).
  next on_lost(double t);
  // A wait has ended.
  next on_timer(double t);
  // The run is over at `t`: a viewer whose buffer ran dry since its last media is stalled.
  void finish(double t);

  hls_mode mode() const { return mode_; }
  bool playing() const { return playing_; }
  uint32_t stalls() const { return stalls_; }
  double stalled_s() const { return stalled_s_; }
  // The least the buffer held just before media arrived in the measured window (seconds;
  // 1e9 when nothing arrived in it).
  double min_buffer_s() const { return min_buffer_; }
  // Times the viewer found its next part or segment gone from the playlist and jumped.
  uint32_t skips() const { return skips_; }
  // Seconds of media in the buffer at `t` (negative: it ran dry that long ago).
  double buffer_s(double t) const { return media_s_ - (t - play_start_); }

 private:
  struct item {
    std::string path;
    double media_s = 0;
    double start_wall = -1;  // publication of its first sample, of its last: Unix seconds
    double end_wall = -1;
    bool live = false;  // announced after the viewer joined (not the backlog it starts with)
  };

  next on_playlist(std::string_view body, double t, double wall);
  // Picks where a viewer joining now starts (and sets next_msn_, next_part_).
  void join(const m3u8_media& pl);
  // Queues what `pl` lists from next_msn_/next_part_ on.
  void queue_low_latency(const m3u8_media& pl, bool live);
  void queue_classic(const m3u8_media& pl, bool live);
  // The request after the queue ran out: the next blocking reload, or a wait for the poll.
  next after_queue(double t);
  next ask(fetch kind, std::string path);
  void on_media(const item& it, double t, double wall);

  hls_mode mode_;
  std::string entry_;     // the URL's path
  std::string playlist_;  // the media playlist's path (after a multivariant one)
  hls_common* common_;
  double phase_;
  std::string request_;
  fetch kind_ = fetch::entry;

  bool joined_ = false;
  uint64_t next_msn_ = 0;
  uint32_t next_part_ = 0;
  double taken_in_segment_ = 0;  // seconds of next_msn_'s parts received
  double target_s_ = 2;
  double last_poll_ = -1;  // when the last classic poll was asked for (-1: none yet)
  std::vector<item> queue_;
  size_t queue_head_ = 0;
  uint32_t lost_in_row_ = 0;

  bool playing_ = false;
  double play_start_ = 0;
  double media_s_ = 0;
  double min_buffer_ = 1e9;
  uint32_t stalls_ = 0;
  double stalled_s_ = 0;
  uint32_t skips_ = 0;
};

}  // namespace gordo::load
