// Password checks on threads of their own: bcrypt is slow on purpose (about 0.25 s at
// cost 12), so the admin endpoint's event loop hands checks here and keeps accepting,
// reading and answering (cached credentials, errors) while they run.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace gordo {

//   owner's loop ── submit(id, address, check) ──▶ queue ──▶ thread 1 ──┐
//        ▲          (refused: address_busy, full)      └──▶ thread 2 ──┤
//        └──── take() ◀── fd() readable ◀──────── results ◀────────────┘
//
// Bounded so that guesses cannot starve others: one client address has at most
// `per_address` checks queued or running (so with per_address below the thread count,
// one address never holds every thread, and its guesses wait behind each other, not in
// front of everyone's), and at most `max_pending` are queued or running in all.
// submit(), take() and pending() belong to one thread (the owner's); the checks run on
// the pool's.
class check_pool {
 public:
  enum class admit { queued, address_busy, full };
  struct result {
    uint64_t id;
    bool ok;
  };

  check_pool(unsigned threads, unsigned per_address, size_t max_pending);
  ~check_pool();  // waits for the checks running; drops the queued ones
  check_pool(const check_pool&) = delete;
  check_pool& operator=(const check_pool&) = delete;

  // Readable when results are waiting for take().
  int fd() const { return fd_; }
  admit submit(uint64_t id, const std::string& address, std::function<bool()> check);
  // The checks finished since the last call; their addresses' slots are free again.
  std::vector<result> take();
  size_t pending() const { return pending_; }

 private:
  struct job {
    uint64_t id;
    std::string address;
    std::function<bool()> check;
  };
  struct done {
    result r;
    std::string address;
  };
  void run();

  const unsigned per_address_;
  const size_t max_pending_;
  int fd_;  // eventfd, non-blocking
  // The owner's.
  std::unordered_map<std::string, unsigned> busy_;  // checks queued or running, per address
  size_t pending_ = 0;
  // Shared with the pool's threads.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<job> queue_;
  std::vector<done> done_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace gordo
