// The whole process in one test binary: a server on loopback with one worker, its URLs,
// its snapshot as a mount goes live and ends, a viewer's bytes, start-up errors that
// name what failed, and a clean stop with a viewer still reading.
#include "gordo/ops/server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <thread>

#include "unit/small_pattern.h"

namespace gordo {
namespace {

using namespace std::chrono_literals;

// Polls `done` for up to 20 s.
bool eventually(const std::function<bool()>& done) {
  for (auto until = std::chrono::steady_clock::now() + 20s;
       std::chrono::steady_clock::now() < until;) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

config loopback_config(std::vector<mount_config> mounts) {
  config cfg;
  cfg.listen = *address::parse("127.0.0.1:0");
  cfg.workers = 1;
  cfg.ring_chunks = 256;
  cfg.mounts = std::move(mounts);
  return cfg;
}

mount_config mount_of(std::string path, std::string input = {}, bool loop = false) {
  mount_config mc;
  mc.path = std::move(path);
  mc.input = std::move(input);
  mc.loop = loop;
  return mc;
}

const mount_stats* find(const stats_snapshot& s, const std::string& path) {
  for (const auto& m : s.mounts)
    if (m.path == path) return &m;
  return nullptr;
}

uint16_t port_of(const std::string& url) {
  size_t colon = url.rfind(':');
  return static_cast<uint16_t>(std::stoi(url.substr(colon + 1)));
}

// A viewer on loopback: connects, asks for `path`, reads with a 10 s timeout.
struct viewer {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  std::string got;

  viewer(uint16_t port, const std::string& path) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    timeval tv{.tv_sec = 10, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    EXPECT_EQ(send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  }
  ~viewer() { close(fd); }
  // Reads until `got` holds `n` bytes; false on EOF, an error or the timeout.
  bool read_until(size_t n) {
    char buf[16384];
    while (got.size() < n) {
      ssize_t k = recv(fd, buf, sizeof buf, 0);
      if (k <= 0) return false;
      got.append(buf, static_cast<size_t>(k));
    }
    return true;
  }
  // Reads to the end: 0 (closed by the server), or the errno that stopped it.
  int read_to_end() {
    char buf[16384];
    for (;;) {
      ssize_t k = recv(fd, buf, sizeof buf, 0);
      if (k == 0) return 0;
      if (k < 0) return errno;
      got.append(buf, static_cast<size_t>(k));
    }
  }
};

TEST(server, serves_the_test_pattern_and_stops_with_a_viewer_reading) {
  auto s = std::make_unique<server>(
      loopback_config({mount_of("/test.ts"), mount_of("/push.ts", "push")}));
  ASSERT_EQ(s->urls().size(), 2u);
  uint16_t port = port_of(s->urls()[0]);
  EXPECT_NE(port, 0);  // the port the kernel chose, not the 0 asked for
  EXPECT_EQ(s->urls()[0], "http://127.0.0.1:" + std::to_string(port) + "/test.ts");
  EXPECT_EQ(s->urls()[1], "http://127.0.0.1:" + std::to_string(port) + "/push.ts");
  EXPECT_EQ(s->stats_url(), "");  // no admin endpoint asked for

  ASSERT_TRUE(eventually([&] {
    auto snap = s->snapshot();
    const mount_stats* m = find(snap, "/test.ts");
    return m && m->state == "live" && m->chunks_published > 0;
  }));
  stats_snapshot snap = s->snapshot();
  ASSERT_EQ(snap.mounts.size(), 2u);
  ASSERT_EQ(snap.workers.size(), 1u);
  EXPECT_EQ(find(snap, "/test.ts")->source, "built-in test pattern");
  EXPECT_EQ(find(snap, "/test.ts")->content_type, "video/mp2t");
  EXPECT_EQ(find(snap, "/push.ts")->state, "waiting");  // no encoder yet
  EXPECT_EQ(find(snap, "/push.ts")->chunks_published, 0u);
  EXPECT_GT(snap.process.open_fds, 0u);
  EXPECT_GT(snap.process.fd_limit, 0u);

  viewer v(port, "/test.ts");
  ASSERT_TRUE(v.read_until(4096));
  size_t head_end = v.got.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  std::string head = v.got.substr(0, head_end);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 ", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Type: video/mp2t"), std::string::npos) << head;
  EXPECT_EQ(static_cast<uint8_t>(v.got[head_end + 4]), 0x47);  // a TS packet's sync byte
  EXPECT_TRUE(eventually([&] {
    auto snap = s->snapshot();
    return find(snap, "/test.ts")->viewers == 1 && find(snap, "/test.ts")->counts.bytes_out > 0 &&
           snap.workers[0].counts.viewers == 1;
  }));

  // Destroying the server stops sources, then workers, which close their viewers.
  auto stopped = std::async(std::launch::async, [&] { s.reset(); });
  ASSERT_EQ(stopped.wait_for(20s), std::future_status::ready) << "the server did not stop";
  EXPECT_EQ(v.read_to_end(), 0);  // closed, not reset or left hanging
}

struct temp_dir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("gordo-server-test-" + std::to_string(getpid()));
  temp_dir() { std::filesystem::create_directories(path); }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

TEST(server, mounts_of_one_file_go_live_and_end_with_it) {
  const std::vector<uint8_t>& bytes = *small_pattern();
  temp_dir dir;
  std::string file = (dir.path / "pattern.ts").string();
  // Its first 0.4 s or so (whole TS packets), as it is paced to real time.
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size() / 188 * 2 / 5 * 188));
  server s(loopback_config({mount_of("/a.ts", file), mount_of("/a.mkv", file)}));
  // Not looped: both formats of the one source end with it.
  EXPECT_TRUE(eventually([&] {
    auto snap = s.snapshot();
    return find(snap, "/a.ts")->state == "ended" && find(snap, "/a.mkv")->state == "ended";
  }));
  stats_snapshot snap = s.snapshot();
  EXPECT_EQ(find(snap, "/a.ts")->source, file);
  EXPECT_GT(find(snap, "/a.ts")->chunks_published, 0u);
  EXPECT_GT(find(snap, "/a.mkv")->chunks_published, 0u);
}

TEST(server, a_source_that_cannot_be_opened_stops_start_up_naming_its_mount) {
  try {
    server s(loopback_config({mount_of("/missing.ts", "/nonexistent/gordo-server-test.ts")}));
    ADD_FAILURE() << "started without its source";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_EQ(what.rfind("/missing.ts: cannot open /nonexistent/gordo-server-test.ts: ", 0), 0u)
        << what;
  }
}

TEST(server, a_taken_port_stops_start_up_naming_the_address) {
  int other = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  address taken = *address::parse("127.0.0.1:0");
  ASSERT_EQ(bind(other, reinterpret_cast<const sockaddr*>(&taken.storage), taken.len), 0);
  ASSERT_EQ(listen(other, 1), 0);
  socklen_t len = sizeof taken.storage;
  getsockname(other, reinterpret_cast<sockaddr*>(&taken.storage), &len);
  config cfg = loopback_config({mount_of("/test.ts", "/nonexistent/never-opened.ts")});
  cfg.listen = taken;
  try {
    server s(cfg);
    ADD_FAILURE() << "started on a port another socket holds";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on " + taken.to_string()),
              std::string::npos)
        << e.what();
  }
  close(other);
}

}  // namespace
}  // namespace gordo
