#include "gordo/http/router.h"

#include <charconv>

#include "gordo/http/pages.h"
#include "gordo/http/www.h"

namespace gordo {

namespace {

template <class T>
bool read_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// The query without _HLS_ parameters, in its order.
std::string without_hls(std::string_view query) {
  std::string out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty() || pair.substr(0, 5) == "_HLS_") continue;
    if (!out.empty()) out += '&';
    out += pair;
  }
  return out;
}

}  // namespace

std::optional<hls_target> parse_hls_path(std::string_view path, std::string_view query) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view file = path.substr(slash + 1);
  hls_target t;
  t.query = without_hls(query);
  if (file == "index.m3u8") {
    t.kind = hls_kind::playlist;
    t.mount = path.substr(0, slash);
    if (auto msn = query_param(query, "_HLS_msn")) {
      t.want_msn.emplace();
      t.bad_query |= !read_number(*msn, *t.want_msn);
    }
    if (auto part = query_param(query, "_HLS_part")) {
      t.want_part.emplace();
      t.bad_query |= !read_number(*part, *t.want_part) || !t.want_msn;
    }
    if (auto skip = query_param(query, "_HLS_skip")) t.skip = *skip == "YES" || *skip == "v2";
    return t;
  }
  if (file.size() > 5 && file.substr(file.size() - 5) == ".m3u8") {
    t.kind = hls_kind::multivariant;
    t.mount = path;
    return t;
  }
  // RUN-init0.mp4, RUN-12.ts, RUN-12.m4s, RUN-12.3.ts, RUN-12.3.m4s
  size_t dash = file.find('-');
  size_t dot = file.rfind('.');
  if (dash == std::string_view::npos || dash == 0 || dot == std::string_view::npos || dot < dash)
    return std::nullopt;
  t.run = file.substr(0, dash);
  t.mount = path.substr(0, slash);
  std::string_view name = file.substr(dash + 1, dot - dash - 1);
  std::string_view ext = file.substr(dot);
  if (name.substr(0, 4) == "init" && ext == ".mp4") {
    t.kind = hls_kind::init;
    if (!read_number(name.substr(4), t.part)) return std::nullopt;
    return t;
  }
  if (ext != ".ts" && ext != ".m4s") return std::nullopt;
  t.extension = ext;
  size_t inner = name.find('.');
  if (inner == std::string_view::npos) {
    t.kind = hls_kind::segment;
    if (!read_number(name, t.msn)) return std::nullopt;
    return t;
  }
  t.kind = hls_kind::part;
  if (!read_number(name.substr(0, inner), t.msn) || !read_number(name.substr(inner + 1), t.part))
    return std::nullopt;
  return t;
}

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
    if (req.path == "/") {
      r.kind = route::page;
      r.which_page = page_kind::list;
    } else if (req.path.substr(0, www_prefix.size()) == www_prefix) {
      r.kind = route::page;
      r.which_page = page_kind::file;
    } else if (auto mount = player_mount(req.path)) {
      r.kind = route::page;
      r.which_page = page_kind::player;
      r.mount = *mount;
    } else if (auto hls = parse_hls_path(req.path, req.query)) {
      r.kind = route::hls;
      r.target = std::move(*hls);
    }
  } else if (m == "OPTIONS") {
    r.refused = answer::preflight;  // CORS: answered from the table, for any path
  }
  return r;
}

}  // namespace gordo
