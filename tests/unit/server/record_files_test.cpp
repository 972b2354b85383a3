// Recording's pure parts: file names from the template, which files are a mount's, which
// to delete.
#include "gordo/server/record_files.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace gordo {
namespace {

// 2026-12-02 09:08:07 in the time zone the test sets (UTC).
std::time_t at() {
  setenv("TZ", "UTC", 1);
  tzset();
  return 1'796'202'487;
}

TEST(record_file_name, expands_the_template_in_local_time) {
  std::time_t t = at();
  EXPECT_EQ(record_file_name("rec/%Y-%m-%d/%H%M%S.ts", t), "rec/2026-12-02/090807.ts");
  EXPECT_EQ(record_file_name("%s.mkv", t), "1796202487.mkv");
  EXPECT_EQ(record_file_name("100%%/%H.ts", t), "100%/09.ts");
}

TEST(record_file_name, a_taken_name_gets_a_number_before_its_extension) {
  std::time_t t = at();
  EXPECT_EQ(record_file_name("rec/%H%M%S.ts", t, 2), "rec/090807-2.ts");
  EXPECT_EQ(record_file_name("rec.d/%H", t, 1), "rec.d/09-1");
  EXPECT_EQ(record_file_name("rec/.%H", t, 1), "rec/.09-1");
}

TEST(record_base_dir, is_the_directory_before_the_first_conversion) {
  EXPECT_EQ(record_base_dir("rec/%Y-%m-%d/%H%M%S.ts"), "rec");
  EXPECT_EQ(record_base_dir("/var/lib/gordo/rec/live-%H.ts"), "/var/lib/gordo/rec");
  EXPECT_EQ(record_base_dir("%H.ts"), ".");
  EXPECT_EQ(record_base_dir("/%H.ts"), "/");
  EXPECT_EQ(record_base_dir("a/b/c.ts"), "a/b");
}

TEST(record_matcher, matches_the_names_its_template_makes_and_no_others) {
  std::time_t t = at();
  const std::string templ = "rec/%Y-%m-%d/%H%M%S.ts";
  record_matcher m(templ);
  EXPECT_TRUE(m.matches(record_file_name(templ, t)));
  EXPECT_TRUE(m.matches(record_file_name(templ, t + 86'400 * 400)));
  EXPECT_TRUE(m.matches(record_file_name(templ, t, 3)));
  EXPECT_FALSE(m.matches("rec/2026-12-02/090807.mkv"));
  EXPECT_FALSE(m.matches("rec/2026-12-02/notes.ts"));
  EXPECT_FALSE(m.matches("rec/2026-12-02/x/090807.ts"));
  EXPECT_FALSE(m.matches("other/2026-12-02/090807.ts"));
  record_matcher names(R"(r/%A-(1)+.ts)");  // names of days; regex characters are literal
  EXPECT_TRUE(names.matches("r/Wednesday-(1)+.ts"));
  EXPECT_FALSE(names.matches("r/Wednesday-11.ts"));
}

TEST(record_expired, deletes_by_age_then_oldest_first_for_free_space) {
  const int64_t s = 1'000'000'000;
  std::vector<record_file> files = {
      {"c", 30 * s, 100}, {"a", 10 * s, 100}, {"b", 20 * s, 100}, {"d", 40 * s, 100}};
  auto names = [](const std::vector<record_file>& v) {
    std::string out;
    for (const auto& f : v) out += f.path;
    return out;
  };
  EXPECT_EQ(names(record_expired(files, 45 * s, 0, 1000, 0)), "");         // keep all
  EXPECT_EQ(names(record_expired(files, 45 * s, 20 * s, 1000, 0)), "ab");  // by age
  EXPECT_EQ(names(record_expired(files, 45 * s, 0, 50, 200)), "ab");       // for 150 bytes
  EXPECT_EQ(names(record_expired(files, 45 * s, 30 * s, 50, 200)), "ab");  // both
  EXPECT_EQ(names(record_expired(files, 45 * s, 0, 0, 10'000)), "abcd");   // all, not enough
  EXPECT_EQ(names(record_expired(files, 45 * s, 0, UINT64_MAX, UINT64_MAX)), "");  // unknown free
}

}  // namespace
}  // namespace gordo
