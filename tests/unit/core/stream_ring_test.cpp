#include "gordo/core/stream_ring.h"

#include <gtest/gtest.h>

#include <string>

namespace gordo {
namespace {

class stream_ring_test : public ::testing::Test {
 protected:
  slab_pool pool_{4096, 8};
  chunk_builder builder_{pool_};

  chunk_ref make(const std::string& text) {
    EXPECT_TRUE(builder_.append({reinterpret_cast<const std::byte*>(text.data()), text.size()}));
    return builder_.seal();
  }
};

TEST_F(stream_ring_test, window_evicts_oldest_when_full) {
  stream_ring ring(4);
  for (uint64_t seq = 10; seq < 16; ++seq) EXPECT_TRUE(ring.push(seq, make("c"), 0));
  EXPECT_EQ(ring.begin_seq(), 12u);
  EXPECT_EQ(ring.end_seq(), 16u);
  EXPECT_EQ(ring.size(), 4u);
  EXPECT_EQ(ring.at(11), nullptr);
  ASSERT_NE(ring.at(12), nullptr);
  EXPECT_EQ(ring.at(12)->seq, 12u);
  EXPECT_EQ(ring.at(16), nullptr);
  EXPECT_EQ(ring.bytes(), 4u);
}

TEST_F(stream_ring_test, eviction_releases_chunk_memory) {
  stream_ring ring(2);
  // Each chunk fills a slab, so each evicted chunk frees one.
  for (uint64_t seq = 0; seq < 6; ++seq) ring.push(seq, make(std::string(4096, 'x')), 0);
  EXPECT_EQ(ring.size(), 2u);
  // In use: the two slabs of the chunks in the window (the builder's current slab is
  // the newest chunk's).
  EXPECT_EQ(pool_.slabs_total() - pool_.slabs_free(), 2u);
}

TEST_F(stream_ring_test, capacity_rounds_up_to_power_of_two) {
  stream_ring ring(5);
  EXPECT_EQ(ring.capacity(), 8u);
}

TEST_F(stream_ring_test, keyframe_index_finds_newest_and_follows_eviction) {
  stream_ring ring(4);
  EXPECT_FALSE(ring.newest_keyframe());
  ring.push(0, make("k0"), chunk_keyframe);
  ring.push(1, make("d1"), 0);
  ring.push(2, make("k2"), chunk_keyframe);
  ring.push(3, make("d3"), 0);
  EXPECT_EQ(ring.newest_keyframe(), 2u);
  EXPECT_EQ(ring.keyframe_at_or_after(0), 0u);
  EXPECT_EQ(ring.keyframe_at_or_after(1), 2u);
  EXPECT_FALSE(ring.keyframe_at_or_after(3));
  ring.push(4, make("d4"), 0);  // evicts 0, a keyframe
  ring.push(5, make("d5"), 0);
  ring.push(6, make("d6"), 0);  // evicts 2: no keyframe left in the window
  EXPECT_EQ(ring.begin_seq(), 3u);
  EXPECT_FALSE(ring.newest_keyframe());
  EXPECT_FALSE(ring.keyframe_at_or_after(0));
}

TEST_F(stream_ring_test, gap_in_sequence_empties_the_window) {
  stream_ring ring(8);
  ring.push(0, make("a"), chunk_keyframe);
  ring.push(1, make("b"), 0);
  EXPECT_FALSE(ring.push(5, make("f"), 0));  // 2..4 were lost
  EXPECT_EQ(ring.begin_seq(), 5u);
  EXPECT_EQ(ring.end_seq(), 6u);
  EXPECT_EQ(ring.at(1), nullptr);
  EXPECT_FALSE(ring.newest_keyframe());
}

TEST_F(stream_ring_test, first_push_may_start_at_any_sequence) {
  stream_ring ring(8);
  EXPECT_TRUE(ring.push(1000, make("a"), 0));
  EXPECT_EQ(ring.begin_seq(), 1000u);
  EXPECT_EQ(ring.end_seq(), 1001u);
}

TEST_F(stream_ring_test, header_is_kept_across_clear) {
  stream_ring ring(4);
  ring.set_header(make("PATPMT"));
  ring.push(0, make("a"), 0);
  ring.clear();
  EXPECT_TRUE(ring.empty());
  ASSERT_TRUE(ring.header());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ring.header().data()), ring.header().size()),
            "PATPMT");
}

