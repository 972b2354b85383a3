#include "gordo/ops/stats.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace gordo {

namespace {

// The table's rows that have a key in /stats.
template <class Live, class Copy, size_t n>
void put_json(nlohmann::ordered_json& j, const Copy& c, const counter_row<Live, Copy> (&table)[n]) {
  for (const auto& row : table)
    if (!row.json.empty()) j[std::string(row.json)] = c.*row.copy;
}

}  // namespace

std::string stats_json(const stats_snapshot& s) {
  nlohmann::ordered_json j;
  j["version"] = s.process.version;
  j["uptime_s"] = s.process.uptime_s;
  j["listen"] = s.process.listen;
  j["process"] = {{"open_fds", s.process.open_fds},
                  {"fd_limit", s.process.fd_limit},
                  {"rss_bytes", s.process.rss_bytes},
                  {"admin_denied", s.process.admin_denied}};
  j["mounts"] = nlohmann::ordered_json::array();
  for (const mount_stats& m : s.mounts) {
    nlohmann::ordered_json o = {{"path", m.path},
                                {"content_type", m.content_type},
                                {"source", m.source},
                                {"upstream", m.upstream},
                                {"state", m.state},
                                {"viewers", m.viewers},
                                {"viewers_peak", m.viewers_peak},
                                {"bits_out_per_s", m.bits_out_per_s},
                                {"bits_in_per_s", m.bits_in_per_s},
                                {"keyframe_interval_s", m.keyframe_interval_s},
                                {"chunks_published", m.chunks_published},
                                {"fallback", m.fallback},
                                {"fallback_switches", m.fallback_switches}};
    put_json(o, m.counts, mount_counter_table);
    nlohmann::ordered_json rec = {{"state", m.record.state}, {"file", m.record.file}};
    put_json(rec, m.record.counts, record_counter_table);
    o["record"] = std::move(rec);
    j["mounts"].push_back(std::move(o));
  }
  j["workers"] = nlohmann::ordered_json::array();
  for (const worker_stats& w : s.workers) {
    nlohmann::ordered_json o = {
        {"id", w.id}, {"cpu", w.cpu}, {"engine", w.engine}, {"uring_mode", w.uring_mode}};
    put_json(o, w.counts, worker_counter_table);
    o["zerocopy"] = w.zerocopy;
    put_json(o, w.zc, zerocopy_counter_table);
    o["cq_overflows"] = w.cq_overflows;
    j["workers"].push_back(std::move(o));
  }
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

// The table's rows that have a metric: a family each, with a sample per item (mount or
// worker).
template <class Live, class Copy, size_t n, class Item, class Labels, class Get>
void put_metrics(metrics& m, const counter_row<Live, Copy> (&table)[n],
                 const std::vector<Item>& items, Labels labels, Get get) {
  for (const auto& row : table) {
    if (row.metric.empty()) continue;
    m.family(row.metric, to_string(row.type), row.help);
    for (const Item& x : items) m.sample(labels(x), static_cast<double>(get(x).*row.copy));
  }
}

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

  // The mount's own figures; its workers' counters follow, from their table.
  struct mount_field {
    const char* name;
    const char* type;
    const char* help;
    double (*get)(const mount_stats&);
  };
  const mount_field mount_fields[] = {
      {"mount_up", "gauge", "1 while the mount's source is live.",
       [](const mount_stats& x) { return x.state == "live" ? 1.0 : 0.0; }},
      {"mount_viewers", "gauge", "Viewers now.",
       [](const mount_stats& x) { return double(x.viewers); }},
      {"mount_viewers_peak", "gauge", "Most viewers at once since start.",
       [](const mount_stats& x) { return double(x.viewers_peak); }},
      {"mount_source_bits_per_second", "gauge", "Bitrate the source publishes.",
       [](const mount_stats& x) { return x.bits_in_per_s; }},
      {"mount_keyframe_interval_seconds", "gauge", "Time between keyframes of the source.",
       [](const mount_stats& x) { return x.keyframe_interval_s; }},
      {"mount_chunks_published_total", "counter", "Chunks published by the source.",
       [](const mount_stats& x) { return double(x.chunks_published); }},
      {"mount_on_fallback", "gauge", "1 while the mount's fallback plays in its source's place.",
       [](const mount_stats& x) { return x.fallback == "on air" ? 1.0 : 0.0; }},
      {"mount_fallback_switches_total", "counter", "Switches to the fallback and back.",
       [](const mount_stats& x) { return double(x.fallback_switches); }},
  };
  auto mount_label = [](const mount_stats& x) {
    return fmt::format("mount=\"{}\"", label(x.path));
  };
  for (const mount_field& f : mount_fields) {
    m.family(f.name, f.type, f.help);
    for (const mount_stats& x : s.mounts) m.sample(mount_label(x), f.get(x));
  }
  // The source's state as a family of its own: mount_up folds hungry, lost and waiting
  // into 0, and an alert wants lost apart from a hiccup.
  m.family("mount_source_state", "gauge",
           "1 for the state the mount's source is in (waiting, live, hungry, lost or ended).");
  for (const mount_stats& x : s.mounts)
    for (const char* state : {"waiting", "live", "hungry", "lost", "ended"})
      m.sample(fmt::format("{},state=\"{}\"", mount_label(x), state), x.state == state ? 1.0 : 0.0);
  put_metrics(m, mount_counter_table, s.mounts, mount_label,
              [](const mount_stats& x) -> const mount_counts& { return x.counts; });
  // Recording: the recorded mounts only.
  std::vector<const mount_stats*> recorded;
  for (const mount_stats& x : s.mounts)
    if (x.record.state != "off") recorded.push_back(&x);
  m.family("mount_record_state", "gauge",
           "Recording: 1 for the state it is in (recording, paused or error).");
  for (const mount_stats* x : recorded)
    for (const char* state : {"recording", "paused", "error"})
      m.sample(fmt::format("{},state=\"{}\"", mount_label(*x), state),
               x->record.state == state ? 1.0 : 0.0);
  put_metrics(
      m, record_counter_table, recorded, [&](const mount_stats* x) { return mount_label(*x); },
      [](const mount_stats* x) -> const record_counts& { return x->record.counts; });

  auto worker_label = [](const worker_stats& w) { return fmt::format("worker=\"{}\"", w.id); };
  m.family("worker_info", "gauge", "Always 1; the worker's I/O engine is a label.");
  for (const worker_stats& w : s.workers)
    m.sample(fmt::format("worker=\"{}\",engine=\"{}\"", w.id, w.engine), 1);
  put_metrics(m, worker_counter_table, s.workers, worker_label,
              [](const worker_stats& w) -> const worker_counts& { return w.counts; });
  put_metrics(m, zerocopy_counter_table, s.workers, worker_label,
              [](const worker_stats& w) -> const zerocopy_counts& { return w.zc; });
  m.family("worker_cq_overflows_total", "counter", "io_uring completion queue overflows.");
  for (const worker_stats& w : s.workers)
    m.sample(worker_label(w), static_cast<double>(w.cq_overflows));
  return m.take();
}

}  // namespace gordo
