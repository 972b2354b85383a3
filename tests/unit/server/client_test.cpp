#include "gordo/server/client.h"

#include <gtest/gtest.h>

#include <string>

namespace gordo {
namespace {

std::string queued_text(const client& c) {
  std::string out;
  for (size_t i = 0; i < c.n_iov; ++i)
    out.append(static_cast<const char*>(c.iov[i].iov_base), c.iov[i].iov_len);
  return out;
}

TEST(client, partial_send_keeps_the_unsent_bytes_in_order) {
  client c(-1);
  std::string a = "head|", b = "chunk-one|", d = "chunk-two";
  ASSERT_TRUE(c.queue(a.data(), a.size()));
  ASSERT_TRUE(c.queue(b.data(), b.size()));
  ASSERT_TRUE(c.queue(d.data(), d.size()));
  c.consume(3);
  EXPECT_EQ(queued_text(c), "d|chunk-one|chunk-two");
  EXPECT_EQ(c.queued(), 3u);
  c.consume(2 + 6);  // rest of head, part of chunk-one
  EXPECT_EQ(queued_text(c), "one|chunk-two");
  EXPECT_EQ(c.queued(), 2u);
  c.consume(4 + 9);
  EXPECT_EQ(c.queued(), 0u);
}

TEST(client, sent_slices_release_their_chunks) {
  slab_pool pool(64, 1);
  client c(-1);
  {
    chunk_builder b(pool);
    ASSERT_TRUE(b.append(std::as_bytes(std::span("abcdef", 6))));
    chunk_ref chunk = b.seal();
    ASSERT_TRUE(c.queue(chunk.data(), chunk.size(), chunk.share()));
  }                                  // the builder and the original reference are gone
  EXPECT_EQ(pool.slabs_free(), 0u);  // the client's reference keeps the slab
  c.consume(3);
  EXPECT_EQ(pool.slabs_free(), 0u);  // half sent: still needed
  c.consume(3);
  EXPECT_EQ(pool.slabs_free(), 1u);
}

TEST(client, queue_is_bounded) {
  client c(-1);
  char byte = 'x';
  for (size_t i = 0; i < client::max_iov; ++i) EXPECT_TRUE(c.queue(&byte, 1));
  EXPECT_FALSE(c.queue(&byte, 1));
  msghdr* m = c.message();
  EXPECT_EQ(m->msg_iovlen, client::max_iov);
  EXPECT_EQ(m->msg_iov, c.iov);
}

TEST(client, drop_unsent_keeps_the_rest_of_a_begun_chunk) {
  client c(-1);
  std::string a = "chunk-one|", b = "chunk-two|", d = "chunk-three";
  c.queue(a.data(), a.size());
  c.queue(b.data(), b.size());
  c.queue(d.data(), d.size());
  c.consume(a.size() + 3);  // chunk-one sent, chunk-two begun
  c.drop_unsent();
  EXPECT_EQ(queued_text(c), "nk-two|");
  c.consume(7);
  EXPECT_EQ(c.queued(), 0u);
}

TEST(client, drop_unsent_on_a_chunk_boundary_empties_the_queue) {
  slab_pool pool(64, 1);
  client c(-1);
  std::string a = "chunk-one|";
  c.queue(a.data(), a.size());
  {
    chunk_builder b(pool);
    ASSERT_TRUE(b.append(std::as_bytes(std::span("abcdef", 6))));
    chunk_ref chunk = b.seal();
    c.queue(chunk.data(), chunk.size(), chunk.share());
  }
  c.consume(a.size());  // exactly one whole slice
  c.drop_unsent();
  EXPECT_EQ(c.queued(), 0u);
  EXPECT_EQ(pool.slabs_free(), 1u);  // the dropped chunk's reference is gone
}

TEST(client, drop_unsent_rewinds_the_icy_count_to_the_first_slice_dropped) {
  client c(-1);
  c.icy = true;
  c.icy_gen = 5;
  std::string audio(100, 'a');
  c.icy_left = 300;
  c.queue(audio.data(), 100);  // as queue_icy does: the count before, then less
  c.icy_left = 200;
  c.queue(audio.data(), 100);
  c.icy_left = 100;
  c.consume(50);  // the first slice begun
  c.drop_unsent();
  EXPECT_EQ(c.queued(), 1u);
  EXPECT_EQ(c.icy_left, 200u) << "the dropped slice's 100 bytes are owed again";
  EXPECT_EQ(c.icy_gen, ~0u) << "and the title is sent again, in case a block was dropped";
}

TEST(client, a_timeout_counts_whole_seconds_from_the_tick_after_it_arrived) {
  client c(-1);
  c.since_s = 7;  // arrived somewhere between tick 7 and tick 8
  EXPECT_FALSE(c.waited(8, 1)) << "tick 8 may come a moment after it arrived";
  EXPECT_TRUE(c.waited(9, 1));
  EXPECT_FALSE(c.waited(37, 30));
  EXPECT_TRUE(c.waited(38, 30));
  c.since_s = UINT32_MAX;  // the tick count wraps after 136 years; the difference still holds
  EXPECT_FALSE(c.waited(0, 1));
  EXPECT_TRUE(c.waited(1, 1));
}

}  // namespace
}  // namespace gordo