// Ten 100-byte chunks published 100 ms apart, keyframes at 0, 4 and 8.
class burst_and_lag : public stream_ring_test {
 protected:
  stream_ring ring_{16};
  void SetUp() override {
    for (uint64_t seq = 0; seq < 10; ++seq)
      ring_.push(seq, make(std::string(100, 'x')), seq % 4 == 0 ? chunk_keyframe : 0, seq * 100,
                 static_cast<int64_t>(seq) * 100'000'000);
  }
};

TEST_F(burst_and_lag, no_burst_starts_at_the_newest_keyframe) {
  EXPECT_EQ(ring_.burst_start({}), 8u);
}

TEST_F(burst_and_lag, burst_by_time_starts_at_a_keyframe_far_enough_back) {
  EXPECT_EQ(ring_.burst_start({.ns = 100'000'000}), 8u);  // 9 is 100 ms after 8
  EXPECT_EQ(ring_.burst_start({.ns = 300'000'000}), 4u);
  EXPECT_EQ(ring_.burst_start({.ns = 60'000'000'000}), 0u);  // more than held: the oldest
}

TEST_F(burst_and_lag, burst_by_bytes_counts_to_the_live_edge) {
  EXPECT_EQ(ring_.burst_start({.bytes = 200}), 8u);  // 8 and 9: 200 bytes
  EXPECT_EQ(ring_.burst_start({.bytes = 201}), 4u);
}

TEST_F(burst_and_lag, behind_by_time_and_by_bytes) {
  EXPECT_FALSE(ring_.behind(10, {.ns = 1}));  // the live edge never is
  EXPECT_FALSE(ring_.behind(7, {.ns = 200'000'000}));
  EXPECT_TRUE(ring_.behind(6, {.ns = 200'000'000}));
  EXPECT_FALSE(ring_.behind(7, {.bytes = 300}));
  EXPECT_TRUE(ring_.behind(6, {.bytes = 300}));
  EXPECT_FALSE(ring_.behind(0, {}));  // no limit: anything still held
}

TEST_F(burst_and_lag, a_cursor_out_of_the_window_is_behind_whatever_the_limit) {
  for (uint64_t seq = 10; seq < 20; ++seq) ring_.push(seq, make("y"), 0, 1000 + seq, 0);
  EXPECT_LT(3u, ring_.begin_seq());
  EXPECT_TRUE(ring_.behind(3, {}));
  EXPECT_TRUE(ring_.behind(3, {.bytes = 1u << 30}));
}

// The source came back with other tracks: old chunks, a new header, then the new
// stream's first keyframe flagged chunk_restart.
TEST_F(burst_and_lag, a_new_header_waits_for_its_restart_and_bursts_never_cross_it) {
  ring_.set_header(make("H1"));
  EXPECT_EQ(ring_.burst_start({.ns = 300'000'000}), 4u) << "the first header waits for nothing";
  ring_.set_header(make("H2"));
  EXPECT_FALSE(ring_.burst_start({})) << "old chunks do not go with the new header";
  EXPECT_EQ(ring_.newest_keyframe(), 8u)
      << "viewers already on the old stream may still resync in it";
  EXPECT_EQ(ring_.size(), 10u) << "and lose nothing they have not been sent";
  ring_.push(10, make("k"), chunk_keyframe | chunk_restart, 1000, 1'000'000'000);
  ring_.push(11, make("d"), 0, 1001, 1'100'000'000);
  EXPECT_EQ(ring_.burst_start({}), 10u);
  EXPECT_EQ(ring_.burst_start({.ns = 60'000'000'000}), 10u) << "not into the old stream";
  ring_.push(12, make("k"), chunk_keyframe, 1002, 1'200'000'000);
  EXPECT_EQ(ring_.burst_start({}), 12u);
  EXPECT_EQ(ring_.burst_start({.bytes = 3}), 10u);
}

TEST_F(burst_and_lag, an_in_band_restart_without_a_header_bounds_the_burst_too) {
  ring_.push(10, make("k"), chunk_keyframe | chunk_restart, 1000, 1'000'000'000);
  EXPECT_EQ(ring_.burst_start({.ns = 60'000'000'000}), 10u);
}

}  // namespace
}  // namespace gordo
