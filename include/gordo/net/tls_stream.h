// One TLS connection's OpenSSL state, driven by the caller's own recvs and sends (no
// blocking, no threads): records come in through a memory BIO; during the handshake
// OpenSSL writes straight to the socket (so it may hand the keys to the kernel: kTLS);
// after it, either the kernel encrypts (kTLS: send plaintext as before) or records are
// written into a bounded buffer the caller sends (userspace encryption).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "gordo/net/tls.h"

using BIO = struct bio_st;

namespace gordo {

class tls_stream {
 public:
  static constexpr size_t in_size = 4096;        // one recv of records
  static constexpr size_t out_size = 32 * 1024;  // records encrypted ahead of the socket
  // Kept free in the out buffer for what reading may have to write (an alert, KeyUpdate).
  static constexpr size_t out_reserve = 256;
  // Most a record adds to its plaintext (TLS 1.2 AES-GCM; TLS 1.3 adds 22).
  static constexpr size_t record_overhead = 29;

  enum class progress {
    again,       // needs more bytes from the peer
    want_write,  // the socket is full: call handshake() again shortly
    done,        // established
    failed,      // bad or unacceptable input, or a protocol error
    plain_http,  // the first bytes were a plain HTTP request
  };

  tls_stream(std::shared_ptr<const tls_config> cfg, int fd);
  ~tls_stream();
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;
  bool ok() const { return ssl_ != nullptr; }

  // Where the next recv of records goes (allocated here; freed once fed).
  char* in_space();
  static constexpr size_t in_room() { return in_size; }
  // `n` bytes arrived in in_space().
  void feed(size_t n);

  // Handshake on what was fed. `done` once; then read() and encrypt().
  progress handshake();
  bool established() const { return established_; }
  bool ktls() const { return ktls_; }
  // Decrypts into `buf`: bytes (> 0), 0 when the peer closed, -EAGAIN for more input,
  // -EPROTO on bad records.
  int read(void* buf, size_t len);
  // Once, on a graceful close of an established connection: the close_notify alert (in
  // out() without kTLS; sent by OpenSSL with it).
  void close_notify();
  // Decrypted bytes or unread records are buffered: read() may return data at once.
  bool readable() const;

  // Userspace encryption: encrypts as much of `iov` as fits into the out buffer; the
  // plaintext bytes taken (0 when full, or on an error: then failed()).
  size_t encrypt(const iovec* iov, size_t n);
  // Records to send, and how many were sent. The buffer does not move while records
  // wait in it; made at the first records, it is kept until the connection ends.
  std::span<const char> out() const;
  void sent(size_t n);
  bool failed() const { return failed_; }

  SSL* ssl() const { return ssl_; }
  // Plaintext per record: 16 KiB, or less when the client asked (max_fragment_length).
  size_t fragment() const { return fragment_; }
  static size_t fitting(size_t room, size_t fragment);

 private:
  static int out_write(BIO* b, const char* data, int len);
  static long out_ctrl(BIO* b, int cmd, long num, void* ptr);
  static int out_create(BIO* b);
  BIO* make_out_bio();

  std::shared_ptr<const tls_config> cfg_;  // its contexts outlive the handshake
  SSL* ssl_ = nullptr;
  BIO* in_bio_ = nullptr;  // owned by ssl_
  int fd_;
  bool established_ = false;
  bool ktls_ = false;
  bool failed_ = false;
  bool shut_ = false;  // close_notify made
  uint32_t fragment_ = 16384;
  bool first_ = true;       // nothing fed yet
  unsigned char lead_ = 0;  // the first byte fed: 0x16 starts a handshake record
  std::unique_ptr<char[]> in_;
  std::unique_ptr<char[]> out_;
  uint32_t out_begin_ = 0, out_end_ = 0;
};

}  // namespace gordo
