// gordo: parse the command line, start the server, serve until a signal.
#include <signal.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

extern "C" {
#include <libavutil/log.h>
}

#include "gordo/ops/config.h"
#include "gordo/ops/server.h"

int main(int argc, char** argv) {
  std::optional<gordo::config> cfg;
  try {
    cfg = gordo::parse_args(argc, argv);
  } catch (const gordo::config_error& e) {
    std::fprintf(stderr, "gordo: %s\n", e.what());
    return 2;
  }
  if (!cfg) return 0;
  if (cfg->check_only) {
    std::printf("gordo: configuration OK%s%s: %zu mount%s\n",
                cfg->config_file.empty() ? "" : " in ", cfg->config_file.c_str(),
                cfg->mounts.size(), cfg->mounts.size() == 1 ? "" : "s");
    for (const auto& m : cfg->mounts) {
      std::string hls;
      if (m.hls) {
        hls = ", HLS at " + m.hls_playlist();
        hls += m.hls->part_us
                   ? " (low-latency, " + std::to_string(m.hls->part_us / 1000) + " ms parts)"
                   : " (classic)";
        if (!m.hls_group.empty()) hls += " and in " + m.hls_group;
      }
      if (m.record.on()) hls += ", recorded to " + m.record.path;
      std::string then;
      for (const auto& a : m.alternates) then += " then " + a;
      std::printf("  %s <- %s%s%s%s\n", m.path.c_str(),
                  m.input.empty() ? "built-in test pattern" : m.input.c_str(), then.c_str(),
                  m.loop ? " (looped)" : "", hls.c_str());
    }
    for (size_t i = 0; i < cfg->relay.size(); ++i)
      std::printf("  every mount of origin %zu, listed every %lld s%s\n", i + 1,
                  static_cast<long long>(cfg->relay_interval.count() / 1'000'000),
                  i == 0 ? "" : " (a backup)");
    if (cfg->tls)
      for (size_t i = 0; i < cfg->tls->size(); ++i) {
        std::string names;
        for (const std::string& n : cfg->tls->names(i)) names += (names.empty() ? "" : ", ") + n;
        std::printf("  HTTPS on %s: %s -> %s\n", cfg->tls_listen->to_string().c_str(),
                    cfg->tls_pairs[i].cert.c_str(), names.c_str());
      }
    return 0;
  }

  spdlog::set_default_logger(spdlog::stderr_color_mt("gordo"));
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  auto level = spdlog::level::from_str(cfg->log_level);
  if (level == spdlog::level::off && cfg->log_level != "off") {
    std::fprintf(stderr, "gordo: --log-level '%s' is not a level (see gordo --help)\n",
                 cfg->log_level.c_str());
    return 2;
  }
  spdlog::set_level(level);
  av_log_set_level(level <= spdlog::level::debug ? AV_LOG_WARNING : AV_LOG_ERROR);

  // Signals go to the main thread's sigwait only; sends never raise SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  try {
    // SIGHUP reads the same command line (and so the same --config file) again.
    gordo::server server(*cfg, [argc, argv] { return gordo::parse_args(argc, argv); });
    for (const auto& url : server.urls()) std::printf("gordo: play %s\n", url.c_str());
    if (!server.stats_url().empty()) std::printf("gordo: stats %s\n", server.stats_url().c_str());
    std::fflush(stdout);
    server.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gordo: %s\n", e.what());
    return 1;
  }
  return 0;
}
