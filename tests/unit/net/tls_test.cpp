#include "gordo/net/tls.h"

#include <malloc.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gordo/net/tls_stream.h"

namespace gordo {
namespace {

namespace fs = std::filesystem;

// Certificates made here: self-signed P-256, with the given DNS names (empty: a CN only).
struct cert_files {
  std::string cert, key;
};

cert_files make_cert(const fs::path& dir, const std::string& stem, const std::string& cn,
                     const std::vector<std::string>& dns) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (!dns.empty()) {
    std::string san;
    for (const std::string& d : dns) san += (san.empty() ? "DNS:" : ",DNS:") + d;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  cert_files out{(dir / (stem + ".crt")).string(), (dir / (stem + ".key")).string()};
  FILE* f = std::fopen(out.cert.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(out.key.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

class tls_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gordo-tls-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    one_ = make_cert(dir_, "one", "one.test", {"one.test", "www.one.test"});
    wild_ = make_cert(dir_, "wild", "wild", {"*.example.com"});
    cn_only_ = make_cert(dir_, "cn", "cn.test", {});
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<const tls_config> load(const std::vector<tls_pair>& pairs) {
    std::string error;
    auto cfg = tls_config::load(pairs, false, error);
    EXPECT_TRUE(cfg) << error;
    return cfg;
  }
  std::string load_error(const std::vector<tls_pair>& pairs) {
    std::string error;
    EXPECT_FALSE(tls_config::load(pairs, false, error));
    return error;
  }

  fs::path dir_;
  cert_files one_, wild_, cn_only_;
};

TEST(tls_names, exact_and_one_label_wildcards) {
  EXPECT_TRUE(tls_config::name_matches("one.test", "ONE.test"));
  EXPECT_FALSE(tls_config::name_matches("one.test", "two.test"));
  EXPECT_TRUE(tls_config::name_matches("*.example.com", "a.example.com"));
  EXPECT_FALSE(tls_config::name_matches("*.example.com", "example.com"));
  EXPECT_FALSE(tls_config::name_matches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(tls_config::name_matches("*.example.com", ".example.com"));
  EXPECT_FALSE(tls_config::name_matches("*.example.com", "a.example.org"));
}

TEST_F(tls_test, sni_picks_the_certificate_naming_the_host) {
  auto cfg = load({{one_.cert, one_.key}, {wild_.cert, wild_.key}, {cn_only_.cert, cn_only_.key}});
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->names(0), (std::vector<std::string>{"one.test", "www.one.test"}));
  EXPECT_EQ(cfg->names(2), std::vector<std::string>{"cn.test"});  // no SAN: the CN
  SSL_CTX* one = cfg->context_for("one.test");
  EXPECT_EQ(cfg->context_for("WWW.one.test"), one);
  EXPECT_NE(cfg->context_for("video.example.com"), one);
  EXPECT_EQ(cfg->context_for("cn.test"), cfg->context_for("cn.test"));
  EXPECT_NE(cfg->context_for("cn.test"), one);
  EXPECT_EQ(cfg->context_for("unknown.org"), one);      // the first
  EXPECT_EQ(cfg->context_for("a.b.example.com"), one);  // a wildcard is one label
}

TEST_F(tls_test, bad_files_say_which_and_why) {
  EXPECT_NE(load_error({{(dir_ / "none.crt").string(), one_.key}}).find("none.crt"),
            std::string::npos);
  EXPECT_NE(load_error({{one_.cert, wild_.key}}).find("is not the key of the certificate"),
            std::string::npos);
  std::string junk = (dir_ / "junk.pem").string();
  FILE* f = std::fopen(junk.c_str(), "w");
  std::fputs("not a certificate\n", f);
  std::fclose(f);
  EXPECT_NE(load_error({{junk, one_.key}}).find("not a PEM certificate"), std::string::npos);
  EXPECT_NE(load_error({{one_.cert, junk}}).find("not a PEM private key"), std::string::npos);
  EXPECT_FALSE(load_error({}).empty());
}

// A key with a passphrase fails with a message, instead of OpenSSL prompting on a tty.
TEST_F(tls_test, an_encrypted_key_is_refused_without_a_prompt) {
  std::string locked = (dir_ / "locked.key").string();
  std::string cmd = "openssl pkey -in " + one_.key + " -aes256 -passout pass:x -out " + locked;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_NE(load_error({{one_.cert, locked}}).find("encrypted with a passphrase"),
            std::string::npos);
}

// A client SSL on one end of a socketpair, a tls_stream on the other, driven in turns.
struct pair_run {
  int fds[2] = {-1, -1};
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL* client = nullptr;
  std::unique_ptr<tls_stream> server;

  pair_run(std::shared_ptr<const tls_config> cfg, const char* host, uint8_t max_fragment = 0) {
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds);
    client = SSL_new(client_ctx);
    if (max_fragment) SSL_set_tlsext_max_fragment_length(client, max_fragment);
    SSL_set_fd(client, fds[1]);
    SSL_set_tlsext_host_name(client, host);
    SSL_set_alpn_protos(client, reinterpret_cast<const unsigned char*>("\x02h2\x08http/1.1"), 12);
    SSL_set_connect_state(client);
    server = std::make_unique<tls_stream>(std::move(cfg), fds[0]);
  }
  ~pair_run() {
    server.reset();
    SSL_free(client);
    SSL_CTX_free(client_ctx);
    ::close(fds[0]);
    ::close(fds[1]);
  }
  // Moves what the server's socket holds into it; the bytes fed.
  size_t server_recv() {
    ssize_t n = ::recv(fds[0], server->in_space(), tls_stream::in_room(), 0);
    if (n > 0) server->feed(static_cast<size_t>(n));
    return n > 0 ? static_cast<size_t>(n) : 0;
  }
  bool handshake() {
    for (int i = 0; i < 20; ++i) {
      SSL_do_handshake(client);
      while (server_recv() > 0) {
      }
      if (server->handshake() == tls_stream::progress::done && SSL_is_init_finished(client))
        return true;
    }
    return false;
  }
  std::string peer_cn() {
    X509* x = SSL_get1_peer_certificate(client);
    char buf[256] = "";
    if (x) X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof buf);
    X509_free(x);
    return buf;
  }
  // The server encrypts `text`, sends its records; the client decrypts them.
  std::string round_trip(const std::string& text) {
    iovec iov{const_cast<char*>(text.data()), text.size()};
    size_t taken = server->encrypt(&iov, 1);
    std::span<const char> out = server->out();
    ssize_t n = ::send(fds[0], out.data(), out.size(), 0);
    server->sent(static_cast<size_t>(n));
    std::string got(taken, '\0');
    size_t have = 0;
    while (have < taken) {
      int r = SSL_read(client, got.data() + have, static_cast<int>(taken - have));
      if (r <= 0) break;
      have += static_cast<size_t>(r);
    }
    got.resize(have);
    return got;
  }
};

TEST_F(tls_test, handshake_by_sni_then_records_both_ways) {
  auto cfg = load({{one_.cert, one_.key}, {wild_.cert, wild_.key}});
  pair_run a(cfg, "live.example.com");
  ASSERT_TRUE(a.handshake());
  EXPECT_EQ(a.peer_cn(), "wild");
  EXPECT_FALSE(a.server->ktls());  // a socketpair has no kernel TLS
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(a.client, &alpn, &alpn_len);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(alpn), alpn_len), "http/1.1");
  // A request in: decrypted by read().
  std::string req = "GET /live.ts HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(SSL_write(a.client, req.data(), static_cast<int>(req.size())), int(req.size()));
  a.server_recv();
  char buf[256];
  int n = a.server->read(buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), req);
  EXPECT_EQ(a.server->read(buf, sizeof buf), -EAGAIN);
  // Out: at most the buffer's worth is encrypted ahead.
  std::string big(100'000, 'x');
  EXPECT_EQ(a.round_trip("hello"), "hello");
  std::string first = a.round_trip(big);
  EXPECT_GT(first.size(), tls_stream::out_size - 1024);
  EXPECT_LE(first.size(), tls_stream::out_size);
  EXPECT_TRUE(a.server->out().empty());

  pair_run b(cfg, "www.one.test");
  ASSERT_TRUE(b.handshake());
  EXPECT_EQ(b.peer_cn(), "one.test");
  pair_run c(cfg, "nobody.org");
  ASSERT_TRUE(c.handshake());
  EXPECT_EQ(c.peer_cn(), "one.test");
}

