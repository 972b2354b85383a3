// Signed, expiring URLs for paid or private mounts:
//   /paid.ts?expires=UNIX&token=HEX(HMAC-SHA256(secret, path + expires [+ client IP]))
// The site that sells access signs; gordo checks, comparing in constant time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gordo {

enum class token_check { ok, missing, expired, invalid };

// The token (64 lowercase hex digits) for `path` until `expires`; `ip` empty when the
// link is not bound to one client address.
std::string url_token(std::string_view secret, std::string_view path, int64_t expires,
                      std::string_view ip);

token_check check_url_token(std::string_view secret, std::string_view path, std::string_view query,
                            std::string_view ip, int64_t now_s);

}  // namespace gordo
