// The whole process: the slab pool, the mounts with their sources, and the workers,
// started in an order where each failure gets a clear message, and stopped in reverse.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gordo/core/chunk.h"
#include "gordo/ops/admin.h"
#include "gordo/ops/config.h"
#include "gordo/ops/relay.h"
#include "gordo/server/admission.h"
#include "gordo/server/mount.h"
#include "gordo/server/recorder.h"
#include "gordo/server/worker.h"

namespace gordo {

class server {
 public:
  // Reads the configuration again (SIGHUP); nullopt or an exception: keep the running one.
  using reread_fn = std::function<std::optional<config>()>;

  // Opens sources, binds, starts threads. Throws std::runtime_error (or
  // std::system_error) with a message for the user when any of that fails.
  explicit server(const config& cfg, reread_fn reread = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // The URLs to play, one per mount.
  const std::vector<std::string>& urls() const { return urls_; }
  // Where the admin endpoint serves /stats (empty: no admin endpoint).
  const std::string& stats_url() const { return stats_url_; }

  // What every mount and worker is doing now (called from the admin thread).
  stats_snapshot snapshot();

  // Serves until SIGINT or SIGTERM (which the caller has blocked in every thread, with
  // SIGUSR1: reopen the access log, and SIGHUP: reload).
  void run();

 private:
  void shutdown();
  std::unique_ptr<mount> make_mount(const mount_config& mc,
                                    const std::vector<std::unique_ptr<mount>>& also);
  std::string fallback_url(const mount_config& mc) const;
  void reload();
  std::vector<mount_config> with_relayed(std::vector<mount_config> mounts) const;
  bool set_mounts(const std::vector<mount_config>& wanted, bool all_or_nothing);
  void reap_retired();
  void start_tls(unsigned workers);

  slab_pool pool_;
  std::unique_ptr<access_log> log_;  // before workers_, which write to it
  mount_table mounts_;
  admission admission_;
  tls_holder tls_;  // the certificates now (with --tls-listen), read by the workers
  std::vector<std::unique_ptr<worker>> workers_;  // after mounts_: destroyed first
  recorder recorder_;  // after mounts_: stopped (by shutdown()) before they are freed
  std::vector<std::string> urls_;
  std::vector<wake_fd*> wakers_;
  config cfg_;                         // as running
  std::vector<mount_config> running_;  // the live mounts' configurations (with relayed ones)
  std::unique_ptr<relay> relay_;       // with --relay
  std::vector<relay::mount> relayed_;  // what the origins list, as last taken
  reread_fn reread_;
  std::shared_ptr<const std::vector<uint8_t>> pattern_;  // the test pattern, once encoded
  std::mutex mu_;  // mounts_ and retiring_, between reloads and stats
  std::vector<std::unique_ptr<mount>> retiring_;  // removed; waiting for workers to let go
  std::unique_ptr<admin> admin_;                  // last member: stopped and destroyed first
  std::string stats_url_;
  std::string listening_;  // the viewers' address as bound
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_snapshot_ = started_;
  std::vector<uint64_t> last_bytes_;  // per mount, at the last snapshot
};

}  // namespace gordo
