#include "gordo/ops/check_pool.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace gordo {

check_pool::check_pool(unsigned threads, unsigned per_address, size_t max_pending)
    : per_address_(per_address),
      max_pending_(max_pending),
      fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

check_pool::~check_pool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  close(fd_);
}

check_pool::admit check_pool::submit(uint64_t id, const std::string& address,
                                     std::function<bool()> check) {
  unsigned& busy = busy_[address];
  if (busy >= per_address_) return admit::address_busy;
  if (pending_ >= max_pending_) {
    if (busy == 0) busy_.erase(address);
    return admit::full;
  }
  ++busy;
  ++pending_;
  {
    std::lock_guard lock(mu_);
    queue_.push_back({id, address, std::move(check)});
  }
  cv_.notify_one();
  return admit::queued;
}

std::vector<check_pool::result> check_pool::take() {
  // Read the counter before taking the list: a result added after the read writes again,
  // so it is never left behind without the fd being readable.
  uint64_t count;
  [[maybe_unused]] ssize_t n = read(fd_, &count, sizeof count);
  std::vector<done> finished;
  {
    std::lock_guard lock(mu_);
    finished.swap(done_);
  }
  std::vector<result> out;
  out.reserve(finished.size());
  for (done& d : finished) {
    auto it = busy_.find(d.address);
    if (--it->second == 0) busy_.erase(it);
    --pending_;
    out.push_back(d.r);
  }
  return out;
}

void check_pool::run() {
  for (;;) {
    job j;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      j = std::move(queue_.front());
      queue_.pop_front();
    }
    bool ok = j.check();
    j.check = nullptr;  // what it captured (a password) goes now, not at the next job
    {
      std::lock_guard lock(mu_);
      done_.push_back({{j.id, ok}, std::move(j.address)});
    }
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(fd_, &one, sizeof one);
  }
}

}  // namespace gordo
