// A serving thread: its own io_uring, its own listening socket, its own viewers and its
// own view of every mount's stream. Nothing here is shared with other workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gordo/core/stream_ring.h"
#include "gordo/core/wake_fd.h"
#include "gordo/io/uring.h"
#include "gordo/net/http_request.h"
#include "gordo/net/listener.h"
#include "gordo/server/client.h"
#include "gordo/server/mount.h"

namespace gordo {

struct worker_options {
  size_t ring_chunks = 1024;  // chunks of history kept per mount
  unsigned uring_entries = 4096;
};

struct worker_counters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> viewers{0};
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<uint64_t> resyncs{0};
};

class worker {
 public:
  worker(unsigned id, listener sock, const worker_options& opts);
  ~worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  wake_fd& waker() { return wake_; }

  // Starts serving `mounts` (which must outlive the worker). Returns once the thread's
  // ring is set up; throws std::runtime_error saying why when it cannot be.
  void start(mount_table& mounts);
  // Closes every connection and joins the thread.
  void stop();

  const worker_counters& counters() const { return counters_; }

 private:
  struct view {  // one mount, as this worker sees it
    stream* source = nullptr;
    const std::string* head = nullptr;
    stream_ring ring;
    bool ended = false;
    std::vector<client*> parked;
    explicit view(size_t chunks) : ring(chunks) {}
  };

  void run(std::promise<int>& ready);
  void handle(io_uring_cqe* cqe);
  void arm_accept();
  void arm_wake();
  void on_accept(int res, uint32_t flags);
  void on_wake();
  void on_recv(client* c, int res);
  void on_send(client* c, int res);
  void route(client* c, const http_request& req);
  void answer(client* c, int status);
  void fill(client* c);
  void pump(client* c);
  void linger(client* c);
  void discard(client* c);
  void close(client* c);
  void release(client* c);
  void begin_shutdown();

  unsigned id_;
  listener sock_;
  worker_options opts_;
  wake_fd wake_;
  std::atomic<bool> stop_{false};
  bool stopping_ = false;
  uint64_t wake_buf_ = 0;
  uring ring_;
  mount_table* mounts_ = nullptr;
  std::vector<std::unique_ptr<view>> views_;
  std::vector<client*> clients_;
  std::map<int, std::string> answers_;  // canned error responses by status
  std::vector<client*> woken_;          // scratch for on_wake
  __kernel_timespec accept_retry_{};
  __kernel_timespec linger_timeout_{};
  std::unique_ptr<char[]> discard_;  // lingering reads land here, never read back
  worker_counters counters_;
  std::thread thread_;
};

}  // namespace gordo
