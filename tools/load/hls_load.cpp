#include "load/hls_load.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <queue>
#include <string>
#include <vector>

#include "load/http_head.h"
#include "load/sys.h"

namespace gordo::load {

namespace {

// Media bodies are discarded in the kernel (MSG_TRUNC), at most this much per recv (so
// that a kernel that copied anyway would copy into this buffer, never past it).
constexpr size_t scratch_size = 256 * 1024;
// How much a response's first read takes: a playlist usually whole, of a part little
// more than its head (the rest is discarded).
constexpr size_t first_read_playlist = 16384, first_read_media = 2048;

struct slot {
  enum class conn : uint8_t { closed, connecting, waiting, body, idle };
  explicit slot(hls_viewer p) : player(std::move(p)) {}
  hls_viewer player;
  int fd = -1;
  conn st = conn::closed;
  bool keep_body = false;    // a playlist: its text is parsed
  bool until_close = false;  // no Content-Length: the body ends with the connection
  bool close_after = false;
  bool got_bytes = false;  // of the response to the request in flight
  bool done = false;
  int status = 0;
  uint32_t served = 0;  // responses on this connection
  uint32_t timer = 0;   // the generation of its pending timer (0: none)
  uint64_t body_left = 0;
  std::string head, body;  // only when a head or a playlist comes in pieces
};

struct timer {
  double at;
  uint32_t slot, gen;
  bool operator>(const timer& o) const { return at > o.at; }
};

class hls_load {
 public:
  explicit hls_load(const hls_options& o) : o_(o), scratch_(scratch_size) {
    slots_.reserve(o.viewers);
    // Phases by the golden ratio: evenly spread for any number of viewers.
    for (unsigned i = 0; i < o.viewers; ++i)
      slots_.emplace_back(
          hls_viewer(o.mode, o.target.path, &common_, std::fmod(i * 0.618034, 1.0)));
  }
  int run();

 private:
  void act(slot& s, hls_viewer::next n, double t);
  void send_request(slot& s);
  void open(slot& s);
  void close_conn(slot& s);
  void on_event(slot& s, uint32_t events);
  void read(slot& s);
  // The end of a read (0 or -1): nothing to read now, or the connection is gone.
  void read_end(slot& s, ssize_t n);
  void on_head(slot& s, std::string_view head, std::string_view rest);
  void complete(slot& s, std::string_view body);
  void lost(slot& s, const std::string& why);
  void count_error(const std::string& key, const std::string& what);
  void fire_timers(double t);
  void progress(double t, bool last);
  int report(double window);
  uint32_t index(const slot& s) const { return static_cast<uint32_t>(&s - slots_.data()); }

  hls_options o_;
  hls_common common_;
  std::vector<slot> slots_;
  std::vector<char> scratch_;
  std::string request_;
  std::string host_;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  int ep_ = -1;
  double wall_offset_ = 0;  // wall clock minus monotonic clock
  std::priority_queue<timer, std::vector<timer>, std::greater<>> timers_;
  uint32_t timer_gen_ = 0;
  unsigned started_ = 0;
  uint64_t responses_ = 0, bytes_ = 0, reconnects_ = 0;
  uint64_t responses_at_mark_ = 0, bytes_at_mark_ = 0;
  uint64_t responses_at_progress_ = 0, bytes_at_progress_ = 0;
  double last_progress_ = 0;
  std::map<std::string, uint64_t> errors_;  // by status, or "conn" for a broken connection
  std::string first_error_;
  double cpu_used_ = 0;
  int load_core_ = own_core(o_.cpu);  // the CPU it runs on, when one
  proc_sample server_begin_, server_end_;
  core_sample core_begin_, core_end_, load_core_begin_, load_core_end_;
};

int hls_load::run() {
  std::string error;
  if (!resolve(o_.target, addr_, addr_len_, error) ||
      !source_fits(o_.source, addr_, o_.target, error)) {
    fmt::print(stderr, "gordo-load: {}\n", error);
    return 2;
  }
  host_ = host_header(o_.target);
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  wall_offset_ = wall_s() - now_s();
  std::vector<epoll_event> events(4096);
  double begin = now_s(), cpu_begin = cpu_s();
  double mark = -1, end = -1, mark_at = -1;
  last_progress_ = begin;
  for (;;) {
    double t = now_s();
    auto due =
        static_cast<unsigned>(std::min<double>(o_.viewers, (t - begin) * o_.connect_rate + 1));
    while (started_ < due) act(slots_[started_++], {}, t);
    if (started_ == o_.viewers && mark == -1) {
      mark = t + o_.settle;
      end = mark + o_.duration;
    }
    if (mark > 0 && t >= mark && mark_at < 0) {
      common_.recording = true;
      responses_at_mark_ = responses_;
      bytes_at_mark_ = bytes_;
      cpu_begin = cpu_s();
      server_begin_ = sample(o_.server_pid);
      core_begin_ = sample_core(o_.server_core);
      load_core_begin_ = sample_core(load_core_);
      mark_at = t;
    }
    if (end > 0 && t >= end) break;
    fire_timers(t);
    int wait_ms = 5;
    if (!timers_.empty())
      wait_ms = std::clamp(static_cast<int>(std::ceil((timers_.top().at - t) * 1000)), 0, 5);
    int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), wait_ms);
    for (int i = 0; i < n; ++i) on_event(slots_[events[i].data.u32], events[i].events);
    t = now_s();
    if (!o_.quiet && t - last_progress_ >= 1) progress(t - begin, false);
  }
  double t_end = now_s();
  cpu_used_ = cpu_s() - cpu_begin;
  server_end_ = sample(o_.server_pid);
  core_end_ = sample_core(o_.server_core);
  load_core_end_ = sample_core(load_core_);
  common_.recording = false;
  if (!o_.quiet) progress(t_end - begin, true);
  for (slot& s : slots_) {
    s.player.finish(t_end);
    close_conn(s);
  }
  ::close(ep_);
  return report(mark_at > 0 ? t_end - mark_at : 0);
}

