// gordo-load's stream mode (tools/gordo-load.cpp): its options, one viewer's state and
// measurements, and the summary of a run (stream_report.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "load/sys.h"
#include "load/tls.h"
#include "load/ts_continuity.h"
#include "load/ts_probe.h"
#include "load/ts_rate.h"
#include "load/url.h"

namespace gordo::load {

// The bytes of the body an unverified viewer parses looking for its first keyframe (not a
// TS stream: none is found); past it, or once found, it only counts what it receives.
constexpr uint64_t probe_limit = 1 << 20;

struct stream_options {
  url target;
  unsigned viewers = 100;
  double connect_rate = 1000;  // viewers per second
  double duration = 10;        // seconds after the last viewer connected
  double settle = 2;           // seconds after the last connect before rates are measured
  double bitrate = 0;          // expected bits/s of the stream; 0: measured from its PCRs
  int cpu = -1;
  std::vector<int> server_pids;  // also report these processes' CPU and memory (summed)
  int server_core = -1;          // also report how busy this CPU was over the window
  bool raw = false;  // no HTTP: the server streams as soon as we connect (tcpserversink)
  std::optional<source_net> source;  // --source: viewer j connects from source->host(j)
  bool json = false;
  bool quiet = false;
  bool tls = false;
  tls_options tls_opts;
  // Viewers that verify all they receive (the first to connect): MPEG-TS continuity, PCRs
  // (the stream's rate, its timeline), with --tls decrypted. Enough for a median that one
  // resynced viewer does not move, few enough to cost nothing at 10,000. The others check
  // the response head and their first keyframe, then count what arrives without copying
  // it (recv MSG_TRUNC: the kernel drops it), TLS ones without decrypting: the client
  // stays cheap beside the server it measures.
  unsigned verify = 16;
  // How counting viewers receive: "uring" (load/uring_count.h), "epoll", or "auto" (uring
  // where the kernel has it).
  std::string recv = "auto";
  bool strict = false;                     // exit 3 when the run was client-bound
  double client_limit = client_bound_pct;  // % of its core past which that is so
};

enum class stream_state : uint8_t { connecting, handshake, head, body, done };

struct stream_viewer {
  int fd = -1;
  stream_state st = stream_state::connecting;
  bool failed = false;        // never got a 200
  bool closed_early = false;  // the server closed a 200 stream before the end
  bool checked = true;        // verified: all its bytes parsed (with --tls: decrypted)
  bool handshake_failed = false;
  bool on_epoll_only = false;  // --recv uring had no room for it: it counts with recv
  uint32_t events = 0;         // what epoll watches for
  int status = 0;
  double started = 0;
  double first_byte = -1;        // seconds after `started`, the TLS handshake included
  double handshake = -1;         // seconds after `started` to the end of the TLS handshake
  double keyframe = -1;          // seconds after `started` to the first random-access TS packet
  uint64_t keyframe_packet = 0;  // which TS packet of the body that was (1: the first)
  uint64_t body_bytes = 0;
  uint64_t bytes_at_mark = 0;
  uint64_t wire_at_mark = 0;  // TLS bytes read at the window's start (the checked ones)
  SSL* ssl = nullptr;         // until the head is read, or to the end on checked viewers
  std::string head;           // the response head while reading it
  std::string error;
  ts_probe probe;                             // until its first keyframe
  std::unique_ptr<ts_rate> rate;              // verified viewers only
  std::unique_ptr<ts_continuity> continuity;  // verified viewers only
  double offset_at = -1;                      // when it last gave a live offset sample
};

// What the run measured over its window besides the viewers.
struct stream_window {
  double seconds = 0;     // the window's length; 0: the run ended before it began
  double load_cpu_s = 0;  // CPU seconds gordo-load used in it
  int load_core = -1;     // the CPU gordo-load runs on, when one
  core_sample load_core_begin, load_core_end;
  // The ramp, from the first connect to the last (what time to first byte is measured
  // in): its length, gordo-load's CPU seconds and its core over it.
  double ramp_seconds = 0, ramp_cpu_s = 0;
  core_sample ramp_core_begin, ramp_core_end;
  std::vector<proc_sample> server_begin, server_end;  // of each --server-pid
  core_sample core_begin, core_end;
  std::string tls_protocol;              // as the first handshake negotiated it
  uint64_t tls_wire = 0, tls_plain = 0;  // the checked TLS viewers' bytes in the window
  // The verified viewers' latest PCR against when it arrived (monotonic clock ms − PCR
  // timeline ms), each viewer every 100 ms of the window: its low end (1st percentile) is
  // the freshest delivery, and how far the others are above it is how far behind live they
  // are. The clock and the stream are the same for every process on this machine.
  std::vector<double> live_offset_ms;
};

// Prints the summary (a table, or JSON). Returns the exit status: 1 when no viewer got the
// stream, 3 when the run was client-bound and --strict, else 0.
int report_stream(const stream_options& o, const std::vector<stream_viewer>& viewers,
                  const stream_window& w);

}  // namespace gordo::load
