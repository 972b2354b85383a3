#include "gordo/server/server.h"

#include <signal.h>

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

}  // namespace

server::server(const config& cfg) : pool_(slab_size, slabs_per_arena) {
  address at = cfg.listen;
  worker_options wopts;
  wopts.ring_chunks = cfg.ring_chunks;
  std::vector<wake_fd*> wakers;
  for (unsigned i = 0; i < cfg.workers; ++i) {
    workers_.push_back(std::make_unique<worker>(i, listener(at), wopts));
    wakers.push_back(&workers_.back()->waker());
  }

  auto m = std::make_unique<mount>();
  m->path = cfg.mount;
  m->content_type = "video/mp2t";
  m->response_head = http_stream_head(m->content_type);
  m->out = std::make_unique<stream>(wakers, feed_capacity);
  m->source = std::make_unique<ingest>(m->path, make_source(cfg), *m->out, pool_,
                                       chunk_writer_options{});
  mounts_.add(std::move(m));

  for (auto& w : workers_) w->start(mounts_);
  for (size_t i = 0; i < mounts_.size(); ++i) {
    mounts_.at(i).source->start();
    urls_.push_back("http://" + at.url_host() + ":" + std::to_string(at.port()) +
                    mounts_.at(i).path);
  }
}

server::~server() { shutdown(); }

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
