// The worker's mounts: its view of each (a ring of chunks drained from the mount's feed
// at every wake-up, the viewers parked on it), and reload's changes to them.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gordo/server/worker.h"

namespace gordo {

void worker::add_mount(mount* m) {
  post({command::add, m, m->slot, {}});
}
void worker::set_policy(uint32_t slot, const mount_policy& policy) {
  post({command::policy, nullptr, slot, policy});
}
void worker::retire_mount(uint32_t slot) {
  post({command::retire, nullptr, slot, {}});
}

void worker::post(command cmd) {
  {
    std::lock_guard lock(commands_mu_);
    commands_.push_back(std::move(cmd));
  }
  wake_.wake();
}

void worker::on_wake() {
  wake_.rearm();
  if (stop_.load() && !stopping_) {
    begin_shutdown();
    return;
  }
  if (stopping_) return;
  arm_wake();
  run_commands();
  for (auto& slot : views_) {
    view* vp = slot.load(std::memory_order_relaxed);
    if (!vp || vp->retired) continue;
    view& v = *vp;
    // Read before draining: once ended, the drain yields every chunk there will be.
    bool ended = v.m->out->ended();
    bool hls_changed = false;
    v.m->out->feed(id_).drain([&v, &hls_changed](feed_item&& item) {
      if (item.kind == feed_item::header) {
        if (v.hls) v.hls->set_header(item.ref);
        v.ring.set_header(std::move(item.ref));
      } else if (item.kind == feed_item::metadata) {
        v.icy_block = std::move(item.ref);
        ++v.icy_gen;
      } else if (item.kind == feed_item::hls_part) {
        if (v.hls) hls_changed |= v.hls->begin_part(item.seq, item.flags, item.hls);
      } else {
        uint32_t size = item.ref.size();
        bool continuous =
            v.ring.push(item.seq, std::move(item.ref), item.flags, item.pos, item.time_ns);
        if (!v.hls) return;
        if (!continuous) {
          v.hls->clear();
          hls_changed = true;
        }
        hls_changed |= v.hls->add(item.seq, item.flags, item.hls, size);
      }
    });
    if (v.hls) {
      bool trimmed = v.hls->trim(v.ring.begin_seq());
      // Segments leaving the ring before the playlist is full: the window outgrows it.
      if (trimmed && v.hls->listed_begin() == 0 && !v.warned_ring) {
        v.warned_ring = true;
        spdlog::warn(
            "{}: the ring ({} chunks) holds less than the HLS window of {} segments; "
            "raise --ring-chunks (or lower --hls-window, --hls-segment)",
            v.m->path, v.ring.capacity(), v.m->hls_window);
      }
      if (trimmed || hls_changed) release_held(v);
    }
    v.ended = ended;
    v.offline = v.m->out->offline();
    v.chunks_in_ring.store(v.ring.size(), std::memory_order_relaxed);
    // Every viewer that was caught up gets its next send now; they all go to the kernel
    // in the one submit at the top of the loop.
    for (client* c : v.parked) {
      c->parked = false;
      c->since_s = now_s_;  // the write timeout counts from here
    }
    ready_.insert(ready_.end(), v.parked.begin(), v.parked.end());
    v.parked.clear();
  }
}

// Reload's changes, between two batches of sends.
void worker::run_commands() {
  std::vector<command> todo;
  {
    std::lock_guard lock(commands_mu_);
    todo.swap(commands_);
  }
  for (command& cmd : todo) {
    switch (cmd.kind) {
      case command::add: {
        auto v = new_view(cmd.m);
        views_[cmd.slot].store(v.get(), std::memory_order_release);
        owned_.push_back(std::move(v));
        break;
      }
      case command::policy:
        at(static_cast<int>(cmd.slot)).policy = cmd.pol;
        break;
      case command::retire: {
        view& v = at(static_cast<int>(cmd.slot));
        v.retired = true;
        v.ended = true;  // its viewers finish what they have queued, then close
        expire_held();   // its held HLS requests get the 503 of an ended mount now
        for (client* c : v.parked) {
          c->parked = false;
          ready_.push_back(c);
        }
        v.parked.clear();
        maybe_release(v);
        break;
      }
    }
  }
}

std::unique_ptr<worker::view> worker::new_view(mount* m) {
  auto v = std::make_unique<view>(opts_.ring_chunks);
  v->m = m;
  v->policy = m->policy;
  if (!m->hls_playlist.empty()) v->hls.emplace(m->hls_window);
  // `push:/PATH`: an encoder pushing here would become /PATH's, unasked. Built here
  // because views live as long as the worker, so the answer outlives any send of it.
  const source& feed = *m->feed;
  if (feed.is_push() && feed.push_path() != m->path)
    v->push_elsewhere = make_canned(
        405, fmt::format("push to {}; {} takes its stream from there\n", feed.push_path(), m->path),
        "Allow: GET, HEAD\r\n");
  return v;
}

// A retired mount with no viewers left here: tell the server this worker is done with it.
void worker::maybe_release(view& v) {
  if (!v.retired || v.viewers > 0 || !v.m) return;
  v.ring.clear();
  v.ring.set_header({});
  v.m->released.fetch_add(1, std::memory_order_release);
  v.m = nullptr;
}

worker::view* worker::find_view(std::string_view path) {
  for (auto& slot : views_) {
    view* v = slot.load(std::memory_order_relaxed);
    if (v && !v->retired && v->m->path == path) return v;
  }
  return nullptr;
}

mount_counts worker::mount_stats(uint32_t slot) const {
  const view* v = slot < max_mounts ? views_[slot].load(std::memory_order_acquire) : nullptr;
  return v ? copy_counters(*v) : mount_counts{};
}

}  // namespace gordo
