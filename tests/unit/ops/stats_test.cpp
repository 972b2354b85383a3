#include "gordo/ops/stats.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <sstream>
#include <vector>

namespace gordo {
namespace {

stats_snapshot sample() {
  stats_snapshot s;
  s.process.version = "1.2.3";
  s.process.uptime_s = 12.5;
  mount_stats m;
  m.path = "/a \"quoted\"\\path\n";
  m.state = "live";
  m.viewers = 7;
  m.counts.bytes_out = 1234;
  s.mounts.push_back(m);
  worker_stats w;
  w.id = 3;
  w.counts.sends = 99;
  s.workers.push_back(w);
  return s;
}

TEST(stats, json_has_every_section) {
  auto j = nlohmann::json::parse(stats_json(sample()));
  EXPECT_EQ(j["version"], "1.2.3");
  EXPECT_EQ(j["mounts"][0]["viewers"], 7);
  EXPECT_EQ(j["mounts"][0]["bytes_out"], 1234);
  EXPECT_EQ(j["mounts"][0]["path"], "/a \"quoted\"\\path\n");
  EXPECT_EQ(j["workers"][0]["id"], 3);
  EXPECT_EQ(j["workers"][0]["sends"], 99);
  EXPECT_TRUE(j["process"].contains("open_fds"));
}

TEST(stats, prometheus_escapes_labels_and_types_every_family) {
  std::string text = stats_prometheus(sample());
  EXPECT_NE(text.find("gordo_mount_viewers{mount=\"/a \\\"quoted\\\"\\\\path\\n\"} 7\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE gordo_mount_sent_bytes_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE gordo_mount_viewers gauge\n"), std::string::npos);
  EXPECT_NE(text.find("gordo_worker_sends_total{worker=\"3\"} 99\n"), std::string::npos);
  EXPECT_NE(text.find("gordo_uptime_seconds 12.5\n"), std::string::npos);
  // Each family: HELP, then TYPE, once.
  size_t helps = 0, types = 0;
  for (size_t at = 0; (at = text.find("# HELP ", at)) != std::string::npos; ++at) ++helps;
  for (size_t at = 0; (at = text.find("# TYPE ", at)) != std::string::npos; ++at) ++types;
  EXPECT_EQ(helps, types);
  EXPECT_GT(helps, 20u);
}

// Alerts tell a lost source from a hungry one: one series per state, 1 for the current.
TEST(stats, prometheus_has_one_source_state_series_per_state) {
  stats_snapshot s;
  for (const char* state : {"live", "lost"}) {
    mount_stats m;
    m.path = std::string("/") + state;
    m.state = state;
    s.mounts.push_back(m);
  }
  std::string text = stats_prometheus(s);
  EXPECT_NE(text.find("# TYPE gordo_mount_source_state gauge\n"), std::string::npos);
  for (const std::string path : {"/live", "/lost"})
    for (const std::string state : {"waiting", "live", "hungry", "lost", "ended"}) {
      std::string sample = "gordo_mount_source_state{mount=\"" + path + "\",state=\"" + state +
                           "\"} " + (path == "/" + state ? "1" : "0") + "\n";
      EXPECT_NE(text.find(sample), std::string::npos) << sample;
    }
}

// Every row of a counter table, with a value no other row has, reaches both renderings:
// a row that stopped reaching /stats or /metrics fails here.
template <class Live, class Copy, size_t n>
void number_rows(Copy& c, const counter_row<Live, Copy> (&table)[n], uint64_t first) {
  for (size_t i = 0; i < n; ++i) c.*table[i].copy = first + i;
}

template <class Live, class Copy, size_t n>
void expect_rows(const nlohmann::json& object, const std::string& text, const std::string& labels,
                 const Copy& c, const counter_row<Live, Copy> (&table)[n]) {
  for (const auto& row : table) {
    uint64_t want = c.*row.copy;
    if (!row.json.empty()) {
      std::string key(row.json);
      EXPECT_TRUE(object.contains(key)) << key;
      EXPECT_EQ(object.value(key, uint64_t{0}), want) << key;
    }
    if (!row.metric.empty()) {
      std::string name = "gordo_" + std::string(row.metric);
      std::string family = "# HELP " + name + " " + std::string(row.help) + "\n# TYPE " + name +
                           " " + to_string(row.type) + "\n";
      EXPECT_NE(text.find(family), std::string::npos) << family;
      std::string sample = name + "{" + labels + "} " + std::to_string(want) + "\n";
      EXPECT_NE(text.find(sample), std::string::npos) << sample;
    }
  }
}

TEST(stats, every_counter_row_reaches_json_and_prometheus) {
  stats_snapshot s;
  for (unsigned i = 0; i < 2; ++i) {
    mount_stats m;
    m.path = "/m" + std::to_string(i);
    number_rows(m.counts, mount_counter_table, 100 + 1000 * i);
    s.mounts.push_back(m);
    worker_stats w;
    w.id = i;
    number_rows(w.counts, worker_counter_table, 200 + 1000 * i);
    number_rows(w.zc, zerocopy_counter_table, 300 + 1000 * i);
    s.workers.push_back(w);
  }
  auto j = nlohmann::json::parse(stats_json(s));
  std::string text = stats_prometheus(s);
  for (unsigned i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    std::string worker = "worker=\"" + std::to_string(i) + "\"";
    expect_rows(j["mounts"][i], text, "mount=\"/m" + std::to_string(i) + "\"", s.mounts[i].counts,
                mount_counter_table);
    expect_rows(j["workers"][i], text, worker, s.workers[i].counts, worker_counter_table);
    expect_rows(j["workers"][i], text, worker, s.workers[i].zc, zerocopy_counter_table);
  }
}

// What dashboards, scrapers and alerts depend on, as it was before the counter tables:
// a family may be added, never renamed, retyped or reworded.
constexpr const char* families_users_depend_on = R"families(
# HELP gordo_build_info Always 1; the version is a label.
# TYPE gordo_build_info gauge
# HELP gordo_uptime_seconds Seconds since gordo started.
# TYPE gordo_uptime_seconds gauge
# HELP gordo_open_fds File descriptors open.
# TYPE gordo_open_fds gauge
# HELP gordo_fd_limit The soft RLIMIT_NOFILE in force.
# TYPE gordo_fd_limit gauge
# HELP gordo_resident_memory_bytes Resident set size.
# TYPE gordo_resident_memory_bytes gauge
# HELP gordo_admin_denied_total Admin requests refused for their credentials.
# TYPE gordo_admin_denied_total counter
# HELP gordo_mount_up 1 while the mount's source is live.
# TYPE gordo_mount_up gauge
# HELP gordo_mount_viewers Viewers now.
# TYPE gordo_mount_viewers gauge
# HELP gordo_mount_viewers_peak Most viewers at once since start.
# TYPE gordo_mount_viewers_peak gauge
# HELP gordo_mount_sent_bytes_total Bytes sent to viewers.
# TYPE gordo_mount_sent_bytes_total counter
# HELP gordo_mount_source_bits_per_second Bitrate the source publishes.
# TYPE gordo_mount_source_bits_per_second gauge
# HELP gordo_mount_keyframe_interval_seconds Time between keyframes of the source.
# TYPE gordo_mount_keyframe_interval_seconds gauge
# HELP gordo_mount_chunks_published_total Chunks published by the source.
# TYPE gordo_mount_chunks_published_total counter
# HELP gordo_mount_chunks_in_ring Chunks of history held (per worker).
# TYPE gordo_mount_chunks_in_ring gauge
# HELP gordo_mount_resyncs_total Slow viewers moved to the newest keyframe.
# TYPE gordo_mount_resyncs_total counter
# HELP gordo_mount_slow_drops_total Slow viewers disconnected.
# TYPE gordo_mount_slow_drops_total counter
# HELP gordo_mount_denied_total Requests refused by the mount's access rules (403).
# TYPE gordo_mount_denied_total counter
# HELP gordo_worker_info Always 1; the worker's I/O engine is a label.
# TYPE gordo_worker_info gauge
# HELP gordo_worker_viewers Viewers served by the worker now.
# TYPE gordo_worker_viewers gauge
# HELP gordo_worker_connections_total Connections accepted.
# TYPE gordo_worker_connections_total counter
# HELP gordo_worker_sent_bytes_total Bytes sent.
# TYPE gordo_worker_sent_bytes_total counter
# HELP gordo_worker_sends_total Sends completed.
# TYPE gordo_worker_sends_total counter
# HELP gordo_worker_sends_in_flight Sends submitted and not yet completed.
# TYPE gordo_worker_sends_in_flight gauge
# HELP gordo_worker_refused_total Viewers refused by a limit or for lack of fds.
# TYPE gordo_worker_refused_total counter
# HELP gordo_worker_timeouts_total Request-head and write timeouts.
# TYPE gordo_worker_timeouts_total counter
# HELP gordo_worker_zerocopy_sends_total Zero-copy sends issued.
# TYPE gordo_worker_zerocopy_sends_total counter
# HELP gordo_worker_zerocopy_copied_total Zero-copy sends the kernel copied after all.
# TYPE gordo_worker_zerocopy_copied_total counter
# HELP gordo_worker_cq_overflows_total io_uring completion queue overflows.
# TYPE gordo_worker_cq_overflows_total counter)families";

TEST(stats, names_users_depend_on_stay) {
  stats_snapshot s = sample();
  std::string text = stats_prometheus(s);
  std::istringstream in(families_users_depend_on);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  ASSERT_EQ(lines.size() % 2, 0u);
  for (size_t i = 0; i < lines.size(); i += 2) {
    std::string family = lines[i] + "\n" + lines[i + 1] + "\n";  // HELP, then TYPE
    EXPECT_NE(text.find(family), std::string::npos) << family;
  }

  auto j = nlohmann::json::parse(stats_json(s));
  auto expect_keys = [](const nlohmann::json& object, std::set<std::string> keys) {
    for (const std::string& key : keys) EXPECT_TRUE(object.contains(key)) << key;
  };
  expect_keys(j, {"version", "uptime_s", "process", "mounts", "workers"});
  expect_keys(j["process"], {"open_fds", "fd_limit", "rss_bytes", "admin_denied"});
  expect_keys(j["mounts"][0],
              {"path", "content_type", "source", "state", "viewers", "viewers_peak", "bytes_out",
               "bits_out_per_s", "bits_in_per_s", "keyframe_interval_s", "chunks_published",
               "chunks_in_ring", "resyncs", "slow_drops", "denied"});
  expect_keys(j["workers"][0], {"id", "cpu", "engine", "uring_mode", "viewers", "connections",
                                "bytes_out", "sends", "sends_in_flight", "refused", "timeouts",
                                "zerocopy", "zerocopy_sends", "zerocopy_copied", "cq_overflows"});
}

}  // namespace
}  // namespace gordo
