// The server's mounts as they change: a reload (SIGHUP) and a relay's origins listing
// mounts that come and go.
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>

#include "gordo/media/formats.h"
#include "gordo/ops/server.h"

namespace gordo {

// SIGHUP: read the configuration again. New mounts start, removed ones end (their
// viewers closed cleanly once they have what was queued), changed policies and limits
// apply; viewers of unchanged mounts notice nothing. A bad configuration changes nothing.
void server::reload() {
  std::optional<config> next;
  try {
    next = reread_ ? reread_() : std::nullopt;
  } catch (const std::exception& e) {
    spdlog::error("reload: {}; keeping the running configuration", e.what());
    return;
  }
  if (!next) return;
  const config& n = *next;
  auto differs = [](const char* what) {
    spdlog::warn("reload: {} changed; that takes a restart", what);
  };
  if (n.listen.to_string() != cfg_.listen.to_string()) differs("listen");
  if (n.workers != cfg_.workers || n.cpus != cfg_.cpus) differs("workers/cpus");
  if (n.chunking.target_bytes != cfg_.chunking.target_bytes ||
      n.chunking.max_delay != cfg_.chunking.max_delay || n.ring_chunks != cfg_.ring_chunks)
    differs("chunking");
  if (n.zerocopy != cfg_.zerocopy || n.sndbuf != cfg_.sndbuf ||
      n.notsent_lowat != cfg_.notsent_lowat || n.engine != cfg_.engine)
    differs("engine/zerocopy/sndbuf/notsent_lowat");
  if (n.access_log != cfg_.access_log) differs("access_log");
  if (n.player_page != cfg_.player_page) differs("player_page");
  if (n.limits.redirect != cfg_.limits.redirect) differs("redirect_on_overflow");
  if (n.header_timeout_s != cfg_.header_timeout_s || n.write_timeout_s != cfg_.write_timeout_s ||
      n.tls_handshake_timeout_s != cfg_.tls_handshake_timeout_s)
    differs("timeouts");

  if (n.relay != cfg_.relay) differs("relay");
  if (n.tls_listen.has_value() != cfg_.tls_listen.has_value() ||
      (n.tls_listen && n.tls_listen->port() != 0 &&
       n.tls_listen->to_string() != cfg_.tls_listen->to_string()))
    differs("tls_listen");
  mount_config was = std::exchange(cfg_.relay_mount, n.relay_mount);  // for relayed mounts
  if (!set_mounts(with_relayed(n.mounts), true)) {
    cfg_.relay_mount = was;
    return;
  }
  admission_.set_limits(n.limits.clients, n.limits.bandwidth_bps);
  // Certificates read again: new handshakes use them, connections keep the ones they have.
  if (cfg_.tls_listen && n.tls) {
    tls_.set(n.tls);
    cfg_.tls = n.tls;
    spdlog::info("reload: TLS certificates read again ({})", n.tls->size());
  }
  // The admin users file is read again with the rest: a changed password holds at once
  // (what the admin endpoint cached from the old file is dropped).
  if (admin_ && (n.admin_users || cfg_.admin_users)) admin_->set_users(n.admin_users);
  cfg_.admin_users = n.admin_users;
  spdlog::set_level(spdlog::level::from_str(n.log_level));
  // What was applied changes; what takes a restart stays as it runs (so new mounts keep
  // the running chunking, and the next reload warns again).
  cfg_.mounts = n.mounts;
  cfg_.policy = n.policy;
  cfg_.limits.clients = n.limits.clients;
  cfg_.limits.bandwidth_bps = n.limits.bandwidth_bps;
  cfg_.log_level = n.log_level;
  cfg_.source_timeout_us = n.source_timeout_us;  // for sources opened from now on
  cfg_.lost_timeout = n.lost_timeout;
  sd_notifyf(0, "STATUS=serving %zu mount%s (reloaded)", mounts_.size(),
             mounts_.size() == 1 ? "" : "s");
}

// The mounts relayed from origins, as mount configurations (below the configured ones).
std::vector<mount_config> server::with_relayed(std::vector<mount_config> mounts) const {
  // Room is kept for this gordo's own mounts (and those retiring): an origin listing
  // hundreds of mounts gets the first ones relayed.
  size_t room = worker::max_mounts * 3 / 4;
  for (const relay::mount& r : relayed_) {
    if (mounts.size() >= room) {
      spdlog::warn("relay: the origins list {} mounts; relaying {} of them", relayed_.size(), room);
      break;
    }
    if (std::any_of(mounts.begin(), mounts.end(),
                    [&](const mount_config& m) { return m.path == r.path; }))
      continue;  // a mount of this gordo's own wins
    mount_config mc = cfg_.relay_mount;
    mc.path = r.path;
    mc.input = r.urls.front();
    mc.alternates.assign(r.urls.begin() + 1, r.urls.end());
    mc.relayed = true;
    if (mc.hls && format_for_path(mc.path).segment_extension.empty()) mc.hls.reset();
    mounts.push_back(std::move(mc));
  }
  return mounts;
}

// Makes the running mounts `wanted`: new ones start, missing ones end (their viewers
// closed cleanly once they have what was queued), the others take their policies and
// notice nothing else. `all_or_nothing` (a reload): a mount that cannot be made changes
// nothing and returns false; otherwise (a relay) it is left out, logged.
bool server::set_mounts(const std::vector<mount_config>& wanted, bool all_or_nothing) {
  const char* why = all_or_nothing ? "reload" : "relay";
  std::vector<std::unique_ptr<mount>> added;
  std::vector<mount_config> applied;
  std::vector<std::string> replaced;  // paths moving between a relay and the configuration
  try {
    std::lock_guard lock(mu_);
    for (const mount_config& mc : wanted) {
      int at = mounts_.find(mc.path);
      const mount_config* old = nullptr;
      for (const mount_config& o : running_)
        if (o.path == mc.path) old = &o;
      if (at >= 0 && old && old->source_key() == mc.source_key() && old->password == mc.password) {
        bool same_hls = old->hls.has_value() == mc.hls.has_value() &&
                        old->hls_window == mc.hls_window && old->hls_group == mc.hls_group &&
                        (!mc.hls || (old->hls->segment_us == mc.hls->segment_us &&
                                     old->hls->part_us == mc.hls->part_us));
        if (!same_hls)
          spdlog::warn("{}: {}: HLS settings changed; that takes a restart", why, mc.path);
        if (mc.relayed) {  // another origin seen, or one gone: the next failover knows
          std::vector<std::string> urls{mc.input};
          urls.insert(urls.end(), mc.alternates.begin(), mc.alternates.end());
          mounts_.at(static_cast<size_t>(at)).feed->set_urls(std::move(urls));
        }
        applied.push_back(mc);
        continue;
      }
      if (at >= 0 && old && (old->relayed || mc.relayed)) {
        replaced.push_back(mc.path);  // a mount of its own hides a relayed one, or stops
      } else if (at >= 0) {
        throw std::runtime_error("mount " + mc.path +
                                 " has a new source: remove it, reload, add it back");
      }
      try {
        added.push_back(make_mount(mc, added));  // opens the source: a bad one fails a reload
        applied.push_back(mc);
      } catch (const std::exception& e) {
        if (all_or_nothing) throw;
        spdlog::error("relay: {}; not relayed", e.what());
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("{}: {}; keeping the running configuration", why, e.what());
    return false;
  }

  std::lock_guard lock(mu_);
  for (size_t i = mounts_.size(); i-- > 0;) {
    mount& m = mounts_.at(i);
    auto it = std::find_if(applied.begin(), applied.end(),
                           [&](const mount_config& mc) { return mc.path == m.path; });
    bool replace = std::find(replaced.begin(), replaced.end(), m.path) != replaced.end();
    if (it == applied.end() || replace) {
      spdlog::info("{}: {} ends", why, m.path);
      admission_.remove_mount(m);  // first: a worker lets the mount go only after this
      recorder_.remove(m.path);    // its file finishes; reap_retired waits for that
      for (auto& w : workers_) w->retire_mount(m.slot);
      retiring_.push_back(mounts_.remove(i));
    } else {
      m.client_limit.store(it->policy.client_limit, std::memory_order_relaxed);
      for (auto& w : workers_) w->set_policy(m.slot, it->policy);
      recorder_.set(m.path, m.out.get(), it->record);  // started, changed or stopped
    }
  }
  for (auto& m : added) {
    spdlog::info("{}: {} starts ({})", why, m->path, m->source_label);
    mount& live = mounts_.add(std::move(m));
    admission_.add_mount(live);
    for (auto& w : workers_) w->add_mount(&live);
    for (const mount_config& mc : applied)
      if (mc.path == live.path) recorder_.set(live.path, live.out.get(), mc.record);
    live.feed->start();
  }
  running_ = std::move(applied);
  return true;
}

// Mounts every worker has let go of: their sources stop and they are freed.
void server::reap_retired() {
  std::lock_guard lock(mu_);
  for (size_t i = retiring_.size(); i-- > 0;) {
    if (retiring_[i]->released.load(std::memory_order_acquire) < workers_.size()) continue;
    if (recorder_.uses(retiring_[i]->out.get())) continue;
    spdlog::info("{} ended", retiring_[i]->path);
    retiring_.erase(retiring_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

}  // namespace gordo
