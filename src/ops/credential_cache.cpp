#include "gordo/ops/credential_cache.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <string>

#include "gordo/core/secret.h"

namespace gordo {

credential_cache::credential_cache(clock::duration ttl) : ttl_(ttl) {
  if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1)
    throw std::runtime_error("no random bytes for the admin credential cache's key");
}

credential_cache::digest credential_cache::mac(std::string_view user,
                                               std::string_view password) const {
  // A user name has no ':' (Basic auth splits at the first one), so "user:password" is
  // unambiguous.
  std::string text;
  text.reserve(user.size() + 1 + password.size());
  text.append(user).append(1, ':').append(password);
  digest out{};
  unsigned len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data(), &len);
  OPENSSL_cleanse(text.data(), text.size());
  return out;
}

bool credential_cache::contains(std::string_view user, std::string_view password,
                                clock::time_point now) {
  auto it = entries_.find(std::string(user));
  if (it == entries_.end()) return false;
  if (now >= it->second.expires) {
    entries_.erase(it);
    return false;
  }
  digest given = mac(user, password);
  auto view = [](const digest& d) {
    return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
  };
  return same_secret(view(given), view(it->second.mac));
}

void credential_cache::insert(std::string_view user, std::string_view password,
                              clock::time_point now) {
  entries_[std::string(user)] = {mac(user, password), now + ttl_};
}

}  // namespace gordo
