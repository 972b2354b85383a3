// mount_table lookups, removal and slots, and a mount's end: it takes its muxer off a
// source it shares with other mounts, which go on receiving.
#include "gordo/server/mount.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "unit/small_pattern.h"

namespace gordo {
namespace {

std::unique_ptr<mount> bare(const std::string& path) {
  auto m = std::make_unique<mount>();
  m->path = path;
  return m;
}

TEST(mount_table, finds_by_exact_path) {
  mount_table t;
  EXPECT_EQ(t.find("/live.ts"), -1);
  t.add(bare("/live.ts"));
  mount& added = t.add(bare("/live.mkv"));
  EXPECT_EQ(&added, &t.at(1));
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.find("/live.ts"), 0);
  EXPECT_EQ(t.find("/live.mkv"), 1);
  // No prefix, suffix or case matching: a request for another path is a 404.
  EXPECT_EQ(t.find("/live"), -1);
  EXPECT_EQ(t.find("/live.ts/"), -1);
  EXPECT_EQ(t.find("/LIVE.ts"), -1);
  EXPECT_EQ(t.find("live.ts"), -1);
  EXPECT_EQ(t.find(""), -1);
}

TEST(mount_table, removing_hands_the_mount_over_and_shifts_the_rest) {
  mount_table t;
  for (const char* p : {"/a.ts", "/b.ts", "/c.ts"}) t.add(bare(p));
  mount* b = &t.at(1);
  std::unique_ptr<mount> removed = t.remove(1);
  EXPECT_EQ(removed.get(), b);  // still alive: a reload keeps it until workers let go
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.find("/b.ts"), -1);
  EXPECT_EQ(t.find("/c.ts"), 1);
  EXPECT_EQ(t.at(0).path, "/a.ts");
  t.clear();
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.find("/a.ts"), -1);
}

// A mount fed by a looped, paced source over a small test pattern.
std::unique_ptr<mount> fed(const std::string& path, slab_pool& pool, std::shared_ptr<source> feed) {
  auto m = bare(path);
  m->out = std::make_unique<stream>(std::vector<wake_fd*>{nullptr}, 4096);
  m->remux = std::make_unique<remuxer>(path, *m->out, pool,
                                       chunk_writer_options{4096, std::chrono::milliseconds(0)});
  m->feed = std::move(feed);
  m->feed->attach(m->remux.get());
  return m;
}

// Waits (at most 10 s) until `s` has published more than `than` chunks.
bool publishes_past(const stream& s, uint64_t than) {
  for (int i = 0; i < 1000; ++i) {
    if (s.published() > than) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(mount, a_removed_mount_leaves_its_shared_source_feeding_the_others) {
  source_spec spec;
  spec.memory = small_pattern();
  spec.label = "pattern";
  spec.loop = true;
  auto feed = std::make_shared<source>(spec, std::chrono::seconds(30));
  slab_pool pool(1 << 20, 8);
  auto kept = fed("/kept.ts", pool, feed);
  auto removed = fed("/removed.ts", pool, feed);
  feed->start();
  ASSERT_TRUE(publishes_past(*removed->out, 0));
  // While the source thread writes into both muxers: the removed mount's muxer and stream
  // are freed after this, so the source must no longer know them.
  removed.reset();
  uint64_t before = kept->out->published();
  EXPECT_TRUE(publishes_past(*kept->out, before));
  feed->stop();
}

}  // namespace
}  // namespace gordo
