#include "gordo/server/record_files.h"

#include <algorithm>

namespace gordo {

namespace {

// Where "-n" goes in a name: before the last extension of its last component, else at
// the end.
size_t suffix_at(const std::string& name) {
  size_t slash = name.rfind('/');
  size_t dot = name.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) ||
      dot == (slash == std::string::npos ? 0 : slash + 1))
    return name.size();
  return dot;
}

// What strftime writes for a conversion, as a regular expression.
std::string conversion_re(char c) {
  switch (c) {
    case 'Y':
    case 'G':
      return "[0-9]{4}";
    case 'C':
    case 'y':
    case 'g':
    case 'm':
    case 'd':
    case 'H':
    case 'I':
    case 'M':
    case 'S':
    case 'U':
    case 'V':
    case 'W':
      return "[0-9]{2}";
    case 'e':
      return "[ 0-9][0-9]";
    case 'j':
      return "[0-9]{3}";
    case 'u':
    case 'w':
      return "[0-9]";
    case 's':
      return "[0-9]+";
    case 'F':
      return "[0-9]{4}-[0-9]{2}-[0-9]{2}";
    case 'T':
      return "[0-9]{2}:[0-9]{2}:[0-9]{2}";
    case 'R':
      return "[0-9]{2}:[0-9]{2}";
    case 'z':
      return "[-+][0-9]{4}";
    case '%':
      return "%";
    default:  // names of days and months, %Z, %p...: anything within one component
      return "[^/]*";
  }
}

std::string escaped(char c) {
  static const std::string special = R"(\^$.|?*+()[]{})";
  return special.find(c) == std::string::npos ? std::string(1, c) : std::string("\\") + c;
}

}  // namespace

std::string record_file_name(const std::string& templ, std::time_t when, unsigned n) {
  std::tm tm{};
  localtime_r(&when, &tm);
  // A conversion writes at most a few dozen bytes: give room for every one being long.
  std::string out(templ.size() * 16 + 64, '\0');
  size_t len = templ.empty() ? 0 : std::strftime(out.data(), out.size(), templ.c_str(), &tm);
  out.resize(len);
  if (n > 0) {
    size_t at = suffix_at(out);
    out = out.substr(0, at) + "-" + std::to_string(n) + out.substr(at);
  }
  return out;
}

std::string record_base_dir(const std::string& templ) {
  size_t conv = templ.find('%');
  size_t slash = templ.rfind('/', conv == std::string::npos ? std::string::npos : conv);
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return templ.substr(0, slash);
}

record_matcher::record_matcher(const std::string& templ) {
  // The "-n" of a taken name goes before the template's last literal '.', as in
  // record_file_name (a conversion's output holds no '.' where it matters).
  size_t at = suffix_at(templ);
  std::string re;
  for (size_t i = 0; i < templ.size(); ++i) {
    if (i == at) re += "(-[0-9]+)?";
    char c = templ[i];
    if (c != '%' || i + 1 == templ.size()) {
      re += escaped(c);
      continue;
    }
    char k = templ[++i];
    if ((k == 'E' || k == 'O') && i + 1 < templ.size()) k = templ[++i];
    re += conversion_re(k);
  }
  if (at == templ.size()) re += "(-[0-9]+)?";
  re_ = std::regex(re, std::regex::extended);
}

bool record_matcher::matches(const std::string& path) const {
  return std::regex_match(path, re_);
}

std::vector<record_file> record_expired(std::vector<record_file> files, int64_t now_ns,
                                        int64_t keep_ns, uint64_t free_bytes, uint64_t min_free) {
  std::sort(files.begin(), files.end(),
            [](const record_file& a, const record_file& b) { return a.mtime_ns < b.mtime_ns; });
  std::vector<record_file> out;
  for (record_file& f : files) {
    bool old = keep_ns > 0 && now_ns - f.mtime_ns > keep_ns;
    if (!old && free_bytes >= min_free) break;  // oldest first: the rest are newer
    free_bytes = free_bytes > UINT64_MAX - f.size ? UINT64_MAX : free_bytes + f.size;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace gordo
