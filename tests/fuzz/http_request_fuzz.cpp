// libFuzzer target: the HTTP request parser and what reads a parsed request (framing of
// pushes, Basic auth, query parameters, signed-URL checks). Bytes come straight from the
// network, so nothing here may crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gordo/media/push.h"
#include "gordo/net/http_request.h"
#include "gordo/net/signed_url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  gordo::http_request req;
  gordo::http_parse result = gordo::parse_http_request(text, req);
  if (result != gordo::http_parse::complete) return 0;
  // Every view lies inside the input.
  auto inside = [&](std::string_view v) {
    return v.empty() ||
           (v.data() >= text.data() && v.data() + v.size() <= text.data() + text.size());
  };
  if (req.head_length > size || !inside(req.method) || !inside(req.target) || !inside(req.path) ||
      !inside(req.query) || req.header_count > gordo::http_request::max_headers)
    std::abort();
  for (size_t i = 0; i < req.header_count; ++i)
    if (!inside(req.headers[i].name) || !inside(req.headers[i].value)) std::abort();
  gordo::push_connection push;
  gordo::push_framing(req.content_length, req.header("transfer-encoding"), req.header("expect"),
                      push);
  gordo::has_token(req.header("connection"), "keep-alive");
  gordo::basic_password(req.header("authorization"));
  gordo::query_param(req.query, "song");
  gordo::check_url_token("a fuzzing secret, long enough", req.path, req.query, "192.0.2.1",
                         1'000'000'000);
  return 0;
}
