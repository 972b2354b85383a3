// The viewer port's short answers (errors, redirects, Icecast's metadata reply), built
// once per worker in two forms: closing the connection, and keeping it for the next
// request. Each knows its status, for the access log.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "gordo/net/http_request.h"

namespace gordo {

// A complete response, sent as is.
struct canned_response {
  std::string text;
  int status = 0;
  uint32_t head_bytes = 0;  // up to the blank line: not counted as body in the log
};

// A complete response (net/http_response.h) that knows its status and head length.
canned_response make_canned(int status, std::string_view body, std::string_view extra_headers = {},
                            std::string_view connection = "close",
                            std::string_view content_type = "text/plain; charset=utf-8");

enum class answer : uint8_t {
  bad_request,
  not_found,
  bad_method,
  timeout,
  too_large,
  ended,
  full,
  redirect,
  bad_version,
  offline,
  unauthorized,
  push_busy,
  not_push,
  metadata_updated,
  not_pushed,
  bad_metadata,
  uri_too_long,
  ip_denied,
  token_needed,
  token_expired,
  bad_host,
  bad_length,
  preflight,     // OPTIONS: what a cross-origin player may ask (CORS)
  no_segment,    // HLS: a segment or part outside the playlist's window
  hls_too_far,   // HLS: a blocking reload more than two segments ahead
  hls_too_late,  // HLS: what a blocking request waited for did not come in time
  count          // of the above
};

// The CORS lines of viewer answers for `origin` ("*" or "https://site"; empty: none).
std::string cors_headers(std::string_view origin);

// The answer to a request the parser refused.
answer answer_for(http_parse refused);

class answer_table {
 public:
  // Kept connections are told `Keep-Alive: timeout=<keep_alive_s>, max=<max_requests>`;
  // `redirect`: where answer::redirect sends viewers (a URL), when set; `cors`: header
  // lines every answer carries (cors_headers()).
  answer_table(uint32_t keep_alive_s, unsigned max_requests, const std::string& redirect,
               const std::string& cors = {});

  const canned_response& get(answer a, bool keep) const {
    return (keep ? kept_ : closing_)[static_cast<size_t>(a)];
  }

 private:
  std::array<canned_response, static_cast<size_t>(answer::count)> closing_, kept_;
};

}  // namespace gordo
