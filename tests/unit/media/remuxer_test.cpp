// The remuxer driven with real packets: the built-in test pattern, demuxed and remuxed
// into Matroska and MPEG-TS, then again with other tracks.
#include "gordo/media/remuxer.h"

#include <gtest/gtest.h>

#include <map>

#include "gordo/core/stream_ring.h"
#include "gordo/media/input.h"
#include "gordo/media/test_pattern.h"
#include "gordo/media/ts.h"

namespace gordo {
namespace {

std::shared_ptr<const std::vector<uint8_t>> pattern(int width, int height) {
  test_pattern_options o;
  o.width = width;
  o.height = height;
  o.fps = 25;
  o.seconds = 2;
  o.video_bitrate = 300'000;
  return std::make_shared<const std::vector<uint8_t>>(encode_test_pattern(o));
}

// Unpaced packets: chunks cut by size, and Matroska clusters ended after every packet.
constexpr chunk_writer_options small_chunks{4096, std::chrono::milliseconds(0)};

struct feed_log {
  int headers = 0;
  std::vector<uint32_t> flags;  // of each chunk
  std::vector<std::vector<std::byte>> chunks;
};

class remuxer_test : public ::testing::Test {
 protected:
  slab_pool pool_{1 << 20, 8};
  stream out_{{nullptr}, 4096};
  feed_log log_;

  std::unique_ptr<input> open(const std::shared_ptr<const std::vector<uint8_t>>& bytes) {
    source_spec spec;
    spec.memory = bytes;
    spec.label = "pattern";
    std::string error;
    auto in = input::open(spec, AVIOInterruptCB{}, error);
    EXPECT_TRUE(in) << error;
    return in;
  }

  void run(input& in, remuxer& r) {
    av::packet_ptr pkt(av_packet_alloc());
    while (av_read_frame(in.ctx(), pkt.get()) >= 0) {
      r.write(pkt.get());
      av_packet_unref(pkt.get());
    }
  }

  void collect() {
    out_.feed(0).drain([&](feed_item&& i) {
      if (i.kind == feed_item::header)
        ++log_.headers;
      else {
        log_.flags.push_back(i.flags);
        log_.chunks.emplace_back(i.ref.bytes().begin(), i.ref.bytes().end());
      }
    });
  }
};

TEST(layout, same_tracks_compare_equal_and_other_sizes_do_not) {
  auto small = pattern(160, 120);
  source_spec spec;
  spec.memory = small;
  std::string error;
  auto a = input::open(spec, AVIOInterruptCB{}, error);
  auto b = input::open(spec, AVIOInterruptCB{}, error);
  spec.memory = pattern(320, 240);
  auto c = input::open(spec, AVIOInterruptCB{}, error);
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(same_layout(layout_of(a->ctx()), layout_of(b->ctx())));
  EXPECT_FALSE(same_layout(layout_of(a->ctx()), layout_of(c->ctx())));
  EXPECT_EQ(describe(layout_of(c->ctx())), "h264 320x240, aac 48000 Hz 2 ch");
}

TEST_F(remuxer_test, matroska_chunks_start_at_keyframes_and_a_new_layout_restarts) {
  remuxer r("/live.mkv", out_, pool_, small_chunks);
  auto in = open(pattern(160, 120));
  r.open(layout_of(in->ctx()), "pattern");
  run(*in, r);
  collect();
  EXPECT_EQ(log_.headers, 1);
  ASSERT_GT(log_.flags.size(), 10u);
  EXPECT_TRUE(log_.flags[0] & chunk_keyframe) << "the first chunk starts at a keyframe";
  size_t keyframes = 0;
  for (uint32_t f : log_.flags) {
    keyframes += (f & chunk_keyframe) != 0;
    EXPECT_FALSE(f & chunk_restart);
  }
  EXPECT_GE(keyframes, 2u) << "one per GOP (1 s at 25 fps)";

  auto other = open(pattern(320, 240));
  r.open(layout_of(other->ctx()), "pattern");
  run(*other, r);
  r.end();
  log_.flags.clear();
  collect();
  EXPECT_EQ(log_.headers, 2) << "a new header";
  size_t first_key = 0;
  while (first_key < log_.flags.size() && !(log_.flags[first_key] & chunk_keyframe)) ++first_key;
  ASSERT_LT(first_key, log_.flags.size());
  EXPECT_TRUE(log_.flags[first_key] & chunk_restart)
      << "the first keyframe after it is flagged restart";
  EXPECT_TRUE(out_.ended());
}

// MPEG-TS: no header apart; every keyframe chunk starts with its PAT and PMT, so a viewer
// starting at any of them has the tables first and continuity counters that run on.
TEST_F(remuxer_test, mpegts_keyframe_chunks_start_with_their_own_tables) {
  remuxer r("/live.ts", out_, pool_, small_chunks);
  auto in = open(pattern(160, 120));
  r.open(layout_of(in->ctx()), "pattern");
  run(*in, r);
  r.end();
  collect();
  EXPECT_EQ(log_.headers, 0);
  size_t keyframes = 0;
  std::map<int, int> cc;  // PID -> last continuity counter, over all chunks in order
  for (size_t i = 0; i < log_.chunks.size(); ++i) {
    const auto& c = log_.chunks[i];
    ASSERT_EQ(c.size() % ts::packet_size, 0u);
    auto pid = [&](size_t k) {
      return (std::to_integer<int>(c[k * 188 + 1]) & 0x1f) << 8 |
             std::to_integer<int>(c[k * 188 + 2]);
    };
    if (log_.flags[i] & chunk_keyframe) {
      ++keyframes;
      ASSERT_GE(c.size(), 2 * ts::packet_size);
      EXPECT_EQ(pid(0), 0) << "chunk " << i << " starts with the PAT";
      EXPECT_EQ(pid(1), 0x1000) << "then the PMT";
    }
    for (size_t k = 0; k < c.size() / ts::packet_size; ++k) {
      int counter = std::to_integer<int>(c[k * 188 + 3]) & 0x0f;
      bool payload = std::to_integer<int>(c[k * 188 + 3]) & 0x10;
      auto [it, fresh] = cc.try_emplace(pid(k), counter);
      if (!fresh) {
        EXPECT_EQ(counter, payload ? (it->second + 1) % 16 : it->second)
            << "chunk " << i << " PID " << pid(k);
      }
      it->second = counter;
    }
  }
  EXPECT_GE(keyframes, 2u);
}

TEST_F(remuxer_test, audio_only_every_chunk_is_a_start) {
  remuxer r("/radio.aac", out_, pool_, {4096, std::chrono::hours(1)});
  auto in = open(pattern(160, 120));
  r.open(layout_of(in->ctx()), "pattern");
  run(*in, r);
  r.end();
  collect();
  ASSERT_GT(log_.flags.size(), 5u);
  for (uint32_t f : log_.flags) EXPECT_TRUE(f & chunk_keyframe);
  EXPECT_LT(log_.flags.size(), 20u) << "chunks of --chunk-size, not one per AAC frame (94 in 2 s)";
}

TEST_F(remuxer_test, a_format_that_cannot_carry_the_codecs_says_so) {
  remuxer r("/radio.mp3", out_, pool_, {});
  auto in = open(pattern(160, 120));
  try {
    r.open(layout_of(in->ctx()), "pattern");
    FAIL() << "mp3 cannot carry aac";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/radio.mp3: pattern has audio aac"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(r.is_open());
}

}  // namespace
}  // namespace gordo
