// The counters a worker keeps, each declared once: a table row below makes the atomic the
// worker adds to, the plain copy a snapshot holds, its key in /stats, its metric in
// /metrics and its words in the line a worker logs when it stops. A new counter is one
// row here plus the code that counts it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "gordo/io/zerocopy.h"

namespace gordo {

// Prometheus: a counter only grows (its name ends in _total), a gauge goes up and down.
enum class metric_type { counter, gauge };
const char* to_string(metric_type t);

// How the workers' counts of one mount make the mount's: summed, or the largest.
enum class combine { sum, max };

// A row's columns, after the member's name:
//   JSON key in GET /stats, empty: not there;
//   metric name in GET /metrics after "gordo_", empty: not there;
//   counter or gauge; HELP text in /metrics (for a row in neither, what it counts);
//   worker rows: the words after its number in the shutdown line, empty: not there;
//   mount rows: sum or max, how the workers' counts make the mount's.
// Names in /stats and /metrics are what users and dashboards depend on: never rename one.
// clang-format off

// Per worker (worker::counters()). Written by the worker thread only; read by anyone.
#define GORDO_WORKER_COUNTERS(X) \
  X(viewers,         "viewers",         "worker_viewers",           gauge,   "Viewers served by the worker now.", "") \
  X(accepted,        "connections",     "worker_connections_total", counter, "Connections accepted.", "connections") \
  X(bytes_sent,      "bytes_out",       "worker_sent_bytes_total",  counter, "Bytes sent.", "bytes") \
  X(sends,           "sends",           "worker_sends_total",       counter, "Sends completed.", "sends") \
  X(sends_in_flight, "sends_in_flight", "worker_sends_in_flight",   gauge,   "Sends submitted and not yet completed.", "") \
  X(resyncs,         "",                "",                         counter, "Slow viewers moved to the newest keyframe.", "resyncs") \
  X(slow_drops,      "",                "",                         counter, "Slow viewers disconnected.", "slow drops") \
  X(overflows,       "refused",         "worker_refused_total",     counter, "Viewers refused by a limit or for lack of fds.", "refused") \
  X(timeouts,        "timeouts",        "worker_timeouts_total",    counter, "Request-head and write timeouts.", "timeouts") \
  X(tls_viewers,     "tls_viewers",     "worker_tls_viewers",       gauge,   "TLS connections past their handshake now.", "") \
  X(tls_ktls,        "tls_ktls",        "worker_tls_ktls_viewers",  gauge,   "Of those, connections the kernel encrypts (kTLS).", "") \
  X(tls_handshakes,  "tls_handshakes",  "worker_tls_handshakes_total", counter, "TLS handshakes completed.", "tls handshakes") \
  X(tls_failed,      "tls_failed",      "worker_tls_failed_total",  counter, "TLS connections closed before their handshake completed: garbage, plain HTTP, truncated, timed out.", "tls failed") \
  X(tls_bytes_out,   "tls_bytes_out",   "worker_tls_sent_bytes_total", counter, "Bytes sent on TLS connections: records (userspace encryption), or plaintext handed to kTLS.", "") \
  X(ticks,           "",                "worker_loop_ticks_total",  counter, "Event loop ticks, one a second while the loop runs: a stuck loop stops counting (the systemd watchdog reads them too).", "")

// zerocopy_counters (io/zerocopy.h declares them: io/ cannot see this file), per worker.
#define GORDO_ZEROCOPY_COUNTERS(X) \
  X(sends,       "zerocopy_sends",  "worker_zerocopy_sends_total",  counter, "Zero-copy sends issued.", "sends") \
  X(fixed_sends, "",                "",                             counter, "Zero-copy sends from a registered buffer.", "fixed") \
  X(notified,    "",                "",                             counter, "Zero-copy notifications (each releases a send's chunks).", "notified") \
  X(copied,      "zerocopy_copied", "worker_zerocopy_copied_total", counter, "Zero-copy sends the kernel copied after all.", "copied")

// Per mount per worker (worker::mount_stats()); /stats and /metrics show them per mount.
#define GORDO_MOUNT_COUNTERS(X) \
  X(bytes_out,      "bytes_out",      "mount_sent_bytes_total", counter, "Bytes sent to viewers.", sum) \
  X(chunks_in_ring, "chunks_in_ring", "mount_chunks_in_ring",   gauge,   "Chunks of history held (per worker).", max) \
  X(resyncs,        "resyncs",        "mount_resyncs_total",    counter, "Slow viewers moved to the newest keyframe.", sum) \
  X(slow_drops,     "slow_drops",     "mount_slow_drops_total", counter, "Slow viewers disconnected.", sum) \
  X(denied,         "denied",         "mount_denied_total",     counter, "Requests refused by the mount's access rules (403).", sum) \
  X(hls_playlists,  "hls_playlists",  "mount_hls_playlists_total", counter, "HLS playlists served.", sum) \
  X(hls_blocked,    "hls_blocked",    "mount_hls_blocked_total",   counter, "HLS requests held until their segment or part came (blocking reload, preload hint).", sum) \
  X(hls_segments,   "hls_segments",   "mount_hls_segments_total",  counter, "HLS segments and init sections served.", sum) \
  X(hls_parts,      "hls_parts",      "mount_hls_parts_total",     counter, "LL-HLS parts served.", sum)

// Per recorded mount (server/recorder.h): /stats shows them in the mount's "record" object,
// /metrics per mount. Written by the recorder's thread only.
#define GORDO_RECORD_COUNTERS(X) \
  X(bytes,   "bytes",          "mount_record_bytes_total",          counter, "Bytes written to recording files.", "") \
  X(files,   "files",          "mount_record_files_total",          counter, "Recording files finished.", "") \
  X(errors,  "errors",         "mount_record_errors_total",         counter, "Recording pauses: a full disk, too little free space or an I/O error (once per episode).", "") \
  X(dropped, "dropped_chunks", "mount_record_dropped_chunks_total", counter, "Chunks not recorded: paused, or the recorder fell behind.", "") \
  X(deleted, "deleted",        "mount_record_deleted_total",        counter, "Finished files deleted by record_keep or record_min_free.", "")

// clang-format on

#define GORDO_COUNTER_ATOMIC(member, ...) std::atomic<uint64_t> member{0};
#define GORDO_COUNTER_COPY(member, ...) uint64_t member = 0;

// The live counters, as the worker's thread adds to them (relaxed).
struct worker_counters {
  GORDO_WORKER_COUNTERS(GORDO_COUNTER_ATOMIC)
};
struct mount_counters {
  GORDO_MOUNT_COUNTERS(GORDO_COUNTER_ATOMIC)
};
struct record_counters {
  GORDO_RECORD_COUNTERS(GORDO_COUNTER_ATOMIC)
};

// Plain copies of them, taken at one moment, for snapshots and logs.
struct worker_counts {
  GORDO_WORKER_COUNTERS(GORDO_COUNTER_COPY)
};
struct zerocopy_counts {
  GORDO_ZEROCOPY_COUNTERS(GORDO_COUNTER_COPY)
};
struct mount_counts {
  GORDO_MOUNT_COUNTERS(GORDO_COUNTER_COPY)
};
struct record_counts {
  GORDO_RECORD_COUNTERS(GORDO_COUNTER_COPY)
};

// One row of a table, with where its counter lives and where its copy goes.
template <class Live, class Copy>
struct counter_row {
  std::atomic<uint64_t> Live::*live;
  uint64_t Copy::*copy;
  std::string_view json;    // empty: not in /stats
  std::string_view metric;  // empty: not in /metrics
  metric_type type;
  std::string_view help;
  std::string_view words;  // empty: not in the shutdown line
  combine how;
};

#define GORDO_WORKER_ROW(m, json, metric, type, help, words)                             \
  {&worker_counters::m, &worker_counts::m, json, metric, metric_type::type, help, words, \
   combine::sum},
#define GORDO_ZEROCOPY_ROW(m, json, metric, type, help, words)                               \
  {&zerocopy_counters::m, &zerocopy_counts::m, json, metric, metric_type::type, help, words, \
   combine::sum},
#define GORDO_RECORD_ROW(m, json, metric, type, help, words)                             \
  {&record_counters::m, &record_counts::m, json, metric, metric_type::type, help, words, \
   combine::sum},
#define GORDO_MOUNT_ROW(m, json, metric, type, help, how) \
  {&mount_counters::m, &mount_counts::m, json, metric, metric_type::type, help, "", combine::how},

inline constexpr counter_row<worker_counters, worker_counts> worker_counter_table[] = {
    GORDO_WORKER_COUNTERS(GORDO_WORKER_ROW)};
inline constexpr counter_row<zerocopy_counters, zerocopy_counts> zerocopy_counter_table[] = {
    GORDO_ZEROCOPY_COUNTERS(GORDO_ZEROCOPY_ROW)};
inline constexpr counter_row<mount_counters, mount_counts> mount_counter_table[] = {
    GORDO_MOUNT_COUNTERS(GORDO_MOUNT_ROW)};
inline constexpr counter_row<record_counters, record_counts> record_counter_table[] = {
    GORDO_RECORD_COUNTERS(GORDO_RECORD_ROW)};

#undef GORDO_WORKER_ROW
#undef GORDO_ZEROCOPY_ROW
#undef GORDO_MOUNT_ROW
#undef GORDO_RECORD_ROW
#undef GORDO_COUNTER_ATOMIC
#undef GORDO_COUNTER_COPY

// zerocopy_counters is declared in io/, out of the table's reach: a counter added there
// without a row here would never be shown. Its members: one atomic per row, then `state`.
static_assert(sizeof(zerocopy_counters) ==
                  (std::size(zerocopy_counter_table) + 1) * sizeof(std::atomic<uint64_t>),
              "a zerocopy_counters member has no row in GORDO_ZEROCOPY_COUNTERS");

// A copy of every counter of a table (relaxed loads: each is exact, together they are
// only nearly simultaneous).
template <class Live, class Copy, size_t n>
Copy copy_counters(const Live& live, const counter_row<Live, Copy> (&table)[n]) {
  Copy out;
  for (const auto& row : table) out.*row.copy = (live.*row.live).load(std::memory_order_relaxed);
  return out;
}
inline worker_counts copy_counters(const worker_counters& c) {
  return copy_counters(c, worker_counter_table);
}
inline zerocopy_counts copy_counters(const zerocopy_counters& c) {
  return copy_counters(c, zerocopy_counter_table);
}
inline mount_counts copy_counters(const mount_counters& c) {
  return copy_counters(c, mount_counter_table);
}
inline record_counts copy_counters(const record_counters& c) {
  return copy_counters(c, record_counter_table);
}

// One worker's counts of a mount into the mount's, by each row's `how`.
void combine_into(mount_counts& into, const mount_counts& from);

// The rows with words, as the shutdown line has them: "5 connections, 2 slow drops".
std::string describe(const worker_counts& c);
std::string describe(const zerocopy_counts& c);

}  // namespace gordo
