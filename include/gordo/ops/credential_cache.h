// Credentials the admin endpoint verified recently, so that an operator's repeated scrapes
// cost one slow hash check a minute instead of one each, and are answered at once.
#pragma once

#include <array>
#include <chrono>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gordo {

// Holds no password: an HMAC-SHA256 of "user:password" under a key drawn at random for
// this process, compared in constant time. Only credentials that passed the real check
// go in, one entry per user, so it never holds more entries than the htpasswd file has
// users. One thread uses it (the admin endpoint's).
class credential_cache {
 public:
  using clock = std::chrono::steady_clock;

  explicit credential_cache(clock::duration ttl = std::chrono::seconds(60));

  // True when `user` was verified with this `password` less than ttl before `now`.
  bool contains(std::string_view user, std::string_view password, clock::time_point now);
  // After a successful check: `user` with `password` is good until now + ttl (replacing
  // whatever password that user had cached).
  void insert(std::string_view user, std::string_view password, clock::time_point now);
  // The users file changed: what it said before no longer counts.
  void clear() { entries_.clear(); }
  size_t size() const { return entries_.size(); }

 private:
  using digest = std::array<unsigned char, 32>;
  struct entry {
    digest mac;
    clock::time_point expires;
  };

  digest mac(std::string_view user, std::string_view password) const;

  clock::duration ttl_;
  std::array<unsigned char, 32> key_;
  std::unordered_map<std::string, entry> entries_;  // by user
};

}  // namespace gordo
