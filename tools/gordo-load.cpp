// gordo-load: many HTTP viewers of one stream from one thread (epoll), each measured:
// time to first byte, time to its first decodable keyframe (MPEG-TS), received rate, and
// whether that rate keeps up with the stream's own (its PCRs, measured on a sample).
// With --hls, HLS players instead (load/hls_load.h): stalls, delivery times, requests/s.
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

#include "load/hls_load.h"
#include "load/sys.h"
#include "load/ts_probe.h"
#include "load/ts_rate.h"
#include "load/url.h"

namespace {

using gordo::load::core_sample;
using gordo::load::cpu_s;
using gordo::load::now_s;
using gordo::load::percentile;
using gordo::load::proc_sample;
using gordo::load::report_row;
using gordo::load::sample;
using gordo::load::sample_core;
using gordo::load::ts_probe;
using gordo::load::ts_rate;

// Viewers whose MPEG-TS is parsed for PCRs (the first to connect): enough for a median
// that a single resynced viewer does not move, few enough to cost nothing at 10,000.
constexpr unsigned rate_sample = 16;
using gordo::load::url;

struct options {
  url target;
  unsigned viewers = 100;
  double connect_rate = 1000;  // viewers per second
  double duration = 10;        // seconds after the last viewer connected
  double settle = 2;           // seconds after the last connect before rates are measured
  double bitrate = 0;          // expected bits/s of the stream; 0: measured from its PCRs
  int cpu = -1;
  int server_pid = 0;    // also report this process's CPU and memory over the window
  int server_core = -1;  // also report how busy this CPU was over the window
  bool raw = false;      // no HTTP: the server streams as soon as we connect (tcpserversink)
  bool json = false;
  bool quiet = false;
};

enum class state : uint8_t { connecting, head, body, done };

struct viewer {
  int fd = -1;
  state st = state::connecting;
  bool failed = false;        // never got a 200
  bool closed_early = false;  // the server closed a 200 stream before the end
  int status = 0;
  double started = 0;
  double first_byte = -1;        // seconds after `started`
  double keyframe = -1;          // seconds after `started` to the first random-access TS packet
  uint64_t keyframe_packet = 0;  // which TS packet of the body that was (1: the first)
  uint64_t body_bytes = 0;
  uint64_t bytes_at_mark = 0;
  std::string head;  // the response head while reading it
  std::string error;
  ts_probe probe;
  std::unique_ptr<ts_rate> rate;  // on the first `rate_sample` viewers only
};

class load {
 public:
  explicit load(const options& o) : o_(o), viewers_(o.viewers), buf_(1 << 18) {
    for (unsigned i = 0; i < std::min(o.viewers, rate_sample); ++i)
      viewers_[i].rate = std::make_unique<ts_rate>();
  }

  int run();

 private:
  void start(viewer& v);
  void on_event(viewer& v, uint32_t events);
  void on_data(viewer& v, const char* data, size_t n, double t);
  void finish(viewer& v, const std::string& error);
  void progress(double t, bool last);
  // Prints the summary; returns how many viewers got the stream.
  unsigned report(double window);

  options o_;
  std::vector<viewer> viewers_;
  std::vector<char> buf_;
  int ep_ = -1;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  std::string request_;
  unsigned started_ = 0;
  unsigned live_ = 0;
  double last_progress_ = 0;
  uint64_t bytes_total_ = 0;
  uint64_t bytes_at_progress_ = 0;
  double mark_at_ = -1;  // start of the measured window
  double cpu_used_ = 0;  // CPU seconds in the measured window
  proc_sample server_begin_, server_end_;
  core_sample core_begin_, core_end_;
};

int load::run() {
  std::string error;
  if (!gordo::load::resolve(o_.target, addr_, addr_len_, error)) {
    fmt::print(stderr, "gordo-load: {}\n", error);
    return 2;
  }
  std::string host = gordo::load::host_header(o_.target);
  request_ = fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: gordo-load\r\nIcy-MetaData: 0\r\n\r\n",
      o_.target.path, host);

