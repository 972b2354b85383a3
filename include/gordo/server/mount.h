// Mounts: the paths viewers request, each with its stream, its muxer and the source
// feeding that (which other mounts may share).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gordo/core/stream.h"
#include "gordo/core/stream_ring.h"
#include "gordo/media/remuxer.h"
#include "gordo/media/source.h"
#include "gordo/net/ip_acl.h"

namespace gordo {

// Who may watch a mount: client addresses, and signed URLs (net/signed_url.h).
struct mount_access {
  ip_acl ips;
  std::string token_secret;     // empty: no token asked
  bool token_binds_ip = false;  // the token signs the client's address too
};

// What to do with a viewer that fell too far behind (multifdsink's recover policy).
enum class slow_policy { skip_to_keyframe, drop };

struct mount_policy {
  stream_span burst;    // history a new viewer gets, from a keyframe (none: newest keyframe)
  stream_span max_lag;  // how far behind live a viewer may fall (none: the ring's window)
  slow_policy on_slow = slow_policy::skip_to_keyframe;
  uint64_t client_limit = 0;                   // viewers of this mount; 0: no limit
  std::shared_ptr<const mount_access> access;  // nullptr: anyone
};

struct mount {
  mount() = default;
  mount(const mount&) = delete;
  mount& operator=(const mount&) = delete;
  ~mount() {
    if (feed && remux) feed->detach(remux.get());
  }

  std::string path;           // "/live.ts"
  std::string content_type;   // "video/mp2t"
  std::string response_head;  // the 200 head every viewer gets first
  std::string
      icy_head;  // ... with icy-metaint, for viewers asking for ICY metadata; empty: not offered
  mount_policy policy;  // as created; workers keep their own copy, updated on reload
  std::atomic<uint64_t> client_limit{0};  // policy.client_limit, as reloads change it
  uint32_t slot = 0;                      // its view's index in every worker
  std::atomic<uint32_t> released{0};      // workers done with it, once it is retired
  bool header_in_band = false;  // a viewer can follow a new stream header (MPEG-TS, ADTS, MP3)
  std::unique_ptr<stream> out;
  std::unique_ptr<remuxer> remux;  // feeds `out`
  std::shared_ptr<source> feed;    // feeds `remux`, and maybe other mounts' muxers
  std::string source_key;          // mounts with the same key share their source
  std::string source_label;        // what feeds it, for stats
  // HLS (--hls): where its multivariant playlist is ("/live.m3u8"; empty: not offered), how
  // it is cut, the segments a playlist lists, and the run its URIs name (a new one each
  // time the mount is made, so that caches never mix two runs' segment numbers).
  std::string hls_playlist;
  hls_cut_options hls_cuts;
  unsigned hls_window = 0;
  std::string hls_run;
  std::string hls_group;             // a multivariant playlist listing it with other renditions
  std::atomic<uint64_t> viewers{0};  // across all workers
  std::atomic<uint64_t> viewers_peak{0};
};

class mount_table {
 public:
  mount& add(std::unique_ptr<mount> m);
  // Index of the mount at `path`, or -1.
  int find(std::string_view path) const;
  mount& at(size_t i) { return *mounts_[i]; }
  const mount& at(size_t i) const { return *mounts_[i]; }
  size_t size() const { return mounts_.size(); }
  void clear() { mounts_.clear(); }
  std::unique_ptr<mount> remove(size_t i) {
    auto m = std::move(mounts_[i]);
    mounts_.erase(mounts_.begin() + static_cast<std::ptrdiff_t>(i));
    return m;
  }

 private:
  std::vector<std::unique_ptr<mount>> mounts_;
};

}  // namespace gordo