void hls_load::act(slot& s, hls_viewer::next n, double t) {
  switch (n.w) {
    case hls_viewer::next::what::request:
      return send_request(s);
    case hls_viewer::next::what::wait:
      if (++timer_gen_ == 0) ++timer_gen_;  // 0 means none
      s.timer = timer_gen_;
      timers_.push({std::max(n.at, t), index(s), s.timer});
      return;
    case hls_viewer::next::what::stop:
      close_conn(s);
      s.done = true;
      return;
  }
}

void hls_load::fire_timers(double t) {
  while (!timers_.empty() && timers_.top().at <= t) {
    timer tm = timers_.top();
    timers_.pop();
    slot& s = slots_[tm.slot];
    if (s.done || s.timer != tm.gen) continue;
    s.timer = 0;
    act(s, s.player.on_timer(t), t);
  }
}

void hls_load::open(slot& s) {
  s.fd = socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd < 0) return lost(s, fmt::format("socket: {}", std::strerror(errno)));
  s.st = slot::conn::connecting;
  s.served = 0;
  if (o_.source)  // its own address, on every connection it opens
    if (int err = bind_source(s.fd, *o_.source, index(s)))
      return lost(s, fmt::format("bind: {}", std::strerror(-err)));
  if (connect(s.fd, reinterpret_cast<sockaddr*>(&addr_), addr_len_) < 0 && errno != EINPROGRESS)
    return lost(s, fmt::format("connect: {}", std::strerror(errno)));
  epoll_event ev{};
  ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
  ev.data.u32 = index(s);
  epoll_ctl(ep_, EPOLL_CTL_ADD, s.fd, &ev);
}

void hls_load::close_conn(slot& s) {
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  s.st = slot::conn::closed;
  s.head.clear();
  s.body.clear();
}

// Sends request() on the slot's connection, opening one first when it has none (the
// request follows once connected).
void hls_load::send_request(slot& s) {
  if (s.fd < 0) return open(s);
  const std::string& path = s.player.request();
  request_.clear();
  request_.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_);
  request_.append("\r\nUser-Agent: gordo-load\r\n\r\n");
  // The request is tiny and the connection idle: one send into an empty buffer takes it.
  ssize_t n = send(s.fd, request_.data(), request_.size(), MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(request_.size())) {
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET) && s.served > 0) {
      // The server closed the idle keep-alive connection: a new one, as browsers do.
      ++reconnects_;
      close_conn(s);
      return open(s);
    }
    return lost(s, fmt::format("send: {}", n < 0 ? std::strerror(errno) : "short"));
  }
  s.st = slot::conn::waiting;
  s.got_bytes = false;
  s.head.clear();
}

void hls_load::on_event(slot& s, uint32_t events) {
  if (s.done || s.fd < 0) return;
  if (s.st != slot::conn::connecting) return read(s);
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) return lost(s, fmt::format("connect: {}", std::strerror(err)));
  if (!(events & EPOLLOUT)) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u32 = index(s);
  epoll_ctl(ep_, EPOLL_CTL_MOD, s.fd, &ev);
  s.st = slot::conn::idle;
  send_request(s);
}

