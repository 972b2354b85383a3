// A connection's HTTP state without a socket: bytes arrive in pieces, answers decide
// keep-alive, pipelined requests carry over, and each request gets its log line.
#include "gordo/http/session.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace gordo {
namespace {

// Copies `bytes` into the session as a receive would.
void arrive(http_session& s, std::string_view bytes) {
  ASSERT_LE(bytes.size(), s.room());
  std::memcpy(s.space(), bytes.data(), bytes.size());
  s.received(bytes.size());
}

TEST(http_session, a_head_in_pieces_parses_once_whole) {
  http_session s;
  s.open(false, {});
  http_request req;
  arrive(s, "GET /live.ts HTTP/1.1\r\nHo");
  EXPECT_EQ(s.parse(req), http_parse::incomplete);
  arrive(s, "st: tv\r\n\r\n");
  ASSERT_EQ(s.parse(req), http_parse::complete);
  EXPECT_EQ(req.path, "/live.ts");
  EXPECT_TRUE(req.keep_alive);
}

TEST(http_session, a_kept_answer_carries_the_pipelined_request_over) {
  http_session s;
  s.open(false, {});
  http_request req;
  arrive(s, "GET /a HTTP/1.1\r\nHost: tv\r\n\r\nGET /b HTTP/1.1\r\nHost: tv\r\n\r\n");
  ASSERT_EQ(s.parse(req), http_parse::complete);
  EXPECT_EQ(req.path, "/a");
  EXPECT_TRUE(s.keep(&req, false));
  s.next();
  EXPECT_EQ(s.answered, 1);
  ASSERT_EQ(s.parse(req), http_parse::complete);
  EXPECT_EQ(req.path, "/b");
  EXPECT_EQ(req.head_length, s.length);
}

TEST(http_session, keep_alive_only_when_both_sides_can) {
  auto kept = [](std::string_view head, bool stopping = false, uint8_t answered = 0) {
    http_session s;
    s.open(false, {});
    s.answered = answered;
    arrive(s, head);
    http_request req;
    EXPECT_EQ(s.parse(req), http_parse::complete) << head;
    bool keep = s.keep(&req, stopping);
    EXPECT_EQ(keep, s.buffer != nullptr) << "the buffer stays exactly when the connection does";
    return keep;
  };
  EXPECT_TRUE(kept("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_FALSE(kept("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(kept("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n"));
  EXPECT_FALSE(kept("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(kept("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
  // A body we did not read would be taken for the next request.
  EXPECT_FALSE(kept("PUT /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"));
  EXPECT_FALSE(kept("PUT /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"));
  EXPECT_TRUE(kept("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(kept("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true)) << "shutting down";
  EXPECT_TRUE(kept("GET / HTTP/1.1\r\nHost: a\r\n\r\n", false, http_session::max_requests - 2));
  EXPECT_FALSE(kept("GET / HTTP/1.1\r\nHost: a\r\n\r\n", false, http_session::max_requests - 1));
  http_session s;
  s.open(false, {});
  EXPECT_FALSE(s.keep(nullptr, false)) << "an answer to no whole request closes";
}

TEST(http_session, one_log_line_per_request_with_the_body_bytes) {
  http_session s;
  s.open(true, "192.0.2.7");
  http_request req;
  arrive(s,
         "GET /a?x=1 HTTP/1.1\r\nHost: tv\r\nUser-Agent: VLC/3.0.18\r\nReferer: "
         "http://x/\r\n\r\nGET /b HTTP/1.1\r\nHost: tv\r\n\r\n");
  ASSERT_EQ(s.parse(req), http_parse::complete);
  s.record(req);
  ASSERT_TRUE(s.keep(&req, false));
  s.log->status = 404;
  std::string line = s.finish(150, 100);
  EXPECT_EQ(line.rfind("192.0.2.7 - - [", 0), 0u) << line;
  EXPECT_NE(line.find("\"GET /a?x=1 HTTP/1.1\" 404 50 \"http://x/\" \"VLC/3.0.18\""),
            std::string::npos)
      << line;
  s.next();
  EXPECT_EQ(s.log->peer, "192.0.2.7");
  EXPECT_EQ(s.log->status, 0);
  EXPECT_TRUE(s.finish(0, 0).empty()) << "no line before the next request is answered";
  ASSERT_EQ(s.parse(req), http_parse::complete);
  s.record(req);
  s.log->status = 200;
  EXPECT_NE(s.finish(10, 10).find("\"GET /b HTTP/1.1\" 200 0 \"-\" \"-\""), std::string::npos);
}

TEST(http_session, without_logging_there_is_no_line) {
  http_session s;
  s.open(false, "192.0.2.7");
  EXPECT_EQ(s.log, nullptr);
  EXPECT_TRUE(s.finish(100, 10).empty());
}

}  // namespace
}  // namespace gordo
