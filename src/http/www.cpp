#include "gordo/http/www.h"

namespace gordo {

const www_file* www_by_url(std::string_view url) {
  if (url.substr(0, www_prefix.size()) != www_prefix) return nullptr;
  for (const www_file& f : www_files())
    if (f.url == url) return &f;
  return nullptr;
}

const www_file* www_by_name(std::string_view name) {
  for (const www_file& f : www_files())
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace gordo
