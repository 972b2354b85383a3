#include "gordo/http/router.h"

namespace gordo {

route route_request(const http_request& req) {
  route r;
  const std::string_view m = req.method;
  if (m == "PUT" || m == "POST" || m == "SOURCE") {
    r.kind = route::push;
  } else if (m == "GET" && req.path == "/admin/metadata") {
    std::optional<std::string> mode = query_param(req.query, "mode");
    std::optional<std::string> mount = query_param(req.query, "mount");
    std::optional<std::string> song = query_param(req.query, "song");
    if (mode != "updinfo" || !mount || mount->empty() || !song) {
      r.refused = answer::bad_metadata;
      return r;
    }
    r.kind = route::metadata;
    r.mount = std::move(*mount);
    r.title = std::move(*song);
  } else if (m == "GET" || m == "HEAD") {
    r.kind = route::watch;
    r.head_only = m == "HEAD";
    r.icy = req.header("icy-metadata") == "1";
  }
  return r;
}

}  // namespace gordo
