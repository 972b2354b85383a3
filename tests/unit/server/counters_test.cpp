#include "gordo/server/counters.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

namespace gordo {
namespace {

bool is_name(std::string_view s, std::string_view also = "") {
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          also.find(c) != also.npos))
      return false;
  return !s.empty();
}

// Rules every row of a table keeps; `json_keys` and `metrics` collect the names that must
// be unique (JSON keys within one object, metric names across all tables).
template <class Live, class Copy, size_t n>
void check_rows(const counter_row<Live, Copy> (&table)[n], std::set<std::string>& json_keys,
                std::set<std::string>& metrics) {
  for (const auto& row : table) {
    SCOPED_TRACE(std::string(row.help));
    EXPECT_TRUE(!row.json.empty() || !row.metric.empty() || !row.words.empty()) << "shown nowhere";
    EXPECT_FALSE(row.help.empty());
    if (!row.json.empty()) {
      EXPECT_TRUE(is_name(row.json)) << row.json;
      EXPECT_TRUE(json_keys.insert(std::string(row.json)).second) << "twice: " << row.json;
    }
    if (!row.metric.empty()) {
      EXPECT_TRUE(is_name(row.metric)) << row.metric;
      EXPECT_TRUE(metrics.insert(std::string(row.metric)).second) << "twice: " << row.metric;
      bool total = row.metric.ends_with("_total");
      EXPECT_EQ(total, row.type == metric_type::counter)
          << row.metric << ": counters, and only they, end in _total";
    }
    // tests/integration/harness.py reads the shutdown line as "<number> <words>" pairs.
    if (!row.words.empty()) {
      EXPECT_TRUE(is_name(row.words, " ") && row.words.find('_') == row.words.npos) << row.words;
    }
  }
}

TEST(counters, rows_are_well_formed_and_names_unique) {
  std::set<std::string> worker_keys, mount_keys, metrics;
  check_rows(worker_counter_table, worker_keys, metrics);
  check_rows(zerocopy_counter_table, worker_keys, metrics);  // the same JSON object
  check_rows(mount_counter_table, mount_keys, metrics);
  // Keys /stats sets beside the table's in a worker's object.
  for (const char* own : {"id", "cpu", "engine", "uring_mode", "zerocopy", "cq_overflows"})
    EXPECT_FALSE(worker_keys.count(own)) << own;
  for (const auto& row : mount_counter_table) EXPECT_TRUE(row.words.empty());
}

// Distinct values in every live counter of a table come out, each in its own row's copy.
template <class Live, class Copy, size_t n>
void expect_copied(const counter_row<Live, Copy> (&table)[n]) {
  Live live;
  for (size_t i = 0; i < n; ++i) (live.*table[i].live).store(10 + i);
  Copy copy = copy_counters(live);
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(copy.*table[i].copy, 10 + i) << table[i].help;
  static_assert(sizeof(Copy) == n * sizeof(uint64_t),
                "a copy holds the table's rows and nothing else");
}

TEST(counters, copies_take_every_row) {
  expect_copied(worker_counter_table);
  expect_copied(zerocopy_counter_table);
  expect_copied(mount_counter_table);
}

TEST(counters, incrementing_by_name_reaches_the_copy) {
  worker_counters w;
  w.accepted.fetch_add(1, std::memory_order_relaxed);
  w.overflows.fetch_add(2, std::memory_order_relaxed);
  w.ticks.store(9, std::memory_order_relaxed);  // stored, not added: the loop's tick count
  worker_counts c = copy_counters(w);
  EXPECT_EQ(c.accepted, 1u);
  EXPECT_EQ(c.overflows, 2u);
  EXPECT_EQ(c.ticks, 9u);
  EXPECT_EQ(c.viewers, 0u);
}

TEST(counters, a_mount_sums_its_workers_counts_but_keeps_the_largest_ring) {
  mount_counts a, b, sum;
  for (size_t i = 0; i < std::size(mount_counter_table); ++i) {
    a.*mount_counter_table[i].copy = 1 + i;
    b.*mount_counter_table[i].copy = 100 + i;
  }
  combine_into(sum, a);
  combine_into(sum, b);
  for (size_t i = 0; i < std::size(mount_counter_table); ++i) {
    const auto& row = mount_counter_table[i];
    EXPECT_EQ(sum.*row.copy, row.how == combine::max ? 100 + i : 101 + 2 * i) << row.json;
  }
  EXPECT_EQ(sum.chunks_in_ring, 100 + 1u);  // per worker: the largest
  EXPECT_EQ(sum.bytes_out, 101u);
}

TEST(counters, the_shutdown_line_has_every_row_with_words) {
  worker_counts w;
  for (size_t i = 0; i < std::size(worker_counter_table); ++i)
    w.*worker_counter_table[i].copy = 10 + i;
  std::string line = describe(w);
  size_t pairs = 0;
  for (size_t i = 0; i < std::size(worker_counter_table); ++i) {
    const auto& row = worker_counter_table[i];
    if (row.words.empty()) continue;
    ++pairs;
    std::string pair = std::to_string(10 + i) + " " + std::string(row.words);
    EXPECT_NE(line.find(pair), line.npos) << pair << " in " << line;
  }
  EXPECT_EQ(std::count(line.begin(), line.end(), ','), static_cast<std::ptrdiff_t>(pairs - 1))
      << line;

  zerocopy_counts zc;
  zc.sends = 3;
  zc.fixed_sends = 1;
  zc.notified = 2;
  EXPECT_EQ(describe(zc), "3 sends, 1 fixed, 2 notified, 0 copied");
}

}  // namespace
}  // namespace gordo
