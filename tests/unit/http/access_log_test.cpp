#include "gordo/http/access_log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace gordo {
namespace {

TEST(access_log, combined_format_with_seconds_and_escapes) {
  setenv("TZ", "UTC", 1);
  access_record r;
  r.peer = "192.0.2.7";
  r.at = std::chrono::system_clock::from_time_t(1795629046);  // 2026-11-25 17:50:46 UTC
  r.request_line = "GET /live.ts HTTP/1.1";
  r.status = 200;
  r.body_bytes = 12345;
  r.user_agent = "odd \"agent\"\\\n";
  r.seconds = 42;
  EXPECT_EQ(format_access_line(r),
            "192.0.2.7 - - [25/Nov/2026:17:50:46 +0000] \"GET /live.ts HTTP/1.1\" 200 12345 \"-\" "
            "\"odd \\\"agent\\\"\\\\\\x0a\" 42\n");
}

TEST(access_log, lines_reach_the_file_in_order) {
  std::string path = ::testing::TempDir() + "gordo_access_log_test.log";
  std::remove(path.c_str());
  {
    access_log log(path);
    for (int i = 0; i < 1000; ++i) log.write("line " + std::to_string(i) + "\n");
  }  // the destructor writes what is pending
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) EXPECT_EQ(line, "line " + std::to_string(n++));
  EXPECT_EQ(n, 1000);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace gordo