  ep_ = epoll_create1(EPOLL_CLOEXEC);
  std::vector<epoll_event> events(4096);
  double begin = now_s();
  double cpu_begin = cpu_s();
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
      mark = t + o_.settle;
      end = mark + o_.duration;
    }
    if (mark > 0 && t >= mark && mark != -2) {
      for (viewer& v : viewers_) {
        v.bytes_at_mark = v.body_bytes;
        if (v.rate) v.rate->restart();
      }
      cpu_begin = cpu_s();
      server_begin_ = sample(o_.server_pid);
      core_begin_ = sample_core(o_.server_core);
      mark_at_ = t;
      mark = -2;
    }
    if (end > 0 && t >= end) break;
    if (live_ == 0 && started_ == o_.viewers) break;  // everyone failed or was closed
    int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 5);
    t = now_s();
    for (int i = 0; i < n; ++i) on_event(viewers_[events[i].data.u32], events[i].events);
    if (!o_.quiet && t - last_progress_ >= 1) progress(t - begin, false);
  }
  double t_end = now_s();
  cpu_used_ = cpu_s() - cpu_begin;
  server_end_ = sample(o_.server_pid);
  core_end_ = sample_core(o_.server_core);
  for (viewer& v : viewers_) {
    // Still connecting (a SYN dropped from a full backlog, retried) or still waiting for
    // the response head: it never got the stream.
    if (v.st == state::connecting || v.st == state::head)
      finish(v, v.st == state::connecting ? "not connected by the end" : "no response by the end");
    if (v.fd >= 0) ::close(v.fd);
  }
  if (!o_.quiet) progress(t_end - begin, true);
  // Exit status 1 when no viewer got the stream at all (server down, every request refused).
  return report(mark_at_ > 0 ? t_end - mark_at_ : 0) > 0 ? 0 : 1;
}

void load::start(viewer& v) {
  v.started = now_s();
  v.fd = socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (v.fd < 0) return finish(v, fmt::format("socket: {}", std::strerror(errno)));
  int r = connect(v.fd, reinterpret_cast<sockaddr*>(&addr_), addr_len_);
  if (r < 0 && errno != EINPROGRESS)
    return finish(v, fmt::format("connect: {}", std::strerror(errno)));
  epoll_event ev{};
  ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
  ev.data.u32 = static_cast<uint32_t>(&v - viewers_.data());
  epoll_ctl(ep_, EPOLL_CTL_ADD, v.fd, &ev);
  ++live_;
}

