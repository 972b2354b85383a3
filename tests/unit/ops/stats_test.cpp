#include "gordo/ops/stats.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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
  m.bytes_out = 1234;
  s.mounts.push_back(m);
  worker_stats w;
  w.id = 3;
  w.sends = 99;
  s.workers.push_back(w);
  return s;
}

TEST(stats, json_has_every_section) {
  auto j = nlohmann::json::parse(stats_json(sample()));
  EXPECT_EQ(j["version"], "1.2.3");
  EXPECT_EQ(j["mounts"][0]["viewers"], 7);
  EXPECT_EQ(j["mounts"][0]["path"], "/a \"quoted\"\\path\n");
  EXPECT_EQ(j["workers"][0]["id"], 3);
  EXPECT_EQ(j["workers"][0]["sends"], 99);
  EXPECT_TRUE(j["process"].contains("open_fds"));
}

TEST(stats, prometheus_escapes_labels_and_types_every_family) {
  std::string text = stats_prometheus(sample());
  EXPECT_NE(text.find("gordo_mount_viewers{mount=\"/a \\\"quoted\\\"\\\\path\\n\"} 7\n"), std::string::npos)
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

}  // namespace
}  // namespace gordo
