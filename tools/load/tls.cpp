#include "load/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace gordo::load {

namespace {

// OpenSSL's error queue, oldest first, emptied; `what` when it holds nothing.
std::string queued_errors(const char* what) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? what : out;
}

bool is_ip(const std::string& host) {
  unsigned char addr[16];
  return inet_pton(AF_INET, host.c_str(), addr) == 1 ||
         inet_pton(AF_INET6, host.c_str(), addr) == 1;
}

// What SSL_get_error says about `ret` as a step; `error` set for error and closed.
tls_step step_of(SSL* ssl, int ret, std::string& error) {
  int e = SSL_get_error(ssl, ret);
  switch (e) {
    case SSL_ERROR_WANT_READ:
      return tls_step::want_read;
    case SSL_ERROR_WANT_WRITE:
      return tls_step::want_write;
    case SSL_ERROR_ZERO_RETURN:
      error = "closed by the server (TLS close_notify)";
      return tls_step::closed;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        // EOF without close_notify, or a socket error.
        error = errno ? fmt::format("TLS: {}", std::strerror(errno)) : "closed by the server";
        ERR_clear_error();
        return errno ? tls_step::error : tls_step::closed;
      }
      [[fallthrough]];
    default: {
      long verify = SSL_get_verify_result(ssl);
      error = "TLS: " + queued_errors("unknown error");
      if (verify != X509_V_OK)
        error += fmt::format(" (certificate: {})", X509_verify_cert_error_string(verify));
      // An EOF during the handshake is reported as an SSL error in OpenSSL 3.
      if (error.find("unexpected eof") != std::string::npos) return tls_step::closed;
      return tls_step::error;
    }
  }
}

}  // namespace

std::unique_ptr<tls_client> tls_client::make(const std::string& host, const tls_options& o,
                                             std::string& error) {
  std::unique_ptr<tls_client> c(new tls_client());
  c->ctx_ = SSL_CTX_new(TLS_client_method());
  if (!c->ctx_) {
    error = queued_errors("cannot make a TLS context");
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(c->ctx_, TLS1_2_VERSION);
  // Every viewer is a new visitor: a full handshake each, no session kept for resumption.
  SSL_CTX_set_session_cache_mode(c->ctx_, SSL_SESS_CACHE_OFF);
  // The decrypting viewers hold no idle 16 KiB read buffers between records.
  SSL_CTX_set_mode(c->ctx_, SSL_MODE_RELEASE_BUFFERS);
  static const unsigned char alpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(c->ctx_, alpn, sizeof alpn - 1);
  c->servername_ = !o.servername.empty() ? o.servername : is_ip(host) ? "" : host;
  c->host_ = !o.servername.empty() ? o.servername : host;
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(c->ctx_, o.ca_file.c_str(), nullptr) != 1) {
      error = fmt::format("cannot load the CA file {}: {}", o.ca_file, queued_errors("?"));
      return nullptr;
    }
    SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_PEER, nullptr);
    c->verify_ = true;
  } else {
    SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_NONE, nullptr);
  }
  return c;
}

tls_client::~tls_client() {
  SSL_CTX_free(ctx_);
}

SSL* tls_client::open(int fd, std::string& error) const {
  SSL* ssl = SSL_new(ctx_);
  if (!ssl || SSL_set_fd(ssl, fd) != 1) {
    error = queued_errors("cannot make a TLS connection");
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_connect_state(ssl);
  if (!servername_.empty()) SSL_set_tlsext_host_name(ssl, servername_.c_str());
  if (verify_) {
    if (is_ip(host_))
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host_.c_str());
    else
      SSL_set1_host(ssl, host_.c_str());
  }
  return ssl;
}

tls_step tls_client::handshake(SSL* ssl, std::string& error) {
  ERR_clear_error();
  errno = 0;
  int r = SSL_do_handshake(ssl);
  if (r == 1) return tls_step::done;
  tls_step s = step_of(ssl, r, error);
  if (s == tls_step::closed) error = "closed by the server during the TLS handshake";
  return s;
}

bool tls_client::write(SSL* ssl, const std::string& data, std::string& error) {
  ERR_clear_error();
  errno = 0;
  size_t sent = 0;
  if (SSL_write_ex(ssl, data.data(), data.size(), &sent) == 1 && sent == data.size()) return true;
  step_of(ssl, 0, error);
  if (error.empty()) error = "TLS: the request did not fit the socket";
  return false;
}

size_t tls_client::read(SSL* ssl, char* buf, size_t n, tls_step& step, std::string& error) {
  ERR_clear_error();
  errno = 0;
  size_t got = 0;
  int r = SSL_read_ex(ssl, buf, n, &got);
  if (r == 1) return got;
  step = step_of(ssl, 0, error);
  return 0;
}

std::string tls_client::describe(const SSL* ssl) {
  return fmt::format("{} {}", SSL_get_version(ssl),
                     SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
}

uint64_t tls_client::wire_bytes(const SSL* ssl) {
  return BIO_number_read(SSL_get_rbio(ssl));
}

}  // namespace gordo::load
