// One viewer's connection as a worker sees it: the request being read, then a cursor
// into the mount's stream ring and the bytes committed to its one send in flight.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "gordo/core/chunk.h"
#include "gordo/http/session.h"

namespace gordo {

struct tls_conn;  // server/worker_tls.h
struct tls_conn_free {
  void operator()(tls_conn* t) const;
};

//  out queue (at most max_iov slices; iov[i] points into refs[i] or a static string)
//  ┌──────────────┬──────────────┬────────────┬────────────┐
//  │ 200 OK head  │ header chunk │ chunk 42K  │ chunk 43   │ ──▶ one sendmsg
//  └──────────────┴──────────────┴────────────┴────────────┘      next_seq = 44
//  After a partial send the sent slices are dropped and the first one is trimmed;
//  the rest stay queued, so the bytes a viewer gets are always whole chunks in order.
struct alignas(16) client {  // 16: the low 4 bits of its address tag the loop's user_data
  static constexpr size_t max_iov = 8;

  enum class phase : uint8_t {
    reading,    // the request head
    answering,  // a complete response (error or HEAD), then close or the next request
    streaming,  // header, burst, then live chunks
    serving,    // a bounded answer: a text, then ring chunks up to body_end (HLS)
    held,       // an HLS request waiting for its segment or part (view's held list)
    lingering,  // answered; reading and discarding what the client still sends
  };

  explicit client(int fd) : fd(fd) {}

  bool idle() const { return inflight == 0; }
  // Whether at least limit_s seconds surely passed since since_s. The worker's clock is
  // a tick a second: a client that arrived just before a tick is a second "old" at it,
  // so a limit counts from the next tick on (a 1 s limit is 1 to 2 s, never at once).
  bool waited(uint32_t now_s, uint32_t limit_s) const { return now_s - since_s > limit_s; }
  // Appends a slice to the out queue; false when the queue is full.
  bool queue(const void* data, size_t len, chunk_ref ref = {});
  // Drops `sent` bytes from the front of the out queue.
  void consume(size_t sent);
  // Drops every slice not yet begun, keeping the rest of one the viewer has part of, so
  // that what it receives stays whole chunks (used to skip a slow viewer ahead).
  void drop_unsent();
  size_t queued() const { return n_iov; }
  msghdr* message();

  int fd;  // -1 once handed over (an encoder's push)
  phase state = phase::reading;
  bool closing = false;       // shut down; freed when its last operation completes
  bool parked = false;        // caught up, waiting on its mount for the next chunk
  bool sending = false;       // a send is in flight
  bool timed_out = false;     // its request head took too long; answered when the recv ends
  bool need_keyframe = true;  // its next chunk must start a GOP
  bool head_begun = false;    // the first queued slice has been partly sent
  bool skipping = false;      // its send was cancelled to skip it ahead
  bool started = false;       // has been given a chunk of the stream
  bool finished = false;      // closes once its queue is sent (its stream's header changed)
  bool head_only = false;     // serving: a HEAD, so the head alone
  uint8_t inflight = 0;       // loop operations not yet completed
  uint8_t n_iov = 0;
  int view = -1;                     // mount index while streaming
  uint32_t slot = 0;                 // index in the worker's client list
  uint32_t since_s = 0;              // accepted at, then the last progress (worker seconds)
  uint64_t next_seq = 0;             // next chunk to queue
  uint64_t body_end = 0;             // serving: past the last chunk of the answer
  const void* body_mount = nullptr;  // serving: the mount whose ring holds those chunks
  // serving: the answer's head and text (a playlist), shared with the sends that read them
  std::shared_ptr<const std::string> reply_head, reply_body;
  uint64_t bytes_sent = 0;
  http_session http;        // the request, keep-alive, the access record
  uint32_t head_bytes = 0;  // of the response: not counted as body
  uint32_t offset = 0;      // bytes of chunk next_seq already queued (ICY splits chunks)
  // ICY metadata (net/icy.h), when the viewer asked for it: audio bytes until the next
  // block, the metadata generation it last got, and icy_left as each queued slice began.
  bool icy = false;
  uint32_t icy_left = 0;
  uint32_t icy_gen = 0;
  uint16_t icy_mark[max_iov]{};
  iovec iov[max_iov]{};
  chunk_ref refs[max_iov];
  msghdr msg{};
  std::unique_ptr<tls_conn, tls_conn_free> tls;  // on the TLS listener
};

}  // namespace gordo
