#include "load/m3u8.h"

#include <charconv>
#include <ctime>

namespace gordo::load {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

template <class T>
std::optional<T> number(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  return v;
}

// The value of attribute `name` in an attribute list (NAME=VALUE,NAME="VALUE",...),
// without its quotes; nullopt when absent.
std::optional<std::string_view> attribute(std::string_view list, std::string_view name) {
  size_t i = 0;
  while (i < list.size()) {
    size_t eq = list.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = list.substr(i, eq - i);
    size_t value_begin = eq + 1, value_end;
    if (value_begin < list.size() && list[value_begin] == '"') {
      size_t close = list.find('"', value_begin + 1);
      if (close == std::string_view::npos) return std::nullopt;
      if (key == name) return list.substr(value_begin + 1, close - value_begin - 1);
      value_end = close + 1;
    } else {
      value_end = std::min(list.find(',', value_begin), list.size());
      if (key == name) return list.substr(value_begin, value_end - value_begin);
    }
    i = list.find(',', value_end);
    if (i == std::string_view::npos) return std::nullopt;
    ++i;
  }
  return std::nullopt;
}

template <class F>
void for_each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace

void m3u8_media::clear() {
  target_duration = part_target = part_hold_back = 0;
  media_sequence = 0;
  can_block_reload = ended = false;
  segments.clear();
  preload_hint = {};
}

const m3u8_segment* m3u8_media::find(uint64_t msn) const {
  if (segments.empty() || msn < segments.front().msn) return nullptr;
  uint64_t i = msn - segments.front().msn;
  return i < segments.size() ? &segments[i] : nullptr;
}

bool parse_media_playlist(std::string_view text, m3u8_media& out) {
  // The segments (and their vectors of parts) of the last parse are reused, and resized
  // to what this one holds at the end: the same playlist a moment later allocates nothing.
  std::vector<m3u8_segment> segs;
  segs.swap(out.segments);
  out.clear();
  size_t used = 0;
  bool open = false;  // segs[used] has tags but no URI yet
  bool header = false, media = false;
  uint64_t skipped = 0;
  double pending_duration = 0;
  int64_t pending_wall = -1;
  auto current = [&]() -> m3u8_segment& {
    if (!open) {
      if (used == segs.size()) segs.emplace_back();
      m3u8_segment& s = segs[used];
      s.parts.clear();
      s.duration = 0;
      s.uri = {};
      s.wall_ms = -1;
      s.msn = out.media_sequence + skipped + used;
      open = true;
    }
    return segs[used];
  };
  for_each_line(text, [&](std::string_view line) {
    if (line.empty()) return;
    if (!header) {
      header = line == "#EXTM3U";
      return;
    }
    if (line[0] != '#') {  // a segment's URI
      m3u8_segment& s = current();
      s.uri = line;
      s.duration = pending_duration;
      if (pending_wall >= 0) s.wall_ms = pending_wall;
      pending_duration = 0;
      pending_wall = -1;
      ++used;
      open = false;
      return;
    }
    size_t colon = line.find(':');
    std::string_view tag = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (tag == "#EXTINF") {
      media = true;
      pending_duration = number<double>(value.substr(0, value.find(','))).value_or(0);
      current();
    } else if (tag == "#EXT-X-PART") {
      m3u8_part p;
      p.duration = number<double>(attribute(value, "DURATION").value_or("")).value_or(0);
      p.uri = attribute(value, "URI").value_or("");
      p.independent = attribute(value, "INDEPENDENT") == "YES";
      current().parts.push_back(p);
    } else if (tag == "#EXT-X-PROGRAM-DATE-TIME") {
      pending_wall = parse_date_time(value).value_or(-1);
      current();
    } else if (tag == "#EXT-X-TARGETDURATION") {
      media = true;
      out.target_duration = number<double>(value).value_or(0);
    } else if (tag == "#EXT-X-MEDIA-SEQUENCE") {
      out.media_sequence = number<uint64_t>(value).value_or(0);
    } else if (tag == "#EXT-X-SKIP") {
      skipped = number<uint64_t>(attribute(value, "SKIPPED-SEGMENTS").value_or("")).value_or(0);
    } else if (tag == "#EXT-X-PART-INF") {
      out.part_target = number<double>(attribute(value, "PART-TARGET").value_or("")).value_or(0);
    } else if (tag == "#EXT-X-SERVER-CONTROL") {
      out.can_block_reload = attribute(value, "CAN-BLOCK-RELOAD") == "YES";
      out.part_hold_back =
          number<double>(attribute(value, "PART-HOLD-BACK").value_or("")).value_or(0);
    } else if (tag == "#EXT-X-PRELOAD-HINT") {
      if (attribute(value, "TYPE") == "PART")
        out.preload_hint = attribute(value, "URI").value_or("");
    } else if (tag == "#EXT-X-ENDLIST") {
      out.ended = true;
    }
  });
  // A segment being made: parts listed, no URI yet (a lone PROGRAM-DATE-TIME is not one).
  if (open && !segs[used].parts.empty()) {
    if (pending_wall >= 0) segs[used].wall_ms = pending_wall;
    ++used;
  }
  segs.resize(used);
  out.segments.swap(segs);
  // A segment without its own PROGRAM-DATE-TIME follows on from the one before.
  for (size_t i = 1; i < out.segments.size(); ++i) {
    m3u8_segment& s = out.segments[i];
    const m3u8_segment& before = out.segments[i - 1];
    if (s.wall_ms < 0 && before.wall_ms >= 0 && before.complete())
      s.wall_ms = before.wall_ms + static_cast<int64_t>(before.duration * 1000 + 0.5);
  }
  return header && media;
}

bool is_multivariant(std::string_view text) {
  return text.find("#EXT-X-STREAM-INF") != std::string_view::npos;
}

std::optional<std::string_view> first_rendition(std::string_view text) {
  std::optional<std::string_view> found;
  bool next = false;
  for_each_line(text, [&](std::string_view line) {
    if (found || line.empty()) return;
    if (starts_with(line, "#EXT-X-STREAM-INF")) {
      next = true;
    } else if (next && line[0] != '#') {
      found = line;
    }
  });
  return found;
}

std::string resolve_uri(std::string_view base, std::string_view uri) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!starts_with(uri, scheme)) continue;
    size_t slash = uri.find('/', scheme.size());
    return slash == std::string_view::npos ? std::string("/") : std::string(uri.substr(slash));
  }
  if (starts_with(uri, "/")) return std::string(uri);
  base = base.substr(0, base.find('?'));
  size_t slash = base.rfind('/');
  std::string out = slash == std::string_view::npos ? std::string(1, '/')
                                                    : std::string(base.substr(0, slash + 1));
  out += uri;
  return out;
}

