#include "gordo/ops/config.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace gordo {
namespace {

config parse(std::initializer_list<const char*> flags) {
  std::vector<char*> argv{const_cast<char*>("gordo")};
  for (const char* f : flags) argv.push_back(const_cast<char*>(f));
  return *parse_args(static_cast<int>(argv.size()), argv.data());
}

// What parse() refuses `flags` with, or "no error".
std::string error_of(std::initializer_list<const char*> flags) {
  try {
    parse(flags);
  } catch (const config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(parse_span, time_and_byte_units) {
  EXPECT_EQ(parse_span("x", "2s").ns, 2'000'000'000);
  EXPECT_EQ(parse_span("x", "1.5s").ns, 1'500'000'000);
  EXPECT_EQ(parse_span("x", "500ms").ns, 500'000'000);
  EXPECT_EQ(parse_span("x", "65536").bytes, 65536u);
  EXPECT_EQ(parse_span("x", "512KiB").bytes, 512u * 1024);
  EXPECT_EQ(parse_span("x", "2MB").bytes, 2'000'000u);
  EXPECT_EQ(parse_span("x", "1MiB").bytes, 1u << 20);
  EXPECT_TRUE(parse_span("x", "0").none());
  EXPECT_TRUE(parse_span("x", "0s").none());
  // Found by config_fuzz: a value past 2^63 must be refused, not converted.
  for (const char* huge : {"1e99s", "1e300", "9.3e18", "1e10s", "inf", "nan", "infms"})
    EXPECT_THROW(parse_span("x", huge), config_error) << huge;
}

TEST(parse_span, bad_amounts_name_the_flag) {
  for (const char* bad : {"", "s", "-1s", "2 s", "2w", "1e", "fast"}) {
    try {
      parse_span("burst", bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const config_error& e) {
      EXPECT_NE(std::string(e.what()).find("--burst"), std::string::npos) << e.what();
    }
  }
}

TEST(parse_cpu_list, ranges_and_singles) {
  EXPECT_EQ(parse_cpu_list("cpus", "0"), (std::vector<int>{0}));
  EXPECT_EQ(parse_cpu_list("cpus", "0-3,6"), (std::vector<int>{0, 1, 2, 3, 6}));
  EXPECT_EQ(parse_cpu_list("cpus", "5,1"), (std::vector<int>{5, 1}));
  for (const char* bad : {"", ",", "1,", "3-1", "a", "-1", "1-", "0-99999"})
    EXPECT_THROW(parse_cpu_list("cpus", bad), config_error) << bad;
}

TEST(parse_args, engine_flags) {
  config c = parse({"--workers",
                    "3",
                    "--cpus",
                    "1-2",
                    "--burst",
                    "2s",
                    "--max-lag",
                    "4MiB",
                    "--on-slow",
                    "drop",
                    "--client-limit",
                    "10",
                    "--mount-client-limit",
                    "5",
                    "--bandwidth-limit",
                    "100",
                    "--redirect-on-overflow",
                    "http://b/live.ts",
                    "--zerocopy",
                    "off",
                    "--sndbuf",
                    "65536",
                    "--notsent-lowat",
                    "16KiB",
                    "--chunk-size",
                    "64KiB",
                    "--chunk-duration",
                    "250ms",
                    "--engine",
                    "epoll"});
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.cpus, (std::vector<int>{1, 2}));
  EXPECT_EQ(c.policy.burst.ns, 2'000'000'000);
  EXPECT_EQ(c.policy.max_lag.bytes, 4u << 20);
  EXPECT_EQ(c.policy.on_slow, slow_policy::drop);
  EXPECT_EQ(c.limits.clients, 10u);
  EXPECT_EQ(c.policy.client_limit, 5u);
  EXPECT_EQ(c.limits.bandwidth_bps, 100'000'000u);
  EXPECT_EQ(c.limits.redirect, "http://b/live.ts");
  EXPECT_EQ(c.zerocopy, zerocopy_mode::off);
  EXPECT_EQ(c.sndbuf, 65536);
  EXPECT_EQ(c.notsent_lowat, 16 * 1024);
  EXPECT_EQ(c.chunking.target_bytes, 64u * 1024);
  EXPECT_EQ(c.chunking.max_delay.count(), 250);
  EXPECT_EQ(c.engine, engine_choice::epoll);
  EXPECT_EQ(parse({"--engine", "uring"}).engine, engine_choice::uring);
  EXPECT_THROW(parse({"--engine", "select"}), config_error);
}

TEST(parse_args, a_number_out_of_range_says_the_range) {
  try {
    parse({"--ring-chunks", "2"});
    ADD_FAILURE() << "no error";
  } catch (const config_error& e) {
    EXPECT_STREQ(e.what(), "--ring-chunks 2 is out of range: give a number from 16 to 1048576");
  }
  EXPECT_EQ(parse({"--ring-chunks", "16"}).ring_chunks, 16u);
}

TEST(parse_args, push_mounts_share_their_source) {
  config c = parse({"--mount", "/live.ts=push", "--mount", "/live.flv=push:/live.ts", "--mount",
                    "/b.ts=x.ts", "--mount", "/b.flv=x.ts", "--source-password", "pw",
                    "--lost-timeout", "5s"});
  ASSERT_EQ(c.mounts.size(), 4u);
  EXPECT_EQ(c.mounts[0].push_path(), "/live.ts");
  EXPECT_EQ(c.mounts[1].push_path(), "/live.ts");
  EXPECT_EQ(c.mounts[0].source_key(), c.mounts[1].source_key());
  EXPECT_EQ(c.mounts[2].source_key(), c.mounts[3].source_key());
  EXPECT_NE(c.mounts[0].source_key(), c.mounts[2].source_key());
  EXPECT_EQ(c.mounts[2].push_path(), "");
  EXPECT_EQ(c.mounts[0].password, "pw");
  EXPECT_EQ(c.lost_timeout.count(), 5'000'000);
  EXPECT_THROW(parse({"--mount", "/a.ts=pushy"}), config_error);
  EXPECT_THROW(parse({"--mount", "/a.ts=push:live"}), config_error);
  // push:/PATH needs /PATH to be where encoders push, or nobody could push to it.
  for (std::string e :
       {error_of({"--mount", "/live.flv=push:/live.ts"}),
        error_of({"--mount", "/live.flv=push:/live.ts", "--mount", "/live.ts=x.ts"})})
    EXPECT_NE(e.find("/live.ts, which is not a push mount: add --mount /live.ts=push"),
              std::string::npos)
        << e;
  EXPECT_EQ(parse({"--mount", "/a.ts=push:/a.ts"}).mounts[0].push_path(), "/a.ts");
  EXPECT_FALSE(parse({"--mount", "/a.ts=push", "--loop"}).mounts[0].loop) << "--loop is for files";
  EXPECT_THROW(parse({"--lost-timeout", "10ms"}), config_error);
}

TEST(parse_args, access_rules) {
  EXPECT_EQ(parse({}).policy.access, nullptr) << "anyone, by default";
  config c = parse({"--allow", "10.0.0.0/8,::1", "--deny", "10.6.0.0/16", "--token-secret",
                    "0123456789abcdef", "--token-bind-ip"});
  ASSERT_NE(c.policy.access, nullptr);
  EXPECT_EQ(c.policy.access->ips.allow.size(), 2u);
  EXPECT_EQ(c.policy.access->ips.deny.size(), 1u);
  EXPECT_EQ(c.policy.access->token_secret, "0123456789abcdef");
  EXPECT_TRUE(c.policy.access->token_binds_ip);
  ASSERT_NE(c.mounts[0].policy.access, nullptr);
  EXPECT_EQ(c.mounts[0].policy.access->token_secret, "0123456789abcdef") << "the mounts' default";
  EXPECT_THROW(parse({"--allow", "10.0.0.0/40"}), config_error);
  EXPECT_THROW(parse({"--token-secret", "short"}), config_error);
  EXPECT_THROW(parse({"--token-secret-file", "/nonexistent/secret"}), config_error);
  EXPECT_THROW(parse({"--admin-htpasswd", "/nonexistent/htpasswd"}), config_error);
  EXPECT_THROW(parse({"--source-htpasswd", "/dev/null"}), config_error);  // no users
  setenv("GORDO_TOKEN_SECRET", "from the environment", 1);
  EXPECT_EQ(parse({}).policy.access->token_secret, "from the environment");
  unsetenv("GORDO_TOKEN_SECRET");
}

TEST(parse_args, source_password_from_the_environment) {
  setenv("GORDO_SOURCE_PASSWORD", "from-env", 1);
  EXPECT_EQ(parse({"--mount", "/a.ts=push"}).mounts[0].password, "from-env");
  EXPECT_EQ(parse({"--mount", "/a.ts=push", "--source-password", "flag"}).mounts[0].password,
            "flag");
  unsetenv("GORDO_SOURCE_PASSWORD");
  EXPECT_EQ(parse({"--mount", "/a.ts=push"}).mounts[0].password, "");
}

TEST(parse_args, chunking_out_of_range_is_an_error) {
  for (auto flags : {std::initializer_list<const char*>{"--chunk-size", "100"},
                     std::initializer_list<const char*>{"--chunk-size", "2MiB"},
                     std::initializer_list<const char*>{"--chunk-size", "1s"},
                     std::initializer_list<const char*>{"--chunk-duration", "1ms"},
                     std::initializer_list<const char*>{"--chunk-duration", "64KiB"},
                     std::initializer_list<const char*>{"--notsent-lowat", "100"},
                     std::initializer_list<const char*>{"--notsent-lowat", "1GiB"},
                     std::initializer_list<const char*>{"--notsent-lowat", "1s"}}) {
    EXPECT_THROW(parse(flags), config_error) << *flags.begin() << " " << *(flags.begin() + 1);
  }
}

TEST(parse_args, defaults) {
  config c = parse({});
  EXPECT_EQ(c.workers, 0u);  // one per online CPU
  EXPECT_TRUE(c.policy.burst.none());
  EXPECT_EQ(c.policy.max_lag.ns, 10'000'000'000);
  EXPECT_EQ(c.policy.on_slow, slow_policy::skip_to_keyframe);
  EXPECT_EQ(c.zerocopy, zerocopy_mode::automatic);
  EXPECT_EQ(c.engine, engine_choice::automatic);
  EXPECT_EQ(c.header_timeout_s, 10u);
  EXPECT_EQ(c.write_timeout_s, 30u);
  EXPECT_EQ(c.notsent_lowat, 32 * 1024);
  EXPECT_EQ(parse({"--notsent-lowat", "0"}).notsent_lowat, 0);  // the kernel's setting
}

TEST(mount_flags, repeated_inputs_are_upstreams_in_order) {
  config c = parse({"--mount", "/a.ts", "--input", "http://o1:8080/a.ts", "--input",
                    "http://o2:8080/a.ts", "--input", "http://o3:8080/a.ts"});
  ASSERT_EQ(c.mounts.size(), 1u);
  EXPECT_EQ(c.mounts[0].input, "http://o1:8080/a.ts");
  EXPECT_EQ(c.mounts[0].alternates,
            (std::vector<std::string>{"http://o2:8080/a.ts", "http://o3:8080/a.ts"}));
  // The alternates are part of what names the source: another list is another source.
  config d = parse({"--mount", "/a.ts", "--input", "http://o1:8080/a.ts"});
  EXPECT_NE(c.mounts[0].source_key(), d.mounts[0].source_key());
  EXPECT_TRUE(d.mounts[0].alternates.empty());
}

TEST(mount_flags, push_takes_no_alternates) {
  EXPECT_THROW(parse({"--input", "push", "--input", "http://o2/a.ts"}), config_error);
  EXPECT_THROW(parse({"--input", "http://o1/a.ts", "--input", "push"}), config_error);
  EXPECT_THROW(parse({"--input", "http://o1/a.ts", "--input", ""}), config_error);
}

TEST(relay_flags, origins_in_order_and_no_mount_of_its_own) {
  config c = parse({"--relay", "http://u:p@o1:8081/stats", "--relay", "http://o2:8081/stats",
                    "--relay-interval", "2s", "--burst", "1s", "--hls"});
  EXPECT_TRUE(c.mounts.empty());  // no test pattern beside the relayed mounts
  EXPECT_EQ(c.relay,
            (std::vector<std::string>{"http://u:p@o1:8081/stats", "http://o2:8081/stats"}));
  EXPECT_EQ(c.relay_interval, std::chrono::seconds(2));
  EXPECT_EQ(c.relay_mount.policy.burst.ns, 1'000'000'000);  // mount flags apply to relayed mounts
  EXPECT_TRUE(c.relay_mount.hls.has_value());
  EXPECT_TRUE(c.relay_mount.input.empty());
  // With a source of its own, the edge also serves it.
  config d = parse({"--relay", "http://o1:8081/stats", "--input", "udp://239.0.0.1:1234"});
  ASSERT_EQ(d.mounts.size(), 1u);
  EXPECT_EQ(d.mounts[0].input, "udp://239.0.0.1:1234");
}

TEST(relay_flags, bad_values_say_what_is_expected) {
  EXPECT_NE(error_of({"--relay", "o1:8081/stats"}).find("http:// URL of an origin's admin /stats"),
            std::string::npos);
  EXPECT_NE(
      error_of({"--relay", "http://o1/stats", "--relay-interval", "100ms"}).find("1s to 3600s"),
      std::string::npos);
  EXPECT_NE(error_of({"--relay", "http://o1/stats", "--hls", "--hls-group", "/g.m3u8"})
                .find("not relayed ones"),
            std::string::npos);
}

TEST(parse_args, player_page_is_on_unless_switched_off) {
  EXPECT_TRUE(parse({}).player_page);
  EXPECT_TRUE(parse({"--player-page", "on"}).player_page);
  EXPECT_FALSE(parse({"--player-page", "off"}).player_page);
  EXPECT_FALSE(parse({"--player-page=false"}).player_page);
  EXPECT_NE(error_of({"--player-page", "maybe"}).find("must be on or off"), std::string::npos);
}

TEST(mount_flags, fallback_is_part_of_the_source) {
  config c = parse({"--mount", "/a.ts", "--input", "a.ts", "--fallback", "slate.ts",
                    "--fallback-after", "1.5s"});
  EXPECT_EQ(c.mounts[0].fallback, "slate.ts");
  EXPECT_EQ(c.mounts[0].fallback_after, std::chrono::milliseconds(1500));
  EXPECT_FALSE(c.mounts[0].fallback_is_mount);
  EXPECT_EQ(parse({"--input", "a.ts"}).mounts[0].fallback_after, std::chrono::seconds(2));
  // Another fallback is another source (one demux per source and fallback).
  EXPECT_NE(c.mounts[0].source_key(), parse({"--input", "a.ts"}).mounts[0].source_key());
  mount_config pushed;
  pushed.input = "push";
  pushed.path = "/p.ts";
  std::string key = pushed.source_key();
  pushed.fallback = "slate.ts";
  EXPECT_NE(pushed.source_key(), key);
  EXPECT_EQ(pushed.source_key().rfind("push:/p.ts", 0), 0u);
}

TEST(mount_flags, fallback_errors_say_why) {
  EXPECT_NE(error_of({"--fallback", "/live.ts"}).find("another mount's path"), std::string::npos);
  EXPECT_NE(error_of({"--fallback", ""}).find("another mount's path"), std::string::npos);
  EXPECT_NE(error_of({"--fallback", "x.ts", "--fallback-after", "10ms"}).find("100ms to 1h"),
            std::string::npos);
  EXPECT_NE(error_of({"--fallback", "x.ts", "--fallback-after", "1MiB"}).find("100ms to 1h"),
            std::string::npos);
  // One source, one fallback: two mounts of one input cannot have two.
  EXPECT_NE(error_of({"--mount", "/a.ts=x.ts", "--fallback", "s.ts", "--mount", "/a.flv=x.ts"})
                .find("no error"),
            std::string::npos);
  // Mounts taking one push share its source, so its fallback too.
  EXPECT_NE(
      error_of({"--mount", "/a.ts=push", "--fallback", "s.ts", "--mount", "/a.flv=push:/a.ts"})
          .find("no error"),
      std::string::npos);
}

TEST(parse_time, a_time_in_its_range_else_the_flag_and_range) {
  EXPECT_EQ(parse_time("x", "1.5s", 100'000'000, 2'000'000'000, "from 100ms to 2s"), 1'500'000'000);
  EXPECT_EQ(parse_time("x", "0", 0, 1'000'000'000, "or 0"), 0);
  for (const char* bad : {"50ms", "3s", "1MiB", "0"}) {
    try {
      parse_time("x", bad, 100'000'000, 2'000'000'000, "from 100ms to 2s");
      ADD_FAILURE() << bad;
    } catch (const config_error& e) {
      EXPECT_STREQ(e.what(), "--x must be a time from 100ms to 2s") << bad;
    }
  }
}

TEST(parse_span, long_times_and_large_sizes) {
  EXPECT_EQ(parse_span("x", "30m").ns, 1'800'000'000'000);
  EXPECT_EQ(parse_span("x", "1h").ns, 3'600'000'000'000);
  EXPECT_EQ(parse_span("x", "7d").ns, 7 * 86'400'000'000'000);
  EXPECT_EQ(parse_span("x", "1G").bytes, uint64_t{1} << 30);
  EXPECT_EQ(parse_span("x", "2GB").bytes, 2'000'000'000u);
  EXPECT_EQ(parse_span("x", "1T").bytes, uint64_t{1} << 40);
}

TEST(record_flags, defaults_and_values) {
  config c = parse({"--record", "rec/%H.ts"});
  const record_options& r = c.mounts[0].record;
  EXPECT_TRUE(r.on());
  EXPECT_EQ(r.path, "rec/%H.ts");
  EXPECT_EQ(r.segment_ns, 3'600'000'000'000);
  EXPECT_EQ(r.flush_ns, 1'000'000'000);
  EXPECT_EQ(r.keep_ns, 0);
  EXPECT_EQ(r.min_free, 0u);
  EXPECT_TRUE(r.command.empty());
  c = parse({"--record", "r/%H.ts", "--record-segment", "10m", "--record-flush", "250ms",
             "--record-keep", "7d", "--record-min-free", "1G", "--record-command", "true"});
  EXPECT_EQ(c.mounts[0].record.segment_ns, 600'000'000'000);
  EXPECT_EQ(c.mounts[0].record.flush_ns, 250'000'000);
  EXPECT_EQ(c.mounts[0].record.keep_ns, 7 * 86'400'000'000'000);
  EXPECT_EQ(c.mounts[0].record.min_free, uint64_t{1} << 30);
  EXPECT_EQ(c.mounts[0].record.command, "true");
  EXPECT_FALSE(parse({}).mounts[0].record.on());
}

TEST(record_flags, bad_values_name_the_flag) {
  auto has = [](const std::string& error, const char* needle) {
    return error.find(needle) != std::string::npos;
  };
  EXPECT_PRED2(has, error_of({"--record", ""}), "--record ''");
  EXPECT_PRED2(has, error_of({"--record", "rec/"}), "template");
  EXPECT_PRED2(has, error_of({"--record", "r/%H", "--record-segment", "0"}), "--record-segment");
  EXPECT_PRED2(has, error_of({"--record", "r/%H", "--record-segment", "2d"}), "1s to 24h");
  EXPECT_PRED2(has, error_of({"--record", "r/%H", "--record-flush", "1KiB"}), "--record-flush");
  EXPECT_PRED2(has, error_of({"--record", "r/%H", "--record-keep", "5x"}), "unknown unit");
  EXPECT_PRED2(has, error_of({"--record", "r/%H", "--record-min-free", "1h"}), "bytes");
  EXPECT_PRED2(has, error_of({"--record", "r/%H", "--record-command", ""}), "empty");
}

TEST(record_flags, per_mount_in_a_file_with_defaults_at_the_top) {
  file_args f = read_config_text(
      "record_segment = \"5s\"\n"
      "[[mount]]\npath = \"/a.ts\"\nrecord = \"a/%H.ts\"\nrecord_keep = \"1h\"\n"
      "[[mount]]\npath = \"/b.ts\"\n",
      "t.toml");
  ASSERT_EQ(f.mounts.size(), 2u);
  EXPECT_EQ(f.flags[0].first, "--record-segment");
  EXPECT_EQ(f.mounts[0].args[2], "--record");
  EXPECT_EQ(f.mounts[0].args[4], "--record-keep");
}

TEST(check_records, two_mounts_may_not_share_file_names) {
  std::vector<mount_config> m(2);
  m[0].path = "/a.ts";
  m[1].path = "/b.ts";
  m[0].record.path = "rec/%H%M%S.ts";
  m[1].record.path = "rec/%M%S.ts";
  EXPECT_NO_THROW(check_records(m));  // 6 digits and 4 never match each other
  m[1].record.path = "rec/%H%M%S.ts";
  EXPECT_THROW(check_records(m), config_error);
  m[1].record.path = "rec/b-%H%M%S.ts";
  EXPECT_NO_THROW(check_records(m));
  m[1].record.path =
      "rec/%d%H%M.ts";  // the same digits: one mount's retention would take the other's
  EXPECT_THROW(check_records(m), config_error);
}

}  // namespace
}  // namespace gordo
