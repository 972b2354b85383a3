#include "gordo/http/answers.h"

#include <fmt/format.h>

#include "gordo/net/http_response.h"

namespace gordo {

canned_response make_canned(int status, std::string_view body, std::string_view extra_headers,
                            std::string_view connection, std::string_view content_type) {
  canned_response r;
  r.text = http_response(status, status == 204 ? std::string_view() : content_type, body,
                         extra_headers, connection);
  r.status = status;
  r.head_bytes = static_cast<uint32_t>(r.text.find("\r\n\r\n") + 4);
  return r;
}

std::string cors_headers(std::string_view origin) {
  if (origin.empty()) return {};
  std::string lines = fmt::format("Access-Control-Allow-Origin: {}\r\n", origin);
  if (origin != "*") lines += "Vary: Origin\r\n";
  return lines;
}

answer answer_for(http_parse refused) {
  switch (refused) {
    case http_parse::too_many_fields:
      return answer::too_large;
    case http_parse::bad_version:
      return answer::bad_version;
    case http_parse::uri_too_long:
      return answer::uri_too_long;
    case http_parse::bad_host:
      return answer::bad_host;
    case http_parse::bad_length:
      return answer::bad_length;
    case http_parse::bad_request:
    case http_parse::complete:
    case http_parse::incomplete:
      break;
  }
  return answer::bad_request;
}

answer_table::answer_table(uint32_t keep_alive_s, unsigned max_requests,
                           const std::string& redirect, const std::string& cors) {
  struct spec {
    answer what;
    int status;
    std::string body;
    std::string extra = {};
    const char* type = "text/plain; charset=utf-8";
  };
  const spec specs[] = {
      {answer::bad_request, 400, "malformed HTTP request"},
      {answer::not_found, 404, "no such mount"},
      {answer::bad_method, 405,
       "only GET, HEAD and OPTIONS (and PUT, POST or SOURCE from an encoder) are allowed",
       "Allow: GET, HEAD, OPTIONS, PUT, POST, SOURCE\r\n"},
      {answer::timeout, 408, "the request head did not arrive in time"},
      {answer::too_large, 431, "request head too large"},
      {answer::ended, 503, "the source of this mount has ended"},
      {answer::full, 503, "server full: too many viewers or too much bandwidth",
       "Retry-After: 10\r\n"},
      {answer::redirect, 302, "server full: try " + redirect, "Location: " + redirect + "\r\n"},
      {answer::bad_version, 505, "only HTTP/1.0 and HTTP/1.1 are supported"},
      {answer::offline, 503, "the source of this mount is not live; try again shortly",
       "Retry-After: 5\r\n"},
      {answer::unauthorized, 401, "this mount needs the source password",
       "WWW-Authenticate: Basic realm=\"gordo source\"\r\n"},
      {answer::push_busy, 409, "another encoder is pushing to this mount"},
      {answer::not_push, 405, "this mount pulls its source; it takes no pushes",
       "Allow: GET, HEAD\r\n"},
      // What Icecast answers its sources' metadata updates.
      {answer::metadata_updated, 200,
       "<?xml version=\"1.0\"?>\n<iceresponse><message>Metadata update successful</message>"
       "<return>1</return></iceresponse>",
       "", "text/xml"},
      {answer::not_pushed, 403, "this mount pulls its source; its title comes from there"},
      {answer::bad_metadata, 400, "give mode=updinfo, mount=PATH and song=TITLE"},
      {answer::uri_too_long, 414, "request line too long"},
      {answer::ip_denied, 403, "your address may not watch this mount"},
      {answer::token_needed, 403, "this mount needs a signed link"},
      {answer::token_expired, 403, "this link has expired"},
      {answer::bad_host, 400, std::string(http_parse_error(http_parse::bad_host))},
      {answer::bad_length, 400, std::string(http_parse_error(http_parse::bad_length))},
      {answer::preflight, 204, "",
       "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n"
       "Access-Control-Allow-Headers: Range, Icy-MetaData\r\nAccess-Control-Max-Age: 86400\r\n"},
      {answer::no_segment, 404, "no such segment: it is not in the playlist's window"},
      {answer::hls_too_far, 400, "_HLS_msn is more than two segments ahead of the playlist"},
      {answer::hls_too_late, 503, "what was asked for did not come within three target durations",
       "Retry-After: 1\r\n"},
  };
  static_assert(std::size(specs) == static_cast<size_t>(answer::count));
  std::string keep_alive =
      fmt::format("Keep-Alive: timeout={}, max={}\r\n", keep_alive_s, max_requests);
  for (const spec& s : specs) {
    auto i = static_cast<size_t>(s.what);
    std::string body = s.status == 204 ? "" : s.body + "\n";
    closing_[i] = make_canned(s.status, body, s.extra + cors, "close", s.type);
    kept_[i] = make_canned(s.status, body, s.extra + cors + keep_alive, "keep-alive", s.type);
  }
}

}  // namespace gordo
