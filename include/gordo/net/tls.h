// TLS certificates as a server offers them: one OpenSSL context per certificate chain and
// key, chosen per handshake by the name the client asks for (SNI). Shared by every worker
// and replaced whole on reload; a connection keeps the one it began with.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;

namespace gordo {

struct tls_pair {
  std::string cert;  // PEM: the certificate, then its chain
  std::string key;   // PEM: its private key
  bool operator==(const tls_pair&) const = default;
};

class tls_config {
 public:
  // Loads and checks every pair (files readable, PEM valid, key matches certificate);
  // nullptr with `error` saying which file and why. `ktls`: ask OpenSSL for kernel TLS.
  static std::shared_ptr<const tls_config> load(const std::vector<tls_pair>& pairs, bool ktls,
                                                std::string& error);
  ~tls_config();
  tls_config(const tls_config&) = delete;
  tls_config& operator=(const tls_config&) = delete;

  // A server-side SSL on the first pair's context; the handshake's SNI may move it to
  // another. nullptr when out of memory. The config must outlive its handshake.
  SSL* new_ssl() const;
  // The context whose certificate names `host` (exact, or a "*.example.com" wildcard
  // matching one label); the first one otherwise.
  SSL_CTX* context_for(std::string_view host) const;
  // Each certificate's DNS names (subjectAltName, else the common name), for logs.
  std::vector<std::string> names(size_t i) const { return entries_[i].names; }
  size_t size() const { return entries_.size(); }
  bool ktls() const { return ktls_; }

  static bool name_matches(std::string_view pattern, std::string_view host);

 private:
  struct entry {
    SSL_CTX* ctx = nullptr;
    std::vector<std::string> names;  // lower case
  };
  tls_config() = default;
  std::vector<entry> entries_;
  bool ktls_ = false;
};

// The certificates in use now: read at each accept, replaced by a reload (any thread).
class tls_holder {
 public:
  std::shared_ptr<const tls_config> get() const { return now_.load(std::memory_order_acquire); }
  void set(std::shared_ptr<const tls_config> c) {
    now_.store(std::move(c), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const tls_config>> now_;
};

// Whether this kernel can do TLS itself (kTLS); `why` says how that was found.
bool ktls_available(std::string& why);

}  // namespace gordo
