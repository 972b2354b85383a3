#include "gordo/net/http_response.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace gordo {
namespace {

TEST(http_response, status_line_with_reason) {
  std::string r = http_error(414, "request line too long");
  EXPECT_EQ(r.substr(0, r.find("\r\n")), "HTTP/1.1 414 URI Too Long");
  EXPECT_NE(r.find("\r\n\r\nrequest line too long\n"), std::string::npos);
}

// Every status the sources answer with, found where they build answers: http_error(N,
// http_response(N, refuse(N, make_canned(N, the answer table's {answer::NAME, N, and
// status lines written out ("HTTP/1.1 100 Continue").
// A new status in the code without its reason phrase fails here, not in a player.
TEST(http_response, every_status_gordo_sends_has_its_reason) {
  const std::regex built(
      R"((?:(?:http_error|http_response|refuse|make_canned)\(|\{answer::\w+,)\s*([1-5][0-9][0-9])\b)");
  const std::regex literal(R"re("HTTP/1\.[01] ([1-5][0-9][0-9]) ([^"\\]*)\\r\\n)re");
  std::set<int> used;
  std::map<int, std::string> written;  // a status line spelled out, and its reason
  for (const char* dir : {"/src", "/include"}) {
    for (const auto& e :
         std::filesystem::recursive_directory_iterator(GORDO_SOURCE_DIR + std::string(dir))) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path());
      std::stringstream text;
      text << in.rdbuf();
      std::string s = text.str();
      for (std::sregex_iterator m(s.begin(), s.end(), built), end; m != end; ++m)
        used.insert(std::stoi((*m)[1]));
      for (std::sregex_iterator m(s.begin(), s.end(), literal), end; m != end; ++m)
        written[std::stoi((*m)[1])] = (*m)[2];
    }
  }
  // The scan found the sources (a wrong path would find nothing and prove nothing).
  for (int known : {200, 302, 400, 404, 405, 414, 431, 503})
    EXPECT_TRUE(used.count(known)) << known;
  for (int status : used)
    EXPECT_NE(http_reason(status), "Unknown") << status << " has no reason phrase";
  for (const auto& [status, reason] : written) EXPECT_EQ(http_reason(status), reason) << status;
  EXPECT_TRUE(written.count(100)) << "push.cpp's 100 Continue";
}

}  // namespace
}  // namespace gordo
