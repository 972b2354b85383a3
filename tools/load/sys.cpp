#include "load/sys.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace gordo::load {

namespace {

double clock_s(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

double now_s() {
  return clock_s(CLOCK_MONOTONIC);
}

double wall_s() {
  return clock_s(CLOCK_REALTIME);
}

double cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

proc_sample sample(int pid) {
  proc_sample s;
  if (pid <= 0) return s;
  std::string path = fmt::format("/proc/{}/stat", pid);
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    char buf[1024];
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = 0;
    // Fields after the command name (which may hold spaces): utime and stime are the
    // 12th and 13th after the closing parenthesis.
    if (const char* p = std::strrchr(buf, ')')) {
      unsigned long long utime = 0, stime = 0;
      if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                      &stime) == 2)
        s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  path = fmt::format("/proc/{}/status", pid);
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmRSS: %lu kB", reinterpret_cast<unsigned long*>(&s.rss_kib)) == 1)
        break;
    std::fclose(f);
  }
  return s;
}

core_sample sample_core(int cpu) {
  core_sample s;
  if (cpu < 0) return s;
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return s;
  char line[512];
  std::string want = fmt::format("cpu{} ", cpu);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, want.c_str(), want.size()) != 0) continue;
    unsigned long long v[8] = {};
    std::sscanf(line + want.size(), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                &v[3], &v[4], &v[5], &v[6], &v[7]);
    for (unsigned long long x : v) s.total += static_cast<double>(x);
    s.busy = s.total - static_cast<double>(v[3] + v[4]);  // minus idle and iowait
    break;
  }
  std::fclose(f);
  return s;
}

int own_core(int pinned) {
  if (pinned >= 0) return pinned;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) != 1) return -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) return cpu;
  return -1;
}

double busy_pct(const core_sample& begin, const core_sample& end) {
  double total = end.total - begin.total;
  return total > 0 ? (end.busy - begin.busy) / total * 100 : NAN;
}

void client_rows(std::vector<report_row>& rows, const client_load& c) {
  auto add = [&rows](const char* name, double pct) {
    if (!std::isnan(pct)) rows.push_back({name, number(pct, 1), number(pct, 1)});
  };
  add("load_cpu_pct", c.cpu_pct);
  add("load_core_busy_pct", c.core_busy_pct);
  add("load_ramp_cpu_pct", c.ramp_cpu_pct);
  add("load_ramp_core_busy_pct", c.ramp_core_busy_pct);
  rows.push_back({"client_bound", c.bound() ? "yes" : "no", c.bound() ? "true" : "false"});
}

int client_verdict(const client_load& c, bool strict) {
  if (!c.bound()) return 0;
  std::string what = fmt::format("{:.0f}% of a CPU", c.cpu_pct);
  if (!std::isnan(c.core_busy_pct)) what += fmt::format(", its core {:.0f}% busy", c.core_busy_pct);
  if (!std::isnan(c.ramp_cpu_pct))
    what += fmt::format("; while viewers connected {:.0f}% of a CPU", c.ramp_cpu_pct);
  if (!std::isnan(c.ramp_core_busy_pct))
    what += fmt::format(", its core {:.0f}% busy", c.ramp_core_busy_pct);
  fmt::print(stderr,
             "gordo-load: client-bound ({}; over {:.0f}%): this run measured the client, not "
             "the server{}\n",
             what, c.limit, strict ? " (--strict: exit 3)" : "");
  return strict ? 3 : 0;
}

bool raise_fd_limit(unsigned viewers) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  rlim_t need = viewers + 32;
  if (lim.rlim_cur < need) {
    lim.rlim_cur = std::min(lim.rlim_max, std::max(need, lim.rlim_cur));
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur < need) {
    fmt::print(stderr,
               "gordo-load: {} viewers need {} fds but the hard limit is {}: raise it (ulimit -Hn, "
               "LimitNOFILE) or run several gordo-load processes\n",
               viewers, need, lim.rlim_max);
    return false;
  }
  return true;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

std::string number(double x, int prec) {
  return std::isnan(x) ? std::string("null") : fmt::format("{:.{}f}", x, prec);
}

void print_report(const std::vector<report_row>& rows, bool json, const std::string& extra_json,
                  const std::string& first_error) {
  if (json) {
    std::string out = "{";
    for (size_t i = 0; i < rows.size(); ++i)
      out += fmt::format("{}\"{}\": {}", i ? ", " : "", rows[i].name, rows[i].json);
    if (!extra_json.empty()) out += ", " + extra_json;
    out += fmt::format(", \"first_error\": \"{}\"}}", first_error);
    fmt::print("{}\n", out);
    return;
  }
  fmt::print("| {:<20} | {:>12} |\n|{:-<22}|{:->14}|\n", "measure", "value", "", "");
  for (const report_row& r : rows)
    if (!r.value.empty()) fmt::print("| {:<20} | {:>12} |\n", r.name, r.value);
  if (!first_error.empty()) fmt::print("first failure: {}\n", first_error);
}

}  // namespace gordo::load
