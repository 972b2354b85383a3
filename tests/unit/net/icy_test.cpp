#include "gordo/net/icy.h"

#include <gtest/gtest.h>

namespace gordo {
namespace {

TEST(icy_block, length_byte_then_padded_title) {
  std::string b = icy_block("Artist - Song");
  std::string text = "StreamTitle='Artist - Song';";
  ASSERT_EQ(b.size(), 1u + 32u);
  EXPECT_EQ(b[0], 2) << "two 16-byte units";
  EXPECT_EQ(b.substr(1, text.size()), text);
  EXPECT_EQ(b.substr(1 + text.size()), std::string(32 - text.size(), '\0'));
}

TEST(icy_block, control_characters_dropped_and_long_titles_cut) {
  EXPECT_EQ(icy_block("a\r\nb\0c"), icy_block("ab"));
  std::string b = icy_block(std::string(10000, 'x'));
  EXPECT_EQ(static_cast<unsigned char>(b[0]), 255u);
  EXPECT_EQ(b.size(), 1u + 255u * 16u);
  EXPECT_EQ(b.substr(b.size() - 2), "';");
}

}  // namespace
}  // namespace gordo