void load::on_event(viewer& v, uint32_t events) {
  if (v.st == state::done) return;
  if (v.st == state::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(v.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return finish(v, fmt::format("connect: {}", std::strerror(err)));
    if (!(events & EPOLLOUT)) return;
    // The request is tiny: one send into an empty socket buffer always takes all of it.
    if (!o_.raw && send(v.fd, request_.data(), request_.size(), MSG_NOSIGNAL) !=
                       static_cast<ssize_t>(request_.size()))
      return finish(v, fmt::format("send: {}", std::strerror(errno)));
    v.st = o_.raw ? state::body : state::head;
    if (o_.raw) v.status = 200;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u32 = static_cast<uint32_t>(&v - viewers_.data());
    epoll_ctl(ep_, EPOLL_CTL_MOD, v.fd, &ev);
    return;
  }
  for (;;) {
    ssize_t n = recv(v.fd, buf_.data(), buf_.size(), 0);
    if (n > 0) {
      on_data(v, buf_.data(), static_cast<size_t>(n), now_s());
      if (v.st == state::done) return;
      if (static_cast<size_t>(n) < buf_.size()) return;  // drained
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
    v.head.append(data, n);
    size_t end = v.head.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (v.head.size() > 16384) finish(v, "response head too large");
      return;
    }
    if (v.head.compare(0, 5, "HTTP/") == 0 && v.head.size() > 12)
      v.status = std::atoi(v.head.c_str() + 9);
    if (v.status != 200) {
      v.failed = true;
      return finish(v, fmt::format("HTTP {}", v.status));
    }
    std::string body = v.head.substr(end + 4);
    v.head.clear();
    v.head.shrink_to_fit();
    v.st = state::body;
    if (!body.empty()) on_data(v, body.data(), body.size(), t);
    return;
  }
  v.body_bytes += n;
  bytes_total_ += n;
  if (v.keyframe < 0 && v.probe.feed(data, n)) {
    v.keyframe = t - v.started;
    v.keyframe_packet = v.probe.packets();
  }
  if (v.rate) v.rate->feed(data, n);
}

void load::finish(viewer& v, const std::string& error) {
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

unsigned load::report(double window) {
  std::vector<double> rates, ttfb, tkey, key_packet, stream_rates;
  unsigned failures = 0, early = 0, ok = 0, receiving = 0;
  std::string first_error;
  for (const viewer& v : viewers_) {
    if (v.failed) {
      ++failures;
      if (first_error.empty()) first_error = v.error;
      continue;
    }
    if (v.closed_early) ++early;
    ++ok;
    if (v.first_byte >= 0) ttfb.push_back(v.first_byte * 1e3);
    if (v.keyframe >= 0) {
      tkey.push_back(v.keyframe * 1e3);
      key_packet.push_back(static_cast<double>(v.keyframe_packet));
    }
    if (window > 0)
      rates.push_back(static_cast<double>(v.body_bytes - v.bytes_at_mark) * 8 / window);
    receiving += window > 0 && v.body_bytes > v.bytes_at_mark;
    // The stream's rate as its PCRs say, from viewers whose PCRs span a second or more (a
    // viewer far behind covers less stream time than the window, but at the same rate).
    if (v.rate && v.rate->seconds() >= std::min(1.0, 0.5 * window))
      stream_rates.push_back(v.rate->bits_per_s());
  }
  // "Behind" is against the source's rate, never the viewers': against their median a
  // server that is slow for everyone would show nobody behind.
  double expected = o_.bitrate > 0 ? o_.bitrate : percentile(stream_rates, 50);
  const char* expected_from = o_.bitrate > 0         ? "bitrate"
                              : stream_rates.empty() ? nullptr
                                                     : "stream";
  double behind = NAN;
  if (expected_from) {
    behind = 0;
    for (double r : rates) behind += r < 0.95 * expected;
  } else if (window > 0 && !rates.empty()) {
    fmt::print(stderr,
               "gordo-load: no MPEG-TS PCRs to measure the stream's rate by; give --bitrate to "
               "count the viewers behind it\n");
  }
  double aggregate = 0;
  for (double r : rates) aggregate += r;
  unsigned no_key = ok - static_cast<unsigned>(tkey.size());
  double cpu = window > 0 ? cpu_used_ / window * 100 : 0;
  auto num = gordo::load::number;
  std::vector<report_row> rows = {
      {"viewers", fmt::format("{}", o_.viewers), fmt::format("{}", o_.viewers)},
      {"ok", fmt::format("{}", ok), fmt::format("{}", ok)},
      {"receiving", fmt::format("{}", receiving), fmt::format("{}", receiving)},
      {"failures", fmt::format("{}", failures), fmt::format("{}", failures)},
      {"closed_early", fmt::format("{}", early), fmt::format("{}", early)},
      {"window_s", num(window, 1), num(window, 3)},
      {"expected_mbps", num(expected / 1e6, 3), num(expected / 1e6, 4)},
      {"expected_from", expected_from ? expected_from : "-",
       expected_from ? fmt::format("\"{}\"", expected_from) : "null"},
      {"rate_p1_mbps", num(percentile(rates, 1) / 1e6, 3), num(percentile(rates, 1) / 1e6, 4)},
      {"rate_p50_mbps", num(percentile(rates, 50) / 1e6, 3), num(percentile(rates, 50) / 1e6, 4)},
      {"behind", num(behind, 0), num(behind, 0)},
      {"aggregate_gbps", num(aggregate / 1e9, 2), num(aggregate / 1e9, 4)},
      {"ttfb_p50_ms", num(percentile(ttfb, 50), 1), num(percentile(ttfb, 50), 2)},
      {"ttfb_p99_ms", num(percentile(ttfb, 99), 1), num(percentile(ttfb, 99), 2)},
      {"keyframe_p50_ms", num(percentile(tkey, 50), 1), num(percentile(tkey, 50), 2)},
      {"keyframe_p99_ms", num(percentile(tkey, 99), 1), num(percentile(tkey, 99), 2)},
      {"keyframe_packet_p99", num(percentile(key_packet, 99), 0),
       num(percentile(key_packet, 99), 0)},
      {"no_keyframe", fmt::format("{}", no_key), fmt::format("{}", no_key)},
      {"load_cpu_pct", num(cpu, 1), num(cpu, 1)},
  };
  if (o_.server_pid > 0) {
    double server_cpu = window > 0 ? (server_end_.cpu_s - server_begin_.cpu_s) / window * 100 : NAN;
    rows.push_back({"server_cpu_pct", num(server_cpu, 1), num(server_cpu, 1)});
    rows.push_back({"server_rss_mib", num(static_cast<double>(server_end_.rss_kib) / 1024, 1),
                    num(static_cast<double>(server_end_.rss_kib) / 1024, 2)});
  }
  if (o_.server_core >= 0) {
    double total = core_end_.total - core_begin_.total;
    double busy = total > 0 ? (core_end_.busy - core_begin_.busy) / total * 100 : NAN;
    rows.push_back({"server_core_busy_pct", num(busy, 1), num(busy, 1)});
  }
  gordo::load::print_report(rows, o_.json, "", first_error);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options spec("gordo-load", "Many HTTP viewers of one stream, measured");
  spec.positional_help("URL");
  // clang-format off
  spec.add_options()
    ("url", "Stream to view, http://HOST:PORT/PATH", cxxopts::value<std::string>())
    ("n,viewers", "Concurrent viewers", cxxopts::value<unsigned>()->default_value("100"))
    ("r,rate", "New viewers per second", cxxopts::value<double>()->default_value("1000"))
    ("d,duration", "Seconds measured, after all viewers connected and settled",
        cxxopts::value<double>()->default_value("10"))
    ("settle", "Seconds between the last connect and the measured window",
        cxxopts::value<double>()->default_value("2"))
    ("b,bitrate", "Expected stream rate in Mbit/s (default: measured from the stream's MPEG-TS PCRs)",
        cxxopts::value<double>()->default_value("0"))
    ("cpu", "Pin to this CPU", cxxopts::value<int>()->default_value("-1"))
    ("server-pid", "Also report this process's CPU use over the window and its RSS at the end",
        cxxopts::value<int>()->default_value("0"))
    ("server-core", "Also report how busy this CPU was over the window (the server's pinned core)",
        cxxopts::value<int>()->default_value("-1"))
    ("raw", "No HTTP: read the stream straight from the socket (GStreamer tcpserversink)")
    ("hls", "HLS viewers: URL is a media playlist or a multivariant one (its first rendition); "
        "low-latency (blocking reloads and parts) as hls.js plays it")
    ("hls-classic", "HLS viewers polling the playlist every half target duration for whole segments")
    ("json", "Print the summary as one JSON object")
    ("q,quiet", "No progress line")
    ("h,help", "Print this help");
  // clang-format on
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
      fmt::print(stderr, "gordo-load: '{}' is not an http://HOST[:PORT]/PATH URL\n",
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
    o.server_pid = args["server-pid"].as<int>();
    o.server_core = args["server-core"].as<int>();
    o.json = args.count("json") > 0;
    o.raw = args.count("raw") > 0;
    o.quiet = args.count("quiet") > 0;
    if (o.viewers == 0 || o.connect_rate <= 0 || o.duration <= 0 || o.settle < 0)
      throw cxxopts::exceptions::exception("--viewers, --rate and --duration must be positive");
    hls = args.count("hls") > 0 || args.count("hls-classic") > 0;
    if (hls && (o.raw || o.bitrate > 0))
      throw cxxopts::exceptions::exception("--hls takes neither --raw nor --bitrate");
    h.target = o.target;
    h.mode = args.count("hls-classic") ? gordo::load::hls_mode::classic
                                       : gordo::load::hls_mode::low_latency;
    h.viewers = o.viewers;
    h.connect_rate = o.connect_rate;
    h.duration = o.duration;
    h.settle = o.settle;
    h.cpu = o.cpu;
    h.server_pid = o.server_pid;
    h.server_core = o.server_core;
    h.json = o.json;
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
