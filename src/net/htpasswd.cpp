#include "gordo/net/htpasswd.h"

#include <crypt.h>
#include <fmt/format.h>

#include <sstream>
#include <stdexcept>

#include "gordo/core/secret.h"
#include "gordo/net/http_request.h"

namespace gordo {

namespace {

bool supported(std::string_view hash) {
  for (std::string_view prefix : {"$2a$", "$2b$", "$2y$", "$5$", "$6$", "$y$", "$7$", "$gy$"})
    if (hash.substr(0, prefix.size()) == prefix) return true;
  return false;
}

}  // namespace

std::shared_ptr<const htpasswd> htpasswd::parse(std::string_view text, const std::string& path) {
  std::istringstream in{std::string(text)};
  auto out = std::make_shared<htpasswd>();
  std::string line;
  for (unsigned n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string::npos)
      throw std::runtime_error(fmt::format("{}:{}: not user:hash", path, n));
    std::string hash = line.substr(colon + 1);
    if (!supported(hash))
      throw std::runtime_error(
          fmt::format("{}:{}: user '{}' has a hash libcrypt cannot check; make it with "
                      "htpasswd -B (bcrypt) or mkpasswd -m sha-512",
                      path, n, line.substr(0, colon)));
    out->users_.emplace_back(line.substr(0, colon), std::move(hash));
  }
  if (out->users_.empty()) throw std::runtime_error("htpasswd file " + path + " has no users");
  return out;
}

bool htpasswd::check(std::string_view user, std::string_view password) const {
  for (const auto& [name, hash] : users_) {
    if (name != user) continue;
    // crypt_rn: libxcrypt's crypt_r that returns NULL on failure (and is not one the
    // sanitizers intercept, which clang 14's ASan gets wrong for libxcrypt's crypt_r).
    crypt_data data{};
    std::string phrase(password);
    const char* result = crypt_rn(phrase.c_str(), hash.c_str(), &data, sizeof data);
    return result && same_secret(result, hash);
  }
  return false;
}

std::pair<std::string, std::string> htpasswd::credentials(std::string_view authorization) {
  std::string pair = basic_credentials(authorization);
  size_t colon = pair.find(':');
  if (colon == std::string::npos) return {};
  return {pair.substr(0, colon), pair.substr(colon + 1)};
}

}  // namespace gordo
