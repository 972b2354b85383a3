// What a viewer is sent, from a ring of chunks and without a socket: the header and burst
// from a keyframe, whole chunks in order, the slow-viewer policy, a new header, ICY blocks.
#include "gordo/server/fanout.h"

#include <gtest/gtest.h>

#include <string>

#include "gordo/net/icy.h"

namespace gordo {
namespace {

class fanout_test : public ::testing::Test {
 protected:
  slab_pool pool_{1 << 16, 8};
  chunk_builder builder_{pool_};
  stream_ring ring_{16};
  mount_policy policy_;
  chunk_ref icy_;
  uint32_t icy_gen_ = 0;
  bool in_band_ = false;
  uint64_t pos_ = 0;  // stream bytes before the next chunk (what lag is measured in)

  chunk_ref make(const std::string& text) {
    EXPECT_TRUE(builder_.append({reinterpret_cast<const std::byte*>(text.data()), text.size()}));
    return builder_.seal();
  }
  // Chunk `seq` holds "c<seq>"; `flags` as the chunk writer marks them.
  void push(uint64_t seq, uint32_t flags = 0) {
    std::string text = "c";  // (not "c" + ...: gcc 12's false -Wrestrict)
    text += std::to_string(seq);
    push(seq, text, flags);
  }
  void push(uint64_t seq, const std::string& bytes, uint32_t flags) {
    ring_.push(seq, make(bytes), flags, pos_);
    pos_ += bytes.size();
  }
  fill_result fill(client& c) { return gordo::fill(c, {ring_, policy_, in_band_, icy_, icy_gen_}); }
  // What the viewer's queue holds, concatenated, then sent (emptied).
  static std::string sent(client& c) {
    std::string out;
    size_t bytes = 0;
    for (size_t i = 0; i < c.queued(); ++i) {
      out.append(static_cast<const char*>(c.iov[i].iov_base), c.iov[i].iov_len);
      bytes += c.iov[i].iov_len;
    }
    c.consume(bytes);
    return out;
  }
};

TEST_F(fanout_test, a_new_viewer_starts_with_the_header_at_the_newest_keyframe) {
  ring_.set_header(make("H"));
  for (uint64_t s = 1; s <= 6; ++s) push(s, s % 3 == 1 ? chunk_keyframe : 0);  // keyframes 1, 4
  client c(-1);
  EXPECT_EQ(fill(c), fill_result::filled);
  EXPECT_EQ(sent(c), "Hc4c5c6");
  EXPECT_EQ(c.next_seq, 7u);
  push(7);
  fill(c);
  EXPECT_EQ(sent(c), "c7") << "then live, without the header again";
}

TEST_F(fanout_test, nothing_until_the_first_keyframe) {
  push(1);
  push(2);
  client c(-1);
  EXPECT_EQ(fill(c), fill_result::filled);
  EXPECT_EQ(c.queued(), 0u);
  push(3, chunk_keyframe);
  fill(c);
  EXPECT_EQ(sent(c), "c3");
}

TEST_F(fanout_test, the_out_queue_holds_at_most_max_iov_slices) {
  for (uint64_t s = 1; s <= 12; ++s) push(s, s == 1 ? chunk_keyframe : 0);
  policy_.burst = {.bytes = 1 << 20};
  client c(-1);
  fill(c);
  EXPECT_EQ(c.queued(), client::max_iov);
  EXPECT_EQ(sent(c), "c1c2c3c4c5c6c7c8");
  fill(c);
  EXPECT_EQ(sent(c), "c9c10c11c12");
}

TEST_F(fanout_test, a_slow_viewer_skips_to_the_newest_keyframe_or_is_dropped) {
  for (uint64_t s = 1; s <= 4; ++s) push(s, s == 1 ? chunk_keyframe : 0);
  policy_.max_lag = {.bytes = 6};  // three chunks of "cN"
  client c(-1);
  fill(c);
  EXPECT_EQ(sent(c), "c1c2c3c4");
  for (uint64_t s = 5; s <= 12; ++s) push(s, s == 9 ? chunk_keyframe : 0);
  c.next_seq = 6;  // as if it had got only c5: far behind
  EXPECT_EQ(fill(c), fill_result::skipped);
  EXPECT_EQ(sent(c), "c9c10c11c12") << "the newest keyframe, no header again";
  policy_.on_slow = slow_policy::drop;
  c.next_seq = 10;
  EXPECT_EQ(fill(c), fill_result::drop);
}

TEST_F(fanout_test, a_skip_keeps_the_rest_of_a_begun_chunk) {
  for (uint64_t s = 1; s <= 3; ++s) push(s, s == 1 ? chunk_keyframe : 0);
  client c(-1);
  fill(c);
  c.consume(1);  // "c1" half sent
  skip_to_keyframe(c);
  EXPECT_EQ(c.queued(), 1u);
  EXPECT_EQ(sent(c), "1");
  EXPECT_TRUE(c.need_keyframe);
}

TEST_F(fanout_test, a_new_header_finishes_viewers_unless_it_travels_in_band) {
  ring_.set_header(make("H"));
  push(1, chunk_keyframe);
  client c(-1);
  fill(c);
  EXPECT_EQ(sent(c), "Hc1");
  ring_.set_header(make("G"));
  push(2, chunk_keyframe | chunk_restart);
  fill(c);
  EXPECT_EQ(c.queued(), 0u);
  EXPECT_TRUE(c.finished) << "what follows needs a header it did not get";
  client late(-1);
  fill(late);
  EXPECT_EQ(sent(late), "Gc2");
  in_band_ = true;  // MPEG-TS: the tables are in the chunks
  client ts(-1);
  ts.started = true;
  ts.need_keyframe = false;
  ts.next_seq = 2;
  fill(ts);
  EXPECT_EQ(sent(ts), "c2");
  EXPECT_FALSE(ts.finished);
}

TEST_F(fanout_test, icy_viewers_get_a_metadata_block_every_metaint_bytes) {
  std::string audio(icy_metaint + 100, 'a');
  push(1, audio, chunk_keyframe);
  std::string block = "\x02StreamTitle='x';";  // a length byte (2: 32 bytes follow), padded
  block.resize(33, '\0');
  icy_ = make(block);
  icy_gen_ = 1;
  client c(-1);
  c.icy = true;
  c.icy_left = static_cast<uint32_t>(icy_metaint);
  fill(c);
  std::string got = sent(c);
  ASSERT_EQ(got.size(), audio.size() + 33);
  EXPECT_EQ(got.substr(0, icy_metaint), audio.substr(0, icy_metaint));
  EXPECT_EQ(got.substr(icy_metaint, 33), block) << "the title, which changed";
  EXPECT_EQ(got.substr(icy_metaint + 33), std::string(100, 'a'));
  push(2, std::string(icy_metaint, 'b'), 0);
  fill(c);
  got = sent(c);
  ASSERT_EQ(got.size(), icy_metaint + 1);
  EXPECT_EQ(got[icy_metaint - 100], '\0') << "no change: one zero byte";
}

}  // namespace
}  // namespace gordo
