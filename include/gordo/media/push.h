// An encoder's upload (HTTP PUT or POST, or Icecast's SOURCE), handed by a worker to the
// mount's source, and the reader that turns its body back into the stream's bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gordo {

struct push_connection {
  enum class framing : uint8_t {
    until_close,  // no length: the stream ends when the encoder closes (Icecast)
    length,       // Content-Length
    chunked,      // Transfer-Encoding: chunked (ffmpeg -method PUT)
  };

  push_connection() = default;
  push_connection(push_connection&& o) noexcept { *this = std::move(o); }
  push_connection& operator=(push_connection&& o) noexcept;
  ~push_connection();

  int fd = -1;           // owned
  std::string peer;      // the encoder's address, for logs
  std::string leftover;  // body bytes that arrived with the request head
  framing body = framing::until_close;
  uint64_t length = 0;           // framing::length
  bool expect_continue = false;  // "Expect: 100-continue": it waits for 100 before sending
  bool icecast = false;          // SOURCE: it waits for "200 OK" before sending
  std::string authorization;     // its Authorization header, when an htpasswd file decides
};

// Fills a push_connection's framing from its request's Content-Length (as the request
// parser read it), Transfer-Encoding and Expect headers. False (a 400) when they are
// malformed or contradict each other (both a length and chunked: request smuggling,
// RFC 9112 §6.1).
bool push_framing(std::optional<uint64_t> content_length, std::string_view transfer_encoding,
                  std::string_view expect, push_connection& c);

// Reads a push's body on the source's thread: blocking reads, each bounded by the
// timeout; chunked bodies decoded.
class push_reader {
 public:
  push_reader(push_connection c, int64_t timeout_us);
  push_reader(const push_reader&) = delete;
  push_reader& operator=(const push_reader&) = delete;

  // Tells the encoder to go ahead (100 Continue, or 200 OK to Icecast's SOURCE).
  void greet();
  // Up to `size` body bytes; AVERROR_EOF at the end of the body (or where it was cut
  // short: see truncated()), AVERROR(ETIMEDOUT) when the encoder sent nothing for the
  // timeout, AVERROR_INVALIDDATA for bad chunk framing, another AVERROR when the
  // connection failed.
  int read(uint8_t* out, int size);
  // What was wrong with the body once read() failed or ended it early, and the status
  // that says so to the encoder: 400 for bad chunked framing or a body cut short, 408
  // for nothing within the timeout. 0 and empty while the body is fine, and after a
  // connection error (nobody is left to tell).
  int fault_status() const { return fault_status_; }
  const std::string& fault() const { return fault_; }
  // The encoder closed before its Content-Length or its last chunk.
  bool truncated() const { return truncated_; }
  // Any thread: breaks a blocking read (the source is stopping).
  void interrupt();
  // After the whole body (a PUT that ended): the final response.
  void finish();
  // The stream cannot be used: an error response, unless Icecast's 200 was sent already.
  void refuse(int status, std::string_view why, std::string_view extra_headers = {});
  const std::string& authorization() const { return c_.authorization; }

  uint64_t bytes() const { return bytes_; }
  const std::string& peer() const { return c_.peer; }

 private:
  int fill();                                      // more bytes into buf_: >0, 0 at EOF, or AVERROR
  int raw(uint8_t* out, size_t size);              // buffered bytes first, then the socket
  int line(std::string& out);                      // a chunk-size line, without CRLF
  int fail(int status, std::string why, int err);  // records the fault; returns err
  int cut_short();  // the encoder closed inside the body: AVERROR_EOF

  push_connection c_;
  std::string buf_;  // starts as the leftover
  size_t pos_ = 0;
  uint64_t left_ = 0;        // of the body (length) or of the current chunk (chunked)
  bool chunk_open_ = false;  // chunked: inside a chunk's data
  bool done_ = false;
  bool heard_ = false;  // any byte of the body (or its framing) arrived
  uint64_t bytes_ = 0;
  int64_t timeout_us_;
  int fault_status_ = 0;
  std::string fault_;
  bool truncated_ = false;
};

}  // namespace gordo
