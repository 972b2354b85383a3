// The chunk writer driven through a real AVIOContext, as libavformat drives it.
#include "gordo/media/chunk_writer.h"

#include <gtest/gtest.h>

#include <string>

namespace gordo {
namespace {

struct published {
  std::string text;
  uint32_t flags;
};

class chunk_writer_test : public ::testing::Test {
 protected:
  slab_pool pool_{1 << 16, 4};
  stream out_{{nullptr}, 1024};

  std::vector<published> chunks;
  std::vector<std::string> headers;

  void collect() {
    out_.feed(0).drain([&](feed_item&& i) {
      std::string text(reinterpret_cast<const char*>(i.ref.data()), i.ref.size());
      if (i.kind == feed_item::header)
        headers.push_back(text);
      else
        chunks.push_back({text, i.flags});
    });
  }
};

void write(AVIOContext* pb, const std::string& s, AVIODataMarkerType type) {
  avio_write_marker(pb, AV_NOPTS_VALUE, type);
  avio_write(pb, reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  avio_flush(pb);
}

struct avio_freer {
  void operator()(AVIOContext* pb) const {
    av_freep(&pb->buffer);
    avio_context_free(&pb);
  }
};

TEST_F(chunk_writer_test, muxer_header_then_a_chunk_per_sync_point) {
  chunk_writer w(out_, pool_, header_source::muxer, {.target_bytes = 1 << 20});
  std::unique_ptr<AVIOContext, avio_freer> pb(w.make_avio());
  auto now = chunk_writer::clock::now();
  write(pb.get(), "HEAD", AVIO_DATA_MARKER_HEADER);
  write(pb.get(), "key1", AVIO_DATA_MARKER_SYNC_POINT);
  w.tick(now);
  write(pb.get(), "-delta", AVIO_DATA_MARKER_UNKNOWN);
  w.tick(now);
  write(pb.get(), "key2", AVIO_DATA_MARKER_SYNC_POINT);
  w.flush();
  collect();
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers[0], "HEAD");
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, "key1-delta");
  EXPECT_EQ(chunks[0].flags, chunk_keyframe);
  EXPECT_EQ(chunks[1].text, "key2");
  EXPECT_EQ(chunks[1].flags, chunk_keyframe);
}

TEST_F(chunk_writer_test, chunk_published_when_target_size_reached) {
  chunk_writer w(out_, pool_, header_source::muxer,
                 {.target_bytes = 8, .max_delay = std::chrono::hours(1)});
  std::unique_ptr<AVIOContext, avio_freer> pb(w.make_avio());
  auto now = chunk_writer::clock::now();
  write(pb.get(), "abcd", AVIO_DATA_MARKER_SYNC_POINT);
  w.tick(now);
  collect();
  EXPECT_TRUE(chunks.empty());  // 4 bytes: not yet
  write(pb.get(), "efgh", AVIO_DATA_MARKER_UNKNOWN);
  w.tick(now);
  write(pb.get(), "ij", AVIO_DATA_MARKER_UNKNOWN);
  w.tick(now);
  collect();
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "abcdefgh");
  EXPECT_EQ(chunks[0].flags, chunk_keyframe);
  w.flush();
  collect();
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[1].text, "ij");
  EXPECT_EQ(chunks[1].flags, 0u);  // continues the GOP
}

TEST_F(chunk_writer_test, chunk_published_when_old_enough) {
  chunk_writer w(out_, pool_, header_source::muxer,
                 {.target_bytes = 1 << 20, .max_delay = std::chrono::milliseconds(50)});
  std::unique_ptr<AVIOContext, avio_freer> pb(w.make_avio());
  write(pb.get(), "tiny", AVIO_DATA_MARKER_UNKNOWN);
  w.tick(chunk_writer::clock::now());
  collect();
  EXPECT_TRUE(chunks.empty());
  w.tick(chunk_writer::clock::now() + std::chrono::milliseconds(60));
  collect();
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "tiny");
}

TEST_F(chunk_writer_test, writes_larger_than_a_slab_are_split_not_lost) {
  slab_pool small(64, 4);
  chunk_writer w(out_, small, header_source::muxer, {.target_bytes = 1 << 20});
  std::unique_ptr<AVIOContext, avio_freer> pb(w.make_avio());
  std::string big(200, 'x');
  write(pb.get(), big, AVIO_DATA_MARKER_SYNC_POINT);
  w.flush();
  collect();
  std::string all;
  for (auto& c : chunks) all += c.text;
  EXPECT_EQ(all, big);
  EXPECT_EQ(chunks.front().flags, chunk_keyframe);
  EXPECT_EQ(w.bytes_dropped(), 0u);
}

}  // namespace
}  // namespace gordo
