// gordo-load's stream mode (tools/gordo-load.cpp): its options, one viewer's state and
// measurements, and the summary of a run (stream_report.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "load/sys.h"
#include "load/tls.h"
#include "load/ts_probe.h"
#include "load/ts_rate.h"
#include "load/url.h"

namespace gordo::load {

// Viewers whose MPEG-TS is parsed for PCRs (the first to connect): enough for a median
// that a single resynced viewer does not move, few enough to cost nothing at 10,000.
constexpr unsigned rate_sample = 16;

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
  bool json = false;
  bool quiet = false;
  bool tls = false;
  tls_options tls_opts;
  // Viewers that decrypt and check what they receive (the first to connect); the others
  // count the TLS records they receive without decrypting them, so the client stays cheap.
  unsigned tls_sample = 16;
};

enum class stream_state : uint8_t { connecting, handshake, head, body, done };

struct stream_viewer {
  int fd = -1;
  stream_state st = stream_state::connecting;
  bool failed = false;        // never got a 200
  bool closed_early = false;  // the server closed a 200 stream before the end
  bool checked = true;        // its bytes are parsed (with --tls: decrypted) and checked
  bool handshake_failed = false;
  uint32_t events = 0;  // what epoll watches for
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
  ts_probe probe;
  std::unique_ptr<ts_rate> rate;  // on the first `rate_sample` viewers only
};

// What the run measured over its window besides the viewers.
struct stream_window {
  double seconds = 0;     // the window's length; 0: the run ended before it began
  double load_cpu_s = 0;  // CPU seconds gordo-load used in it
  std::vector<proc_sample> server_begin, server_end;  // of each --server-pid
  core_sample core_begin, core_end;
  std::string tls_protocol;              // as the first handshake negotiated it
  uint64_t tls_wire = 0, tls_plain = 0;  // the checked TLS viewers' bytes in the window
};

// Prints the summary (a table, or JSON); returns how many viewers got the stream.
unsigned report_stream(const stream_options& o, const std::vector<stream_viewer>& viewers,
                       const stream_window& w);

}  // namespace gordo::load
