// Which handler a request on the viewer port goes to, decided from its method, path and
// query alone; the handlers (server/worker_http.cpp) find the mount and answer. A new
// kind of request (an HLS playlist, a segment) is a new route here and a new handler.
#pragma once

#include <optional>
#include <string>

#include "gordo/http/answers.h"
#include "gordo/net/http_request.h"

namespace gordo {

struct route {
  enum kind_t : uint8_t {
    watch,     // GET or HEAD of a mount: the stream (or its head)
    push,      // PUT, POST or SOURCE: an encoder's upload to a push mount
    metadata,  // Icecast's GET /admin/metadata?mode=updinfo&mount=PATH&song=TITLE
    refuse,    // answered at once with `refused`
  } kind = refuse;
  answer refused = answer::bad_method;
  bool head_only = false;  // watch: HEAD
  bool icy = false;        // watch: the player asks for ICY metadata (Icy-MetaData: 1)
  std::string mount;       // metadata: the mount to retitle
  std::string title;       // metadata: the new title
};

route route_request(const http_request& req);

}  // namespace gordo
