// What gordo-load measures of the machine rather than of the stream: clocks, its own CPU,
// another process's CPU and memory, how busy one core was; and the fd limit it needs.
// Shared by the stream mode (tools/gordo-load.cpp) and the HLS mode (load/hls_load).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace gordo::load {

// Monotonic seconds.
double now_s();
// Wall-clock (Unix) seconds.
double wall_s();
// CPU seconds this process used (user + system).
double cpu_s();

// CPU seconds and resident KiB of another process, from /proc (0 when it cannot be read).
struct proc_sample {
  double cpu_s = 0;
  uint64_t rss_kib = 0;
};
proc_sample sample(int pid);

// Busy and total jiffies of one CPU, from /proc/stat: everything that ran there, softirq
// included (on loopback much of the network stack runs in softirq, charged to no process).
struct core_sample {
  double busy = 0, total = 0;
};
core_sample sample_core(int cpu);

// The one CPU this process may run on (`pinned` when given, else its affinity when that
// is a single CPU, as under `taskset -c N`), or -1: whose busy time is the client's own.
int own_core(int pinned);

// Every viewer is an fd: takes the hard limit, and says so when even that is too low.
bool raise_fd_limit(unsigned viewers);

// The p-th percentile (0–100) of `v`, NaN when empty.
double percentile(std::vector<double> v, double p);

// One line of the summary: printed as a table row (unless its value is empty: JSON only),
// and as "name": json in --json.
struct report_row {
  std::string name;
  std::string value;
  std::string json;
};
// `x` with `prec` decimals, or "null" for NaN (JSON has no NaN).
std::string number(double x, int prec);
// Prints the rows as a Markdown table, or as one JSON object with `extra_json` (members,
// already formatted, without braces) after them.
void print_report(const std::vector<report_row>& rows, bool json, const std::string& extra_json,
                  const std::string& first_error);

// A run whose client used more than this % of its core (its process, or the whole core
// with the softirq work it causes) measured the client, not the server.
constexpr double client_bound_pct = 85;

// What gordo-load says of itself in a summary: its CPU and its core's busy time over the
// measured window and over the ramp (while viewers connect: what time to first byte is
// measured in), and whether the run was client-bound (any of them over `limit`).
struct client_load {
  double cpu_pct = 0;
  double core_busy_pct = NAN;       // NaN when it runs on no single core
  double ramp_cpu_pct = NAN;        // NaN when not measured
  double ramp_core_busy_pct = NAN;  // NaN when not measured or on no single core
  double limit = client_bound_pct;
  bool bound() const {
    return cpu_pct > limit || core_busy_pct > limit || ramp_cpu_pct > limit ||
           ramp_core_busy_pct > limit;
  }
};
// How busy a core was between two samples, in %: NaN when nothing was sampled.
double busy_pct(const core_sample& begin, const core_sample& end);
// Appends load_cpu_pct, load_core_busy_pct, their ramp_ twins (those known) and
// client_bound to `rows`.
void client_rows(std::vector<report_row>& rows, const client_load& c);
// When bound: says so on stderr; with `strict`, returns 3 (for the exit status), else 0.
int client_verdict(const client_load& c, bool strict);

}  // namespace gordo::load
