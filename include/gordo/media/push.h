// An encoder's upload (HTTP PUT or POST, or Icecast's SOURCE), handed by a worker to the
// mount's source, and the reader that turns its body back into the stream's bytes.
#pragma once

#include <cstdint>
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

  int fd = -1;                // owned
  std::string peer;           // the encoder's address, for logs
  std::string leftover;       // body bytes that arrived with the request head
  framing body = framing::until_close;
  uint64_t length = 0;        // framing::length
  bool expect_continue = false;  // "Expect: 100-continue": it waits for 100 before sending
  bool icecast = false;       // SOURCE: it waits for "200 OK" before sending
  std::string authorization;  // its Authorization header, when an htpasswd file decides
};

// Fills a push_connection's framing from its request's Content-Length, Transfer-Encoding
// and Expect headers. False (a 400) when they are malformed or contradict each other
// (both a length and chunked: request smuggling, RFC 9112 §6.1).
bool push_framing(std::string_view content_length, std::string_view transfer_encoding,
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
  // Up to `size` body bytes; AVERROR_EOF at the end of the body, AVERROR(ETIMEDOUT) when
  // the encoder sent nothing for the timeout, AVERROR_INVALIDDATA for bad chunk framing,
  // another AVERROR when the connection failed.
  int read(uint8_t* out, int size);
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
  int fill();                          // more bytes into buf_: >0, 0 at EOF, or AVERROR
  int raw(uint8_t* out, size_t size);  // buffered bytes first, then the socket
  int line(std::string& out);          // a chunk-size line, without CRLF

  push_connection c_;
  std::string buf_;          // starts as the leftover
  size_t pos_ = 0;
  uint64_t left_ = 0;       // of the body (length) or of the current chunk (chunked)
  bool chunk_open_ = false; // chunked: inside a chunk's data
  bool done_ = false;
  uint64_t bytes_ = 0;
};

}  // namespace gordo
