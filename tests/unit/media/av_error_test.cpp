// av.h's two functions: the text of an AVERROR (what logs and 415 answers quote), and
// freeing an output context together with the custom AVIOContext the chunk writer gave it.
#include "gordo/media/av.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace gordo {
namespace {

TEST(av_error_text, ffmpeg_and_errno_codes_read_as_text) {
  EXPECT_EQ(av::error_text(AVERROR_EOF), "End of file");
  EXPECT_EQ(av::error_text(AVERROR_INVALIDDATA), "Invalid data found when processing input");
  EXPECT_EQ(av::error_text(AVERROR_EXIT), "Immediate exit requested");
  EXPECT_EQ(av::error_text(AVERROR(ENOENT)), std::strerror(ENOENT));
  EXPECT_EQ(av::error_text(AVERROR(ETIMEDOUT)), std::strerror(ETIMEDOUT));
}

TEST(av_error_text, an_unknown_code_still_says_something) {
  std::string text = av::error_text(-123456789);
  EXPECT_FALSE(text.empty());
  EXPECT_NE(text.find("123456789"), std::string::npos) << text;
}

// A muxer writing into memory through its own AVIOContext, as the remuxer sets it up.
TEST(output_ptr, frees_a_muxer_with_custom_io_after_use) {
  AVFormatContext* raw = nullptr;
  ASSERT_GE(avformat_alloc_output_context2(&raw, nullptr, "mpegts", nullptr), 0);
  av::output_ptr mux(raw);
  std::vector<uint8_t> written;
  constexpr int size = 4096;
  auto* buf = static_cast<unsigned char*>(av_malloc(size));
  mux->pb = avio_alloc_context(
      buf, size, 1, &written, nullptr,
      [](void* opaque, auto* data, int n) -> int {  // const uint8_t* since FFmpeg 7
        auto* out = static_cast<std::vector<uint8_t>*>(opaque);
        out->insert(out->end(), data, data + n);
        return n;
      },
      nullptr);
  ASSERT_TRUE(mux->pb);
  AVStream* st = avformat_new_stream(mux.get(), nullptr);
  st->codecpar->codec_type = AVMEDIA_TYPE_DATA;
  st->codecpar->codec_id = AV_CODEC_ID_BIN_DATA;
  ASSERT_GE(avformat_write_header(mux.get(), nullptr), 0);
  av::packet_ptr pkt(av_packet_alloc());
  ASSERT_GE(av_new_packet(pkt.get(), 1000), 0);
  std::memset(pkt->data, 0xab, 1000);
  pkt->pts = pkt->dts = 0;
  ASSERT_GE(av_write_frame(mux.get(), pkt.get()), 0);
  ASSERT_GE(av_write_trailer(mux.get()), 0);
  avio_flush(mux->pb);
  // Its buffer may have been replaced while writing: the freer must free the current one
  // (a leak or a double free here shows up under tools/sanitize).
  mux.reset();
  ASSERT_FALSE(written.empty());
  EXPECT_EQ(written.size() % 188, 0u);
  EXPECT_EQ(written[0], 0x47);
}

TEST(output_ptr, frees_a_muxer_that_never_got_io) {
  AVFormatContext* raw = nullptr;
  ASSERT_GE(avformat_alloc_output_context2(&raw, nullptr, "matroska", nullptr), 0);
  av::output_ptr mux(raw);
  EXPECT_EQ(mux->pb, nullptr);
  mux.reset();  // a muxer that failed before its I/O was set up
}

}  // namespace
}  // namespace gordo
