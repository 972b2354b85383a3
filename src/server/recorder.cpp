#include "gordo/server/recorder.h"

#include <sys/wait.h>

#include <spdlog/spdlog.h>

#include "gordo/core/clock.h"
#include "recording.h"

namespace gordo {

namespace {

// Chunks a tap holds: at ~10 a second, half a minute of a stalled disk before chunks are
// lost (each holds its slab, so this bounds the memory a stalled recording pins).
constexpr size_t tap_capacity = 512;
constexpr auto drain_every = std::chrono::milliseconds(50);

}  // namespace

recorder::recorder() : thread_([this] { run(); }) {}

recorder::~recorder() {
  stop();
}

void recorder::set(const std::string& mount, stream* out, const record_options& opts) {
  std::lock_guard lock(mu_);
  if (out && opts.on())
    wanted_[mount] = {out, opts};
  else
    wanted_.erase(mount);
  dirty_ = true;
  cv_.notify_one();
}

bool recorder::uses(const stream* out) const {
  std::lock_guard lock(mu_);
  for (const auto& [path, w] : wanted_)
    if (w.out == out) return true;
  for (const auto& [path, r] : recordings_)
    if (r->out == out) return true;
  return false;
}

record_stats recorder::stats(const std::string& mount) const {
  std::shared_ptr<recording> r;
  {
    std::lock_guard lock(mu_);
    auto it = recordings_.find(mount);
    if (it == recordings_.end()) {
      record_stats s;
      if (wanted_.count(mount)) s.state = "recording";  // about to start
      return s;
    }
    r = it->second;
  }
  return r->stats();
}

void recorder::stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
    cv_.notify_one();
  }
  thread_.join();
}

void recorder::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, drain_every, [this] { return stop_ || dirty_; });
    bool stopping = stop_;
    if (dirty_) reconcile();
    // The recordings are this thread's to change: the lock is not held while they write.
    std::vector<std::shared_ptr<recording>> now;
    for (auto& [path, r] : recordings_) now.push_back(r);
    lock.unlock();
    int64_t t = monotonic_ns();
    for (auto& r : now) r->pump(t, children_);
    reap();
    lock.lock();
    if (stopping) break;
  }
  // Stopping: what was drained last is written; every file ends (and its command runs).
  for (auto& [path, r] : recordings_) {
    r->finish(children_);
    r->out->close_tap();
  }
  recordings_.clear();
  reap();
  if (!children_.empty())
    spdlog::info("{} record_command{} still running at exit", children_.size(),
                 children_.size() == 1 ? "" : "s");
}

// With mu_ held (the recordings' files are finished under it: a reload waits that long).
void recorder::reconcile() {
  dirty_ = false;
  for (auto it = recordings_.begin(); it != recordings_.end();) {
    auto w = wanted_.find(it->first);
    recording& r = *it->second;
    if (w != wanted_.end() && w->second.out == r.out) {
      r.set_options(w->second.opts, children_);
      ++it;
      continue;
    }
    r.finish(children_);
    r.out->close_tap();
    r.tap->drain([](feed_item&&) {});
    spdlog::info("recording {} stops", r.mount);
    it = recordings_.erase(it);
  }
  for (const auto& [path, w] : wanted_) {
    if (recordings_.count(path)) continue;
    auto r = std::make_shared<recording>(path, w.out, w.opts);
    // What an earlier recording of this stream left is dropped; then the header now (a
    // newer one comes through the tap).
    chunk_feed& tap = w.out->open_tap(tap_capacity);
    tap.drain([](feed_item&&) {});
    r->tap = &tap;
    r->adopt_header(w.out->header());
    spdlog::info("recording {} to {} (a new file every {} s at a keyframe)", path, w.opts.path,
                 w.opts.segment_ns / 1'000'000'000);
    recordings_.emplace(path, std::move(r));
  }
}

void recorder::reap() {
  for (size_t i = children_.size(); i-- > 0;) {
    int status = 0;
    pid_t got = waitpid(children_[i], &status, WNOHANG);
    if (got == 0) continue;
    if (got == children_[i] && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
      spdlog::warn("record_command (pid {}) {} {}", children_[i],
                   WIFEXITED(status) ? "exited with status" : "was killed by signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

}  // namespace gordo
