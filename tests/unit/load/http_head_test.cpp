#include "load/http_head.h"

#include <gtest/gtest.h>

namespace gordo::load {
namespace {

TEST(http_head, reads_status_length_and_keep_alive) {
  auto h = parse_response_head(
      "HTTP/1.1 200 OK\r\nServer: gordo\r\ncontent-length: 1234\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->content_length, 1234u);
  EXPECT_FALSE(h->close);
  EXPECT_FALSE(h->chunked);
}

TEST(http_head, knows_when_the_connection_ends) {
  auto h = parse_response_head("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 503);
  EXPECT_FALSE(h->content_length);
  EXPECT_TRUE(h->close);
  EXPECT_TRUE(parse_response_head("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n")->close);
  EXPECT_FALSE(parse_response_head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n")->close);
  EXPECT_TRUE(
      parse_response_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")->chunked);
}

TEST(http_head, refuses_what_is_no_response) {
  for (const char* bad : {"", "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
                          "HTTP/2 200\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n"})
    EXPECT_FALSE(parse_response_head(bad)) << bad;
}

}  // namespace
}  // namespace gordo::load
