#include "gordo/ops/relay.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "gordo/media/av.h"
#include "gordo/media/input.h"
#include "gordo/net/address.h"

namespace gordo {

namespace {

constexpr int64_t max_answer = 4 << 20;

// "http://user:pass@host:8081/stats" → "host" (brackets kept for IPv6).
std::string host_of(const std::string& with_credentials) {
  std::string url = without_credentials(with_credentials);
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
  if (authority.starts_with('[')) return authority.substr(0, authority.find(']') + 1);
  return authority.substr(0, authority.find(':'));
}

bool good_path(const std::string& p) {
  return p.size() >= 2 && p.front() == '/' &&
         p.find_first_of(" ?#=\t\r\n\"\\") == std::string::npos;
}

}  // namespace

origin_list parse_origin_stats(const std::string& stats_url, std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw std::runtime_error("its /stats is not JSON");
  auto listen = j.find("listen");
  auto mounts = j.find("mounts");
  if (listen == j.end() || !listen->is_string() || mounts == j.end() || !mounts->is_array())
    throw std::runtime_error(
        "its /stats has no listen address or mounts (a gordo from before "
        "relays, or not a gordo)");
  auto at = address::parse(listen->get<std::string>());
  if (!at)
    throw std::runtime_error("its listen address '" + listen->get<std::string>() + "' is bad");
  origin_list out;
  // Listening on every address, or on loopback (behind a proxy, in a container): the
  // viewers' port is reached where /stats was.
  std::string host = at->is_any() || at->is_loopback() ? host_of(stats_url) : at->url_host();
  if (host.empty()) throw std::runtime_error("no host in " + stats_url);
  out.base = "http://" + host + ":" + std::to_string(at->port());
  for (const auto& m : *mounts) {
    if (!m.is_object() || !m.contains("path") || !m["path"].is_string()) continue;
    std::string path = m["path"].get<std::string>();
    if (good_path(path)) out.paths.push_back(std::move(path));
  }
  return out;
}

std::optional<std::vector<relay::mount>> relay::merge(
    const std::vector<std::optional<origin_list>>& answers, const std::vector<std::string>& bases) {
  std::set<std::string> paths;
  bool any = false;
  for (const auto& a : answers) {
    if (!a) continue;
    any = true;
    paths.insert(a->paths.begin(), a->paths.end());
  }
  if (!any) return std::nullopt;
  std::vector<mount> out;
  for (const std::string& p : paths) {
    mount m{p, {}};
    for (const std::string& base : bases)
      if (!base.empty()) m.urls.push_back(base + p);
    out.push_back(std::move(m));
  }
  return out;
}

relay::relay(std::vector<std::string> origins, std::chrono::microseconds every,
             std::chrono::microseconds timeout)
    : origins_(std::move(origins)),
      every_(every),
      timeout_(timeout),
      bases_(origins_.size()),
      misses_(origins_.size()),
      last_(origins_.size()),
      retry_at_(origins_.size()) {}

relay::~relay() {
  stop();
}

// One origin's /stats, with libavformat's HTTP client (Basic auth from the URL's user
// and password); nullopt, logged, when it cannot be read.
std::optional<origin_list> relay::read(size_t i) {
  const std::string& url = origins_[i];
  AVIOInterruptCB cb{[](void* self) -> int {
                       auto* r = static_cast<relay*>(self);
                       std::lock_guard lock(r->mu_);
                       return r->stop_ ? 1 : 0;
                     },
                     this};
  AVDictionary* opts = nullptr;
  av_dict_set_int(&opts, "rw_timeout", timeout_.count(), 0);
  AVIOContext* pb = nullptr;
  int err = avio_open2(&pb, url.c_str(), AVIO_FLAG_READ, &cb, &opts);
  av_dict_free(&opts);
  std::string text, why;
  if (err >= 0) {
    unsigned char buf[16384];
    for (;;) {
      int n = avio_read(pb, buf, sizeof buf);
      if (n == AVERROR_EOF) break;
      if (n < 0) {
        why = av::error_text(n);
        break;
      }
      text.append(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
      if (static_cast<int64_t>(text.size()) > max_answer) {
        why = "its /stats is larger than 4 MiB";
        break;
      }
    }
    avio_closep(&pb);
  } else {
    why = av::error_text(err);
  }
  // The URL may hold a password: logs name the origin by its host.
  std::string who = "origin " + host_of(url) + " (relay " + std::to_string(i + 1) + ")";
  if (why.empty()) {
    try {
      origin_list list = parse_origin_stats(url, text);
      if (bases_[i].empty() || misses_[i])
        spdlog::info("relay: {} lists {} mount{}, served at {}", who, list.paths.size(),
                     list.paths.size() == 1 ? "" : "s", list.base);
      bases_[i] = list.base;
      misses_[i] = 0;
      return list;
    } catch (const std::exception& e) {
      why = e.what();
    }
  }
  if (misses_[i]++ == 0) spdlog::warn("relay: cannot read the mounts of {}: {}", who, why);
  auto wait = std::min<std::chrono::microseconds>(every_ * (1u << std::min(misses_[i], 6u)),
                                                  std::chrono::minutes(1));
  retry_at_[i] = std::chrono::steady_clock::now() + wait;
  return std::nullopt;
}

void relay::poll() {
  std::vector<std::optional<origin_list>> answers;
  auto t = std::chrono::steady_clock::now();
  for (size_t i = 0; i < origins_.size(); ++i) {
    auto a = misses_[i] && t < retry_at_[i] ? std::nullopt : read(i);
    if (a) last_[i] = a;
    // A read that failed (a restart, a hiccup of the admin port) ends no mount: what the
    // origin last listed counts until it has failed three reads in a row (14 intervals).
    answers.push_back(a ? a : misses_[i] <= 3 ? last_[i] : std::nullopt);
  }
  auto next = merge(answers, bases_);
  if (!next) return;  // no origin answered: the mounts go on as they are (their sources retry)
  std::map<std::string, mount> now;
  for (const mount& m : *next) now.emplace(m.path, m);
  if (now == known_) return;
  for (const auto& [path, m] : now)
    if (!known_.contains(path)) spdlog::info("relay: {} appeared", path);
  for (const auto& [path, m] : known_)
    if (!now.contains(path)) spdlog::info("relay: {} is gone from every origin", path);
  known_ = std::move(now);
  std::lock_guard lock(mu_);
  fresh_ = std::move(next);
}

void relay::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void relay::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<std::vector<relay::mount>> relay::take() {
  std::lock_guard lock(mu_);
  return std::exchange(fresh_, std::nullopt);
}

void relay::run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (wake_.wait_for(lock, every_, [this] { return stop_; })) return;
    }
    poll();
  }
}

}  // namespace gordo
