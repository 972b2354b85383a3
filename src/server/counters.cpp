#include "gordo/server/counters.h"

#include <algorithm>

namespace gordo {

const char* to_string(metric_type t) {
  return t == metric_type::counter ? "counter" : "gauge";
}

void combine_into(mount_counts& into, const mount_counts& from) {
  for (const auto& row : mount_counter_table) {
    uint64_t& to = into.*row.copy;
    to = row.how == combine::max ? std::max(to, from.*row.copy) : to + from.*row.copy;
  }
}

namespace {

template <class Live, class Copy, size_t n>
std::string words(const Copy& c, const counter_row<Live, Copy> (&table)[n]) {
  std::string out;
  for (const auto& row : table) {
    if (row.words.empty()) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(c.*row.copy);
    out += ' ';
    out += row.words;
  }
  return out;
}

}  // namespace

std::string describe(const worker_counts& c) {
  return words(c, worker_counter_table);
}
std::string describe(const zerocopy_counts& c) {
  return words(c, zerocopy_counter_table);
}

}  // namespace gordo
