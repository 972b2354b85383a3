// A serving thread: its own I/O loop (io_uring, or epoll where io_uring cannot be used),
// its own listening socket, its own viewers and its own view of every mount's stream.
// Nothing here is shared with other workers except the admission counters (one atomic
// add per connect). Its sources: worker.cpp (the loop, connections, shutdown),
// worker_mounts.cpp (mounts as this worker sees them), worker_http.cpp (requests and
// their handlers), worker_stream.cpp (viewers' sends), worker_hls.cpp (HLS),
// worker_pages.cpp (the player pages and their files).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gordo/core/stream_ring.h"
#include "gordo/core/wake_fd.h"
#include "gordo/http/access_log.h"
#include "gordo/http/answers.h"
#include "gordo/http/hls_index.h"
#include "gordo/http/pages.h"
#include "gordo/http/router.h"
#include "gordo/io/loop.h"
#include "gordo/net/http_request.h"
#include "gordo/net/listener.h"
#include "gordo/net/tls.h"
#include "gordo/server/admission.h"
#include "gordo/server/client.h"
#include "gordo/server/counters.h"
#include "gordo/server/mount.h"

namespace gordo {

struct worker_options {
  int cpu = -1;               // pin the thread to this CPU; -1: no pinning
  size_t ring_chunks = 1024;  // chunks of history kept per mount
  unsigned uring_entries = 4096;
  uint32_t header_timeout_s = 10;         // to send a complete request head
  uint32_t tls_handshake_timeout_s = 10;  // to complete a TLS handshake
  uint32_t write_timeout_s = 30;          // for one send to make progress
  zerocopy_mode zerocopy = zerocopy_mode::automatic;
  io_engine engine = io_engine::uring;
  access_log* log = nullptr;        // where finished requests are logged; nullptr: nowhere
  std::string cors;                 // CORS header lines of viewer answers (http/answers.h)
  bool player_page = true;          // GET / and the mounts' player pages (http/pages.h)
  const tls_holder* tls = nullptr;  // the certificates of the TLS listener, if any
};

class worker {
 public:
  worker(unsigned id, listener sock, const worker_options& opts);
  ~worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  wake_fd& waker() { return wake_; }
  // Also serves viewers over TLS on `sock` (before start(); needs options' tls).
  void listen_tls(listener sock) { tls_sock_.emplace(std::move(sock)); }

  // Most mounts a worker can have at once (slots of retired mounts are reused).
  static constexpr size_t max_mounts = admission::max_mounts;

  // Starts serving `mounts` (which, like `admit` and `pool`, must outlive the worker, or
  // until retire_mount() has been acknowledged). Returns once the thread's ring is set
  // up; throws std::runtime_error saying why when it cannot be.
  void start(mount_table& mounts, admission& admit, const slab_pool& pool);
  // Closes every connection and joins the thread.
  void stop();

  // Any thread; carried out by the worker at its next wake-up (reload).
  // A new mount at m->slot.
  void add_mount(mount* m);
  // New burst/lag/slow policy for the mount at `slot`.
  void set_policy(uint32_t slot, const mount_policy& policy);
  // The mount at `slot` is going: its viewers get what they have and are closed, new
  // requests get 404; then the worker adds one to m->released and never touches m again.
  void retire_mount(uint32_t slot);

  const worker_counters& counters() const { return counters_; }
  const zerocopy_counters& zerocopy_stats() const;
  mount_counts mount_stats(uint32_t slot) const;
  int cpu() const { return opts_.cpu; }
  const char* engine() const { return to_string(opts_.engine); }
  std::string uring_mode() const {
    return loop_ ? loop_->mode() : std::string();
  }  // empty with epoll
  unsigned cq_overflows() const { return loop_ ? loop_->overflows() : 0; }

 private:
  struct view : mount_counters {  // one mount, as this worker sees it
    mount* m = nullptr;
    mount_policy policy;
    stream_ring ring;
    bool ended = false;
    bool offline = false;  // its source is lost or not yet pushed
    chunk_ref icy_block;   // the ICY metadata now (none: no title yet)
    uint32_t icy_gen = 0;  // counts icy_block changes
    bool retired = false;  // no new viewers; released once its viewers are gone
    size_t viewers = 0;
    std::vector<client*> parked;
    canned_response push_elsewhere;  // the 405 for a push here when it takes another mount's push
    std::optional<hls_index> hls;    // the mount is offered as HLS
    // HLS requests waiting for a segment or part: answered by the drain that brings it,
    // or with a 503 by the tick after `until_s` (no timer per request).
    struct held_request {
      client* c;
      hls_target target;
      uint32_t until_s;
    };
    std::vector<held_request> held;
    std::shared_ptr<const std::string> playlist;  // the plain playlist now (no query), cached
    bool warned_misaligned = false;               // its group's keyframes do not line up
    bool warned_ring = false;                     // its ring is shorter than its HLS window
    explicit view(size_t chunks) : ring(chunks) {}
  };
  // The chunks of one zero-copy send, kept until the kernel's notification says it no
  // longer reads them (the client may be gone by then).
  struct alignas(16) zc_hold {
    client* c;
    chunk_ref refs[client::max_iov];
    std::shared_ptr<const std::string> head, body;  // an HLS answer's, which it may read
  };

  struct command {
    enum kind_t { add, policy, retire } kind;
    mount* m = nullptr;  // add
    uint32_t slot = 0;
    mount_policy pol;  // policy
  };
  void post(command cmd);
  void run_commands();
  void maybe_release(view& v);
  view* find_view(std::string_view path);
  std::unique_ptr<view> new_view(mount* m);
  view& at(int slot) { return *views_[static_cast<size_t>(slot)].load(std::memory_order_relaxed); }

