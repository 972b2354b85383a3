#include "gordo/ops/server.h"

#include <signal.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "gordo_version.h"

#include "gordo/io/uring.h"
#include "gordo/media/formats.h"
#include "gordo/media/test_pattern.h"
#include "gordo/net/http_response.h"
#include "gordo/net/icy.h"

namespace gordo {

namespace {

constexpr size_t slab_size = 1 << 20;
constexpr size_t slabs_per_arena = 64;
constexpr size_t feed_capacity = 4096;

// `pattern` holds the test pattern once encoded, for every mount without an input.
source_spec make_source(const mount_config& mc,
                        std::shared_ptr<const std::vector<uint8_t>>& pattern) {
  source_spec spec;
  spec.loop = mc.loop;
  if (std::string push = mc.push_path(); !push.empty()) {
    spec.push = push;
    spec.password = mc.password;
    spec.label = "push to " + push;
    return spec;
  }
  if (!mc.input.empty()) {
    spec.url = mc.input;
    spec.alternates = mc.alternates;
    spec.relayed = mc.relayed;
    spec.label = without_credentials(mc.input);
    if (!mc.alternates.empty())
      spec.label += fmt::format(" (+{} alternate{})", mc.alternates.size(),
                                mc.alternates.size() == 1 ? "" : "s");
    return spec;
  }
  if (!pattern) {
    test_pattern_options opts;
    spdlog::info("encoding the built-in test pattern ({} s of {}x{} H.264 + AAC, looped)",
                 opts.seconds, opts.width, opts.height);
    pattern = std::make_shared<const std::vector<uint8_t>>(encode_test_pattern(opts));
  }
  spec.memory = pattern;
  spec.label = "built-in test pattern";
  spec.loop = true;
  return spec;
}

// Every viewer is an fd: take the whole hard limit (systemd's LimitNOFILE, ulimit -Hn).
// Returns the limit now in force.
rlim_t raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    rlim_t was = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) lim.rlim_cur = was;
  }
  return lim.rlim_cur;
}

uint64_t count_open_fds() {
  std::error_code ec;
  uint64_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n > 0 ? n - 1 : 0;  // the directory iterator's own fd
}

uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

unsigned worker_count(const config& cfg) {
  if (cfg.workers) return cfg.workers;
  if (!cfg.cpus.empty()) return static_cast<unsigned>(cfg.cpus.size());
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<unsigned>(online) : 1;
}

}  // namespace

