#include "gordo/http/pages.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "gordo/http/www.h"
#include "gordo_version.h"

namespace gordo {

namespace {

std::string url_of(std::string_view name) {
  const www_file* f = www_by_name(name);
  return f ? std::string(f->url) : std::string();
}

std::string head(std::string_view title) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{}</title>\n<link rel=\"stylesheet\" href=\"{}\">\n</head>\n<body>\n",
      html_escape(title), url_of("pages.css"));
}

std::string_view format_name(std::string_view content_type) {
  if (content_type == "video/mp2t") return "MPEG-TS";
  if (content_type == "video/x-flv") return "FLV";
  if (content_type == "video/mp4") return "fragmented MP4";
  if (content_type == "video/webm") return "WebM";
  if (content_type == "video/x-matroska") return "Matroska";
  if (content_type == "audio/aac") return "AAC (ADTS)";
  if (content_type == "audio/mpeg") return "MP3";
  if (content_type == "audio/ogg") return "Ogg";
  return content_type;
}

}  // namespace

std::optional<std::string_view> player_mount(std::string_view path) {
  if (path.size() <= player_suffix.size() + 1 ||
      path.substr(path.size() - player_suffix.size()) != player_suffix)
    return std::nullopt;
  return path.substr(0, path.size() - player_suffix.size());
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string mount_list_page(const std::vector<page_mount>& mounts) {
  std::string out = head("gordo");
  out += "<h1>gordo</h1>\n";
  if (mounts.empty()) out += "<p>No mounts.</p>\n";
  out +=
      "<table id=\"mounts\">\n<tr><th>Mount</th><th>Format</th><th>Source</th>"
      "<th>Viewers</th><th>Stream</th></tr>\n";
  for (const page_mount& m : mounts) {
    std::string path = html_escape(m.path);
    out += fmt::format(
        "<tr class=\"mount\" data-path=\"{0}\"><td><a href=\"{0}{1}\">{0}</a></td>"
        "<td>{2}{3}</td><td class=\"{4}\">{4}</td><td class=\"viewers\">{5}</td>"
        "<td><a href=\"{0}\">stream</a>{6}</td></tr>\n",
        path, player_suffix, html_escape(format_name(m.content_type)), m.hls.empty() ? "" : ", HLS",
        m.live ? "live" : "offline", m.viewers,
        m.hls.empty() ? "" : fmt::format(" <a href=\"{}\">m3u8</a>", html_escape(m.hls)));
  }
  out += "</table>\n<p class=\"footer\">gordo " GORDO_VERSION "</p>\n</body></html>\n";
  return out;
}

std::string player_page(const page_mount& m) {
  nlohmann::json config = {{"path", m.path},
                           {"type", m.content_type},
                           {"hls", m.hls},
                           {"codecs", m.codecs},
                           {"live", m.live},
                           {"hls_js", url_of("vendor/hls.js/hls.min.js")},
                           {"mpegts_js", url_of("vendor/mpegts.js/mpegts.js")}};
  // In a <script>, "</script>" in a mount's path would end it: JSON may spell < as \u003c.
  std::string json;
  for (char c : config.dump()) json += c == '<' ? std::string("\\u003c") : std::string(1, c);
  std::string out = head(m.path);
  out += fmt::format(
      "<p><a href=\"/\">all mounts</a></p>\n<h1>{}</h1>\n"
      "<div id=\"player\"></div>\n"
      "<p id=\"status\">Behind live: <span id=\"behind\">-</span> &middot; "
      "<span id=\"how\"></span> &middot; <span id=\"state\">starting</span></p>\n"
      "<script id=\"config\" type=\"application/json\">{}</script>\n"
      "<script src=\"{}\"></script>\n</body></html>\n",
      html_escape(m.path), json, url_of("player.js"));
  return out;
}

}  // namespace gordo
