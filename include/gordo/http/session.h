// One connection's HTTP/1.x state on the viewer port: the request head arriving in a
// fixed buffer, whether the connection stays for another request after an answer
// (keep-alive, with what the client pipelined after the head), and the access-log record
// of each request. No I/O: the worker receives into space() and sends what it is told.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "gordo/http/access_log.h"
#include "gordo/net/http_request.h"

namespace gordo {

struct http_session {
  static constexpr size_t buffer_size = 8192;
  // Requests answered on one kept connection before it is closed.
  static constexpr unsigned max_requests = 100;
  // Lingering close (nginx's lingering_close): after an answer, what the client still
  // sends is read and discarded, up to this many reads, each within this time, so that
  // closing with unread bytes does not reset the answer away.
  static constexpr uint8_t linger_reads = 16;
  static constexpr std::chrono::seconds linger_read_time{1};
  static constexpr size_t linger_read_size = 64 * 1024;

  std::unique_ptr<char[]> buffer;      // only while a request is read or kept for the next
  uint32_t length = 0;                 // bytes in buffer
  uint32_t pipelined = 0;              // of those, after the head being answered: the next request
  uint8_t answered = 0;                // requests answered on this connection
  uint8_t lingered = 0;                // discarding reads done
  bool keep_alive = false;             // after this answer, read the next request
  std::unique_ptr<access_record> log;  // only when access logging is on

  // Starts a connection (logging it as from `peer` when `logging`).
  void open(bool logging, std::string peer);
  // Where the next bytes of the request head go, and how many fit.
  char* space() { return buffer.get() + length; }
  size_t room() const { return buffer_size - length; }
  void received(size_t n) { length += static_cast<uint32_t>(n); }
  bool full() const { return length == buffer_size; }
  // Parses what has arrived; `req`'s views point into the buffer.
  http_parse parse(http_request& req) const {
    return parse_http_request({buffer.get(), length}, req);
  }

  // Notes a complete request in the access record.
  void record(const http_request& req);
  // Before a short answer to `req` (nullptr: to no complete request): whether the
  // connection stays open for another request. When it does, what followed the head is
  // kept as the start of the next request; else the buffer goes.
  bool keep(const http_request* req, bool stopping);
  // The request is being served by other means (a stream, a push): the buffer goes.
  void done() { buffer.reset(); }
  // The kept answer is sent: the next request begins with what was pipelined.
  void next();

  // The access-log line of the request just served (empty when there was none):
  // `bytes_sent` in all, of which `head_bytes` were the response head.
  std::string finish(uint64_t bytes_sent, uint32_t head_bytes);
};

}  // namespace gordo
