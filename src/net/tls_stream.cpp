#include "gordo/net/tls_stream.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace gordo {

namespace {

// Writes OpenSSL makes to the socket itself (handshake flights; with kTLS, an alert or a
// KeyUpdate reply while reading) must not block the loop's thread: the socket is
// nonblocking for such a call only. The loop keeps the fd as it made it the rest of the
// time (an io_uring send on a nonblocking socket would fail with -EAGAIN, not wait).
class nonblocking_scope {
 public:
  explicit nonblocking_scope(int fd) : fd_(fd), flags_(fcntl(fd, F_GETFL)) {
    toggled_ = flags_ >= 0 && !(flags_ & O_NONBLOCK);
    if (toggled_) fcntl(fd_, F_SETFL, flags_ | O_NONBLOCK);
  }
  ~nonblocking_scope() {
    if (toggled_) fcntl(fd_, F_SETFL, flags_);
  }
  nonblocking_scope(const nonblocking_scope&) = delete;
  nonblocking_scope& operator=(const nonblocking_scope&) = delete;

 private:
  int fd_;
  int flags_;
  bool toggled_;
};

}  // namespace

tls_stream::tls_stream(std::shared_ptr<const tls_config> cfg, int fd)
    : cfg_(std::move(cfg)), fd_(fd) {
  ssl_ = cfg_->new_ssl();
  if (!ssl_) return;
  in_bio_ = BIO_new(BIO_s_mem());
  // During the handshake OpenSSL writes to the socket itself: only a socket BIO can take
  // the keys into the kernel when they are set. Handshake flights are a few KiB, which a
  // new socket's buffer always takes.
  BIO* out = BIO_new_socket(fd, BIO_NOCLOSE);
  if (!in_bio_ || !out) {
    BIO_free(in_bio_);
    BIO_free(out);
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  SSL_set_bio(ssl_, in_bio_, out);
  SSL_set_accept_state(ssl_);
}

tls_stream::~tls_stream() {
  SSL_free(ssl_);
}

char* tls_stream::in_space() {
  if (!in_) in_.reset(new char[in_size]);
  return in_.get();
}

void tls_stream::feed(size_t n) {
  if (n == 0 || !in_) return;
  if (first_) lead_ = static_cast<unsigned char>(in_[0]);
  first_ = false;
  BIO_write(in_bio_, in_.get(), static_cast<int>(n));
  in_.reset();  // the memory BIO has its own copy
}

tls_stream::progress tls_stream::handshake() {
  if (established_) return progress::done;
  if (!first_ && lead_ != 0x16) {
    failed_ = true;
    // "GET /", "HEAD ", "POST ": a browser or player that was told http://.
    return std::isupper(lead_) ? progress::plain_http : progress::failed;
  }
  ERR_clear_error();
  int r;
  {
    nonblocking_scope nb(fd_);
    r = SSL_do_handshake(ssl_);
  }
  int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ) return progress::again;
  if (err == SSL_ERROR_WANT_WRITE) return progress::want_write;
  if (err != SSL_ERROR_NONE) {
    ERR_clear_error();
    failed_ = true;
    return progress::failed;
  }
  ktls_ = BIO_get_ktls_send(SSL_get_wbio(ssl_)) != 0;
  if (!ktls_) {
    BIO* out = make_out_bio();
    if (!out) {
      ktls_ = false;
      failed_ = true;
      return progress::failed;
    }
    SSL_set0_wbio(ssl_, out);  // frees the socket BIO
  }
  // A client that sent max_fragment_length gets records of at most that much plaintext
  // (512 bytes: 32 times the records, and their overhead, of 16 KiB ones).
  uint8_t mfl = SSL_SESSION_get_max_fragment_length(SSL_get0_session(ssl_));
  if (mfl >= TLSEXT_max_fragment_length_512 && mfl <= TLSEXT_max_fragment_length_4096)
    fragment_ = 256u << mfl;
  established_ = true;  // last: the worker's TLS gauges count only what got here
  // The handshake's records grew the memory BIO; start a small one if nothing waits.
  if (BIO_ctrl_pending(in_bio_) == 0) {
    if (BIO* fresh = BIO_new(BIO_s_mem())) {
      SSL_set0_rbio(ssl_, fresh);
      in_bio_ = fresh;
    }
  }
  return progress::done;
}

