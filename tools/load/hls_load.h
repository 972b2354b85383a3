// gordo-load --hls: many HLS viewers (load/hls_viewer) from one thread, each on one
// keep-alive HTTP/1.1 connection driven by epoll, with timers for classic polling; reports
// stalls, delivery times, requests/s and errors the way the stream mode reports its own.
#pragma once

#include <optional>

#include "load/hls_viewer.h"
#include "load/sys.h"
#include "load/url.h"

namespace gordo::load {

struct hls_options {
  url target;  // a media playlist, or a multivariant one (its first rendition is played)
  hls_mode mode = hls_mode::low_latency;
  unsigned viewers = 100;
  double connect_rate = 1000;  // viewers per second
  double duration = 10;        // seconds measured, after all viewers connected and settled
  double settle = 2;
  int cpu = -1;          // the CPU gordo-load is pinned to: how busy it was is reported
  int server_pid = 0;    // also report this process's CPU and memory over the window
  int server_core = -1;  // also report how busy this CPU was over the window
  bool json = false;
  bool quiet = false;
  bool strict = false;                     // exit 3 when the run was client-bound
  double client_limit = client_bound_pct;  // % of its core past which that is so
  // --source: viewer j connects from source->host(j), on every connection it opens.
  std::optional<source_net> source;
};

// Runs the viewers and prints the summary: 0 when any viewer played, 1 when none did,
// 2 when the URL's host does not resolve (or with --source is not IPv4), 3 when
// client-bound and `strict`.
int run_hls(const hls_options& o);

}  // namespace gordo::load
