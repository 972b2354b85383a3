// The viewer port's pages (--player-page): GET / lists the mounts, GET /<mount>/player
// plays one (www/player.js picks hls.js, mpegts.js, MSE or a plain element for its format).
// Written from what the worker knows of its mounts; scripts and styles are www/'s.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gordo {

// A mount as its pages show it.
struct page_mount {
  std::string path;          // "/live.ts"
  std::string content_type;  // "video/mp2t"
  std::string hls;           // its multivariant playlist ("/live.m3u8"); empty: no HLS
  std::string codecs;        // RFC 6381 ("avc1.64001f,mp4a.40.2"); empty: not known yet
  bool live = false;         // its source is up
  uint64_t viewers = 0;      // across all workers (HLS viewers not counted)
};

// The page's path for a mount: a file under the mount's path, where HLS keeps its
// playlists and segments, and where no HLS name ("index.m3u8", "RUN-12.ts") can be.
constexpr std::string_view player_suffix = "/player";
// The mount a player page's path names ("/live.ts/player" -> "/live.ts"), if it is one.
std::optional<std::string_view> player_mount(std::string_view path);

std::string mount_list_page(const std::vector<page_mount>& mounts);
std::string player_page(const page_mount& m);

// `text` with &, <, >, " and ' escaped for HTML text and attribute values.
std::string html_escape(std::string_view text);

}  // namespace gordo