server::server(const config& cfg, reread_fn reread)
    : pool_(slab_size, slabs_per_arena),
      admission_(cfg.limits),
      cfg_(cfg),
      reread_(std::move(reread)) {
  rlim_t fds = raise_fd_limit();
  if (!cfg.access_log.empty()) log_ = std::make_unique<access_log>(cfg.access_log);
  address at = cfg.listen;
  unsigned n = worker_count(cfg);
  io_engine engine = cfg.engine == engine_choice::epoll ? io_engine::epoll : io_engine::uring;
  if (cfg.engine == engine_choice::automatic) {
    if (int err = uring_probe(); err < 0) {
      spdlog::warn("{}; serving with epoll instead", uring_error_text(err));
      engine = io_engine::epoll;
    }
  }
  for (unsigned i = 0; i < n; ++i) {
    worker_options wopts;
    wopts.ring_chunks = cfg.ring_chunks;
    wopts.header_timeout_s = cfg.header_timeout_s;
    wopts.write_timeout_s = cfg.write_timeout_s;
    wopts.zerocopy = cfg.zerocopy;
    wopts.engine = engine;
    wopts.log = log_.get();
    wopts.cors = cors_headers(cfg.cors_origin);
    wopts.player_page = cfg.player_page;
    wopts.tls = cfg.tls_listen ? &tls_ : nullptr;
    wopts.tls_handshake_timeout_s =
        cfg.tls_handshake_timeout_s ? cfg.tls_handshake_timeout_s : cfg.header_timeout_s;
    if (!cfg.cpus.empty()) wopts.cpu = cfg.cpus[i % cfg.cpus.size()];
    workers_.push_back(
        std::make_unique<worker>(i, listener(at, cfg.sndbuf, cfg.notsent_lowat), wopts));
    wakers_.push_back(&workers_.back()->waker());
  }

  listening_ = at.to_string();  // the port the kernel picked, for --listen HOST:0
  if (cfg.tls_listen) start_tls(n);
  if (!cfg.relay.empty()) {
    relay_ = std::make_unique<relay>(cfg.relay, cfg.relay_interval,
                                     std::chrono::microseconds(cfg.source_timeout_us));
    relay_->poll();  // the origins' mounts are there when serving starts
    if (auto r = relay_->take()) relayed_ = std::move(*r);
  }
  running_ = with_relayed(cfg.mounts);
  for (const mount_config& mc : running_) {
    mount& m = mounts_.add(make_mount(mc, {}));
    admission_.add_mount(m);
    recorder_.set(m.path, m.out.get(), mc.record);
  }
  // Everything that can fail on the user's input is done before a thread starts.
  if (cfg.admin_listen) {
    address admin_at = *cfg.admin_listen;
    admin_ = std::make_unique<admin>(
        admin_at, [this] { return snapshot(); }, cfg.admin_users);
    stats_url_ = "http://" + admin_at.url_host() + ":" + std::to_string(admin_at.port()) + "/stats";
  }

  try {
    for (auto& w : workers_) w->start(mounts_, admission_, pool_);
  } catch (...) {
    shutdown();  // the workers already started; no source has
    throw;
  }
  spdlog::info("{} worker{} on {}{}, with {}; fd limit {}", n, n == 1 ? "" : "s", at.to_string(),
               cfg.cpus.empty() ? "" : " (pinned)", to_string(engine), fds);
  std::string base = "http://" + at.url_host() + ":" + std::to_string(at.port());
  std::vector<std::string> groups;
  for (size_t i = 0; i < mounts_.size(); ++i) {
    const mount& m = mounts_.at(i);
    m.feed->start();
    urls_.push_back(base + m.path);
    if (!m.hls_playlist.empty()) urls_.push_back(base + m.hls_playlist);
    if (!m.hls_group.empty() &&
        std::find(groups.begin(), groups.end(), m.hls_group) == groups.end())
      groups.push_back(m.hls_group);
  }
  for (const std::string& g : groups) urls_.push_back(base + g);
  if (cfg_.tls_listen) {  // the same over HTTPS
    std::string tls_base =
        "https://" + cfg_.tls_listen->url_host() + ":" + std::to_string(cfg_.tls_listen->port());
    for (size_t i = 0, n_urls = urls_.size(); i < n_urls; ++i)
      urls_.push_back(tls_base + urls_[i].substr(base.size()));
  }
  if (admin_) admin_->start();
  if (relay_) relay_->start();
}

// HTTPS: each worker listens on the TLS address too; one line says whether the kernel
// encrypts (kTLS) or the workers do.
void server::start_tls(unsigned n) {
  tls_.set(cfg_.tls);
  address at = *cfg_.tls_listen;
  for (unsigned i = 0; i < n; ++i)
    workers_[i]->listen_tls(listener(at, cfg_.sndbuf, cfg_.notsent_lowat));
  std::string names;
  for (size_t i = 0; i < cfg_.tls->size(); ++i)
    for (const std::string& name : cfg_.tls->names(i)) names += (names.empty() ? "" : ", ") + name;
  spdlog::info("HTTPS on {} ({} certificate{}: {})", at.to_string(), cfg_.tls->size(),
               cfg_.tls->size() == 1 ? "" : "s", names);
  if (std::string why; ktls_available(why))
    spdlog::info("kernel TLS available ({}): sends of TLS viewers are encrypted by the kernel",
                 why);
  else
    spdlog::info("kernel TLS unavailable ({}); encrypting in userspace", why);
  cfg_.tls_listen = at;  // the port the kernel picked, for --tls-listen HOST:0
}