// A client that asked for 512-byte records (openssl s_client -maxfraglen 512): 64 of
// them for 32 KiB, whose overhead must be counted, or the out buffer fills mid-write.
TEST_F(tls_test, small_records_asked_for_still_fit_the_out_buffer) {
  auto cfg = load({{one_.cert, one_.key}});
  for (int tls13 : {0, 1}) {
    pair_run a(cfg, "one.test", TLSEXT_max_fragment_length_512);
    if (!tls13) SSL_set_max_proto_version(a.client, TLS1_2_VERSION);
    ASSERT_TRUE(a.handshake());
    EXPECT_EQ(a.server->fragment(), 512u);
    std::string big(100'000, 'y');
    for (int i = 0; i < 3; ++i) {
      std::string got = a.round_trip(big);
      EXPECT_FALSE(a.server->failed()) << "TLS 1." << (tls13 ? 3 : 2);
      EXPECT_GT(got.size(), tls_stream::out_size * 9 / 10);
      EXPECT_EQ(got, big.substr(0, got.size()));
    }
  }
}

TEST(tls_records, plaintext_that_fits_a_room) {
  constexpr size_t o = tls_stream::record_overhead;
  EXPECT_EQ(tls_stream::fitting(16384 + o, 16384), 16384u);
  EXPECT_EQ(tls_stream::fitting(2 * (512 + o), 512), 1024u);
  EXPECT_EQ(tls_stream::fitting(2 * (512 + o) + o, 512), 1024u);
  EXPECT_EQ(tls_stream::fitting(2 * (512 + o) + o + 7, 512), 1031u);
  EXPECT_EQ(tls_stream::fitting(o + 1, 512), 1u);
}

TEST_F(tls_test, a_reload_serves_new_handshakes_and_keeps_old_connections) {
  auto before = load({{one_.cert, one_.key}});
  tls_holder holder;
  holder.set(before);
  pair_run old(holder.get(), "one.test");
  ASSERT_TRUE(old.handshake());
  before.reset();
  holder.set(load({{cn_only_.cert, cn_only_.key}}));  // the old config is now the stream's alone
  pair_run fresh(holder.get(), "one.test");
  ASSERT_TRUE(fresh.handshake());
  EXPECT_EQ(fresh.peer_cn(), "cn.test");
  EXPECT_EQ(old.round_trip("still here"), "still here");
}

TEST_F(tls_test, plain_http_garbage_and_truncated_hellos) {
  auto cfg = load({{one_.cert, one_.key}});
  pair_run plain(cfg, "one.test");
  ::send(plain.fds[1], "GET / HTTP/1.1\r\n", 16, 0);
  plain.server_recv();
  EXPECT_EQ(plain.server->handshake(), tls_stream::progress::plain_http);

  pair_run junk(cfg, "one.test");
  ::send(junk.fds[1], "\x01\x02\x03garbage", 10, 0);
  junk.server_recv();
  EXPECT_EQ(junk.server->handshake(), tls_stream::progress::failed);

  pair_run junk_record(cfg, "one.test");  // a handshake record type, nonsense inside
  ::send(junk_record.fds[1], "\x16\x03\x01\x00\x05hello", 10, 0);
  junk_record.server_recv();
  EXPECT_EQ(junk_record.server->handshake(), tls_stream::progress::failed);

  // The first 20 bytes of a real ClientHello: the server waits for the rest.
  pair_run cut(cfg, "one.test");
  SSL_do_handshake(cut.client);
  char hello[4096];
  ssize_t n = ::recv(cut.fds[0], hello, sizeof hello, 0);
  ASSERT_GT(n, 20);
  std::memcpy(cut.server->in_space(), hello, 20);
  cut.server->feed(20);
  EXPECT_EQ(cut.server->handshake(), tls_stream::progress::again);
}

// What a TLS viewer costs once past its handshake, idle (parked): OpenSSL's state with
// its buffers released; a viewer with a send in flight holds tls_stream::out_size more.
TEST_F(tls_test, memory_per_idle_connection) {
  auto cfg = load({{one_.cert, one_.key}});
  constexpr int n = 50;
  auto before = mallinfo2().uordblks;
  std::vector<std::unique_ptr<pair_run>> runs;
  for (int i = 0; i < n; ++i) {
    runs.push_back(std::make_unique<pair_run>(cfg, "one.test"));
    ASSERT_TRUE(runs.back()->handshake());
  }
  for (auto& r : runs) {  // the client's share is not the server's cost
    SSL_free(std::exchange(r->client, nullptr));
    SSL_CTX_free(std::exchange(r->client_ctx, nullptr));
  }
  auto after = mallinfo2().uordblks;
  size_t per = (after - before) / n;
  std::printf("[ memory ] an idle TLS connection holds %zu bytes (glibc malloc)\n", per);
  EXPECT_LT(per, 64u * 1024);
}

}  // namespace
}  // namespace gordo
