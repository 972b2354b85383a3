#include "gordo/net/http_response.h"

#include <fmt/format.h>

#include "gordo_version.h"

namespace gordo {

std::string_view http_reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string http_response(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers, std::string_view connection) {
  if (status == 204)  // no body, so neither a type nor a length (RFC 9110 §8.6)
    return fmt::format("HTTP/1.1 204 No Content\r\nServer: gordo/" GORDO_VERSION
                       "\r\nConnection: {}\r\n{}\r\n",
                       connection, extra_headers);
  return fmt::format("HTTP/1.1 {} {}\r\nServer: gordo/" GORDO_VERSION
                     "\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
                     "Cache-Control: no-cache\r\nConnection: {}\r\n{}\r\n{}",
                     status, http_reason(status), content_type, body.size(), connection,
                     extra_headers, body);
}

std::string http_error(int status, std::string_view body, std::string_view extra_headers,
                       std::string_view connection) {
  return http_response(status, "text/plain; charset=utf-8", std::string(body) + "\n", extra_headers,
                       connection);
}

std::string http_stream_head(std::string_view content_type, std::string_view extra_headers) {
  return fmt::format("HTTP/1.1 200 OK\r\nServer: gordo/" GORDO_VERSION
                     "\r\nContent-Type: {}\r\nCache-Control: no-cache, no-store\r\n"
                     "Pragma: no-cache\r\n{}Connection: close\r\n\r\n",
                     content_type, extra_headers);
}

}  // namespace gordo
