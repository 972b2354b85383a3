#include "gordo/http/hls_index.h"

#include <gtest/gtest.h>

#include "hls_test_stream.h"

namespace gordo {
namespace {

TEST(hls_index, segments_and_parts_are_ranges_of_sequence_numbers) {
  hls_index index(6);
  hls_test_stream s{index};
  s.segment();
  s.segment();
  s.part(0);  // segment 3 begins: 2 is complete
  ASSERT_EQ(index.segments().size(), 3u);
  const auto& first = index.segments()[0];
  EXPECT_EQ(first.msn, 1u);
  EXPECT_TRUE(first.complete);
  EXPECT_EQ(first.first_seq, 0u);
  EXPECT_EQ(first.end_seq, 12u);
  EXPECT_EQ(first.duration_us, 6 * 333'000);
  EXPECT_EQ(first.bytes, 12u * 10'000);
  ASSERT_EQ(first.parts.size(), 6u);
  EXPECT_TRUE(first.parts[0].independent);
  EXPECT_FALSE(first.parts[1].independent);
  EXPECT_EQ(first.parts[1].first_seq, 2u);
  EXPECT_EQ(first.parts[1].end_seq, 4u);
  EXPECT_EQ(first.parts[5].end_seq, 12u) << "a segment's last part ends where the next begins";
  const auto& open = index.segments()[2];
  EXPECT_FALSE(open.complete);
  EXPECT_EQ(open.parts.size(), 1u);
  EXPECT_FALSE(open.parts[0].complete) << "a part is complete once the next begins";
  EXPECT_EQ(index.find(2)->msn, 2u);
  EXPECT_EQ(index.find(4), nullptr);
}

TEST(hls_index, what_a_blocking_reload_waits_for) {
  hls_index index(6);
  hls_test_stream s{index};
  EXPECT_FALSE(index.has(1, std::nullopt));
  s.part(0);
  s.part(1);
  EXPECT_TRUE(index.has(1, 0u)) << "part 0 completed when part 1 began";
  EXPECT_FALSE(index.has(1, 1u));
  EXPECT_FALSE(index.has(1, std::nullopt)) << "segment 1 is not complete";
  EXPECT_EQ(index.edge(), (std::pair<uint64_t, int64_t>{1, 0}));
  EXPECT_TRUE(s.part(2)) << "the drain that completes a part says so";
  EXPECT_TRUE(index.has(1, 1u));
  for (uint32_t p = 3; p < 6; ++p) s.part(p);
  s.part(0);
  EXPECT_TRUE(index.has(1, std::nullopt));
  EXPECT_TRUE(index.has(1, 17u)) << "a part past the segment's last: the segment is whole";
  EXPECT_FALSE(index.has(2, 0u));
}

TEST(hls_index, the_window_keeps_its_size_and_the_ring_trims_it) {
  hls_index index(6);
  hls_test_stream s{index};
  for (int i = 0; i < 20; ++i) s.segment();
  // Six listed and the open one, and six more kept for the players that were given them.
  EXPECT_EQ(index.segments().size(), 13u);
  EXPECT_EQ(index.segments().front().msn, 8u);
  EXPECT_EQ(index.segments()[index.listed_begin()].msn, 14u);
  EXPECT_NE(index.find(9), nullptr) << "left the playlist, still served";
  EXPECT_TRUE(index.trim(index.segments()[2].first_seq));
  EXPECT_EQ(index.segments().front().msn, 10u);
  EXPECT_FALSE(index.trim(0));
}

TEST(hls_index, joining_mid_segment_waits_for_the_next_one) {
  hls_index index(6);
  hls_test_stream s{index};
  s.part(0);
  index.clear();  // a gap: what came before is gone
  s.part(1);
  s.part(2);
  EXPECT_TRUE(index.segments().empty());
  s.part(3);
  s.part(4);
  s.part(5);
  s.part(0);
  ASSERT_EQ(index.segments().size(), 1u);
  EXPECT_EQ(index.segments()[0].msn, 2u);
}

TEST(hls_index, a_restart_is_a_discontinuity_with_its_own_init_section) {
  slab_pool pool(4096, 4);  // first: it outlives the chunks the index holds
  chunk_builder b(pool);
  hls_index index(3);
  hls_test_stream s{index};
  auto header = [&](char c) {
    std::byte x{static_cast<unsigned char>(c)};
    b.append({&x, 1});
    return b.seal();
  };
  index.set_header(header('a'));
  s.segment();
  s.segment();
  index.set_header(header('b'));
  s.segment(chunk_restart);
  s.segment();
  const auto& segs = index.segments();
  ASSERT_EQ(segs.size(), 4u);
  EXPECT_FALSE(segs[0].discontinuity);
  EXPECT_TRUE(segs[2].discontinuity);
  EXPECT_EQ(segs[0].init, 0u);
  EXPECT_EQ(segs[1].init, 0u);
  EXPECT_EQ(segs[2].init, 1u);
  EXPECT_EQ(static_cast<char>(index.init(0)->data()[0]), 'a');
  EXPECT_EQ(static_cast<char>(index.init(1)->data()[0]), 'b');
  EXPECT_EQ(index.discontinuity_sequence(), 0u);
  for (int i = 0; i < 4; ++i) s.segment();
  EXPECT_EQ(index.discontinuity_sequence(), 1u) << "counted once it left the playlist";
  for (int i = 0; i < 4; ++i) s.segment();
  EXPECT_EQ(index.discontinuity_sequence(), 1u) << "and still once it is not kept either";
  EXPECT_EQ(index.init(0), nullptr) << "an init section no segment uses is let go";
  EXPECT_NE(index.init(1), nullptr);
}

TEST(hls_index, target_duration_is_the_longest_segment_rounded) {
  hls_index index(6);
  hls_test_stream s{index};
  s.parts = 9;  // 3.0 s segments
  s.segment();
  s.segment();
  EXPECT_EQ(index.target_duration(2), 3);
  EXPECT_EQ(index.target_duration(4), 4);
}

}  // namespace
}  // namespace gordo

namespace gordo {
namespace {

TEST(hls_index, a_part_is_complete_when_the_next_is_announced_not_when_its_chunk_comes) {
  hls_index index(6);
  hls_stamp first{1, 0, 0, 1000};
  EXPECT_FALSE(index.begin_part(0, chunk_keyframe, first));
  index.add(0, chunk_part | chunk_keyframe, first, 100);
  index.add(1, 0, first, 100);
  // The remuxer cut: part 1 begins with chunk 2, which the chunk writer still holds.
  EXPECT_TRUE(index.begin_part(2, 0, {1, 1, 320'000, 1320}));
  EXPECT_TRUE(index.has(1, 0u));
  EXPECT_EQ(index.segments()[0].parts[0].end_seq, 2u);
  EXPECT_EQ(index.segments()[0].parts[0].duration_us, 320'000);
  EXPECT_EQ(index.segments()[0].parts[0].bytes, 200u);
  // Its chunk arrives: no second part 1.
  EXPECT_FALSE(index.add(2, chunk_part, {1, 1, 320'000, 1320}, 100));
  EXPECT_EQ(index.segments()[0].parts.size(), 2u);
  EXPECT_EQ(index.segments()[0].parts[1].bytes, 100u);
  // A segment announced with a restart is a discontinuity.
  EXPECT_TRUE(index.begin_part(3, chunk_keyframe | chunk_restart, {2, 0, 640'000, 1640}));
  EXPECT_TRUE(index.segments()[1].discontinuity);
  EXPECT_TRUE(index.segments()[1].parts[0].independent);
  EXPECT_TRUE(index.has(1, std::nullopt));
}

}  // namespace
}  // namespace gordo
