#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gordo/ops/config.h"

namespace gordo {
namespace {

class config_file_test : public ::testing::Test {
 protected:
  std::string path_ = ::testing::TempDir() + "gordo_config_test.toml";
  void TearDown() override { std::remove(path_.c_str()); }

  void write(const std::string& text) { std::ofstream(path_) << text; }
  config parse(std::vector<std::string> flags) {
    std::vector<char*> argv{const_cast<char*>("gordo"), const_cast<char*>("--config"),
                            path_.data()};
    for (std::string& f : flags) argv.push_back(f.data());
    return *parse_args(static_cast<int>(argv.size()), argv.data());
  }
  std::string error(const std::string& text) {
    write(text);
    try {
      parse({});
    } catch (const config_error& e) {
      return e.what();
    }
    return "no error";
  }
};

TEST_F(config_file_test, settings_and_mounts) {
  write(
      "workers = 3\nmax_lag = \"4MiB\"\nzerocopy = \"off\"\nengine = \"epoll\"\n"
      "[[mount]]\npath = \"/a.ts\"\ninput = \"udp://239.0.0.1:1234\"\n"
      "[[mount]]\npath = \"/b.ts\"\nloop = true\nburst = \"2s\"\non_slow = \"drop\"\nclient_limit "
      "= 7\n");
  config c = parse({});
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.zerocopy, zerocopy_mode::off);
  EXPECT_EQ(c.engine, engine_choice::epoll);
  ASSERT_EQ(c.mounts.size(), 2u);
  EXPECT_EQ(c.mounts[0].path, "/a.ts");
  EXPECT_EQ(c.mounts[0].input, "udp://239.0.0.1:1234");
  EXPECT_FALSE(c.mounts[0].loop);
  EXPECT_EQ(c.mounts[0].policy.max_lag.bytes, 4u << 20);  // the file's default
  EXPECT_EQ(c.mounts[1].input, "");                       // the test pattern
  EXPECT_TRUE(c.mounts[1].loop);
  EXPECT_EQ(c.mounts[1].policy.burst.ns, 2'000'000'000);
  EXPECT_EQ(c.mounts[1].policy.on_slow, slow_policy::drop);
  EXPECT_EQ(c.mounts[1].policy.client_limit, 7u);
  EXPECT_EQ(c.mounts[1].policy.max_lag.bytes, 4u << 20);
}

TEST_F(config_file_test, flags_override_the_file) {
  write("workers = 3\nlog_level = \"debug\"\n");
  config c = parse({"--workers", "5"});
  EXPECT_EQ(c.workers, 5u);
  EXPECT_EQ(c.log_level, "debug");
  ASSERT_EQ(c.mounts.size(), 1u);
  EXPECT_EQ(c.mounts[0].path, "/live.ts");
}

TEST_F(config_file_test, errors_name_the_file_line_and_key) {
  std::string e = error("# comment\nwrokers = 2\n");
  EXPECT_NE(e.find(path_ + ":2: unknown key 'wrokers'"), std::string::npos) << e;
  e = error("workers = \"many\"\n");
  EXPECT_NE(e.find(path_ + ":1: key 'workers': --workers 'many' is not a number"),
            std::string::npos)
      << e;
  e = error("workers = [1, 2]\n");
  EXPECT_NE(e.find(path_ + ":1: key 'workers' must be a string or a number"), std::string::npos)
      << e;
  e = error("input = \"x.ts\"\n");
  EXPECT_NE(e.find("belongs in a [[mount]] table"), std::string::npos) << e;
  e = error("\n[[mount]]\npath = \"/a\"\nloop = \"yes\"\n");
  EXPECT_NE(e.find(path_ + ":4: key 'loop' must be true or false"), std::string::npos) << e;
  e = error("[[mount]]\npath = \"/a\"\nbitrate = 5\n");
  EXPECT_NE(e.find("unknown key 'bitrate' in [[mount]]"), std::string::npos) << e;
  e = error("[[mount]]\npath = \"a\"\n");
  EXPECT_NE(e.find(path_ + ":1: --mount 'a' must be a path"), std::string::npos) << e;
  e = error("[[mount]]\ninput = \"x.ts\"\n");
  EXPECT_NE(e.find("a [[mount]] needs a path"), std::string::npos) << e;
  e = error("[[mount]]\npath = \"/a\"\n[[mount]]\npath = \"/a\"\n");
  EXPECT_NE(e.find("mount /a is given twice"), std::string::npos) << e;
  e = error("workers = \n");
  EXPECT_NE(e.find(path_ + ":1:"), std::string::npos) << e;
}

TEST_F(config_file_test, a_missing_file_is_an_error) {
  std::remove(path_.c_str());
  EXPECT_THROW(parse({}), config_error);
}

std::string read_error(const std::string& path) {
  try {
    read_config_file(path);
  } catch (const config_error& e) {
    return e.what();
  }
  return "no error";
}

// Read as empty, these once gave the test pattern instead of the mounts; a FIFO blocked.
TEST_F(config_file_test, only_a_regular_file_is_read) {
  std::string e = read_error(::testing::TempDir());
  EXPECT_NE(e.find("config file " + ::testing::TempDir()), std::string::npos) << e;
  EXPECT_NE(e.find("is a directory"), std::string::npos) << e;
  e = read_error("/dev/zero");
  EXPECT_NE(e.find("/dev/zero: it is a character device"), std::string::npos) << e;
  ASSERT_EQ(mkfifo(path_.c_str(), 0600), 0);
  e = read_error(path_);  // returns at once, with nobody writing to it
  EXPECT_NE(e.find(path_ + ": it is a FIFO"), std::string::npos) << e;
  std::remove(path_.c_str());
  e = read_error(path_);
  EXPECT_NE(e.find("cannot read config file " + path_ + ": No such file"), std::string::npos) << e;
}

TEST(mount_flags, repeated_mounts_with_sources) {
  std::vector<std::string> args{"gordo",   "--mount", "/a=udp://x:1", "--mount=/b",
                                "--input", "f.ts",    "--loop"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  config c = *parse_args(static_cast<int>(argv.size()), argv.data());
  ASSERT_EQ(c.mounts.size(), 2u);
  EXPECT_EQ(c.mounts[0].input, "udp://x:1");
  EXPECT_EQ(c.mounts[1].input, "f.ts");
  EXPECT_TRUE(c.mounts[1].loop);
}

TEST_F(config_file_test, lists_of_inputs_and_origins) {
  write(
      "relay = [\"http://o1:8081/stats\", \"http://o2:8081/stats\"]\n"
      "relay_interval = \"3s\"\n"
      "[[mount]]\npath = \"/a.ts\"\ninput = [\"http://o1:8080/a.ts\", \"http://o2:8080/a.ts\"]\n");
  config c = parse({});
  EXPECT_EQ(c.relay, (std::vector<std::string>{"http://o1:8081/stats", "http://o2:8081/stats"}));
  EXPECT_EQ(c.relay_interval, std::chrono::seconds(3));
  ASSERT_EQ(c.mounts.size(), 1u);
  EXPECT_EQ(c.mounts[0].input, "http://o1:8080/a.ts");
  EXPECT_EQ(c.mounts[0].alternates, std::vector<std::string>{"http://o2:8080/a.ts"});
  EXPECT_NE(error("[[mount]]\npath = \"/a.ts\"\ninput = [true]\n").find("must be a string"),
            std::string::npos);
}

TEST_F(config_file_test, a_fallback_mount_is_another_source_without_one_of_its_own) {
  write(
      "[[mount]]\npath = \"/main.ts\"\ninput = \"push\"\nfallback = \"/backup.ts\"\n"
      "[[mount]]\npath = \"/backup.ts\"\ninput = \"push\"\n");
  config c = parse({});
  EXPECT_TRUE(c.mounts[0].fallback_is_mount);  // two pushes are two sources
  EXPECT_FALSE(c.mounts[1].fallback_is_mount);
  EXPECT_NE(error("[[mount]]\npath = \"/a.ts\"\nfallback = \"/b.ts\"\n"
                  "[[mount]]\npath = \"/b.ts\"\ninput = \"b.ts\"\nfallback = \"/a.ts\"\n")
                .find("a fallback's fallback is not followed"),
            std::string::npos);
  EXPECT_NE(error("[[mount]]\npath = \"/a.ts\"\ninput = \"x.ts\"\nfallback = \"/b.ts\"\n"
                  "[[mount]]\npath = \"/b.ts\"\ninput = \"x.ts\"\n")
                .find("have one source"),
            std::string::npos);
}

}  // namespace
}  // namespace gordo