// A mount with its stream, its muxer and its source (shared with the mounts that name the
// same one; a new source is opened here, not yet started), in
// the lowest slot no live, retiring or `also` mount holds.
std::unique_ptr<mount> server::make_mount(const mount_config& mc,
                                          const std::vector<std::unique_ptr<mount>>& also) {
  auto m = std::make_unique<mount>();
  m->path = mc.path;
  m->content_type = std::string(format_for_path(mc.path).content_type);
  std::string cors = cors_headers(cfg_.cors_origin);
  m->response_head = http_stream_head(m->content_type, cors);
  const output_format& format = format_for_path(mc.path);
  if (format.audio_only && format.header_in_band)  // MP3 and AAC radio, as Icecast offers it
    m->icy_head =
        http_stream_head(m->content_type, fmt::format("icy-metaint: {}\r\n", icy_metaint) + cors);
  if (mc.hls) {
    m->hls_playlist = mc.hls_playlist();
    m->hls_cuts = *mc.hls;
    m->hls_window = mc.hls_window;
    m->hls_group = mc.hls_group;
    // The run: milliseconds since 1970 in base 36 (8 letters and digits until 2059).
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    auto ms =
        static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1'000'000;
    do {
      m->hls_run.insert(m->hls_run.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[ms % 36]);
      ms /= 36;
    } while (ms);
  }
  m->policy = mc.policy;
  m->client_limit.store(mc.policy.client_limit, std::memory_order_relaxed);
  std::vector<bool> taken(worker::max_mounts);
  for (size_t i = 0; i < mounts_.size(); ++i) taken[mounts_.at(i).slot] = true;
  for (const auto& r : retiring_) taken[r->slot] = true;
  for (const auto& r : also) taken[r->slot] = true;
  auto free_slot = std::find(taken.begin(), taken.end(), false);
  if (free_slot == taken.end())
    throw std::runtime_error(fmt::format("more than {} mounts", worker::max_mounts));
  m->slot = static_cast<uint32_t>(free_slot - taken.begin());
  m->header_in_band = format_for_path(mc.path).header_in_band;
  m->out = std::make_unique<stream>(wakers_, feed_capacity);
  m->remux = std::make_unique<remuxer>(m->path, *m->out, pool_, cfg_.chunking, mc.hls);
  // Mounts with the same source share it: one demux, one muxer per mount.
  m->source_key = mc.source_key();
  for (size_t i = 0; i < mounts_.size() && !m->feed; ++i)
    if (mounts_.at(i).source_key == m->source_key) m->feed = mounts_.at(i).feed;
  for (const auto& o : also)
    if (!m->feed && o->source_key == m->source_key) m->feed = o->feed;
  if (!m->feed) {
    source_spec spec = make_source(mc, pattern_);
    if (!spec.push.empty()) spec.users = cfg_.source_users;
    spec.timeout_us = cfg_.source_timeout_us;
    try {
      m->feed = std::make_shared<source>(std::move(spec), cfg_.lost_timeout);
      if (!mc.fallback.empty()) m->feed->set_fallback({fallback_url(mc), mc.fallback_after});
    } catch (const std::exception& e) {
      throw std::runtime_error(mc.path + ": " + e.what());
    }
  }
  m->source_label = m->feed->label();
  m->feed->attach(m->remux.get());  // throws when the format cannot carry the source
  return m;
}

// A fallback that names a mount of this gordo is read from this gordo's own viewer port.
std::string server::fallback_url(const mount_config& mc) const {
  if (!mc.fallback_is_mount) return mc.fallback;
  auto at = address::parse(listening_);
  std::string host = !at                             ? "127.0.0.1"
                     : !at->is_any()                 ? at->url_host()
                     : at->url_host().front() == '[' ? "[::1]"
                                                     : "127.0.0.1";
  return "http://" + host + ":" + std::to_string(at ? at->port() : 8080) + mc.fallback;
}

stats_snapshot server::snapshot() {
  std::lock_guard lock(mu_);
  stats_snapshot s;
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - last_snapshot_).count();
  s.process.version = GORDO_VERSION;
  s.process.listen = listening_;
  s.process.uptime_s = std::chrono::duration<double>(now - started_).count();
  s.process.open_fds = count_open_fds();
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  s.process.fd_limit = lim.rlim_cur;
  s.process.rss_bytes = resident_bytes();
  s.process.admin_denied = admin_ ? admin_->auth_failures() : 0;
  last_bytes_.resize(mounts_.size());
  for (size_t i = 0; i < mounts_.size(); ++i) {
    const mount& m = mounts_.at(i);
    mount_stats ms;
    ms.path = m.path;
    ms.content_type = m.content_type;
    ms.source = m.source_label;
    if (!m.feed->is_push()) ms.upstream = m.feed->upstream();
    source::state state = m.feed->current();
    ms.state = m.out->ended() ? "ended" : source::name(state);
    ms.viewers = m.viewers.load(std::memory_order_relaxed);
    ms.viewers_peak = m.viewers_peak.load(std::memory_order_relaxed);
    ms.bits_in_per_s = static_cast<double>(m.out->bitrate());
    ms.keyframe_interval_s = static_cast<double>(m.out->keyframe_interval_ns()) / 1e9;
    ms.chunks_published = m.out->published();
    ms.fallback = m.feed->fallback_state();
    ms.fallback_switches = m.feed->fallback_switches();
    for (const auto& w : workers_) combine_into(ms.counts, w->mount_stats(m.slot));
    ms.counts.denied += m.feed->auth_failures();
    ms.record = recorder_.stats(m.path);
    // Bits out since the previous snapshot (since start, for the first).
    uint64_t out = ms.counts.bytes_out;
    if (elapsed > 0) ms.bits_out_per_s = static_cast<double>(out - last_bytes_[i]) * 8 / elapsed;
    last_bytes_[i] = out;
    s.mounts.push_back(std::move(ms));
  }
  last_snapshot_ = now;
  for (const auto& w : workers_) {
    worker_stats ws;
    ws.id = static_cast<unsigned>(s.workers.size());
    ws.cpu = w->cpu();
    ws.engine = w->engine();
    ws.uring_mode = w->uring_mode();
    ws.counts = copy_counters(w->counters());
    ws.zerocopy = to_string(w->zerocopy_stats().state.load(std::memory_order_relaxed));
    ws.zc = copy_counters(w->zerocopy_stats());
    ws.cq_overflows = w->cq_overflows();
    s.workers.push_back(std::move(ws));
  }
  return s;
}

