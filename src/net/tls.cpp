#include "gordo/net/tls.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gordo {

namespace {

std::string openssl_error() {
  unsigned long e = ERR_peek_last_error();
  char buf[256] = "unknown error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

// A file OpenSSL will read, opened first here so its error names the file in words.
bool readable(const std::string& path, std::string& error) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  std::fclose(f);
  return true;
}

std::vector<std::string> dns_names(X509* cert) {
  std::vector<std::string> out;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
      if (n->type != GEN_DNS) continue;
      const ASN1_IA5STRING* s = n->d.dNSName;
      out.push_back(
          lower({reinterpret_cast<const char*>(s->data), static_cast<size_t>(s->length)}));
    }
    GENERAL_NAMES_free(sans);
  }
  if (!out.empty()) return out;
  X509_NAME* subject = X509_get_subject_name(cert);
  int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at >= 0) {
    ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    out.push_back(lower({reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                         static_cast<size_t>(ASN1_STRING_length(cn))}));
  }
  return out;
}

// Only HTTP/1.1 is spoken: a client offering ALPN without it gets no ALPN at all.
// Asked for a key's passphrase: none (0 bytes fails the read), noted for the message.
int no_passphrase(char*, int, int, void* asked) {
  if (asked) *static_cast<bool*>(asked) = true;
  return 0;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static const unsigned char ours[] = "\x08http/1.1";
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, ours, sizeof ours - 1, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

int select_context(SSL* ssl, int*, void* arg) {
  const char* host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!host) return SSL_TLSEXT_ERR_OK;
  SSL_CTX* ctx = static_cast<const tls_config*>(arg)->context_for(host);
  if (ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

bool tls_config::name_matches(std::string_view pattern, std::string_view host) {
  // "*.example.com" names "a.example.com", not "example.com" nor "a.b.example.com".
  if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
    size_t dot = host.find('.');
    if (dot == 0 || dot == std::string_view::npos) return false;
    pattern.remove_prefix(1);
    host.remove_prefix(dot);
  }
  return host.size() == pattern.size() &&
         std::equal(host.begin(), host.end(), pattern.begin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

std::shared_ptr<const tls_config> tls_config::load(const std::vector<tls_pair>& pairs, bool ktls,
                                                   std::string& error) {
  std::shared_ptr<tls_config> cfg(new tls_config);
  cfg->ktls_ = ktls;
  if (pairs.empty()) {
    error = "no certificate given (--tls-cert and --tls-key)";
    return nullptr;
  }
  ERR_clear_error();
  for (const tls_pair& p : pairs) {
    if (!readable(p.cert, error) || !readable(p.key, error)) return nullptr;
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
      error = "cannot make a TLS context: " + openssl_error();
      return nullptr;
    }
    cfg->entries_.push_back({ctx, {}});
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // Renegotiation is an old attack surface and kTLS cannot follow it.
    uint64_t options =
        SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION;
    if (ktls) options |= SSL_OP_ENABLE_KTLS;
    SSL_CTX_set_options(ctx, options);
    // Idle connections (a parked viewer) hold no 34 KiB record buffers.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    // TLS 1.2: AEAD ciphers only, whose records add at most 29 bytes (the userspace
    // path sizes its buffer on that), and which kTLS can take over.
    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
    // Tickets resume sessions without a server-side cache (which would lock across
    // workers); one ticket is enough for a player.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
    SSL_CTX_set_tlsext_servername_callback(ctx, select_context);
    SSL_CTX_set_tlsext_servername_arg(ctx, cfg.get());
    if (SSL_CTX_use_certificate_chain_file(ctx, p.cert.c_str()) != 1) {
      error = p.cert + ": not a PEM certificate chain: " + openssl_error();
      return nullptr;
    }
    // An encrypted key would make OpenSSL prompt on the terminal (a daemon has none).
    bool asked = false;
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, &asked);
    int used = SSL_CTX_use_PrivateKey_file(ctx, p.key.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, nullptr);
    if (used != 1 && asked) {
      error = p.key + " is encrypted with a passphrase, which gordo cannot ask for: " +
              "decrypt it (openssl pkey -in KEY -out PLAIN.key) and keep it readable only by gordo";
      ERR_clear_error();
      return nullptr;
    }
    if (used != 1) {
      int why = ERR_GET_REASON(ERR_peek_last_error());
      if (why == X509_R_KEY_VALUES_MISMATCH || why == X509_R_KEY_TYPE_MISMATCH) {
        error = p.key + " is not the key of the certificate in " + p.cert;
        ERR_clear_error();
        return nullptr;
      }
      error = p.key + ": not a PEM private key (or its key type does not match " + p.cert +
              "): " + openssl_error();
      return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      error = p.key + " is not the key of the certificate in " + p.cert;
      ERR_clear_error();
      return nullptr;
    }
    cfg->entries_.back().names = dns_names(SSL_CTX_get0_certificate(ctx));
  }
  return cfg;
}

tls_config::~tls_config() {
  for (entry& e : entries_) SSL_CTX_free(e.ctx);
}

SSL* tls_config::new_ssl() const {
  return SSL_new(entries_.front().ctx);
}

SSL_CTX* tls_config::context_for(std::string_view host) const {
  // An exact name wins over a wildcard, whichever certificate comes first.
  for (const entry& e : entries_)
    for (const std::string& n : e.names)
      if (!n.empty() && n.front() != '*' && name_matches(n, host)) return e.ctx;
  for (const entry& e : entries_)
    for (const std::string& n : e.names)
      if (!n.empty() && n.front() == '*' && name_matches(n, host)) return e.ctx;
  return entries_.front().ctx;
}

bool ktls_available(std::string& why) {
  if (access("/proc/net/tls_stat", F_OK) == 0) {
    why = "/proc/net/tls_stat present";
    return true;
  }
  // CONFIG_TLS=m with the module not loaded yet: the ULP is there once asked for (which
  // loads it when we may); an unconnected socket then says ENOTCONN.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int err = 0;
  if (fd >= 0) {
    if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", 3) < 0) err = errno;
    ::close(fd);
  }
  if (err == ENOTCONN) {
    why = "the tls module answers";
    return true;
  }
  why =
      "no /proc/net/tls_stat: kernel built without CONFIG_TLS, or its tls module is not "
      "loaded (modprobe tls)";
  return false;
}

}  // namespace gordo
