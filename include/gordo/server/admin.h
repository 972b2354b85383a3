// The admin endpoint: GET /stats (JSON) and GET /metrics (Prometheus), on an address of
// its own (--admin-listen) so it can be firewalled apart from viewers. One thread, one
// short request at a time: it serves scrapers and operators, not the audience.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "gordo/net/address.h"
#include "gordo/net/listener.h"
#include "gordo/server/htpasswd.h"
#include "gordo/server/stats.h"

namespace gordo {

class admin {
 public:
  using snapshot_fn = std::function<stats_snapshot()>;

  // Binds `at` (port 0: the kernel picks, and `at` says which); throws std::system_error.
  // With `users`, requests need HTTP Basic auth as one of them (checked on this thread:
  // bcrypt is slow on purpose).
  admin(address& at, snapshot_fn snapshot, std::shared_ptr<const htpasswd> users = nullptr);
  ~admin();
  admin(const admin&) = delete;
  admin& operator=(const admin&) = delete;

  void start();
  void stop();
  uint64_t auth_failures() const { return auth_failures_.load(std::memory_order_relaxed); }

 private:
  void run();
  void serve(int fd);

  listener sock_;
  snapshot_fn snapshot_;
  std::shared_ptr<const htpasswd> users_;
  std::atomic<uint64_t> auth_failures_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace gordo
