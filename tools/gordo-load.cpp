// gordo-load: many HTTP viewers of one stream from one thread (epoll), each measured:
// time to first byte, time to its first decodable keyframe (MPEG-TS), received rate, and
// whether that rate keeps up with the stream's own (its PCRs, measured on a sample). A
// sample (--verify) checks everything it receives; the others count bytes the kernel
// drops for them, so the client costs little beside the server (and says when it did not).
// With --hls, HLS players instead (load/hls_load.h): stalls, delivery times, requests/s.
// With --tls, over HTTPS: a handshake each, and only a sample decrypts what it receives.
// Built by meson as build/gordo-load; see perf/README.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cxxopts.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "load/flags.h"
#include "load/hls_load.h"
#include "load/stream_viewer.h"
#include "load/sys.h"
#include "load/tls.h"
#include "load/ts_rate.h"
#include "load/uring_count.h"
#include "load/url.h"

namespace {

using gordo::load::cpu_s;
using gordo::load::now_s;
using gordo::load::sample;
using gordo::load::sample_core;
using gordo::load::tls_client;
using gordo::load::tls_step;
using gordo::load::ts_continuity;
using gordo::load::ts_rate;
using gordo::load::url;
using options = gordo::load::stream_options;
using state = gordo::load::stream_state;
using viewer = gordo::load::stream_viewer;

// A response head longer than this is refused; unverified viewers read this much at a
// time until they have their head and first keyframe.
constexpr size_t max_head = 16384;
constexpr size_t probe_read = 16384;
constexpr uint32_t ring_tag = UINT32_MAX;  // the io_uring's fd in the epoll set

class load {
 public:
  explicit load(const options& o) : o_(o), viewers_(o.viewers), buf_(1 << 18) {
    unsigned verified = std::min(o.viewers, o.verify);
    for (unsigned i = verified; i < o.viewers; ++i) viewers_[i].checked = false;
    for (unsigned i = 0; i < verified; ++i) {
      viewers_[i].rate = std::make_unique<ts_rate>();
      viewers_[i].continuity = std::make_unique<ts_continuity>();
    }
  }

  int run();

 private:
  void start(viewer& v);
  void on_event(viewer& v, uint32_t events);
  void on_handshake(viewer& v);
  void on_tls_read(viewer& v);
  void on_recv(viewer& v);
  void watch(viewer& v, uint32_t events);
  // Only counts what arrives: its head and first keyframe were checked, or not a TS.
  bool counting(const viewer& v) const {
    return !v.checked && v.st == state::body &&
           (o_.tls || v.probe.found() || v.body_bytes >= gordo::load::probe_limit);
  }
  void on_data(viewer& v, const char* data, size_t n, double t);
  void on_counted(uint32_t id, int res, bool more, double t);
  void finish(viewer& v, const std::string& error);
  void progress(double t, bool last);

  options o_;
  std::vector<viewer> viewers_;
  std::vector<char> buf_;
  int ep_ = -1;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  std::string request_;
  std::unique_ptr<tls_client> tls_;
  std::unique_ptr<gordo::load::uring_count> uring_;  // --recv uring: counts the counting viewers
  unsigned started_ = 0;
  unsigned live_ = 0;
  double last_progress_ = 0;
  uint64_t bytes_total_ = 0;
  uint64_t bytes_at_progress_ = 0;
  double mark_at_ = -1;  // start of the measured window
  gordo::load::stream_window w_;
};

int load::run() {
  std::string error;
  if (!gordo::load::resolve(o_.target, addr_, addr_len_, error) ||
      !gordo::load::source_fits(o_.source, addr_, o_.target, error)) {
    fmt::print(stderr, "gordo-load: {}\n", error);
    return 2;
  }
  std::string host = gordo::load::host_header(o_.target);
  request_ = fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: gordo-load\r\nIcy-MetaData: 0\r\n\r\n",
      o_.target.path, host);
  if (o_.tls) {
    tls_ = tls_client::make(o_.target.host, o_.tls_opts, error);
    if (!tls_) {
      fmt::print(stderr, "gordo-load: {}\n", error);
      return 2;
    }
  }

