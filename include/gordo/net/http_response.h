// HTTP/1.1 response heads and short error responses, built once and sent as is.
#pragma once

#include <string>
#include <string_view>

namespace gordo {

// A complete response with Content-Length and `Connection: <connection>`.
// `extra_headers` are whole lines, each ending in CRLF.
std::string http_response(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers = {},
                          std::string_view connection = "close");

// http_response() with a short text body (a line end is added).
std::string http_error(int status, std::string_view body, std::string_view extra_headers = {},
                       std::string_view connection = "close");

// The head of a live stream response: no length, ends when the connection closes.
std::string http_stream_head(std::string_view content_type, std::string_view extra_headers = {});

std::string_view http_reason(int status);

}  // namespace gordo
