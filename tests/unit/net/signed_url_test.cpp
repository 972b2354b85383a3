#include "gordo/net/signed_url.h"

#include <gtest/gtest.h>

namespace gordo {
namespace {

constexpr std::string_view secret = "a secret of some length";

TEST(signed_url, the_token_is_hmac_sha256_of_path_expires_and_ip) {
  // printf '%s' '/paid.ts1767225600' | openssl dgst -sha256 -hmac 'a secret of some length'
  EXPECT_EQ(url_token(secret, "/paid.ts", 1767225600, ""),
            "5d62409c816e220d8adb05fd0452ca08481a577badcd51bb1cc6165898e93d62");
}

TEST(signed_url, checks) {
  std::string t = url_token(secret, "/paid.ts", 2000, "");
  EXPECT_EQ(check_url_token(secret, "/paid.ts", "expires=2000&token=" + t, "", 1999),
            token_check::ok);
  EXPECT_EQ(check_url_token(secret, "/paid.ts", "token=" + t + "&expires=2000", "", 2000),
            token_check::ok);
  EXPECT_EQ(check_url_token(secret, "/paid.ts", "expires=2000&token=" + t, "", 2001),
            token_check::expired);
  EXPECT_EQ(check_url_token(secret, "/other.ts", "expires=2000&token=" + t, "", 1),
            token_check::invalid);
  EXPECT_EQ(check_url_token(secret, "/paid.ts", "expires=2001&token=" + t, "", 1),
            token_check::invalid);
  EXPECT_EQ(
      check_url_token("another secret, as long", "/paid.ts", "expires=2000&token=" + t, "", 1),
      token_check::invalid);
  EXPECT_EQ(check_url_token(secret, "/paid.ts", "expires=2000", "", 1), token_check::missing);
  EXPECT_EQ(check_url_token(secret, "/paid.ts", "", "", 1), token_check::missing);
  EXPECT_EQ(check_url_token(secret, "/paid.ts", "expires=x&token=" + t, "", 1),
            token_check::invalid);
  std::string bound = url_token(secret, "/paid.ts", 2000, "192.0.2.7");
  EXPECT_EQ(check_url_token(secret, "/paid.ts", "expires=2000&token=" + bound, "192.0.2.7", 1),
            token_check::ok);
  EXPECT_EQ(check_url_token(secret, "/paid.ts", "expires=2000&token=" + bound, "192.0.2.8", 1),
            token_check::invalid);
}

}  // namespace
}  // namespace gordo
