#include "gordo/ops/stats.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace gordo {

std::string stats_json(const stats_snapshot& s) {
  nlohmann::ordered_json j;
  j["version"] = s.process.version;
  j["uptime_s"] = s.process.uptime_s;
  j["process"] = {{"open_fds", s.process.open_fds},
                  {"fd_limit", s.process.fd_limit},
                  {"rss_bytes", s.process.rss_bytes},
                  {"admin_denied", s.process.admin_denied}};
  j["mounts"] = nlohmann::ordered_json::array();
  for (const mount_stats& m : s.mounts)
    j["mounts"].push_back({{"path", m.path},
                           {"content_type", m.content_type},
                           {"source", m.source},
                           {"state", m.state},
                           {"viewers", m.viewers},
                           {"viewers_peak", m.viewers_peak},
                           {"bytes_out", m.bytes_out},
                           {"bits_out_per_s", m.bits_out_per_s},
                           {"bits_in_per_s", m.bits_in_per_s},
                           {"keyframe_interval_s", m.keyframe_interval_s},
                           {"chunks_published", m.chunks_published},
                           {"chunks_in_ring", m.chunks_in_ring},
                           {"resyncs", m.resyncs},
                           {"slow_drops", m.slow_drops},
                           {"denied", m.denied}});
  j["workers"] = nlohmann::ordered_json::array();
  for (const worker_stats& w : s.workers)
    j["workers"].push_back({{"id", w.id},
                            {"cpu", w.cpu},
                            {"engine", w.engine},
                            {"uring_mode", w.uring_mode},
                            {"viewers", w.viewers},
                            {"connections", w.connections},
                            {"bytes_out", w.bytes_out},
                            {"sends", w.sends},
                            {"sends_in_flight", w.sends_in_flight},
                            {"refused", w.refused},
                            {"timeouts", w.timeouts},
                            {"zerocopy", w.zerocopy},
                            {"zerocopy_sends", w.zerocopy_sends},
                            {"zerocopy_copied", w.zerocopy_copied},
                            {"cq_overflows", w.cq_overflows}});
  return j.dump(2) + "\n";
}

namespace {

// Label values are escaped as the text format requires: backslash, quote, newline.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class metrics {
 public:
  // Starts a metric family: its HELP and TYPE lines.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    out_ += fmt::format("# HELP gordo_{} {}\n# TYPE gordo_{} {}\n", name, help, name, type);
  }
  void sample(std::string_view labels, double value) {
    out_ += fmt::format("gordo_{}{}{}{} {}\n", name_, labels.empty() ? "" : "{", labels,
                        labels.empty() ? "" : "}", value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::string name_;
};

}  // namespace

std::string stats_prometheus(const stats_snapshot& s) {
  metrics m;
  m.family("build_info", "gauge", "Always 1; the version is a label.");
  m.sample(fmt::format("version=\"{}\"", label(s.process.version)), 1);
  m.family("uptime_seconds", "gauge", "Seconds since gordo started.");
  m.sample("", s.process.uptime_s);
  m.family("open_fds", "gauge", "File descriptors open.");
  m.sample("", static_cast<double>(s.process.open_fds));
  m.family("fd_limit", "gauge", "The soft RLIMIT_NOFILE in force.");
  m.sample("", static_cast<double>(s.process.fd_limit));
  m.family("resident_memory_bytes", "gauge", "Resident set size.");
  m.sample("", static_cast<double>(s.process.rss_bytes));
  m.family("admin_denied_total", "counter", "Admin requests refused for their credentials.");
  m.sample("", static_cast<double>(s.process.admin_denied));

  struct mount_field {
    const char* name;
    const char* type;
    const char* help;
    double (*get)(const mount_stats&);
  };
  const mount_field mount_fields[] = {
      {"mount_up", "gauge", "1 while the mount's source is live.",
       [](const mount_stats& x) { return x.state == "live" ? 1.0 : 0.0; }},
      {"mount_viewers", "gauge", "Viewers now.", [](const mount_stats& x) { return double(x.viewers); }},
      {"mount_viewers_peak", "gauge", "Most viewers at once since start.",
       [](const mount_stats& x) { return double(x.viewers_peak); }},
      {"mount_sent_bytes_total", "counter", "Bytes sent to viewers.",
       [](const mount_stats& x) { return double(x.bytes_out); }},
      {"mount_source_bits_per_second", "gauge", "Bitrate the source publishes.",
       [](const mount_stats& x) { return x.bits_in_per_s; }},
      {"mount_keyframe_interval_seconds", "gauge", "Time between keyframes of the source.",
       [](const mount_stats& x) { return x.keyframe_interval_s; }},
      {"mount_chunks_published_total", "counter", "Chunks published by the source.",
       [](const mount_stats& x) { return double(x.chunks_published); }},
      {"mount_chunks_in_ring", "gauge", "Chunks of history held (per worker).",
       [](const mount_stats& x) { return double(x.chunks_in_ring); }},
      {"mount_resyncs_total", "counter", "Slow viewers moved to the newest keyframe.",
       [](const mount_stats& x) { return double(x.resyncs); }},
      {"mount_slow_drops_total", "counter", "Slow viewers disconnected.",
       [](const mount_stats& x) { return double(x.slow_drops); }},
      {"mount_denied_total", "counter", "Requests refused by the mount's access rules (403).",
       [](const mount_stats& x) { return double(x.denied); }},
  };
  for (const mount_field& f : mount_fields) {
    m.family(f.name, f.type, f.help);
    for (const mount_stats& x : s.mounts) m.sample(fmt::format("mount=\"{}\"", label(x.path)), f.get(x));
  }

  struct worker_field {
    const char* name;
    const char* type;
    const char* help;
    uint64_t worker_stats::*field;
  };
  const worker_field worker_fields[] = {
      {"worker_viewers", "gauge", "Viewers served by the worker now.", &worker_stats::viewers},
      {"worker_connections_total", "counter", "Connections accepted.", &worker_stats::connections},
      {"worker_sent_bytes_total", "counter", "Bytes sent.", &worker_stats::bytes_out},
      {"worker_sends_total", "counter", "Sends completed.", &worker_stats::sends},
      {"worker_sends_in_flight", "gauge", "Sends submitted and not yet completed.", &worker_stats::sends_in_flight},
      {"worker_refused_total", "counter", "Viewers refused by a limit or for lack of fds.", &worker_stats::refused},
      {"worker_timeouts_total", "counter", "Request-head and write timeouts.", &worker_stats::timeouts},
      {"worker_zerocopy_sends_total", "counter", "Zero-copy sends issued.", &worker_stats::zerocopy_sends},
      {"worker_zerocopy_copied_total", "counter", "Zero-copy sends the kernel copied after all.",
       &worker_stats::zerocopy_copied},
      {"worker_cq_overflows_total", "counter", "io_uring completion queue overflows.", &worker_stats::cq_overflows},
  };
  m.family("worker_info", "gauge", "Always 1; the worker's I/O engine is a label.");
  for (const worker_stats& w : s.workers) m.sample(fmt::format("worker=\"{}\",engine=\"{}\"", w.id, w.engine), 1);
  for (const worker_field& f : worker_fields) {
    m.family(f.name, f.type, f.help);
    for (const worker_stats& w : s.workers)
      m.sample(fmt::format("worker=\"{}\"", w.id), static_cast<double>(w.*f.field));
  }
  return m.take();
}

}  // namespace gordo
