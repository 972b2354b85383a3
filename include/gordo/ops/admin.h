// The admin endpoint: GET /stats (JSON), GET /metrics (Prometheus) and GET / (a dashboard
// drawing /stats), on an address of its own (--admin-listen) so it can be firewalled apart
// from viewers. One thread runs a small poll loop over its connections; password checks
// (slow on purpose) run on a pool of two threads beside it, so a wrong guess never holds
// up anyone else's answer.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gordo/net/address.h"
#include "gordo/net/htpasswd.h"
#include "gordo/net/http_request.h"
#include "gordo/net/listener.h"
#include "gordo/ops/check_pool.h"
#include "gordo/ops/credential_cache.h"
#include "gordo/ops/stats.h"

namespace gordo {

class admin {
 public:
  using snapshot_fn = std::function<stats_snapshot()>;

  // Binds `at` (port 0: the kernel picks, and `at` says which); throws std::system_error.
  // With `users`, requests need HTTP Basic auth as one of them.
  admin(address& at, snapshot_fn snapshot, std::shared_ptr<const htpasswd> users = nullptr);
  ~admin();
  admin(const admin&) = delete;
  admin& operator=(const admin&) = delete;

  void start();
  void stop();
  // Any thread (a reload): requests from now on are checked against `users`, and what
  // was verified against the previous file is forgotten.
  void set_users(std::shared_ptr<const htpasswd> users);
  uint64_t auth_failures() const { return auth_failures_.load(std::memory_order_relaxed); }

 private:
  using clock = std::chrono::steady_clock;
  struct conn;

  void run();
  void accept_all();
  void on_read(conn& c);
  void on_write(conn& c);
  void on_linger(conn& c);
  void route(conn& c, const http_request& req);
  void checked(const check_pool::result& r);
  void refuse(conn& c, const std::string& user);
  void answer(conn& c, std::string response);
  std::string page(const conn& c) const;
  void expire(conn& c, clock::time_point now);
  void take_new_users();

  listener sock_;
  snapshot_fn snapshot_;
  std::atomic<uint64_t> auth_failures_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;

  // Set by set_users(), taken by the loop.
  std::mutex users_mu_;
  std::shared_ptr<const htpasswd> next_users_;
  std::atomic<bool> users_changed_{false};

  // The loop's own.
  std::shared_ptr<const htpasswd> users_;
  credential_cache cache_;
  std::unique_ptr<check_pool> checks_;
  std::vector<std::unique_ptr<conn>> conns_;
  uint64_t next_id_ = 0;
};

}  // namespace gordo
