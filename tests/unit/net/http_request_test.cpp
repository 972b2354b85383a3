#include "gordo/net/http_request.h"

#include <gtest/gtest.h>

#include <string>

namespace gordo {
namespace {

http_parse parse(std::string_view text, http_request& req) {
  return parse_http_request(text, req);
}

http_parse parse(std::string_view text) {
  http_request req;
  return parse(text, req);
}

TEST(http_request, parses_what_players_send) {
  // What ffmpeg/ffplay sends for http://host/live.ts.
  std::string text =
      "GET /live.ts HTTP/1.1\r\nUser-Agent: Lavf/59.27.100\r\nAccept: */*\r\n"
      "Range: bytes=0-\r\nConnection: close\r\nHost: 127.0.0.1:8080\r\n"
      "Icy-MetaData: 1\r\n\r\n";
  http_request req;
  ASSERT_EQ(parse(text, req), http_parse::complete);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/live.ts");
  EXPECT_EQ(req.query, "");
  EXPECT_EQ(req.minor_version, 1);
  EXPECT_EQ(req.header_count, 6u);
  EXPECT_EQ(req.header("user-agent"), "Lavf/59.27.100");
  EXPECT_EQ(req.header("HOST"), "127.0.0.1:8080");
  EXPECT_EQ(req.header("icy-metadata"), "1");
  EXPECT_EQ(req.header("missing"), "");
  EXPECT_EQ(req.head_length, text.size());
}

TEST(http_request, splits_path_and_query) {
  http_request req;
  ASSERT_EQ(parse("GET /live.ts?token=abc&expires=1 HTTP/1.0\r\n\r\n", req), http_parse::complete);
  EXPECT_EQ(req.path, "/live.ts");
  EXPECT_EQ(req.query, "token=abc&expires=1");
  EXPECT_EQ(req.minor_version, 0);
}

TEST(http_request, trims_optional_whitespace_around_values) {
  http_request req;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: \t x \t\r\nEmpty:\r\n\r\n", req), http_parse::complete);
  EXPECT_EQ(req.header("host"), "x");
  EXPECT_EQ(req.header("empty"), "");
}

TEST(http_request, accepts_bare_lf_and_one_leading_empty_line) {
  EXPECT_EQ(parse("GET / HTTP/1.1\nHost: x\n\n"), http_parse::complete);
  EXPECT_EQ(parse("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"), http_parse::complete);
}

TEST(http_request, incomplete_until_the_blank_line) {
  std::string text = "GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t n = 0; n < text.size(); ++n)
    EXPECT_EQ(parse(text.substr(0, n)), http_parse::incomplete) << n;
  EXPECT_EQ(parse(text), http_parse::complete);
}

TEST(http_request, head_length_excludes_bytes_after_the_head) {
  http_request req;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /again", req), http_parse::complete);
  EXPECT_EQ(req.head_length, 27u);
}

TEST(http_request, rejects_malformed_request_lines) {
  for (const char* bad : {
           "GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET /\r\n\r\n",
           "GET  / HTTP/1.1\r\n\r\n",       // two spaces
           "GET / HTTP/1.1 \r\n\r\n",       // trailing space
           "GET live.ts HTTP/1.1\r\n\r\n",  // not origin-form
           "GET http://h/x HTTP/1.1\r\n\r\n",
           "G(T / HTTP/1.1\r\n\r\n",  // method not a token
           "GET /a b HTTP/1.1\r\n\r\n", "GET /\x01 HTTP/1.1\r\n\r\n", "GET / HTTP/1.10\r\n\r\n",
           "GET / HTTQ/1.1\r\n\r\n", "GET / HTTP/x.1\r\n\r\n",
           "\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",  // too many leading empty lines
       })
    EXPECT_EQ(parse(bad), http_parse::bad_request) << bad;
}

TEST(http_request, rejects_malformed_header_fields) {
  for (const char* bad : {
           "GET / HTTP/1.1\r\nHost : x\r\n\r\n",  // space before colon
           "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
           "GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
           "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",  // obs-fold
           "GET / HTTP/1.1\r\nA: b\x01c\r\n\r\n",        // control character
           "GET / HTTP/1.1\r\nA\x7f: b\r\n\r\n",
       })
    EXPECT_EQ(parse(bad), http_parse::bad_request) << bad;
}

TEST(http_request, other_http_versions_are_unsupported_not_malformed) {
  EXPECT_EQ(parse("GET / HTTP/2.0\r\n\r\n"), http_parse::bad_version);
  EXPECT_EQ(parse("GET / HTTP/0.9\r\n\r\n"), http_parse::bad_version);
}

TEST(http_request, two_framings_are_refused) {
  EXPECT_EQ(parse("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\n"),
            http_parse::bad_length);
  EXPECT_EQ(parse("PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                  "x\r\n\r\n"),
            http_parse::bad_request);
  EXPECT_EQ(
      parse("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
      http_parse::complete)
      << "one of each parses; the push decides (400)";
}

// RFC 9112 §9.3, from the version and every Connection line's tokens; and whether a body
// follows the head.
TEST(http_request, persistence_and_body_are_parsed_from_the_headers) {
  struct {
    const char* head;
    bool keep_alive, body;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true, false},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false, false},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: Close\r\n\r\n", false,
       false},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: closed\r\n\r\n", true, false},  // not the token
      {"GET / HTTP/1.0\r\n\r\n", false, false},
      {"GET / HTTP/1.0\r\nConnection: TE, Keep-Alive\r\n\r\n", true, false},
      {"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", true, false},
      {"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n", true, true},
      {"PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", true, true},
  };
  for (const auto& c : cases) {
    http_request req;
    ASSERT_EQ(parse(c.head, req), http_parse::complete) << c.head;
    EXPECT_EQ(req.keep_alive, c.keep_alive) << c.head;
    EXPECT_EQ(req.has_body(), c.body) << c.head;
  }
}

// RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host, and to
// any request with two Host lines or a Host that is not host[:port].
TEST(http_request, http_1_1_needs_exactly_one_valid_host) {
  EXPECT_EQ(parse("GET / HTTP/1.1\r\n\r\n"), http_parse::bad_host);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nX-Host: x\r\nHosts: y\r\n\r\n"), http_parse::bad_host)
      << "a name containing 'host' is not Host";
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nhOST: a\r\n\r\n"), http_parse::bad_host)
      << "two, even equal";
  EXPECT_EQ(parse("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), http_parse::bad_host)
      << "two, in 1.0 too";
  EXPECT_EQ(parse("GET / HTTP/1.0\r\n\r\n"), http_parse::complete) << "HTTP/1.0 may omit it";
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nhost: x\r\n\r\n"), http_parse::complete)
      << "names are case-insensitive";
  for (const char* good : {"example.com", "127.0.0.1:8080", "[::1]:8000", "[v1.fe]",
                           "xn--bcher-kva.example", "caf%C3%A9", "host:", ""})
    EXPECT_EQ(parse(std::string("GET / HTTP/1.1\r\nHost: ") + good + "\r\n\r\n"),
              http_parse::complete)
        << good;
  for (const char* bad : {"a b", "a, b", "x:y", "x:80:90", "[::1", "[]", "[::1]x", "a/b", "a@b",
                          "%zz", "%4", "a\tb", "\"x\""})
    EXPECT_EQ(parse(std::string("GET / HTTP/1.1\r\nHost: ") + bad + "\r\n\r\n"),
              http_parse::bad_host)
        << bad;
  EXPECT_EQ(parse("GET / HTTP/1.1\r\n"), http_parse::incomplete)
      << "no verdict before the head ends";
}

TEST(http_request, content_length_is_one_decimal_number_below_2_pow_63) {
  http_request req;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n", req), http_parse::complete);
  EXPECT_FALSE(req.content_length);
  for (auto [text, value] : {std::pair<const char*, uint64_t>{"0", 0},
                             {"42", 42},
                             {"007", 7},
                             {"9223372036854775807", 9223372036854775807u}}) {
    ASSERT_EQ(
        parse(std::string("PUT / HTTP/1.1\r\nHost: x\r\nCONTENT-LENGTH: ") + text + "\r\n\r\n",
              req),
        http_parse::complete)
        << text;
    EXPECT_EQ(req.content_length, value) << text;
  }
  for (const char* bad :
       {"-1", "+1", "", "1 2", "1,1", "1, 1", "0x10", "1e3", "١", "9223372036854775808",
        "18446744073709551616", "99999999999999999999999999"})
    EXPECT_EQ(
        parse(std::string("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: ") + bad + "\r\n\r\n"),
        http_parse::bad_length)
        << bad;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n", req), http_parse::complete);
  EXPECT_FALSE(req.content_length) << "reset by each parse";
}

TEST(http_request, every_refusal_says_what_was_wrong) {
  for (http_parse r :
       {http_parse::bad_request, http_parse::too_many_fields, http_parse::bad_version,
        http_parse::uri_too_long, http_parse::bad_host, http_parse::bad_length})
    EXPECT_FALSE(http_parse_error(r).empty()) << static_cast<int>(r);
  EXPECT_NE(http_parse_error(http_parse::bad_host).find("Host"), std::string_view::npos);
  EXPECT_NE(http_parse_error(http_parse::bad_length).find("Content-Length"),
            std::string_view::npos);
}

TEST(http_request, request_line_too_long_is_414_even_before_it_ends) {
  std::string target(http_request::max_request_line, 'a');
  EXPECT_EQ(parse("GET /" + target + " HTTP/1.1\r\n\r\n"), http_parse::uri_too_long);
  EXPECT_EQ(parse("GET /" + target), http_parse::uri_too_long);
  EXPECT_EQ(parse("GET /" + target.substr(0, 100)), http_parse::incomplete);
}

TEST(http_request, too_many_header_fields) {
  std::string text = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (size_t i = 1; i < http_request::max_headers; ++i)
    text += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(parse(text + "\r\n"), http_parse::complete);
  EXPECT_EQ(parse(text + "One-More: v\r\n\r\n"), http_parse::too_many_fields);
}

}  // namespace
}  // namespace gordo

namespace gordo {
namespace {

TEST(basic_password, decodes_the_password_of_any_user) {
  EXPECT_EQ(basic_password("Basic c291cmNlOmhhY2ttZQ=="), "hackme");  // source:hackme
  EXPECT_EQ(basic_password("basic   c291cmNlOmE6Yg=="), "a:b");       // source:a:b
  EXPECT_EQ(basic_password("Basic OnB3"), "pw");                      // :pw
  EXPECT_EQ(basic_password(""), "");
  EXPECT_EQ(basic_password("Bearer c291cmNlOmhhY2ttZQ=="), "");
  EXPECT_EQ(basic_password("Basic bm9jb2xvbg=="), "") << "no colon";
  EXPECT_EQ(basic_password("Basic c29!cmNl"), "") << "not base64";
}

}  // namespace
}  // namespace gordo

namespace gordo {
namespace {

TEST(has_token, finds_whole_tokens_of_a_list_case_insensitively) {
  EXPECT_TRUE(has_token("close", "close"));
  EXPECT_TRUE(has_token("Close", "close"));
  EXPECT_TRUE(has_token("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(has_token(" ,\tKeep-Alive\t, ", "keep-alive"));
  EXPECT_FALSE(has_token("", "close"));
  EXPECT_FALSE(has_token("closed", "close")) << "not a substring search";
  EXPECT_FALSE(has_token("x-close, dont-keep-alive", "close"));
  EXPECT_FALSE(has_token("dont-keep-alive", "keep-alive"));
}

}  // namespace
}  // namespace gordo

namespace gordo {
namespace {

TEST(query_param, decodes_percent_and_plus) {
  std::string_view q = "mode=updinfo&mount=/radio.mp3&song=Caf%C3%A9+del+Mar%21&empty=&flag";
  EXPECT_EQ(query_param(q, "mode"), "updinfo");
  EXPECT_EQ(query_param(q, "mount"), "/radio.mp3");
  EXPECT_EQ(query_param(q, "song"), "Caf\xC3\xA9 del Mar!");
  EXPECT_EQ(query_param(q, "empty"), "");
  EXPECT_EQ(query_param(q, "flag"), "");
  EXPECT_EQ(query_param(q, "nope"), std::nullopt);
  EXPECT_EQ(query_param("a=%4", "a"), std::nullopt);
  EXPECT_EQ(query_param("a=%zz", "a"), std::nullopt);
  EXPECT_EQ(query_param("a=%41", "a"), "A");
}

}  // namespace
}  // namespace gordo