int tls_stream::read(void* buf, size_t len) {
  ERR_clear_error();
  int r;
  if (ktls_) {  // the socket is still OpenSSL's wbio: what reading writes goes there
    nonblocking_scope nb(fd_);
    r = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(len, INT32_MAX)));
  } else {
    r = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(len, INT32_MAX)));
  }
  if (r > 0) return r;
  switch (SSL_get_error(ssl_, r)) {
    case SSL_ERROR_WANT_READ:
      return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    default:  // SSL_ERROR_WANT_WRITE too: a full socket (or out buffer) while reading
      ERR_clear_error();
      failed_ = true;
      return -EPROTO;
  }
}

// OpenSSL 3 clients report a connection closed without close_notify as truncated. With
// kTLS OpenSSL sends it through the socket (nonblocking: lost if the socket is full);
// else its record waits in out() for the caller to send before the FIN.
void tls_stream::close_notify() {
  if (!established_ || failed_ || shut_) return;
  shut_ = true;
  ERR_clear_error();
  if (ktls_) {
    nonblocking_scope nb(fd_);
    SSL_shutdown(ssl_);
  } else {
    SSL_shutdown(ssl_);
  }
  ERR_clear_error();
}

bool tls_stream::readable() const {
  return SSL_pending(ssl_) > 0 || BIO_ctrl_pending(in_bio_) > 0;
}

size_t tls_stream::encrypt(const iovec* iov, size_t n) {
  if (failed_) return 0;
  if (out_begin_ > 0) {  // nothing is in flight when the caller encrypts more
    std::memmove(out_.get(), out_.get() + out_begin_, out_end_ - out_begin_);
    out_end_ -= out_begin_;
    out_begin_ = 0;
  }
  size_t taken = 0;
  for (size_t i = 0; i < n; ++i) {
    const char* p = static_cast<const char*>(iov[i].iov_base);
    size_t left = iov[i].iov_len;
    while (left > 0) {
      size_t space = out_size - out_end_;
      if (space <= out_reserve + record_overhead) return taken;
      size_t now = std::min(left, fitting(space - out_reserve, fragment_));
      ERR_clear_error();
      int r = SSL_write(ssl_, p, static_cast<int>(now));
      if (r <= 0) {
        ERR_clear_error();
        failed_ = true;
        return taken;
      }
      p += r;
      left -= static_cast<size_t>(r);
      taken += static_cast<size_t>(r);
    }
  }
  return taken;
}

// The most plaintext whose records surely fit into `room` bytes, in records of at most
// `fragment` plaintext bytes each adding up to record_overhead.
size_t tls_stream::fitting(size_t room, size_t fragment) {
  size_t record = fragment + record_overhead;
  size_t tail = room % record;
  return room / record * fragment + (tail > record_overhead ? tail - record_overhead : 0);
}

std::span<const char> tls_stream::out() const {
  if (!out_) return {};
  return {out_.get() + out_begin_, out_end_ - out_begin_};
}

void tls_stream::sent(size_t n) {
  out_begin_ += static_cast<uint32_t>(n);
  // Emptied, the buffer is kept for the connection's next records: freeing and allocating
  // 32 KiB per send made every viewer's records land in fresh pages (perf/bench --tls at
  // 1,000 viewers: 94.6% of the core with it, 23.3% without).
  if (out_begin_ >= out_end_) out_begin_ = out_end_ = 0;
}

BIO* tls_stream::make_out_bio() {
  // The out buffer's BIO type, made once for the process.
  static BIO_METHOD* m = [] {
    BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "gordo out");
    BIO_meth_set_write(made, out_write);
    BIO_meth_set_ctrl(made, out_ctrl);
    BIO_meth_set_create(made, out_create);
    return made;
  }();
  BIO* b = BIO_new(m);
  if (b) BIO_set_data(b, this);
  return b;
}

int tls_stream::out_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

// Appends records behind those waiting (which a send in flight may be reading).
int tls_stream::out_write(BIO* b, const char* data, int len) {
  auto* s = static_cast<tls_stream*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  if (!s->out_) s->out_.reset(new char[out_size]);
  size_t n = std::min(static_cast<size_t>(len), out_size - s->out_end_);
  if (n == 0) {
    BIO_set_retry_write(b);
    return -1;
  }
  std::memcpy(s->out_.get() + s->out_end_, data, n);
  s->out_end_ += static_cast<uint32_t>(n);
  return static_cast<int>(n);
}

long tls_stream::out_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

}  // namespace gordo