void hls_load::read(slot& s) {
  char* buf = scratch_.data();
  for (;;) {
    if (s.st == slot::conn::waiting) {
      size_t want =
          s.player.kind() == hls_viewer::fetch::media ? first_read_media : first_read_playlist;
      ssize_t n = recv(s.fd, buf, want, 0);
      if (n <= 0) return read_end(s, n);
      bytes_ += static_cast<uint64_t>(n);
      s.got_bytes = true;
      std::string_view data(buf, static_cast<size_t>(n));
      if (s.head.empty()) {
        size_t end = data.find("\r\n\r\n");
        if (end != std::string_view::npos)
          return on_head(s, data.substr(0, end + 4), data.substr(end + 4));
        s.head.assign(data);
        continue;
      }
      size_t before = s.head.size();
      s.head.append(data);
      size_t end = s.head.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
      if (end == std::string::npos) {
        if (s.head.size() > 16384) return lost(s, "response head too large");
        continue;
      }
      std::string head = std::move(s.head);
      s.head.clear();
      return on_head(s, std::string_view(head).substr(0, end + 4), data.substr(end + 4 - before));
    }
    if (s.st == slot::conn::body) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(s.body_left, scratch_size));
      ssize_t n = recv(s.fd, buf, want, s.keep_body ? 0 : MSG_TRUNC);
      if (n == 0 && s.until_close) return complete(s, s.body);
      if (n <= 0) return read_end(s, n);
      bytes_ += static_cast<uint64_t>(n);
      if (s.keep_body) s.body.append(buf, static_cast<size_t>(n));
      if (!s.until_close) s.body_left -= static_cast<uint64_t>(n);
      if (s.body_left == 0) return complete(s, s.body);
      if (static_cast<size_t>(n) < want) return;  // drained for now
      continue;
    }
    // Idle: the server closed the keep-alive connection (or sent what nobody asked for).
    ssize_t n = recv(s.fd, buf, scratch_size, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    return close_conn(s);
  }
}

void hls_load::read_end(slot& s, ssize_t n) {
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (s.st == slot::conn::waiting && !s.got_bytes && s.served > 0) {
    // The keep-alive race: the server closed the connection as the request went out.
    ++reconnects_;
    close_conn(s);
    return open(s);
  }
  lost(s, n == 0 ? "closed by the server" : fmt::format("recv: {}", std::strerror(errno)));
}

void hls_load::on_head(slot& s, std::string_view head, std::string_view rest) {
  auto h = parse_response_head(head);
  if (!h) return lost(s, "not an HTTP response");
  if (h->chunked) return lost(s, "a chunked response (gordo-load reads Content-Length only)");
  s.status = h->status;
  s.close_after = h->close;
  s.keep_body = s.status == 200 && s.player.kind() != hls_viewer::fetch::media;
  s.until_close = !h->content_length && s.status != 204 && s.status != 304;
  s.body_left = s.until_close ? UINT64_MAX : h->content_length.value_or(0);
  s.close_after |= s.until_close;
  s.st = slot::conn::body;
  s.body.clear();
  if (rest.size() > s.body_left) return lost(s, "more bytes than the response holds");
  if (s.keep_body && rest.size() == s.body_left) return complete(s, rest);  // whole: no copy
  if (s.keep_body) s.body.assign(rest);
  if (!s.until_close) s.body_left -= rest.size();
  if (s.body_left == 0) return complete(s, s.body);
  read(s);
}

void hls_load::complete(slot& s, std::string_view body) {
  double t = now_s();
  ++responses_;
  ++s.served;
  s.st = slot::conn::idle;
  if (s.close_after) close_conn(s);
  hls_viewer::next n;
  if (s.status == 200) {
    n = s.player.on_response(body, t, t + wall_offset_);
  } else {
    count_error(std::to_string(s.status),
                fmt::format("HTTP {} for {}", s.status, s.player.request()));
    n = s.player.on_status(s.status, t);
  }
  s.body.clear();
  if (s.body.capacity() > 65536) s.body.shrink_to_fit();
  act(s, n, t);
}

void hls_load::lost(slot& s, const std::string& why) {
  count_error("conn", why);
  close_conn(s);
  double t = now_s();
  act(s, s.player.on_lost(t), t);
}

void hls_load::count_error(const std::string& key, const std::string& what) {
  ++errors_[key];
  if (first_error_.empty()) first_error_ = what;
}

void hls_load::progress(double t, bool last) {
  double now = now_s(), dt = now - last_progress_;
  double rps = dt > 0 ? static_cast<double>(responses_ - responses_at_progress_) / dt : 0;
  double gbps = dt > 0 ? static_cast<double>(bytes_ - bytes_at_progress_) * 8 / dt / 1e9 : 0;
  responses_at_progress_ = responses_;
  bytes_at_progress_ = bytes_;
  last_progress_ = now;
  unsigned playing = 0, stalls = 0;
  for (const slot& s : slots_) {
    playing += s.player.playing();
    stalls += s.player.stalls();
  }
  fmt::print(
      stderr,
      "\r{:6.1f}s  viewers {:>6}/{:<6} playing {:>6}  {:8.0f} req/s  {:6.2f} Gbit/s  stalls {}  ",
      t, started_, o_.viewers, playing, rps, gbps, stalls);
  if (last) fmt::print(stderr, "\n");
}