  w_.load_core = gordo::load::own_core(o_.cpu);
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (o_.recv != "epoll") {
    uring_ = gordo::load::uring_count::make(error);
    if (!uring_ && o_.recv == "uring") {
      fmt::print(stderr, "gordo-load: --recv uring: {}\n", error);
      return 2;
    }
    if (!uring_) fmt::print(stderr, "gordo-load: counting with epoll and recv ({})\n", error);
  }
  if (uring_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = ring_tag;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, uring_->fd(), &ev) != 0) {
      fmt::print(stderr, "gordo-load: epoll: {}\n", std::strerror(errno));
      return 2;
    }
  }
  std::vector<epoll_event> events(4096);
  double begin = now_s();
  double cpu_begin = cpu_s();
  w_.ramp_core_begin = sample_core(w_.load_core);
  double all_connected = -1, mark = -1, end = -1;
  last_progress_ = begin;
  for (;;) {
    double t = now_s();
    // Connect at the requested rate.
    auto due =
        static_cast<unsigned>(std::min<double>(o_.viewers, (t - begin) * o_.connect_rate + 1));
    while (started_ < due) start(viewers_[started_++]);
    if (started_ == o_.viewers && all_connected < 0) {
      all_connected = t;
      w_.ramp_seconds = t - begin;
      w_.ramp_cpu_s = cpu_s() - cpu_begin;
      w_.ramp_core_end = sample_core(w_.load_core);
      mark = t + o_.settle;
      end = mark + o_.duration;
    }
    if (mark > 0 && t >= mark && mark != -2) {
      for (viewer& v : viewers_) {
        v.bytes_at_mark = v.body_bytes;
        if (v.rate) v.rate->restart();
        if (v.ssl && v.st == state::body) v.wire_at_mark = tls_client::wire_bytes(v.ssl);
      }
      cpu_begin = cpu_s();
      w_.load_core_begin = sample_core(w_.load_core);
      w_.server_begin.clear();
      for (int pid : o_.server_pids) w_.server_begin.push_back(sample(pid));
      w_.core_begin = sample_core(o_.server_core);
      mark_at_ = t;
      mark = -2;
    }
    if (end > 0 && t >= end) break;
    if (live_ == 0 && started_ == o_.viewers) break;  // everyone failed or was closed
    int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 5);
    t = now_s();
    for (int i = 0; i < n; ++i)
      if (events[i].data.u32 != ring_tag) on_event(viewers_[events[i].data.u32], events[i].events);
    // Submits the viewers handed over in this round, and counts what was received.
    if (uring_)
      uring_->reap([&](uint32_t id, int res, bool more) { on_counted(id, res, more, t); });
    if (!o_.quiet && t - last_progress_ >= 1) progress(t - begin, false);
  }
  double t_end = now_s();
  w_.load_cpu_s = cpu_s() - cpu_begin;
  w_.load_core_end = sample_core(w_.load_core);
  for (int pid : o_.server_pids) w_.server_end.push_back(sample(pid));
  w_.core_end = sample_core(o_.server_core);
  for (viewer& v : viewers_) {
    // TLS record overhead, from the checked viewers: the bytes they read off the socket
    // against the plaintext those bytes carried.
    if (v.ssl && v.st == state::body && v.wire_at_mark > 0) {
      w_.tls_wire += tls_client::wire_bytes(v.ssl) - v.wire_at_mark;
      w_.tls_plain += v.body_bytes - v.bytes_at_mark;
    }
    // Still connecting (a SYN dropped from a full backlog, retried) or still waiting for
    // the response head: it never got the stream.
    if (v.st == state::connecting || v.st == state::handshake || v.st == state::head)
      finish(v, v.st == state::connecting  ? "not connected by the end"
                : v.st == state::handshake ? "TLS handshake not done by the end"
                                           : "no response by the end");
    finish(v, "");
  }
  if (!o_.quiet) progress(t_end - begin, true);
  w_.seconds = mark_at_ > 0 ? t_end - mark_at_ : 0;
  return gordo::load::report_stream(o_, viewers_, w_);
}

