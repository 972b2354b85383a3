// The monotonic clock in nanoseconds: what feed items, sources and the recorder stamp
// their times with, so that all of them can be compared.
#pragma once

#include <cstdint>
#include <ctime>

namespace gordo {

inline int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

}  // namespace gordo
