// A source driven without gordo's workers: encoders offered over socketpairs (refused
// for their credentials or because another one is pushing), the metadata-update rule,
// titles reaching the muxers, and the states a source goes through as its input comes,
// ends, goes quiet and comes back. Waits are bounded polls of the state the test expects.
#include "gordo/media/source.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <thread>

#include "gordo/media/test_pattern.h"
#include "gordo/net/htpasswd.h"
#include "gordo/net/listener.h"

namespace gordo {
namespace {

using namespace std::chrono_literals;

// At 25 fps, 2 s hold enough frames for FFmpeg's probe (it reads ahead until it has seen
// a few dozen video frames, or the end).
std::shared_ptr<const std::vector<uint8_t>> pattern(int seconds) {
  test_pattern_options o;
  o.width = 160;
  o.height = 120;
  o.fps = 25;
  o.seconds = seconds;
  o.video_bitrate = 200'000;
  return std::make_shared<const std::vector<uint8_t>>(encode_test_pattern(o));
}

// Polls `done` for up to 10 s.
bool eventually(const std::function<bool()>& done) {
  for (auto until = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < until;) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

// `carol` / `s3cret pw` (SHA-512 crypt, as `openssl passwd -6` makes it).
std::shared_ptr<const htpasswd> source_users() {
  return htpasswd::parse(
      "carol:$6$saltsalt$7u7lGNWW9pmKyYBbYJ6Jh6i2ruj8e.Qfb5jWFzC5XDXwkp22RJs8FI/"
      "FZCcvlqZ74LOOE4zjgN.gJJSAWe/Um/\n",
      "users");
}
constexpr std::string_view carol = "Basic Y2Fyb2w6czNjcmV0IHB3";           // carol:s3cret pw
constexpr std::string_view carol_wrong = "Basic Y2Fyb2w6d3Jvbmc=";         // carol:wrong
constexpr std::string_view source_hackme = "Basic c291cmNlOmhhY2ttZQ==";   // source:hackme
constexpr std::string_view mallory_hackme = "Basic bWFsbG9yeTpoYWNrbWU=";  // mallory:hackme
constexpr std::string_view source_nope = "Basic c291cmNlOm5vcGU=";         // source:nope

source_spec push_spec(std::string password = {}, std::shared_ptr<const htpasswd> users = nullptr) {
  source_spec spec;
  spec.push = "/live.ts";
  spec.password = std::move(password);
  spec.users = std::move(users);
  spec.label = "push to /live.ts";
  return spec;
}

// An encoder on the far end of a socketpair: the source gets `conn`, the test keeps `fd`.
struct encoder {
  push_connection conn;
  int fd = -1;

  explicit encoder(uint64_t length) {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    conn.fd = fds[0];
    conn.peer = "test encoder";
    conn.body = push_connection::framing::length;
    conn.length = length;
    fd = fds[1];
  }
  ~encoder() {
    if (fd >= 0) close(fd);
  }

  void send(const uint8_t* data, size_t n) {
    while (n > 0) {
      ssize_t k = ::send(fd, data, n, MSG_NOSIGNAL);
      ASSERT_GT(k, 0) << strerror(errno);
      data += k;
      n -= static_cast<size_t>(k);
    }
  }
  // What gordo answered, up to its close (at most 10 s).
  std::string answer() {
    timeval tv{.tv_sec = 10, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
      out.append(buf, static_cast<size_t>(n));
    return out;
  }
};

// A muxer for one mount, with its stream and memory.
struct mount_out {
  slab_pool pool{1 << 20, 4};
  stream out{{nullptr}, 1 << 14};
  remuxer remux{"/live.ts", out, pool, chunk_writer_options{4096, 0ms}};
};

TEST(source, state_names) {
  EXPECT_STREQ(source::name(source::state::waiting), "waiting");
  EXPECT_STREQ(source::name(source::state::live), "live");
  EXPECT_STREQ(source::name(source::state::hungry), "hungry");
  EXPECT_STREQ(source::name(source::state::lost), "lost");
  EXPECT_STREQ(source::name(source::state::ended), "ended");
}

TEST(source, a_pull_source_that_cannot_be_opened_says_why) {
  source_spec spec;
  spec.url = "/nonexistent/gordo-unit-test.ts";
  spec.label = spec.url;
  try {
    source s(spec, 30s);
    ADD_FAILURE() << "opened a missing file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(
        std::string(e.what()).find("cannot open /nonexistent/gordo-unit-test.ts: No such file"),
        std::string::npos)
        << e.what();
  }
}

TEST(source, a_push_source_waits_with_its_mounts_offline_and_a_pull_source_is_live) {
  source push(push_spec(), 30s);
  EXPECT_TRUE(push.is_push());
  EXPECT_EQ(push.push_path(), "/live.ts");
  EXPECT_EQ(push.current(), source::state::waiting);
  mount_out a;
  push.attach(&a.remux);
  EXPECT_TRUE(a.out.offline());  // viewers get 503 until an encoder pushes
  EXPECT_FALSE(a.remux.is_open());
  push.detach(&a.remux);

  source_spec spec;
  spec.memory = pattern(1);
  spec.label = "pattern";
  source pull(spec, 30s);
  EXPECT_FALSE(pull.is_push());
  EXPECT_EQ(pull.label(), "pattern");
  EXPECT_EQ(pull.current(), source::state::live);
  mount_out b;
  pull.attach(&b.remux);
  EXPECT_FALSE(b.out.offline());
  EXPECT_TRUE(b.remux.is_open());  // the tracks are known: its muxer is set up at once
  pull.detach(&b.remux);
}

TEST(source, without_a_password_one_encoder_at_a_time_is_taken) {
  source s(push_spec(), 30s);
  encoder first(0), second(0);
  int first_fd = first.conn.fd;
  EXPECT_EQ(s.offer(first.conn, ""), source::offer_result::accepted);
  EXPECT_EQ(first.conn.fd, -1);  // the source owns it now
  EXPECT_EQ(s.offer(second.conn, source_hackme), source::offer_result::busy);
  EXPECT_GE(second.conn.fd, 0);  // still the caller's, to answer 409 on
  EXPECT_EQ(s.auth_failures(), 0u);
  EXPECT_NE(fcntl(first_fd, F_GETFD), -1);
  s.stop();
  encoder late(0);
  EXPECT_EQ(s.offer(late.conn, ""), source::offer_result::busy);  // stopping: nobody more
}

TEST(source, a_source_password_refuses_other_passwords_whatever_the_user) {
  source s(push_spec("hackme"), 30s);
  encoder a(0), b(0), c(0), d(0);
  EXPECT_EQ(s.offer(a.conn, ""), source::offer_result::unauthorized);
  EXPECT_EQ(s.offer(b.conn, source_nope), source::offer_result::unauthorized);
  EXPECT_EQ(s.offer(c.conn, "Basic !!!"), source::offer_result::unauthorized);
  EXPECT_EQ(s.auth_failures(), 3u);
  EXPECT_GE(a.conn.fd, 0);  // refused connections stay with the caller, for its 401
  // Icecast's convention: the user name is not checked, only the password.
  EXPECT_EQ(s.offer(d.conn, mallory_hackme), source::offer_result::accepted);
  encoder e(0);
  EXPECT_EQ(s.offer(e.conn, source_nope),
            source::offer_result::unauthorized);  // not busy: refused first
  EXPECT_EQ(s.auth_failures(), 4u);
}

TEST(source, metadata_updates_need_the_source_password) {
  source open(push_spec(), 30s);
  EXPECT_TRUE(open.may_update(""));  // no password: anyone who may push may retitle
  EXPECT_TRUE(open.may_update(source_nope));

  source locked(push_spec("hackme"), 30s);
  EXPECT_TRUE(locked.may_update(source_hackme));
  EXPECT_TRUE(locked.may_update(mallory_hackme));
  EXPECT_FALSE(locked.may_update(source_nope));
  EXPECT_FALSE(locked.may_update(""));
  EXPECT_FALSE(locked.may_update("Bearer hackme"));
}

TEST(source, source_users_are_checked_on_the_source_thread_and_gate_metadata) {
  auto bytes = pattern(1);
  source s(push_spec({}, source_users()), 0s);
  EXPECT_FALSE(s.may_update(carol));  // nobody has pushed yet
  mount_out m;
  s.attach(&m.remux);
  s.start();

  // Taken without a check (hashes are slow to check on purpose: not on a worker), refused by the
  // source thread with a 401 and a challenge.
  encoder bad(bytes->size());
  EXPECT_EQ(s.offer(bad.conn, carol_wrong), source::offer_result::accepted);
  shutdown(bad.fd, SHUT_WR);
  std::string refused = bad.answer();
  EXPECT_EQ(refused.rfind("HTTP/1.1 401 ", 0), 0u) << refused;
  EXPECT_NE(refused.find("WWW-Authenticate: Basic realm=\"gordo source\""), std::string::npos)
      << refused;
  EXPECT_TRUE(eventually([&] { return s.auth_failures() == 1; }));
  EXPECT_EQ(s.current(), source::state::waiting);
  EXPECT_FALSE(s.may_update(carol_wrong));

  // The source is free again for the right user, who then may retitle it.
  encoder good(bytes->size());
  EXPECT_TRUE(
      eventually([&] { return s.offer(good.conn, carol) == source::offer_result::accepted; }));
  good.send(bytes->data(), bytes->size());
  std::string finished = good.answer();
  EXPECT_EQ(finished.rfind("HTTP/1.1 200 ", 0), 0u) << finished;
  EXPECT_GT(m.out.published(), 0u);
  EXPECT_TRUE(s.may_update(carol));
  EXPECT_FALSE(s.may_update(carol_wrong));
  EXPECT_FALSE(s.may_update(source_hackme));
  EXPECT_EQ(s.auth_failures(), 1u);
  s.stop();
}

// waiting → live while an encoder pushes (mounts online) → hungry when its body ends →
// lost (mounts offline) → live again for the next encoder.
TEST(source, a_push_source_goes_live_is_lost_when_its_encoder_ends_and_comes_back) {
  auto bytes = pattern(3);
  source s(push_spec(), 0s);  // lost as soon as it is hungry
  mount_out m;
  s.attach(&m.remux);
  s.start();
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    encoder e(bytes->size());
    uint64_t published = m.out.published();
    EXPECT_TRUE(eventually([&] { return s.offer(e.conn, "") == source::offer_result::accepted; }));
    // All but the last second of the body: the source reads it and waits for the rest.
    size_t most = bytes->size() / 3 * 2 / 188 * 188;
    e.send(bytes->data(), most);
    EXPECT_TRUE(eventually([&] { return s.current() == source::state::live; }));
    EXPECT_FALSE(m.out.offline());
    EXPECT_TRUE(m.remux.is_open());
    e.send(bytes->data() + most, bytes->size() - most);
    std::string answer = e.answer();
    EXPECT_EQ(answer.rfind("HTTP/1.1 200 ", 0), 0u) << answer;  // the whole body was read
    EXPECT_TRUE(eventually([&] { return s.current() == source::state::lost; }));
    EXPECT_TRUE(m.out.offline());
    EXPECT_GT(m.out.published(), published);
    EXPECT_FALSE(m.out.ended());  // a push source waits for the next encoder
  }
  s.stop();
  EXPECT_EQ(s.current(), source::state::ended);
  EXPECT_TRUE(m.out.ended());
}

TEST(source, stopping_breaks_a_read_from_an_encoder_that_sends_nothing) {
  auto spec = push_spec();
  spec.timeout_us = 30'000'000;  // far beyond the 10 s this test gives stop()
  source s(spec, 30s);
  s.start();
  encoder e(1 << 20);
  ASSERT_EQ(s.offer(e.conn, ""), source::offer_result::accepted);
  auto bytes = pattern(1);
  e.send(bytes->data(), 188 * 4);  // the start of a body, then silence
  // Stop once the source has read it, and so is blocked in the next read.
  ASSERT_TRUE(eventually([&] {
    int unread = -1;
    return ioctl(e.fd, SIOCOUTQ, &unread) == 0 && unread == 0;
  }));
  auto stopped = std::async(std::launch::async, [&] { s.stop(); });
  EXPECT_EQ(stopped.wait_for(10s), std::future_status::ready);
  stopped.wait();
  EXPECT_EQ(s.current(), source::state::ended);
}

TEST(source, a_file_that_is_not_looped_ends_its_mounts) {
  auto whole = pattern(1);
  source_spec spec;
  // Its first 0.4 s or so (whole TS packets), as it is paced to real time.
  spec.memory = std::make_shared<const std::vector<uint8_t>>(
      whole->begin(), whole->begin() + whole->size() / 188 * 2 / 5 * 188);
  spec.label = "pattern";
  source s(spec, 30s);
  mount_out m;
  s.attach(&m.remux);
  s.start();
  EXPECT_TRUE(eventually([&] { return s.current() == source::state::ended; }));
  EXPECT_TRUE(m.out.ended());
  EXPECT_GT(m.out.published(), 0u);
}

// The ICY blocks a stream's feed received so far.
std::vector<std::string> titles(stream& out) {
  std::vector<std::string> blocks;
  out.feed(0).drain([&](feed_item&& i) {
    if (i.kind == feed_item::metadata)
      blocks.emplace_back(reinterpret_cast<const char*>(i.ref.bytes().data()),
                          i.ref.bytes().size());
  });
  return blocks;
}

bool has_title(const std::vector<std::string>& blocks, const std::string& title) {
  for (const auto& b : blocks)
    if (b.find("StreamTitle='" + title + "';") != std::string::npos) return true;
  return false;
}

TEST(source, titles_from_tags_and_from_updates_reach_the_muxers) {
  // A file tagged as a player would show it: "artist - title".
  auto dir =
      std::filesystem::temp_directory_path() / ("gordo-source-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto bytes = pattern(1);
  std::ofstream(dir / "plain.ts", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes->data()),
             static_cast<std::streamsize>(bytes->size()));
  std::string cmd = "ffmpeg -nostdin -v error -y -i '" + (dir / "plain.ts").string() +
                    "' -c copy -metadata title=Song -metadata artist=Band '" +
                    (dir / "tagged.mkv").string() + "'";
  if (std::system(cmd.c_str()) != 0) {
    std::filesystem::remove_all(dir);
    GTEST_SKIP() << "no ffmpeg CLI to tag a file with";
  }
  source_spec spec;
  spec.url = (dir / "tagged.mkv").string();
  spec.label = "tagged";
  spec.loop = true;
  {
    source s(spec, 30s);
    mount_out m;
    s.attach(&m.remux);
    s.start();
    std::vector<std::string> seen;
    EXPECT_TRUE(eventually([&] {
      for (auto& b : titles(m.out)) seen.push_back(b);
      return has_title(seen, "Band - Song");
    }));
    s.set_title("Live at the Paradiso");  // an encoder's metadata update
    EXPECT_TRUE(eventually([&] {
      for (auto& b : titles(m.out)) seen.push_back(b);
      return has_title(seen, "Live at the Paradiso");
    }));
    s.stop();
  }
  std::filesystem::remove_all(dir);
}

// A server of the pattern over loopback TCP: the first connection gets it and is closed;
// later ones are accepted once `go` is set, get it, and are held open.
struct pattern_server {
  address at = *address::parse("127.0.0.1:0");
  listener l{at};
  std::shared_ptr<const std::vector<uint8_t>> bytes;
  std::atomic<bool> go{false}, quit{false};
  std::atomic<int> served{0};
  std::vector<int> held;
  std::thread thread;

