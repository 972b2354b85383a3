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
  EXPECT_TRUE(push_framing(std::nullopt, "", "", c));
  EXPECT_EQ(c.body, push_connection::framing::until_close);
  EXPECT_TRUE(push_framing(1234, "", "100-continue", c));
  EXPECT_EQ(c.body, push_connection::framing::length);
  EXPECT_EQ(c.length, 1234u);
  EXPECT_TRUE(c.expect_continue);
  push_connection d;
  EXPECT_TRUE(push_framing(std::nullopt, "Chunked", "", d));
  EXPECT_EQ(d.body, push_connection::framing::chunked);
  push_connection z;
  EXPECT_TRUE(push_framing(0, "", "", z));
  EXPECT_EQ(z.body, push_connection::framing::length) << "an empty body is a length too";
  push_connection e;
  EXPECT_FALSE(push_framing(10, "chunked", "", e)) << "request smuggling";
  EXPECT_FALSE(push_framing(0, "chunked", "", e)) << "request smuggling";
  EXPECT_FALSE(push_framing(std::nullopt, "gzip, chunked", "", e));
  EXPECT_FALSE(push_framing(std::nullopt, "", "200-ok", e));
}

// How a body that `wire` sends after `leftover` came with the head was read, to its end.
struct outcome {
  std::string body;
  int last = 0;  // what the last read() returned
  int status = 0;
  std::string fault;
  bool truncated = false;
};

outcome read_all(push_connection::framing framing, const std::string& leftover,
                 const std::string& wire, uint64_t length = 0) {
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
  outcome o;
  uint8_t buf[5];
  int n;
  while ((n = r.read(buf, sizeof buf)) > 0)
    o.body.append(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  o.last = n;
  writer.join();
  EXPECT_EQ(r.bytes(), o.body.size());
  o.status = r.fault_status();
  o.fault = r.fault();
  o.truncated = r.truncated();
  return o;
}

std::string read_body(push_connection::framing framing, const std::string& leftover,
                      const std::string& wire, uint64_t length = 0) {
  return read_all(framing, leftover, wire, length).body;
}

TEST(push_reader, decodes_chunked_bodies_split_anywhere) {
  outcome o = read_all(push_connection::framing::chunked, "5\r\nhel",
                       "lo\r\n0000a;ext=1\r\n, gordo!!!\r\n0\r\nX-T: 1\r\n\r\n");
  EXPECT_EQ(o.body, "hello, gordo!!!");
  EXPECT_EQ(o.last, AVERROR_EOF);
  EXPECT_EQ(o.status, 0);
  EXPECT_FALSE(o.truncated);
}

TEST(push_reader, bad_chunk_framing_is_invalid_data_and_a_400) {
  // Negative, 17 and 18 hex digits (past 64 bits), not hex, a prefix, nothing: all 400, none
  // of them a stream the demuxer should be blamed for (415).
  for (const char* size :
       {"-5", "10000000000000000", "123456789abcdef012", "zz", "0x5", "", " 5", "5 x"}) {
    outcome o = read_all(push_connection::framing::chunked, "",
                         std::string(size) + "\r\nabcde\r\n0\r\n\r\n");
    EXPECT_EQ(o.last, AVERROR_INVALIDDATA) << size;
    EXPECT_EQ(o.status, 400) << size;
    EXPECT_NE(o.fault.find("bad chunk size"), std::string::npos) << o.fault;
    EXPECT_EQ(o.body, "") << size;
  }
  outcome o = read_all(push_connection::framing::chunked, "", "3\r\nabcXY\r\n");
  EXPECT_EQ(o.last, AVERROR_INVALIDDATA) << "chunk data must end with CRLF";
  EXPECT_EQ(o.status, 400);
  o = read_all(push_connection::framing::chunked, "", std::string(2000, '1'));
  EXPECT_EQ(o.last, AVERROR_INVALIDDATA) << "a size line without end";
  EXPECT_EQ(o.status, 400);
  o = read_all(push_connection::framing::chunked, "", "\x01\xff\r\n");
  EXPECT_EQ(o.fault.find_first_of("\x01\xff"), std::string::npos) << "quoted safely: " << o.fault;
}

TEST(push_reader, stops_at_content_length_and_reads_to_close_without_one) {
  outcome o = read_all(push_connection::framing::length, "ab", "cdefgh", 5);
  EXPECT_EQ(o.body, "abcde");
  EXPECT_EQ(o.status, 0);
  EXPECT_FALSE(o.truncated);
  EXPECT_EQ(read_body(push_connection::framing::until_close, "ab", "cdefgh"), "abcdefgh");
}

TEST(push_reader, a_body_shorter_than_its_length_is_truncated) {
  outcome o = read_all(push_connection::framing::length, "ab", "cde", 10);
  EXPECT_EQ(o.body, "abcde") << "what arrived is still the stream's";
  EXPECT_EQ(o.last, AVERROR_EOF);
  EXPECT_TRUE(o.truncated);
  EXPECT_EQ(o.status, 400);
  EXPECT_EQ(o.fault, "the body ended after 5 of 10 bytes");
}

TEST(push_reader, a_chunked_body_without_its_last_chunk_is_truncated) {
  for (const char* wire : {"5\r\nhel", "5\r\nhello\r\n", "5\r\nhello\r\n0\r\n", ""}) {
    outcome o = read_all(push_connection::framing::chunked, "", wire);
    EXPECT_EQ(o.last, AVERROR_EOF) << wire;
    EXPECT_TRUE(o.truncated) << wire;
    EXPECT_EQ(o.status, 400) << wire;
    EXPECT_NE(o.fault.find("the body ended after"), std::string::npos) << o.fault;
  }
}

TEST(push_reader, a_silent_encoder_times_out_with_a_408) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  push_connection c;
  c.fd = fds[0];
  push_reader r(std::move(c), 100'000);
  uint8_t buf[4];
  EXPECT_EQ(r.read(buf, sizeof buf), AVERROR(ETIMEDOUT));
  EXPECT_EQ(r.fault_status(), 408);
  EXPECT_EQ(r.fault(), "no body arrived within 100 ms of the request");
  EXPECT_FALSE(r.truncated());
  close(fds[1]);
}

TEST(push_reader, an_encoder_that_stalls_mid_body_times_out_with_a_408) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  push_connection c;
  c.fd = fds[0];
  c.leftover = "abc";
  push_reader r(std::move(c), 100'000);
  uint8_t buf[4];
  EXPECT_EQ(r.read(buf, sizeof buf), 3);
  EXPECT_EQ(r.fault_status(), 0);
  EXPECT_EQ(r.read(buf, sizeof buf), AVERROR(ETIMEDOUT));
  EXPECT_EQ(r.fault_status(), 408);
  EXPECT_EQ(r.fault(), "the body stopped for 100 ms after 3 bytes");
  close(fds[1]);
}

}  // namespace
}  // namespace gordo
