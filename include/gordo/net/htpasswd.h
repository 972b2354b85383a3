// Users and password hashes from an htpasswd file ("user:hash" per line), checked with
// libcrypt: bcrypt ($2b$, $2y$: htpasswd -B), SHA-crypt ($5$, $6$), yescrypt ($y$).
// Checking costs what the hash was made to cost (bcrypt: tens of milliseconds), so it is
// done off the workers' event loops.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gordo {

class htpasswd {
 public:
  // The users of an htpasswd file's `text`, read from `path` (named in errors). Throws
  // std::runtime_error naming the file and line of a malformed entry or a hash scheme
  // libcrypt cannot check (Apache's $apr1$ MD5, {SHA}, plain text).
  static std::shared_ptr<const htpasswd> parse(std::string_view text, const std::string& path);

  // True when `user` is in the file and `password` matches its hash.
  bool check(std::string_view user, std::string_view password) const;
  // "user:password" of an "Authorization: Basic ..." header, or empty strings.
  static std::pair<std::string, std::string> credentials(std::string_view authorization);

  size_t size() const { return users_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> users_;  // user, hash
};

}  // namespace gordo
