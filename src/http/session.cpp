#include "gordo/http/session.h"

#include <fmt/format.h>

#include <cstring>

namespace gordo {

void http_session::open(bool logging, std::string peer) {
  buffer = std::make_unique<char[]>(buffer_size);
  if (!logging) return;
  log = std::make_unique<access_record>();
  log->at = std::chrono::system_clock::now();
  log->peer = std::move(peer);
}

void http_session::record(const http_request& req) {
  if (!log) return;
  log->request_line = fmt::format("{} {} HTTP/1.{}", req.method, req.target, req.minor_version);
  log->referer = req.header("referer");
  log->user_agent = req.header("user-agent");
}

bool http_session::keep(const http_request* req, bool stopping) {
  // Only answers to requests without a body: what follows the head is then the next
  // request (a body we did not read would be taken for one).
  keep_alive =
      req && !stopping && answered + 1u < max_requests && req->keep_alive && !req->has_body();
  if (keep_alive) {
    pipelined = static_cast<uint32_t>(length - req->head_length);
    std::memmove(buffer.get(), buffer.get() + req->head_length, pipelined);
  } else {
    buffer.reset();
  }
  return keep_alive;
}

void http_session::next() {
  ++answered;
  keep_alive = false;
  length = pipelined;
  pipelined = 0;
  if (!log) return;
  std::string peer = std::move(log->peer);
  *log = access_record{};
  log->peer = std::move(peer);
  log->at = std::chrono::system_clock::now();
}

std::string http_session::finish(uint64_t bytes_sent, uint32_t head_bytes) {
  if (!log || log->status == 0) return {};
  access_record& r = *log;
  r.body_bytes = bytes_sent > head_bytes ? bytes_sent - head_bytes : 0;
  r.seconds = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - r.at)
          .count());
  return format_access_line(r);
}

}  // namespace gordo