std::optional<int64_t> parse_date_time(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS: fixed positions.
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  auto field = [&](size_t at, size_t n) { return number<int>(s.substr(at, n)); };
  auto year = field(0, 4), month = field(5, 2), day = field(8, 2), hour = field(11, 2),
       minute = field(14, 2), second = field(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  tm t{};
  t.tm_year = *year - 1900;
  t.tm_mon = *month - 1;
  t.tm_mday = *day;
  t.tm_hour = *hour;
  t.tm_min = *minute;
  t.tm_sec = *second;
  int64_t ms = int64_t{timegm(&t)} * 1000;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    int64_t scale = 100;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10)
      ms += (s[i] - '0') * scale;
  }
  std::string_view zone = s.substr(i);
  if (zone.empty() || zone == "Z" || zone == "z") return ms;
  if (zone[0] != '+' && zone[0] != '-') return std::nullopt;
  auto hh = number<int>(zone.substr(1, 2));
  std::string_view rest = zone.substr(std::min<size_t>(3, zone.size()));
  if (!rest.empty() && rest[0] == ':') rest.remove_prefix(1);
  auto mm = rest.empty() ? std::optional<int>(0) : number<int>(rest);
  if (!hh || !mm) return std::nullopt;
  int64_t offset_ms = (int64_t{*hh} * 60 + *mm) * 60'000;
  return zone[0] == '+' ? ms - offset_ms : ms + offset_ms;
}

}  // namespace gordo::load
