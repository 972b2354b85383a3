// The answer table: every answer in both forms, with the status it says it has.
#include "gordo/http/answers.h"

#include <gtest/gtest.h>

#include <string>

#include "gordo/net/http_response.h"

namespace gordo {
namespace {

TEST(answer_table, every_answer_knows_its_status_and_head) {
  answer_table t(10, 100, "http://other:8080/");
  for (size_t i = 0; i < static_cast<size_t>(answer::count); ++i) {
    for (bool keep : {false, true}) {
      const canned_response& r = t.get(static_cast<answer>(i), keep);
      ASSERT_FALSE(r.text.empty()) << i;
      EXPECT_EQ(r.text.substr(0, 13), "HTTP/1.1 " + std::to_string(r.status) + " ") << i;
      EXPECT_NE(http_reason(r.status), "Unknown") << r.status;
      EXPECT_EQ(r.text.substr(r.head_bytes - 4, 4), "\r\n\r\n") << i;
      // Content-Length is what follows the head, so a kept connection's next request is
      // read from the right byte.
      size_t at = r.text.find("Content-Length: ");
      if (r.status == 204) {  // no body: neither a length nor a type
        EXPECT_EQ(at, std::string::npos) << i;
        EXPECT_EQ(r.text.find("Content-Type"), std::string::npos) << i;
        EXPECT_EQ(r.text.size(), r.head_bytes) << i;
        continue;
      }
      ASSERT_NE(at, std::string::npos);
      EXPECT_EQ(std::stoul(r.text.substr(at + 16)), r.text.size() - r.head_bytes) << i;
      if (keep) {
        EXPECT_NE(r.text.find("Connection: keep-alive\r\n"), std::string::npos);
        EXPECT_NE(r.text.find("Keep-Alive: timeout=10, max=100\r\n"), std::string::npos);
        EXPECT_EQ(r.text.find("Connection: close"), std::string::npos);
      } else {
        EXPECT_NE(r.text.find("Connection: close\r\n"), std::string::npos);
        EXPECT_EQ(r.text.find("Keep-Alive"), std::string::npos);
      }
    }
  }
  EXPECT_EQ(t.get(answer::not_found, false).status, 404);
  EXPECT_EQ(t.get(answer::full, false).status, 503);
  EXPECT_NE(t.get(answer::redirect, false).text.find("Location: http://other:8080/\r\n"),
            std::string::npos);
  EXPECT_EQ(t.get(answer::metadata_updated, true).status, 200);
  EXPECT_NE(t.get(answer::metadata_updated, true).text.find("<iceresponse>"), std::string::npos);
}

TEST(answer_table, parse_refusals_map_to_their_answers) {
  EXPECT_EQ(answer_for(http_parse::bad_request), answer::bad_request);
  EXPECT_EQ(answer_for(http_parse::too_many_fields), answer::too_large);
  EXPECT_EQ(answer_for(http_parse::bad_version), answer::bad_version);
  EXPECT_EQ(answer_for(http_parse::uri_too_long), answer::uri_too_long);
  EXPECT_EQ(answer_for(http_parse::bad_host), answer::bad_host);
  EXPECT_EQ(answer_for(http_parse::bad_length), answer::bad_length);
}

}  // namespace
}  // namespace gordo
