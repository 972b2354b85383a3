// htpasswd files as Apache's htpasswd and OpenSSL write them (the hashes below were made
// with `htpasswd -nbB -C 5 alice 'open sesame'` and `openssl passwd -6 -salt saltsalt 's3cret
// pw'`).
#include "gordo/net/htpasswd.h"

#include <gtest/gtest.h>

namespace gordo {
namespace {

std::shared_ptr<const htpasswd> parse(const std::string& text) {
  return htpasswd::parse(text, "users");
}

TEST(htpasswd, bcrypt_and_sha_crypt) {
  auto users =
      parse(("# operators\n"
             "alice:$2y$05$dgkfRy51mn.lniLjiChxpequ/6F8Lts2E82fVDSlqfQ.J7Qhyyw6W\n"
             "\n"
             "carol:$6$saltsalt$7u7lGNWW9pmKyYBbYJ6Jh6i2ruj8e.Qfb5jWFzC5XDXwkp22RJs8FI/"
             "FZCcvlqZ74LOOE4zjgN.gJJSAWe/Um/\r\n"));
  EXPECT_EQ(users->size(), 2u);
  EXPECT_TRUE(users->check("alice", "open sesame"));
  EXPECT_FALSE(users->check("alice", "open sesame "));
  EXPECT_FALSE(users->check("alice", ""));
  EXPECT_TRUE(users->check("carol", "s3cret pw"));
  EXPECT_FALSE(users->check("carol", "open sesame"));
  EXPECT_FALSE(users->check("mallory", "open sesame"));
}

TEST(htpasswd, schemes_libcrypt_cannot_check_are_refused_by_line) {
  try {
    parse(
        ("alice:$2y$05$dgkfRy51mn.lniLjiChxpequ/6F8Lts2E82fVDSlqfQ.J7Qhyyw6W\n"
         "bob:$apr1$gKak9b4i$SoYhi5MjxMd28.jTVp05c0\n"));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("users:2: user 'bob'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse(("plain:password\n")), std::runtime_error);
  EXPECT_THROW(parse(("nocolon\n")), std::runtime_error);
  EXPECT_THROW(parse(("# nobody\n")), std::runtime_error);
}

TEST(htpasswd, credentials_of_a_basic_header) {
  EXPECT_EQ(htpasswd::credentials("Basic YWxpY2U6b3BlbiBzZXNhbWU="),
            (std::pair<std::string, std::string>{"alice", "open sesame"}));
  EXPECT_EQ(htpasswd::credentials("Basic !!"), (std::pair<std::string, std::string>{}));
}

}  // namespace
}  // namespace gordo
