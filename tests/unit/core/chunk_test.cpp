#include "gordo/core/chunk.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace gordo {
namespace {

std::span<const std::byte> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string text_of(const chunk_ref& c) {
  return {reinterpret_cast<const char*>(c.data()), c.size()};
}

TEST(chunk, sealed_bytes_are_what_was_appended) {
  slab_pool pool(64, 4);
  chunk_builder b(pool);
  ASSERT_TRUE(b.append(bytes_of("hello ")));
  ASSERT_TRUE(b.append(bytes_of("world")));
  chunk_ref c = b.seal();
  EXPECT_EQ(text_of(c), "hello world");
  EXPECT_EQ(b.pending(), 0u);
  EXPECT_FALSE(b.seal());  // nothing pending: no chunk
}

TEST(chunk, slab_returns_to_pool_when_last_reference_drops) {
  slab_pool pool(64, 2);
  {
    chunk_builder b(pool);
    ASSERT_TRUE(b.append(bytes_of("abc")));
    chunk_ref c = b.seal();
    EXPECT_EQ(pool.slabs_free(), 1u);
    chunk_ref d = c.share();
    c.reset();
    EXPECT_EQ(text_of(d), "abc");  // still readable through the other reference
    EXPECT_EQ(pool.slabs_free(), 1u);
  }
  EXPECT_EQ(pool.slabs_free(), 2u);  // builder gone, all chunk refs gone
}

TEST(chunk, moved_from_reference_is_empty_and_does_not_release) {
  slab_pool pool(64, 1);
  chunk_builder b(pool);
  ASSERT_TRUE(b.append(bytes_of("x")));
  chunk_ref a = b.seal();
  chunk_ref moved = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(text_of(moved), "x");
  chunk_ref assigned;
  assigned = std::move(moved);
  EXPECT_EQ(text_of(assigned), "x");
}

TEST(chunk, pending_chunk_moves_whole_to_a_fresh_slab) {
  slab_pool pool(16, 4);
  chunk_builder b(pool);
  ASSERT_TRUE(b.append(bytes_of("0123456789")));
  chunk_ref first = b.seal();
  ASSERT_TRUE(b.append(bytes_of("abcd")));
  ASSERT_TRUE(b.append(bytes_of("efghij")));  // does not fit behind "abcd" in slab 1
  chunk_ref second = b.seal();
  EXPECT_EQ(text_of(first), "0123456789");
  EXPECT_EQ(text_of(second), "abcdefghij");  // contiguous, never split
  EXPECT_NE(first.owner(), second.owner());
}

TEST(chunk, append_refuses_a_chunk_larger_than_a_slab) {
  slab_pool pool(8, 2);
  chunk_builder b(pool);
  ASSERT_TRUE(b.append(bytes_of("12345")));
  EXPECT_FALSE(b.append(bytes_of("6789")));  // 9 bytes would not fit any slab
  EXPECT_EQ(b.pending(), 5u);                // nothing was appended
  EXPECT_EQ(text_of(b.seal()), "12345");
  EXPECT_TRUE(b.append(bytes_of("6789")));
}

TEST(chunk, pool_grows_by_arenas_and_reuses_freed_slabs) {
  slab_pool pool(32, 2);
  std::vector<chunk_ref> held;
  chunk_builder b(pool);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(b.append(bytes_of(std::string(32, 'a' + i))));
    held.push_back(b.seal());
  }
  EXPECT_GE(pool.slabs_total(), 10u);
  size_t total = pool.slabs_total();
  held.clear();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(b.append(bytes_of(std::string(32, 'z'))));
    held.push_back(b.seal());
  }
  EXPECT_EQ(pool.slabs_total(), total);  // reused, did not grow
}

}  // namespace
}  // namespace gordo
