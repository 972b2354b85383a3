#include "gordo/net/signed_url.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <optional>

#include "gordo/net/http_request.h"

namespace gordo {

std::string url_token(std::string_view secret, std::string_view path, int64_t expires,
                      std::string_view ip) {
  std::string message = std::string(path) + std::to_string(expires) + std::string(ip);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += digits[mac[i] >> 4];
    hex += digits[mac[i] & 15];
  }
  return hex;
}

token_check check_url_token(std::string_view secret, std::string_view path, std::string_view query,
                            std::string_view ip, int64_t now_s) {
  std::optional<std::string> expires_text = query_param(query, "expires");
  std::optional<std::string> token = query_param(query, "token");
  if (!expires_text || !token) return token_check::missing;
  int64_t expires = 0;
  const char* end = expires_text->data() + expires_text->size();
  auto [at, ec] = std::from_chars(expires_text->data(), end, expires);
  if (expires_text->empty() || ec != std::errc() || at != end) return token_check::invalid;
  std::string want = url_token(secret, path, expires, ip);
  // Checked before the expiry, so that an expired link says so only when it was genuine.
  if (token->size() != want.size() || CRYPTO_memcmp(token->data(), want.data(), want.size()) != 0)
    return token_check::invalid;
  return expires < now_s ? token_check::expired : token_check::ok;
}

}  // namespace gordo