void load::start(viewer& v) {
  v.started = now_s();
  v.fd = socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (v.fd < 0) return finish(v, fmt::format("socket: {}", std::strerror(errno)));
  ++live_;  // finish() counts it out again with its fd
  auto id = static_cast<uint32_t>(&v - viewers_.data());
  if (o_.source)
    if (int err = gordo::load::bind_source(v.fd, *o_.source, id))
      return finish(v, fmt::format("bind: {}", std::strerror(-err)));
  int r = connect(v.fd, reinterpret_cast<sockaddr*>(&addr_), addr_len_);
  if (r < 0 && errno != EINPROGRESS)
    return finish(v, fmt::format("connect: {}", std::strerror(errno)));
  v.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
  epoll_event ev{};
  ev.events = v.events;
  ev.data.u32 = id;
  epoll_ctl(ep_, EPOLL_CTL_ADD, v.fd, &ev);
}

void load::watch(viewer& v, uint32_t events) {
  if (v.events == events) return;
  v.events = events;
  epoll_event ev{};
  ev.events = events;
  ev.data.u32 = static_cast<uint32_t>(&v - viewers_.data());
  epoll_ctl(ep_, EPOLL_CTL_MOD, v.fd, &ev);
}

void load::on_event(viewer& v, uint32_t events) {
  if (v.st == state::done) return;
  if (v.st == state::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(v.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return finish(v, fmt::format("connect: {}", std::strerror(err)));
    if (!(events & EPOLLOUT)) return;
    if (tls_) {
      std::string error;
      v.ssl = tls_->open(v.fd, error);
      if (!v.ssl) return finish(v, error);
      v.st = state::handshake;
      return on_handshake(v);
    }
    // The request is tiny: one send into an empty socket buffer always takes all of it.
    if (!o_.raw && send(v.fd, request_.data(), request_.size(), MSG_NOSIGNAL) !=
                       static_cast<ssize_t>(request_.size()))
      return finish(v, fmt::format("send: {}", std::strerror(errno)));
    v.st = o_.raw ? state::body : state::head;
    if (o_.raw) v.status = 200;
    return watch(v, EPOLLIN | EPOLLRDHUP);
  }
  if (v.st == state::handshake) return on_handshake(v);
  if (v.ssl) return on_tls_read(v);
  on_recv(v);
}

void load::on_handshake(viewer& v) {
  std::string error;
  tls_step step = tls_client::handshake(v.ssl, error);
  if (step == tls_step::want_read) return watch(v, EPOLLIN | EPOLLRDHUP);
  if (step == tls_step::want_write) return watch(v, EPOLLOUT | EPOLLRDHUP);
  if (step != tls_step::done) {
    v.handshake_failed = true;
    return finish(v, error);
  }
  v.handshake = now_s() - v.started;
  if (w_.tls_protocol.empty()) w_.tls_protocol = tls_client::describe(v.ssl);
  // As the plain request: one small record into an empty socket buffer.
  if (!tls_client::write(v.ssl, request_, error)) return finish(v, error);
  v.st = state::head;
  watch(v, EPOLLIN | EPOLLRDHUP);
}

void load::on_tls_read(viewer& v) {
  for (;;) {
    tls_step step = tls_step::done;
    std::string error;
    size_t n = tls_client::read(v.ssl, buf_.data(), buf_.size(), step, error);
    if (n > 0) {
      on_data(v, buf_.data(), n, now_s());
      if (v.st == state::done) return;
      // Head read and checked, and nothing of the stream left inside OpenSSL (it reads
      // record by record): the rest is counted straight off the socket, not decrypted.
      if (v.st == state::body && !v.checked && !SSL_has_pending(v.ssl)) {
        SSL_free(v.ssl);
        v.ssl = nullptr;
        return on_recv(v);
      }
      continue;
    }
    // A TLS 1.3 key update to answer waits for the next read: the socket has room.
    if (step == tls_step::want_read || step == tls_step::want_write) return;
    if (v.st == state::body) v.closed_early = true;
    return finish(v, error);
  }
}

void load::on_recv(viewer& v) {
  for (;;) {
    // Counting viewers' bytes are dropped by the kernel: TCP's MSG_TRUNC copies nothing
    // and returns how much it dropped (tcp(7)). Unverified ones read their head and first
    // keyframe in small pieces, not the whole burst that follows them.
    bool count_only = counting(v);
    if (count_only && uring_ && !v.on_epoll_only &&
        uring_->watch(v.fd, static_cast<uint32_t>(&v - viewers_.data()))) {
      // Counted on the ring from now on: out of the epoll set, one multishot receive.
      epoll_ctl(ep_, EPOLL_CTL_DEL, v.fd, nullptr);
      return;
    }
    if (count_only) v.on_epoll_only = true;  // the ring was full: it stays here
    size_t want = count_only || v.checked ? buf_.size() : probe_read;
    ssize_t n = recv(v.fd, buf_.data(), want, count_only ? MSG_TRUNC : 0);
    if (n > 0) {
      on_data(v, count_only ? nullptr : buf_.data(), static_cast<size_t>(n), now_s());
      if (v.st == state::done) return;
      if (static_cast<size_t>(n) < want) return;  // drained
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (v.st == state::body) v.closed_early = true;
    return finish(v,
                  n == 0 ? "closed by the server" : fmt::format("recv: {}", std::strerror(errno)));
  }
}

void load::on_data(viewer& v, const char* data, size_t n, double t) {
  if (v.first_byte < 0) v.first_byte = t - v.started;
  if (v.st == state::head) {
    // Only the head is kept: the body that came with it is read where it lies.
    size_t had = v.head.size();
    v.head.append(data, std::min(n, max_head - had));
    size_t end = v.head.find("\r\n\r\n", had >= 3 ? had - 3 : 0);
    if (end == std::string::npos) {
      if (v.head.size() >= max_head) finish(v, "response head too large");
      return;
    }
    if (v.head.compare(0, 5, "HTTP/") == 0 && v.head.size() > 12)
      v.status = std::atoi(v.head.c_str() + 9);
    if (v.status != 200) {
      v.failed = true;
      return finish(v, fmt::format("HTTP {}", v.status));
    }
    size_t used = end + 4 - had;  // of `data`
    std::string().swap(v.head);
    v.st = state::body;
    if (used < n) on_data(v, data + used, n - used, t);
    return;
  }
  v.body_bytes += n;
  bytes_total_ += n;
  if (!data) return;  // counted only
  // Unverified TLS viewers read only what came with the head decrypted: not probed.
  if (v.keyframe < 0 && (v.checked || !o_.tls) && v.probe.feed(data, n)) {
    v.keyframe = t - v.started;
    v.keyframe_packet = v.probe.packets();
  }
  if (!v.checked) return;
  v.rate->feed(data, n);
  v.continuity->feed(data, n);
  if (mark_at_ > 0 && v.rate->pcrs() > 0 && t - v.offset_at >= 0.1) {
    v.offset_at = t;
    w_.live_offset_ms.push_back((t - v.rate->timeline_s()) * 1e3);
  }
}

void load::on_counted(uint32_t id, int res, bool more, double t) {
  viewer& v = viewers_[id];
  if (v.st == state::done) return;
  if (res > 0 || res == -ENOBUFS) {  // bytes dropped; or no buffer was free: go on
    if (res > 0) on_data(v, nullptr, static_cast<size_t>(res), t);
    if (!more && !uring_->watch(v.fd, id)) {
      v.on_epoll_only = true;  // the ring is full: back to epoll
      epoll_event ev{};
      ev.events = v.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u32 = id;
      epoll_ctl(ep_, EPOLL_CTL_ADD, v.fd, &ev);
    }
    return;
  }
  v.closed_early = true;
  finish(v, res == 0 ? "closed by the server" : fmt::format("recv: {}", std::strerror(-res)));
}

void load::finish(viewer& v, const std::string& error) {
  if (v.ssl) {
    SSL_free(v.ssl);
    v.ssl = nullptr;
  }
  if (v.st == state::done) return;
  if (v.status != 200) v.failed = true;
  v.error = error;
  v.st = state::done;
  if (v.fd >= 0) {
    ::close(v.fd);
    v.fd = -1;
    --live_;
  }
}

void load::progress(double t, bool last) {
  double now = now_s();
  double dt = now - last_progress_;
  double gbps = dt > 0 ? static_cast<double>(bytes_total_ - bytes_at_progress_) * 8 / dt / 1e9 : 0;
  bytes_at_progress_ = bytes_total_;
  last_progress_ = now;
  fmt::print(stderr, "\r{:6.1f}s  viewers {:>6}/{:<6} live {:>6}  {:6.2f} Gbit/s  ", t, started_,
             o_.viewers, live_, gbps);
  if (last) fmt::print(stderr, "\n");
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options spec = gordo::load::flag_table();
  spec.parse_positional({"url"});
  options o;
  bool hls = false;
  gordo::load::hls_options h;
  try {
    auto args = spec.parse(argc, argv);
    if (args.count("help") || !args.count("url")) {
      fmt::print("{}\n", spec.help());
      return args.count("help") ? 0 : 2;
    }
    auto target = gordo::load::parse_url(args["url"].as<std::string>());
    if (!target) {
      fmt::print(stderr, "gordo-load: '{}' is not an http[s]://HOST[:PORT]/PATH URL\n",
                 args["url"].as<std::string>());
      return 2;
    }
    o.target = *target;
    o.viewers = args["viewers"].as<unsigned>();
    o.connect_rate = args["rate"].as<double>();
    o.duration = args["duration"].as<double>();
    o.settle = args["settle"].as<double>();
    o.bitrate = args["bitrate"].as<double>() * 1e6;
    o.cpu = args["cpu"].as<int>();
    if (args.count("server-pid")) o.server_pids = args["server-pid"].as<std::vector<int>>();
    std::erase_if(o.server_pids, [](int pid) { return pid <= 0; });
    o.server_core = args["server-core"].as<int>();
    o.json = args.count("json") > 0;
    o.raw = args.count("raw") > 0;
    o.quiet = args.count("quiet") > 0;
    o.tls = target->https || args.count("tls") > 0;
    if (args.count("tls-servername"))
      o.tls_opts.servername = args["tls-servername"].as<std::string>();
    if (args.count("tls-ca")) o.tls_opts.ca_file = args["tls-ca"].as<std::string>();
    o.verify = args["verify"].as<unsigned>();
    o.strict = args.count("strict") > 0;
    o.recv = args["recv"].as<std::string>();
    if (o.recv != "auto" && o.recv != "epoll" && o.recv != "uring")
      throw cxxopts::exceptions::exception("--recv is auto, uring or epoll");
    o.client_limit = args["client-limit"].as<double>();
    if (!(o.client_limit >= 0 && o.client_limit <= 100))
      throw cxxopts::exceptions::exception("--client-limit is a % from 0 to 100");
    if (o.tls && o.raw) throw cxxopts::exceptions::exception("--tls and --raw exclude each other");
    if (o.viewers == 0 || o.connect_rate <= 0 || o.duration <= 0 || o.settle < 0)
      throw cxxopts::exceptions::exception("--viewers, --rate and --duration must be positive");
    if (args.count("source")) {
      std::string error;
      o.source = gordo::load::parse_source(args["source"].as<std::string>(), error);
      if (!o.source) throw cxxopts::exceptions::exception(error);
      if (o.source->hosts() < o.viewers) {
        gordo::load::source_net wide{0, 32};
        while (wide.prefix > 0 && wide.hosts() < o.viewers) --wide.prefix;
        throw cxxopts::exceptions::exception(fmt::format(
            "--source {} has {} host address{}, fewer than --viewers {}: a /{} has enough",
            args["source"].as<std::string>(), o.source->hosts(), o.source->hosts() == 1 ? "" : "es",
            o.viewers, wide.prefix));
      }
    }
    hls = args.count("hls") > 0 || args.count("hls-classic") > 0;
    if (hls && (o.raw || o.bitrate > 0 || o.tls))
      throw cxxopts::exceptions::exception("--hls takes neither --raw, --bitrate nor --tls");
    h.target = o.target;
    h.mode = args.count("hls-classic") ? gordo::load::hls_mode::classic
                                       : gordo::load::hls_mode::low_latency;
    h.viewers = o.viewers;
    h.connect_rate = o.connect_rate;
    h.duration = o.duration;
    h.settle = o.settle;
    h.source = o.source;
    h.cpu = o.cpu;
    h.server_pid = o.server_pids.empty() ? 0 : o.server_pids.front();
    h.server_core = o.server_core;
    h.json = o.json;
    h.strict = o.strict;
    h.client_limit = o.client_limit;
    h.quiet = o.quiet;
  } catch (const cxxopts::exceptions::exception& e) {
    fmt::print(stderr, "gordo-load: {} (see --help)\n", e.what());
    return 2;
  }
  if (o.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o.cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
      fmt::print(stderr, "gordo-load: cannot pin to CPU {}: {}\n", o.cpu, std::strerror(errno));
  }
  if (!gordo::load::raise_fd_limit(o.viewers)) return 1;
  return hls ? gordo::load::run_hls(h) : load(o).run();
}
