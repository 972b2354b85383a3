// same_secret: equal only when every byte and the length match, whatever the given
// string holds past the expected one's end.
#include "gordo/core/secret.h"

#include <gtest/gtest.h>

#include <string>

namespace gordo {
namespace {

using namespace std::string_view_literals;

TEST(same_secret, equal_strings_match) {
  EXPECT_TRUE(same_secret("open sesame", "open sesame"));
  EXPECT_TRUE(same_secret("", ""));
  EXPECT_TRUE(same_secret("a\0b"sv, "a\0b"sv));  // bytes, not C strings
}

TEST(same_secret, any_differing_byte_refuses) {
  std::string want = "open sesame";
  for (size_t i = 0; i < want.size(); ++i) {
    std::string given = want;
    given[i] ^= 0x01;
    EXPECT_FALSE(same_secret(given, want)) << "byte " << i;
    given[i] = static_cast<char>(0x80 | want[i]);  // the high bit alone
    EXPECT_FALSE(same_secret(given, want)) << "byte " << i;
  }
}

TEST(same_secret, prefixes_and_extensions_refuse) {
  EXPECT_FALSE(same_secret("open", "open sesame"));
  EXPECT_FALSE(same_secret("open sesame!", "open sesame"));
  EXPECT_FALSE(same_secret("", "x"));
  EXPECT_FALSE(same_secret("x", ""));
  // A shorter guess is compared as if padded with NULs: still refused for its length.
  EXPECT_FALSE(same_secret("ab"sv, "ab\0"sv));
  EXPECT_FALSE(same_secret("ab\0"sv, "ab"sv));
}

}  // namespace
}  // namespace gordo
