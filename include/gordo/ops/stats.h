// A snapshot of what gordo is doing, and its two renderings: JSON for people and
// dashboards (GET /stats), Prometheus text format for scrapers (GET /metrics).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gordo/server/counters.h"
#include "gordo/server/recorder.h"

namespace gordo {

struct mount_stats {
  std::string path;
  std::string content_type;
  std::string source;    // what feeds it (a file, a URL, the test pattern)
  std::string upstream;  // of a pull source: the URL being read (one of its alternates)
  std::string state;     // waiting (no chunk yet), live, ended
  uint64_t viewers = 0;
  uint64_t viewers_peak = 0;
  double bits_out_per_s = 0;  // over the time since the previous snapshot
  double bits_in_per_s = 0;   // the source's published bitrate
  double keyframe_interval_s = 0;
  uint64_t chunks_published = 0;
  std::string fallback = "none";  // none, standby, on air, misfit (source::fallback_state)
  uint64_t fallback_switches = 0;
  mount_counts counts;  // all workers' (combined by the table); denied adds refused pushes
  record_stats record;  // --record: state "off" when not recorded
};

struct worker_stats {
  unsigned id = 0;
  int cpu = -1;            // pinned to; -1: not pinned
  std::string engine;      // "io_uring" or "epoll"
  std::string uring_mode;  // io_uring's setup flags; empty with epoll
  worker_counts counts;
  std::string zerocopy = "off";  // to_string(zerocopy_state)
  zerocopy_counts zc;
  uint64_t cq_overflows = 0;  // the kernel's count, read from the ring
};

struct process_stats {
  std::string version;
  std::string listen;  // where viewers connect (HOST:PORT), for edges relaying this gordo
  double uptime_s = 0;
  uint64_t open_fds = 0;
  uint64_t fd_limit = 0;
  uint64_t rss_bytes = 0;
  uint64_t admin_denied = 0;  // admin requests refused for their credentials
};

struct stats_snapshot {
  process_stats process;
  std::vector<mount_stats> mounts;
  std::vector<worker_stats> workers;
};

std::string stats_json(const stats_snapshot& s);
std::string stats_prometheus(const stats_snapshot& s);

}  // namespace gordo
