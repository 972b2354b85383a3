// An encoder's upload as the source reads it: framing from the request headers, bodies
// decoded from a real socket.
#include "gordo/media/push.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

extern "C" {
#include <libavutil/error.h>
}

namespace gordo {
namespace {

TEST(push_framing, reads_length_chunked_expect_and_refuses_both) {
  push_connection c;
  EXPECT_TRUE(push_framing("", "", "", c));
  EXPECT_EQ(c.body, push_connection::framing::until_close);
  EXPECT_TRUE(push_framing("1234", "", "100-continue", c));
  EXPECT_EQ(c.body, push_connection::framing::length);
  EXPECT_EQ(c.length, 1234u);
  EXPECT_TRUE(c.expect_continue);
  push_connection d;
  EXPECT_TRUE(push_framing("", "Chunked", "", d));
  EXPECT_EQ(d.body, push_connection::framing::chunked);
  push_connection e;
  EXPECT_FALSE(push_framing("10", "chunked", "", e)) << "request smuggling";
  EXPECT_FALSE(push_framing("", "gzip, chunked", "", e));
  EXPECT_FALSE(push_framing("12x", "", "", e));
  EXPECT_FALSE(push_framing("-1", "", "", e));
  EXPECT_FALSE(push_framing("", "", "200-ok", e));
}

// The body `wire` sends after `leftover` came with the head, read to its end.
std::string read_body(push_connection::framing framing, const std::string& leftover, const std::string& wire,
                      uint64_t length = 0, int* last = nullptr) {
  int fds[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  push_connection c;
  c.fd = fds[0];
  c.body = framing;
  c.length = length;
  c.leftover = leftover;
  std::thread writer([&] {
    for (size_t i = 0; i < wire.size(); i += 7) {  // in small pieces: framing split anywhere
      EXPECT_GT(write(fds[1], wire.data() + i, std::min<size_t>(7, wire.size() - i)), 0);
    }
    close(fds[1]);
  });
  push_reader r(std::move(c), 2'000'000);
  std::string out;
  uint8_t buf[5];
  int n;
  while ((n = r.read(buf, sizeof buf)) > 0) out.append(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  if (last) *last = n;
  writer.join();
  EXPECT_EQ(r.bytes(), out.size());
  return out;
}

TEST(push_reader, decodes_chunked_bodies_split_anywhere) {
  int last = 0;
  EXPECT_EQ(read_body(push_connection::framing::chunked, "5\r\nhel", "lo\r\n0000a;ext=1\r\n, gordo!!!\r\n0\r\nX-T: 1\r\n\r\n",
                      0, &last),
            "hello, gordo!!!");
  EXPECT_EQ(last, AVERROR_EOF);
}

TEST(push_reader, bad_chunk_framing_is_invalid_data) {
  int last = 0;
  read_body(push_connection::framing::chunked, "", "zz\r\nabc\r\n", 0, &last);
  EXPECT_EQ(last, AVERROR_INVALIDDATA);
  read_body(push_connection::framing::chunked, "", "3\r\nabcXY\r\n", 0, &last);
  EXPECT_EQ(last, AVERROR_INVALIDDATA) << "chunk data must end with CRLF";
}

TEST(push_reader, stops_at_content_length_and_reads_to_close_without_one) {
  EXPECT_EQ(read_body(push_connection::framing::length, "ab", "cdefgh", 5), "abcde");
  EXPECT_EQ(read_body(push_connection::framing::until_close, "ab", "cdefgh"), "abcdefgh");
}

TEST(push_reader, a_silent_encoder_times_out) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  push_connection c;
  c.fd = fds[0];
  push_reader r(std::move(c), 100'000);
  uint8_t buf[4];
  EXPECT_EQ(r.read(buf, sizeof buf), AVERROR(ETIMEDOUT));
  close(fds[1]);
}

}  // namespace
}  // namespace gordo