  void run(std::promise<int>& ready);
  void handle(const completion& done);
  void arm_accept();
  void arm_wake();
  void arm_tick();
  void on_accept(int res, uint32_t flags, bool tls = false);
  void on_wake();
  void on_tick();
  void shed_backlog(bool tls);
  void serve_ready();
  void close(client* c);
  void release(client* c);
  void abort(client* c);
  void begin_shutdown();
  void on_stop_deadline();
  void log_counters() const;

  // worker_http.cpp: requests and their handlers.
  void on_recv(client* c, int res);
  void read_request(client* c);
  void dispatch(client* c, const http_request& req);
  void watch(client* c, const http_request& req, const route& r);
  void take_push(client* c, const http_request& req);
  void update_metadata(client* c, const http_request& req, const route& r);
  // `path`: what a signed URL signs (the mount's path for its HLS resources).
  std::optional<answer> check_access(client* c, const view& v, const http_request& req,
                                     std::string_view path);
  // A short answer; with the request it answers, the connection may stay open for the
  // next one (keep-alive), else it is closed after it.
  void reply(client* c, answer what, const http_request* req = nullptr);
  void send_canned(client* c, const canned_response& r);  // `r` outlives the client's send
  void next_request(client* c);
  void log_request(client* c);
  void linger(client* c);
  void discard(client* c);
  std::string peer(client* c);  // for log lines

  // worker_hls.cpp: HLS playlists, segments and parts.
  void serve_hls(client* c, const http_request& req, const route& r);
  // The renditions a multivariant playlist lists: a mount's own, or a group's.
  std::vector<view*> renditions(std::string_view multivariant);
  void answer_multivariant(client* c, const std::vector<view*>& members, const hls_target& t);
  bool hls_ready(const view& v, const hls_target& t) const;
  void answer_hls(client* c, view& v, const hls_target& t);
  void hold(client* c, view& v, const hls_target& t);
  void release_held(view& v);
  void expire_held();
  void reply_text(client* c, std::string_view type, std::string_view cache,
                  std::shared_ptr<const std::string> body);
  void reply_chunks(client* c, view& v, std::string_view type, uint64_t first, uint64_t end,
                    const chunk_ref* single = nullptr);
  std::string answer_head(client* c, std::string_view type, std::string_view cache,
                          uint64_t length);
  bool fill_range(client* c);

  // worker_pages.cpp: the mounts' list, their player pages, the embedded files.
  void serve_page(client* c, const http_request& req, const route& r);
  bool listed(client* c, const view& v, const http_request& req);
  page_mount page_mount_of(const view& v) const;
  void reply_static(client* c, std::string_view type, std::string_view cache,
                    std::string_view body);

  // worker_tls.cpp: TLS connections. Every recv of a client goes through arm_recv().
  void arm_recv(client* c, void* buf, size_t len, io_loop::clock::duration timeout = {});
  void arm_accept_tls();
  bool tls_start(client* c);  // false: it failed and is gone
  // A recv's result: what on_recv() goes on with, or tls_held when TLS took it.
  static constexpr int tls_held = INT32_MIN;
  int tls_received(client* c, int res);
  void tls_failed(client* c);
  void tls_send(client* c);
  int tls_sent(client* c, int res);  // a send's result, as tls_received()
  void tls_release(client* c);
  void tls_goodbye(client* c);  // close_notify before a graceful close's FIN

  // worker_stream.cpp: viewers' sends.
  void pump(client* c);
  bool fill(client* c);
  void send(client* c);
  void on_send(client* c, int res);
  void on_send_zc(zc_hold* h, int res, uint32_t flags);
  void on_cancel(client* c);
  void check_lag(client* c);
  void counted_skip(view& v);  // a slow viewer moved to the newest keyframe, counted
  void counted_drop(view& v);  // a slow viewer disconnected, counted

  unsigned id_;
  listener sock_;
  std::optional<listener> tls_sock_;
  worker_options opts_;
  wake_fd wake_;
  std::atomic<bool> stop_{false};
  bool stopping_ = false;
  uint64_t wake_buf_ = 0;
  uint32_t now_s_ = 0;   // seconds since start, advanced by the tick
  int reserve_fd_ = -1;  // given up to answer 503 when out of fds
  bool warned_fds_ = false;
  std::unique_ptr<io_loop> loop_;
  uint64_t holds_ = 0;    // zero-copy sends not yet notified
  bool gave_up_ = false;  // on holds_, at the end of a shutdown
  const slab_pool* pool_ = nullptr;
  mount_table* mounts_ = nullptr;
  admission* admit_ = nullptr;
  // By slot. A view is published (release) once built, so other threads may read its
  // counters; a view replaced in its slot stays in owned_ until the worker ends.
  std::array<std::atomic<view*>, max_mounts> views_{};
  std::vector<std::unique_ptr<view>> owned_;
  std::mutex commands_mu_;
  std::vector<command> commands_;
  std::vector<client*> clients_;
  std::optional<answer_table> answers_;  // built by start()
  std::vector<client*> scratch_;
  std::deque<client*> ready_;        // woken, their next send not yet prepared
  bool last_grace_ = false;          // shutting down: the deadline after the resets
  std::unique_ptr<char[]> discard_;  // lingering reads land here, never read back
  worker_counters counters_;
  std::thread thread_;
};

}  // namespace gordo
