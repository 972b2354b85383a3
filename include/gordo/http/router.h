// Which handler a request on the viewer port goes to, decided from its method, path and
// query alone; the handlers (server/worker_http.cpp) find the mount and answer. A new
// kind of request (an HLS playlist, a segment) is a new route here and a new handler.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "gordo/http/answers.h"
#include "gordo/net/http_request.h"

namespace gordo {

// What an HLS request names. A mount /live.ts offered as HLS has its multivariant playlist
// at /live.m3u8 and the rest under /live.ts/: index.m3u8 (the media playlist), and for
// each run of its stream RUN-init0.mp4 (fMP4's init section), RUN-12.ts or RUN-12.m4s (a
// segment) and RUN-12.3.ts (a part). RUN changes when the stream is made anew, so that a
// cache never mixes two runs' segment 12.
enum class hls_kind : uint8_t { multivariant, playlist, init, segment, part };
struct hls_target {
  hls_kind kind = hls_kind::playlist;
  std::string mount;      // multivariant: the playlist's path; else the mount's ("/live.ts")
  std::string run;        // init, segment, part
  uint64_t msn = 0;       // segment, part
  uint32_t part = 0;      // part: its index; init: the init section's number
  std::string extension;  // segment, part: ".ts" or ".m4s"
  // playlist: a blocking reload (_HLS_msn, _HLS_part) and a delta update (_HLS_skip=YES).
  std::optional<uint64_t> want_msn;
  std::optional<uint32_t> want_part;
  bool skip = false;
  bool bad_query = false;  // an _HLS_ parameter that is not a number, or _HLS_part alone
  // The request's query without its _HLS_ parameters (a signed URL's token): every URI
  // of the answer carries it, so that the viewer may fetch what the playlist lists.
  std::string query;
};

// The HLS resource `path` names, if its last component looks like one.
std::optional<hls_target> parse_hls_path(std::string_view path, std::string_view query);

// What a page request names (http/pages.h, http/www.h): GET / (the mounts), a mount's
// player page (/live.ts/player), or an embedded file (/_gordo/...).
enum class page_kind : uint8_t { list, player, file };

struct route {
  enum kind_t : uint8_t {
    watch,     // GET or HEAD of a mount: the stream (or its head)
    push,      // PUT, POST or SOURCE: an encoder's upload to a push mount
    metadata,  // Icecast's GET /admin/metadata?mode=updinfo&mount=PATH&song=TITLE
    hls,       // GET or HEAD of an HLS playlist, init section, segment or part (maybe:
               // a mount whose path looks like one is watched instead)
    page,      // GET or HEAD of a page or its files (maybe: a mount of that path is
               // watched instead)
    refuse,    // answered at once with `refused`
  } kind = refuse;
  answer refused = answer::bad_method;
  bool head_only = false;  // watch: HEAD
  bool icy = false;        // watch: the player asks for ICY metadata (Icy-MetaData: 1)
  std::string mount;       // metadata: the mount to retitle; page (player): the mount played
  page_kind which_page = page_kind::list;  // page
  std::string title;                       // metadata: the new title
  hls_target target;                       // hls
};

route route_request(const http_request& req);

}  // namespace gordo
