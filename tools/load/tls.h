// TLS for gordo-load's stream viewers (--tls): one OpenSSL 3 client context, and the
// nonblocking steps of a viewer's connection on it: handshake, request, reading the head.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace gordo::load {

struct tls_options {
  std::string servername;  // SNI; empty: the URL's host unless it is an IP address
  std::string ca_file;     // verify the server's chain and name against it; empty: no check
};

// What a step of a nonblocking TLS connection needs next.
enum class tls_step : uint8_t { done, want_read, want_write, closed, error };

class tls_client {
 public:
  // nullptr with `error` set when the context cannot be made (a CA file that does not load).
  static std::unique_ptr<tls_client> make(const std::string& host, const tls_options& o,
                                          std::string& error);
  ~tls_client();
  tls_client(const tls_client&) = delete;
  tls_client& operator=(const tls_client&) = delete;

  // A client connection on `fd`, which the SSL object reads directly and never closes;
  // nullptr with `error` set.
  SSL* open(int fd, std::string& error) const;
  // One step of the handshake: done, want_read/want_write, or error with `error` set.
  static tls_step handshake(SSL* ssl, std::string& error);
  // SSL_write of all of `data` (a request: one record); false with `error` set.
  static bool write(SSL* ssl, const std::string& data, std::string& error);
  // SSL_read: the bytes read (> 0), or 0 with `step` saying why there are none now.
  static size_t read(SSL* ssl, char* buf, size_t n, tls_step& step, std::string& error);
  // The negotiated protocol and cipher, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384".
  static std::string describe(const SSL* ssl);
  // Bytes the connection has read from its socket: TLS records, headers and tags included.
  static uint64_t wire_bytes(const SSL* ssl);

 private:
  tls_client() = default;

  SSL_CTX* ctx_ = nullptr;
  std::string servername_;  // sent as SNI when not empty
  std::string host_;        // what the certificate must name when verifying
  bool verify_ = false;
};

}  // namespace gordo::load