server::~server() {
  shutdown();
  // Every chunk reference dies with the workers (rings, viewers, zero-copy holds) and the
  // mounts (writers, feeds); a slab still counted after that is a leaked reference.
  workers_.clear();
  mounts_.clear();
  if (size_t held = pool_.slabs_total() - pool_.slabs_free())
    spdlog::error("{} chunk slabs still referenced at exit: a chunk reference leaked", held);
}

void server::shutdown() {
  if (relay_) relay_->stop();
  if (admin_) admin_->stop();
  // Sources first, so nothing publishes into a stopped worker; then the workers, which
  // close their viewers.
  for (size_t i = 0; i < mounts_.size(); ++i) mounts_.at(i).feed->stop();
  for (const auto& r : retiring_) r->feed->stop();
  recorder_.stop();  // what the sources published last is written
  for (auto& w : workers_) w->stop();
}

void server::run() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  // Under systemd (Type=notify) say when serving starts; with WatchdogSec=, ping at half
  // the interval, but only while every worker's loop keeps ticking: a stuck worker gets
  // the service restarted.
  uint64_t watchdog_us = 0;
  if (sd_watchdog_enabled(0, &watchdog_us) <= 0) watchdog_us = 0;
  sd_notifyf(0, "READY=1\nSTATUS=serving %zu mount%s with %zu worker%s", mounts_.size(),
             mounts_.size() == 1 ? "" : "s", workers_.size(), workers_.size() == 1 ? "" : "s");
  sigaddset(&set, SIGHUP);
  std::vector<uint64_t> ticks(workers_.size(), 0);
  std::vector<std::chrono::steady_clock::time_point> ticked(workers_.size(),
                                                            std::chrono::steady_clock::now());
  // Wake at least once a second: retired mounts are reaped here.
  uint64_t every_us = watchdog_us ? std::min<uint64_t>(watchdog_us / 2, 1'000'000) : 1'000'000;
  timespec every{.tv_sec = static_cast<time_t>(every_us / 1'000'000),
                 .tv_nsec = static_cast<long>(every_us % 1'000'000 * 1000)};
  int sig = 0;
  for (;;) {
    sig = sigtimedwait(&set, nullptr, &every);
    reap_retired();
    if (auto r = relay_ ? relay_->take() : std::nullopt) {
      relayed_ = std::move(*r);
      set_mounts(with_relayed(cfg_.mounts), false);
    }
    if (sig == SIGUSR1) {
      if (log_) log_->reopen();
    } else if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading the configuration");
      reload();
    } else if (sig == SIGINT || sig == SIGTERM) {
      break;
    } else if (sig < 0 && watchdog_us) {  // timed out: time to ping, if all is well
      // Alive: its 1 s tick advanced within the last 3 s (pings may come faster than ticks).
      auto now = std::chrono::steady_clock::now();
      bool alive = true;
      for (size_t i = 0; i < workers_.size(); ++i) {
        uint64_t t = workers_[i]->counters().ticks.load(std::memory_order_relaxed);
        if (t != ticks[i]) ticked[i] = now;
        ticks[i] = t;
        alive = alive && now - ticked[i] < std::chrono::seconds(3);
      }
      if (alive)
        sd_notify(0, "WATCHDOG=1");
      else
        spdlog::error("a worker's event loop has not ticked; not pinging the watchdog");
    }
  }
  sd_notify(0, "STOPPING=1");
  spdlog::info("{}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  shutdown();
}

}  // namespace gordo
