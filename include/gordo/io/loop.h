// A worker's I/O engine: operations on fds that end in completions, one interface for
// io_uring (io/uring_loop.h) and epoll (io/epoll_loop.h). A worker makes one at start-up
// with make_loop() and never asks which it has.
//
//   worker ──accept/recv/send/…──▶ loop ──wait()──▶ take(): completions, in order ──▶ worker
//
// Every operation ends in exactly one completion carrying its user_data (two for a
// zero-copy send: its result, then the notification), except a multishot accept, which
// completes once per connection with flag `more`.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "gordo/core/chunk.h"
#include "gordo/io/zerocopy.h"

namespace gordo {

struct completion {
  // Flags.
  static constexpr uint32_t more =
      1;  // the operation goes on (accept) or a notification follows (zero-copy send)
  static constexpr uint32_t notif =
      2;  // a zero-copy send's notification: the kernel is done with its memory

  uint64_t user_data;
  int res;  // bytes, a new fd, or -errno
  uint32_t flags;
};

enum class io_engine { uring, epoll };
const char* to_string(io_engine e);

struct loop_options {
  io_engine engine = io_engine::uring;
  unsigned uring_entries = 4096;
  // Zero-copy sends (io_uring only): the mode, and the pool whose arenas may be
  // registered as fixed buffers. `worker` names the worker in log lines.
  zerocopy_mode zerocopy = zerocopy_mode::off;
  const slab_pool* pool = nullptr;
  unsigned worker = 0;
};

class io_loop {
 public:
  using clock = std::chrono::steady_clock;

  virtual ~io_loop() = default;

  // Sets the engine up, in the thread that will use it. 0 or -errno; error_text() says
  // why in words, and what to do.
  virtual int init() = 0;
  virtual std::string error_text(int neg_errno) const = 0;

  // Accepts connections on the listening `fd` until cancelled: one completion each (flag
  // more). Running out of fds or memory completes with the error and no `more`; call
  // accept() again to resume.
  virtual void accept(int fd, uint64_t user_data) = 0;
  // At most one receive (or read) and one send pending per fd at a time. A receive with
  // a timeout completes with -ECANCELED when it runs out.
  virtual void recv(int fd, void* buf, size_t len, uint64_t user_data,
                    clock::duration timeout = {}) = 0;
  virtual void read(int fd, void* buf, size_t len, uint64_t user_data) = 0;  // e.g. an eventfd
  virtual void send(int fd, const void* buf, size_t len, uint64_t user_data) = 0;
  virtual void sendmsg(int fd, const msghdr* msg, uint64_t user_data) = 0;
  // Whether a send of `bytes` should go zero-copy now (the kernel has it and, in
  // automatic mode, has not been seen copying).
  virtual bool zerocopy_for(size_t bytes) const = 0;
  // A send whose memory the kernel may keep reading after its result: completes with
  // the result (flag more), then with flag notif once the memory is free again. When the
  // message is one slice of `whole`, a registered buffer may carry it.
  virtual void send_zc(int fd, const msghdr* msg, const chunk_ref* whole, uint64_t user_data) = 0;
  // The kernel refused a zero-copy send on this socket type (-EOPNOTSUPP): send plainly
  // from now on.
  virtual void zerocopy_refused(int neg_errno) = 0;
  // The pending operation `target` on `fd` (or accepting on it) completes with
  // -ECANCELED, then `user_data` with 0; when none is pending, `user_data` completes
  // with -ENOENT.
  virtual void cancel(int fd, uint64_t target, uint64_t user_data) = 0;
  // `user_data` completes with -ETIME after `after`.
  virtual void timeout(clock::duration after, uint64_t user_data) = 0;
  // After a shutdown(2) of `fd`, its pending operations end now.
  virtual void kick(int fd) = 0;
  // The fd is about to be closed or given to another thread, with no operation of its
  // pending: the loop lets go of it (its number may come back as another socket).
  virtual void forget(int fd) = 0;

  // Starts what was issued and waits (when `block`, until something completes) for
  // completions. 0 or -errno (fatal).
  virtual int wait(bool block) = 0;
  // The completions of the last wait, to handle in order; operations issued meanwhile
  // complete into a later batch.
  virtual std::span<const completion> take() = 0;

  virtual io_engine engine() const = 0;
  // The engine's setup, for logs and /stats: e.g. "single-issuer defer-taskrun"; empty
  // for epoll.
  virtual const std::string& mode() const = 0;
  // Completions the kernel could not post (io_uring's CQ overflow); any thread.
  virtual unsigned overflows() const = 0;
  virtual const zerocopy_counters& zerocopy_stats() const = 0;
};

std::unique_ptr<io_loop> make_loop(const loop_options& opts);

}  // namespace gordo
