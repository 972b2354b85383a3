// Publishing and reading across threads: the ingest thread publishes, each worker
// thread drains its own feed into its own ring.
#include "gordo/core/stream.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "gordo/core/stream_ring.h"

namespace gordo {
namespace {

// A chunk's bytes spell its sequence number, so a reader can check what it got.
chunk_ref make(chunk_builder& b, uint64_t seq) {
  std::byte buf[64];
  std::memset(buf, static_cast<int>(seq & 0xff), sizeof buf);
  std::memcpy(buf, &seq, sizeof seq);
  size_t len = 16 + seq % 48;
  EXPECT_TRUE(b.append({buf, len}));
  return b.seal();
}

uint64_t seq_of(const chunk_ref& c) {
  uint64_t seq;
  std::memcpy(&seq, c.data(), sizeof seq);
  return seq;
}

TEST(stream, every_reader_sees_every_chunk_in_order_while_publishing) {
  constexpr uint64_t total = 200'000;
  constexpr size_t readers = 3;
  slab_pool pool(64 * 1024, 16);
  std::vector<std::unique_ptr<wake_fd>> wakes;
  std::vector<wake_fd*> wake_ptrs;
  for (size_t i = 0; i < readers; ++i) {
    wakes.push_back(std::make_unique<wake_fd>());
    wake_ptrs.push_back(wakes.back().get());
  }
  stream s(wake_ptrs, 1 << 20);  // large enough that nothing overflows

  std::vector<std::thread> threads;
  std::vector<uint64_t> seen(readers, 0), bad(readers, 0), keyframes(readers, 0);
  for (size_t r = 0; r < readers; ++r) {
    threads.emplace_back([&, r] {
      stream_ring ring(64);
      for (;;) {
        uint64_t n;
        ASSERT_EQ(read(wakes[r]->fd(), &n, sizeof n), 8);  // blocks until woken
        wakes[r]->rearm();
        bool ended = s.ended();
        s.feed(r).drain([&](feed_item&& item) {
          if (item.kind == feed_item::header) return;
          if (item.seq != seen[r] || seq_of(item.ref) != item.seq) ++bad[r];
          if (item.flags & chunk_keyframe) ++keyframes[r];
          ++seen[r];
          ring.push(item.seq, std::move(item.ref), item.flags);
        });
        if (ended) return;
      }
    });
  }
  {
    chunk_builder b(pool);
    for (uint64_t seq = 0; seq < total; ++seq)
      s.publish(make(b, seq), seq % 30 == 0 ? chunk_keyframe : 0);
  }
  s.end();
  for (auto& t : threads) t.join();
  for (size_t r = 0; r < readers; ++r) {
    EXPECT_EQ(seen[r], total) << "reader " << r;
    EXPECT_EQ(bad[r], 0u) << "reader " << r;
    EXPECT_EQ(keyframes[r], (total + 29) / 30) << "reader " << r;
  }
  EXPECT_EQ(s.published(), total);
  EXPECT_EQ(s.feed_overflows(), 0u);
}

TEST(stream, memory_is_freed_once_every_reader_dropped_its_reference) {
  slab_pool pool(1024, 4);
  {
    stream s({nullptr, nullptr}, 16);
    chunk_builder b(pool);
    for (uint64_t seq = 0; seq < 8; ++seq) s.publish(make(b, seq), 0);
    std::vector<feed_item> held;
    s.feed(0).drain([&](feed_item&& item) { held.push_back(std::move(item)); });
    s.feed(1).drain([](feed_item&&) {});
    // Reader 0 still holds all eight chunks.
    EXPECT_LT(pool.slabs_free(), pool.slabs_total());
  }
  // stream, builder and reader 0's items are gone.
  EXPECT_EQ(pool.slabs_free(), pool.slabs_total());
}

TEST(stream, a_stalled_reader_loses_chunks_but_never_blocks_the_publisher) {
  slab_pool pool(1024, 4);
  stream s({nullptr, nullptr}, 4);
  chunk_builder b(pool);
  stream_ring fast(16), stalled(16);
  for (uint64_t seq = 0; seq < 10; ++seq) {
    s.publish(make(b, seq), seq == 8 ? chunk_keyframe : 0);
    s.feed(0).drain([&](feed_item&& i) { fast.push(i.seq, std::move(i.ref), i.flags); });
    if (seq == 1)
      s.feed(1).drain([&](feed_item&& i) { stalled.push(i.seq, std::move(i.ref), i.flags); });
  }
  EXPECT_EQ(s.feed_overflows(), 4u);  // 2..5 fit in feed 1; 6..9 did not
  bool continuous = true;
  s.feed(1).drain(
      [&](feed_item&& i) { continuous &= stalled.push(i.seq, std::move(i.ref), i.flags); });
  EXPECT_TRUE(continuous);  // 2..5 follow 0..1
  EXPECT_EQ(fast.end_seq(), 10u);
  EXPECT_EQ(stalled.end_seq(), 6u);
  // The next chunk it does get (10) is after a gap: the ring starts over there.
  s.publish(make(b, 10), chunk_keyframe);
  s.feed(1).drain(
      [&](feed_item&& i) { continuous = stalled.push(i.seq, std::move(i.ref), i.flags); });
  EXPECT_FALSE(continuous);
  EXPECT_EQ(stalled.begin_seq(), 10u);
  EXPECT_EQ(stalled.newest_keyframe(), 10u);
}

TEST(stream, a_drained_feed_holds_no_chunk_memory) {
  slab_pool pool(1024, 4);
  stream s({nullptr}, 16);
  {
    chunk_builder b(pool);
    for (uint64_t seq = 0; seq < 8; ++seq) s.publish(make(b, seq), 0);
  }
  EXPECT_LT(pool.slabs_free(), pool.slabs_total());
  s.feed(0).drain([](feed_item&&) {});  // the reader looks and keeps nothing
  EXPECT_EQ(pool.slabs_free(), pool.slabs_total());
}

TEST(stream, header_reaches_every_reader) {
  slab_pool pool(1024, 2);
  stream s({nullptr, nullptr}, 8);
  chunk_builder b(pool);
  s.set_header(make(b, 42));
  for (size_t r = 0; r < 2; ++r) {
    int headers = 0;
    s.feed(r).drain([&](feed_item&& i) {
      headers += i.kind == feed_item::header;
      EXPECT_EQ(seq_of(i.ref), 42u);
    });
    EXPECT_EQ(headers, 1);
  }
}

TEST(stream, an_open_tap_gets_every_item_and_a_full_one_loses_items_without_waiting) {
  slab_pool pool(64 * 1024, 16);
  chunk_builder b(pool);
  wake_fd w;
  stream s({&w}, 64);
  s.publish(make(b, 0), 0);  // before the tap opens: not in it
  chunk_feed& tap = s.open_tap(4);
  EXPECT_EQ(s.header().size(), 0u);
  s.set_header(make(b, 99));
  EXPECT_EQ(seq_of(s.header()), 99u);
  for (uint64_t i = 1; i <= 5; ++i) s.publish(make(b, i), chunk_keyframe);
  EXPECT_EQ(s.tap_losses(), 2u);  // room for 4: the header and chunks 1 to 3
  std::vector<uint64_t> got;
  tap.drain([&](feed_item&& it) { got.push_back(it.kind == feed_item::header ? 99 : it.seq); });
  EXPECT_EQ(got, (std::vector<uint64_t>{99, 1, 2, 3}));
  s.close_tap();
  s.publish(make(b, 6), 0);
  EXPECT_EQ(tap.drain([](feed_item&&) {}), 0u);
  EXPECT_EQ(&s.open_tap(4), &tap);  // made once
}

}  // namespace
}  // namespace gordo
