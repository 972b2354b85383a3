#include "gordo/media/push.h"

#include "gordo/net/http_response.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

extern "C" {
#include <libavutil/error.h>
}

namespace gordo {

namespace {

constexpr size_t read_size = 64 * 1024;
constexpr size_t max_line = 1024;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

// The encoder's bytes, shortened and made safe to quote in a log line and an answer.
std::string printable(std::string_view text) {
  std::string out(text.substr(0, 40));
  for (char& ch : out)
    if (ch < 0x20 || ch > 0x7e) ch = '?';
  return out;
}

void send_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the encoder is gone; its read fails next
    text.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

push_connection& push_connection::operator=(push_connection&& o) noexcept {
  if (this != &o) {
    if (fd >= 0) ::close(fd);
    fd = o.fd;
    o.fd = -1;
    peer = std::move(o.peer);
    leftover = std::move(o.leftover);
    body = o.body;
    length = o.length;
    expect_continue = o.expect_continue;
    icecast = o.icecast;
    authorization = std::move(o.authorization);
  }
  return *this;
}

push_connection::~push_connection() {
  if (fd >= 0) ::close(fd);
}

bool push_framing(std::optional<uint64_t> content_length, std::string_view transfer_encoding,
                  std::string_view expect, push_connection& c) {
  if (content_length && !transfer_encoding.empty()) return false;
  if (!transfer_encoding.empty()) {
    if (!iequals(transfer_encoding, "chunked")) return false;  // nothing else is sent by encoders
    c.body = push_connection::framing::chunked;
  } else if (content_length) {
    c.length = *content_length;
    c.body = push_connection::framing::length;
  }
  if (!expect.empty()) {
    if (!iequals(expect, "100-continue")) return false;
    c.expect_continue = true;
  }
  return true;
}

push_reader::push_reader(push_connection c, int64_t timeout_us)
    : c_(std::move(c)),
      buf_(std::move(c_.leftover)),
      heard_(!buf_.empty()),
      timeout_us_(timeout_us) {
  int flags = fcntl(c_.fd, F_GETFL);
  if (flags >= 0) fcntl(c_.fd, F_SETFL, flags & ~O_NONBLOCK);
  timeval tv{.tv_sec = timeout_us / 1'000'000, .tv_usec = timeout_us % 1'000'000};
  setsockopt(c_.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  left_ = c_.body == push_connection::framing::length ? c_.length : 0;
}

void push_reader::greet() {
  if (c_.icecast)
    send_all(c_.fd, "HTTP/1.0 200 OK\r\n\r\n");
  else if (c_.expect_continue)
    send_all(c_.fd, "HTTP/1.1 100 Continue\r\n\r\n");
}

void push_reader::finish() {
  if (!c_.icecast) send_all(c_.fd, http_response(200, "text/plain; charset=utf-8", ""));
}

void push_reader::refuse(int status, std::string_view why, std::string_view extra_headers) {
  if (!c_.icecast) send_all(c_.fd, http_error(status, why, extra_headers));
  // Closing with the encoder's body unread would reset the connection, and the answer with
  // it: half-close, and read what it still sends for a moment (a lingering close).
  shutdown(c_.fd, SHUT_WR);
  timeval tv{.tv_sec = 0, .tv_usec = 500'000};
  setsockopt(c_.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char discard[16384];
  for (int i = 0; i < 64 && ::recv(c_.fd, discard, sizeof discard, 0) > 0; ++i) {
  }
}

void push_reader::interrupt() {
  shutdown(c_.fd, SHUT_RDWR);
}

int push_reader::fail(int status, std::string why, int err) {
  fault_status_ = status;
  fault_ = std::move(why);
  done_ = true;  // nothing after a fault is the stream
  return err;
}

int push_reader::cut_short() {
  truncated_ = true;
  if (c_.body == push_connection::framing::length)
    return fail(400, fmt::format("the body ended after {} of {} bytes", bytes_, c_.length),
                AVERROR_EOF);
  return fail(400,
              fmt::format("the body ended after {} bytes, before its chunked framing did", bytes_),
              AVERROR_EOF);
}

int push_reader::fill() {
  if (pos_ == buf_.size()) {
    buf_.resize(read_size);
    pos_ = 0;
    ssize_t n = ::recv(c_.fd, buf_.data(), buf_.size(), 0);
    int err = errno;
    buf_.resize(n > 0 ? static_cast<size_t>(n) : 0);
    if (n > 0) heard_ = true;
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
      std::string wait = timeout_us_ % 1'000'000 == 0 ? fmt::format("{} s", timeout_us_ / 1'000'000)
                                                      : fmt::format("{} ms", timeout_us_ / 1000);
      return fail(408,
                  heard_ ? fmt::format("the body stopped for {} after {} bytes", wait, bytes_)
                         : fmt::format("no body arrived within {} of the request", wait),
                  AVERROR(ETIMEDOUT));
    }
    if (n < 0) {
      done_ = true;
      return AVERROR(err);
    }
    return static_cast<int>(n);
  }
  return static_cast<int>(buf_.size() - pos_);
}

int push_reader::raw(uint8_t* out, size_t size) {
  int n = fill();
  if (n <= 0) return n;
  size_t take = std::min(size, buf_.size() - pos_);
  std::memcpy(out, buf_.data() + pos_, take);
  pos_ += take;
  return static_cast<int>(take);
}

int push_reader::line(std::string& out) {
  out.clear();
  for (;;) {
    int n = fill();
    if (n < 0) return n;
    if (n == 0) return cut_short();  // closed inside the framing
    char ch = buf_[pos_++];
    if (ch == '\n') {
      if (!out.empty() && out.back() == '\r') out.pop_back();
      return 0;
    }
    if (out.size() == max_line)
      return fail(400, fmt::format("a chunked framing line is longer than {} bytes", max_line),
                  AVERROR_INVALIDDATA);
    out += ch;
  }
}

int push_reader::read(uint8_t* out, int size) {
  if (done_ || size <= 0) return AVERROR_EOF;
  auto want = static_cast<size_t>(size);
  int n = 0;
  switch (c_.body) {
    case push_connection::framing::until_close:
      n = raw(out, want);
      break;
    case push_connection::framing::length:
      if (left_ == 0)
        n = 0;
      else
        n = raw(out, std::min<uint64_t>(want, left_));
      if (n > 0) left_ -= static_cast<uint64_t>(n);
      if (n == 0 && left_ > 0) return cut_short();
      break;
    case push_connection::framing::chunked: {
      std::string text;
      if (!chunk_open_) {
        if (int err = line(text); err < 0) return err;
        size_t semi = text.find(';');  // chunk extensions are ignored
        std::string_view hex(text.data(), semi == std::string::npos ? text.size() : semi);
        while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\t')) hex.remove_suffix(1);
        // 1*HEXDIG (RFC 9112 §7.1): no sign, no prefix, and it fits 64 bits.
        auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), left_, 16);
        if (hex.empty() || ec != std::errc() || end != hex.data() + hex.size())
          return fail(400,
                      fmt::format("bad chunk size '{}': send hexadecimal digits, at most 16",
                                  printable(text)),
                      AVERROR_INVALIDDATA);
        if (left_ == 0) {
          do {  // trailer fields, up to the blank line
            if (int err = line(text); err < 0) return err;
          } while (!text.empty());
          done_ = true;
          return AVERROR_EOF;
        }
        chunk_open_ = true;
      }
      n = raw(out, std::min<uint64_t>(want, left_));
      if (n > 0) left_ -= static_cast<uint64_t>(n);
      if (n > 0 && left_ == 0) {
        chunk_open_ = false;
        if (int err = line(text); err < 0) return err;
        if (!text.empty())
          return fail(400, "a chunk's data is not followed by CRLF", AVERROR_INVALIDDATA);
      }
      if (n == 0) return cut_short();  // closed inside a chunk
      break;
    }
  }
  if (n == 0) {
    done_ = true;
    return AVERROR_EOF;
  }
  if (n > 0) bytes_ += static_cast<uint64_t>(n);
  return n;
}

}  // namespace gordo
