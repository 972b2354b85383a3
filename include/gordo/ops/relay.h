// --relay: an edge mirrors every mount of its origins, as Icecast's slave relays do. A thread
// reads each origin's admin /stats every interval and works out what to mirror: every mount
// a reachable origin lists, pulled from each origin that has been seen, in the order given
// (the first is the primary, the others its alternates). The server takes the list when it
// changes and starts and ends mounts to match.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace gordo {

// What an origin's /stats says: where its viewers connect ("http://HOST:PORT", the host of
// `stats_url` when it listens on every address) and its mounts' paths. Throws
// std::runtime_error saying what is wrong with the answer.
struct origin_list {
  std::string base;
  std::vector<std::string> paths;
};
origin_list parse_origin_stats(const std::string& stats_url, std::string_view json);

class relay {
 public:
  struct mount {
    std::string path;
    std::vector<std::string> urls;  // primary first
    bool operator==(const mount&) const = default;
  };

  // `origins`: their /stats URLs, primary first; `timeout`: for each read.
  relay(std::vector<std::string> origins, std::chrono::microseconds every,
        std::chrono::microseconds timeout);
  ~relay();
  relay(const relay&) = delete;
  relay& operator=(const relay&) = delete;

  // Reads every origin once, on the caller's thread (at start-up, so that the first mounts
  // are there when serving starts).
  void poll();
  void start();
  void stop();
  // The mounts to mirror, when they changed since the last call (any thread).
  std::optional<std::vector<mount>> take();

  // The mounts to mirror from what each origin answered (nullopt: unreachable), each
  // pulled from every origin seen (`bases`, empty for one never seen), in order. nullopt
  // when no origin answered: then nothing changes.
  static std::optional<std::vector<mount>> merge(
      const std::vector<std::optional<origin_list>>& answers,
      const std::vector<std::string>& bases);

 private:
  void run();
  std::optional<origin_list> read(size_t i);

  std::vector<std::string> origins_;
  std::chrono::microseconds every_, timeout_;
  std::vector<std::string> bases_;  // each origin's viewer base, once seen; the thread's
  std::vector<unsigned> misses_;    // each origin's failed reads in a row; the thread's
  std::vector<std::optional<origin_list>> last_;  // what each last listed; the thread's
  // A failing origin is read again after 2, 4, 8 ... intervals (at most a minute apart).
  std::vector<std::chrono::steady_clock::time_point> retry_at_;
  std::map<std::string, mount> known_;  // what was last published, by path; the thread's
  std::mutex mu_;
  std::condition_variable wake_;
  std::optional<std::vector<mount>> fresh_;  // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  std::thread thread_;
};

}  // namespace gordo
