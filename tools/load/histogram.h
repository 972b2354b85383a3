// Samples counted in fixed-width bins (clamped at both ends), for percentiles of millions
// of samples in fixed memory: every part every viewer receives is one.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace gordo::load {

class histogram {
 public:
  histogram(double low, double high, double width)
      : low_(low), width_(width), bins_(static_cast<size_t>((high - low) / width) + 1) {}

  void add(double v) {
    double i = std::floor((v - low_) / width_);
    bins_[static_cast<size_t>(std::clamp(i, 0.0, static_cast<double>(bins_.size() - 1)))]++;
    ++count_;
  }
  uint64_t count() const { return count_; }
  // The p-th percentile (0–100) as the middle of its bin; NaN when empty.
  double percentile(double p) const {
    if (count_ == 0) return NAN;
    auto want = static_cast<uint64_t>(std::ceil(p / 100 * static_cast<double>(count_)));
    want = std::max<uint64_t>(want, 1);
    uint64_t seen = 0;
    for (size_t i = 0; i < bins_.size(); ++i) {
      seen += bins_[i];
      if (seen >= want) return low_ + (static_cast<double>(i) + 0.5) * width_;
    }
    return low_ + (static_cast<double>(bins_.size()) - 0.5) * width_;
  }

 private:
  double low_, width_;
  std::vector<uint64_t> bins_;
  uint64_t count_ = 0;
};

}  // namespace gordo::load
