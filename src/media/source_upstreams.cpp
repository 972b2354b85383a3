// A pull source's upstreams: opening the first that answers, failing over and
// reconnecting with backoff (see source.h).
#include <spdlog/spdlog.h>

#include <random>

#include "gordo/media/source.h"

namespace gordo {

std::string source::upstream() const {
  std::lock_guard lock(mu_);
  return urls_.empty() ? spec_.label : without_credentials(urls_[upstream_]);
}

void source::set_urls(std::vector<std::string> urls) {
  std::lock_guard lock(mu_);
  if (urls.empty() || urls_.empty() || urls == urls_) return;  // not a pull source, or no change
  auto same = std::find(urls.begin(), urls.end(), urls_[upstream_]);
  upstream_ = same == urls.end() ? 0 : static_cast<size_t>(same - urls.begin());
  urls_ = std::move(urls);
}

std::unique_ptr<input> source::open_first(const std::vector<size_t>& order, std::string& errors) {
  errors.clear();
  for (size_t i : order) {
    if (stop_) break;
    source_spec one = spec_;
    {
      std::lock_guard lock(mu_);
      if (i >= urls_.size()) continue;  // the list shrank meanwhile
      one.url = urls_[i];
    }
    one.label = without_credentials(one.url);
    std::string error;
    if (auto in = input::open(one, interrupt(), error)) {
      std::lock_guard lock(mu_);
      upstream_ = i;
      return in;
    }
    errors += (errors.empty() ? "" : "; ") + error;
  }
  return nullptr;
}

// A network source that failed or went quiet: open it again, waiting 0.5 s, 1 s, 2 s ...
// up to 30 s (each ±20%) between attempts, until it is back or gordo stops. With
// alternates, the first attempt is at once and tries those after the one that failed
// first (a failover); later ones try every URL from the first. `first_open` (a source
// opened by its thread): every URL from the first, at once, then as above.
bool source::reconnect(bool first_open) {
  std::minstd_rand jitter(
      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::chrono::milliseconds wait{500};
  size_t failed = 0;
  {
    std::lock_guard lock(mu_);
    failed = upstream_;
  }
  for (unsigned attempt = 1; !stop_; ++attempt) {
    size_t n = 0;
    {
      std::lock_guard lock(mu_);
      n = urls_.size();  // a relay may change the list meanwhile
    }
    bool at_once = attempt == 1 && (first_open || n > 1);
    bool failover = attempt == 1 && !first_open && n > 1;
    std::vector<size_t> order;
    for (size_t k = 0; k < n; ++k) order.push_back(failover ? (failed + 1 + k) % n : k);
    if (!at_once && !sleep_for(wait * (80 + static_cast<int>(jitter() % 41)) / 100)) return false;
    std::string error;
    if (auto in = open_first(order, error)) {
      std::string now = upstream();
      bool moved = false;
      {
        std::lock_guard lock(mu_);
        moved = upstream_ != failed;
      }
      if (first_open && attempt == 1)
        spdlog::info("source {}: connected to {}", who(), now);
      else if (moved)
        spdlog::warn("source {} fails over to {} after {} attempt{}", who(), now, attempt,
                     attempt == 1 ? "" : "s");
      else
        spdlog::info("source {} is back after {} attempt{}", who(), attempt,
                     attempt == 1 ? "" : "s");
      adopt(std::move(in));
      return true;
    }
    if (attempt == 1 || attempt % 10 == 0)
      spdlog::warn("source {}: reconnecting: {}", who(), error);
    wait = std::min<std::chrono::milliseconds>(wait * 2, std::chrono::seconds(30));
  }
  return false;
}

}  // namespace gordo