int hls_load::report(double window) {
  unsigned playing = 0, stalled = 0, stalls = 0, skips = 0, fell_back = 0;
  double stalled_s = 0;
  std::vector<double> min_buffer;
  for (const slot& s : slots_) {
    const hls_viewer& p = s.player;
    if (!p.playing()) continue;
    ++playing;
    stalls += p.stalls();
    stalled += p.stalls() > 0;
    stalled_s += p.stalled_s();
    skips += p.skips();
    fell_back += o_.mode == hls_mode::low_latency && p.mode() == hls_mode::classic;
    if (p.min_buffer_s() < 1e9) min_buffer.push_back(p.min_buffer_s());
  }
  uint64_t errors = 0;
  std::string by_status;
  for (const auto& [key, n] : errors_) {
    errors += n;
    by_status += fmt::format("{}\"{}\": {}", by_status.empty() ? "" : ", ", key, n);
  }
  auto per_s = [&](double n) { return window > 0 ? n / window : NAN; };
  double rps = per_s(static_cast<double>(responses_ - responses_at_mark_));
  double gbps = per_s(static_cast<double>(bytes_ - bytes_at_mark_) * 8 / 1e9);
  double cpu = window > 0 ? cpu_used_ / window * 100 : NAN;
  const char* mode = o_.mode == hls_mode::low_latency ? "ll" : "classic";
  auto count = [](uint64_t n) { return report_row{"", std::to_string(n), std::to_string(n)}; };
  auto value = [](double x, int prec) {
    return report_row{"", number(x, prec), number(x, prec + 1)};
  };
  std::vector<std::pair<const char*, report_row>> named = {
      {"viewers", count(o_.viewers)},
      {"mode", {"", mode, fmt::format("\"{}\"", mode)}},
      {"playing", count(playing)},
      {"never_played", count(o_.viewers - playing)},
      {"fell_back_classic", count(fell_back)},
      {"window_s", value(window, 1)},
      {"requests_per_s", value(rps, 0)},
      {"playlists_per_s", value(per_s(static_cast<double>(common_.playlists)), 0)},
      {"media_per_s", value(per_s(static_cast<double>(common_.media)), 0)},
      {"aggregate_gbps", value(gbps, 2)},
      {"stalls", count(stalls)},
      {"stalled_viewers", count(stalled)},
      {"stalled_s", value(stalled_s, 1)},
      {"skips", count(skips)},
      {"buffer_min_p1_s", value(percentile(min_buffer, 1), 2)},
      {"buffer_min_p50_s", value(percentile(min_buffer, 50), 2)},
      {"delivery_p50_ms", value(common_.delivery_ms.percentile(50), 1)},
      {"delivery_p99_ms", value(common_.delivery_ms.percentile(99), 1)},
      {"age_p50_ms", value(common_.age_ms.percentile(50), 1)},
      {"age_p99_ms", value(common_.age_ms.percentile(99), 1)},
      {"errors", count(errors)},
      {"reconnects", count(reconnects_)},
  };
  if (o_.server_pid > 0) {
    double server_cpu = window > 0 ? (server_end_.cpu_s - server_begin_.cpu_s) / window * 100 : NAN;
    named.push_back({"server_cpu_pct", value(server_cpu, 1)});
    named.push_back({"server_rss_mib", value(static_cast<double>(server_end_.rss_kib) / 1024, 1)});
  }
  if (o_.server_core >= 0)
    named.push_back({"server_core_busy_pct", value(busy_pct(core_begin_, core_end_), 1)});
  std::vector<report_row> rows;
  for (auto& [name, row] : named) {
    row.name = name;
    rows.push_back(std::move(row));
  }
  // Its whole core, softirq included: near 100%, the client is what limits the run.
  client_load client;
  client.limit = o_.client_limit;
  client.cpu_pct = cpu;
  if (load_core_ >= 0) client.core_busy_pct = busy_pct(load_core_begin_, load_core_end_);
  client_rows(rows, client);
  print_report(rows, o_.json, fmt::format("\"errors_by_status\": {{{}}}", by_status), first_error_);
  if (!o_.json && !by_status.empty()) fmt::print("errors: {}\n", by_status);
  if (playing == 0) return 1;
  return client_verdict(client, o_.strict);
}

}  // namespace

int run_hls(const hls_options& o) {
  return hls_load(o).run();
}

}  // namespace gordo::load