  explicit pattern_server(std::shared_ptr<const std::vector<uint8_t>> b) : bytes(std::move(b)) {
    thread = std::thread([this] { run(); });
  }
  ~pattern_server() {
    quit = true;
    go = true;
    shutdown(l.fd(), SHUT_RDWR);  // breaks accept()
    thread.join();
    for (int fd : held) close(fd);
  }
  std::string url() const { return "tcp://" + at.to_string(); }

  void run() {
    while (!quit) {
      if (served > 0)
        while (!go) std::this_thread::sleep_for(1ms);
      int fd = accept4(l.fd(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      for (size_t off = 0; off < bytes->size();) {
        ssize_t n = ::send(fd, bytes->data() + off, bytes->size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      if (served++ == 0)
        close(fd);
      else
        held.push_back(fd);
    }
  }
};

TEST(source, a_network_source_that_ends_is_lost_then_live_again_when_it_answers) {
  pattern_server server(pattern(2));
  source_spec spec;
  spec.url = server.url();
  spec.label = "tcp pattern";
  spec.timeout_us = 30'000'000;
  source s(spec, 0s);
  EXPECT_EQ(s.current(), source::state::live);
  mount_out m;
  s.attach(&m.remux);
  s.start();
  // The first connection ends: hungry, at once lost (the lost timeout is 0), mounts
  // offline; its reconnection waits on the server.
  EXPECT_TRUE(eventually([&] { return s.current() == source::state::lost; }));
  EXPECT_TRUE(m.out.offline());
  EXPECT_FALSE(m.out.ended());  // viewers of a network source come back with it
  uint64_t published = m.out.published();
  EXPECT_GT(published, 0u);
  server.go = true;
  EXPECT_TRUE(eventually([&] { return s.current() == source::state::live; }));
  EXPECT_FALSE(m.out.offline());
  EXPECT_TRUE(eventually([&] { return m.out.published() > published; }));
  EXPECT_EQ(server.served, 2);
  s.stop();  // breaks the read of the held connection
}

}  // namespace
}  // namespace gordo
