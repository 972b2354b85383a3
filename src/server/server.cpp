#include "gordo/server/server.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "gordo/media/test_pattern.h"
#include "gordo/net/http_response.h"

namespace gordo {

namespace {

constexpr size_t slab_size = 1 << 20;
constexpr size_t slabs_per_arena = 64;
constexpr size_t feed_capacity = 4096;

source_spec make_source(const config& cfg) {
  source_spec spec;
  spec.loop = cfg.loop;
  if (!cfg.input.empty()) {
    spec.url = cfg.input;
    spec.label = cfg.input;
    return spec;
  }
  test_pattern_options opts;
  spdlog::info("encoding the built-in test pattern ({} s of {}x{} H.264 + AAC, looped)",
               opts.seconds, opts.width, opts.height);
  spec.memory = std::make_shared<const std::vector<uint8_t>>(encode_test_pattern(opts));
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

unsigned worker_count(const config& cfg) {
  if (cfg.workers) return cfg.workers;
  if (!cfg.cpus.empty()) return static_cast<unsigned>(cfg.cpus.size());
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<unsigned>(online) : 1;
}

}  // namespace

server::server(const config& cfg)
    : pool_(slab_size, slabs_per_arena), admission_(cfg.limits, mounts_) {
  rlim_t fds = raise_fd_limit();
  address at = cfg.listen;
  std::vector<wake_fd*> wakers;
  unsigned n = worker_count(cfg);
  for (unsigned i = 0; i < n; ++i) {
    worker_options wopts;
    wopts.ring_chunks = cfg.ring_chunks;
    wopts.header_timeout_s = cfg.header_timeout_s;
    wopts.write_timeout_s = cfg.write_timeout_s;
    wopts.zerocopy = cfg.zerocopy;
    if (!cfg.cpus.empty()) wopts.cpu = cfg.cpus[i % cfg.cpus.size()];
    workers_.push_back(std::make_unique<worker>(i, listener(at, cfg.sndbuf), wopts));
    wakers.push_back(&workers_.back()->waker());
  }

  auto m = std::make_unique<mount>();
  m->path = cfg.mount;
  m->content_type = "video/mp2t";
  m->response_head = http_stream_head(m->content_type);
  m->policy = cfg.policy;
  m->out = std::make_unique<stream>(wakers, feed_capacity);
  m->source = std::make_unique<ingest>(m->path, make_source(cfg), *m->out, pool_,
                                       cfg.chunking);
  mounts_.add(std::move(m));

  for (auto& w : workers_) w->start(mounts_, admission_, pool_);
  spdlog::info("{} worker{} on {}{}; fd limit {}", n, n == 1 ? "" : "s", at.to_string(),
               cfg.cpus.empty() ? "" : " (pinned)", fds);
  for (size_t i = 0; i < mounts_.size(); ++i) {
    mounts_.at(i).source->start();
    urls_.push_back("http://" + at.url_host() + ":" + std::to_string(at.port()) +
                    mounts_.at(i).path);
  }
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
  // Sources first, so nothing publishes into a stopped worker; then the workers, which
  // close their viewers.
  for (size_t i = 0; i < mounts_.size(); ++i) mounts_.at(i).source->stop();
  for (auto& w : workers_) w->stop();
}

void server::run() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("{}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  shutdown();
}

}  // namespace gordo
