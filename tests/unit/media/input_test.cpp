// input::open on every kind of source it takes: memory, a file, a read function (a push),
// and a network URL that sends nothing, broken by the interrupt or by the source timeout.
#include "gordo/media/input.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "gordo/net/listener.h"
#include "unit/small_pattern.h"

namespace gordo {
namespace {

using namespace std::chrono_literals;

// The pattern's tracks, as the demuxer found them.
void expect_pattern_tracks(const input& in) {
  ASSERT_EQ(in.ctx()->nb_streams, 2u);
  const AVCodecParameters* v = in.ctx()->streams[0]->codecpar;
  const AVCodecParameters* a = in.ctx()->streams[1]->codecpar;
  if (v->codec_type != AVMEDIA_TYPE_VIDEO) std::swap(v, a);
  EXPECT_EQ(v->codec_id, AV_CODEC_ID_H264);
  EXPECT_EQ(v->width, 160);
  EXPECT_EQ(v->height, 120);
  EXPECT_EQ(a->codec_id, AV_CODEC_ID_AAC);
  EXPECT_EQ(a->sample_rate, 48000);
}

// An interrupt check that gives up after `after`: a safety net, so that a broken timeout
// fails the test (with "Immediate exit requested") instead of hanging it.
struct deadline {
  std::chrono::steady_clock::time_point at;
  explicit deadline(std::chrono::milliseconds after)
      : at(std::chrono::steady_clock::now() + after) {}
  AVIOInterruptCB cb() {
    return {[](void* self) -> int {
              return std::chrono::steady_clock::now() > static_cast<deadline*>(self)->at;
            },
            this};
  }
};

struct temp_dir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("gordo-input-test-" + std::to_string(getpid()));
  temp_dir() { std::filesystem::create_directories(path); }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const void* data, size_t size) {
    std::ofstream(path / name, std::ios::binary)
        .write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    return (path / name).string();
  }
};

TEST(source_spec, files_and_memory_are_paced_network_and_pushes_are_not) {
  source_spec s;
  s.memory = small_pattern();
  EXPECT_TRUE(s.needs_pacing());
  s = {};
  s.url = "/srv/media/film.ts";
  EXPECT_TRUE(s.needs_pacing());
  s.url = "file:/srv/media/film.ts";
  EXPECT_TRUE(s.needs_pacing());
  for (const char* url : {"udp://239.0.0.1:1234", "srt://encoder:9000", "http://origin/live.ts",
                          "tcp://127.0.0.1:9"}) {
    s.url = url;
    EXPECT_FALSE(s.needs_pacing()) << url;
  }
  s = {};
  s.push = "/live.ts";
  EXPECT_FALSE(s.needs_pacing());  // an encoder sends at its own rate
}

TEST(input, opens_bytes_in_memory) {
  source_spec spec;
  spec.memory = small_pattern();
  spec.label = "pattern";
  std::string error;
  auto in = input::open(spec, AVIOInterruptCB{}, error);
  ASSERT_TRUE(in) << error;
  expect_pattern_tracks(*in);
  // Read to the end: every byte of memory is there to demux, then EOF.
  av::packet_ptr pkt(av_packet_alloc());
  int packets = 0, err;
  while ((err = av_read_frame(in->ctx(), pkt.get())) >= 0) {
    ++packets;
    av_packet_unref(pkt.get());
  }
  EXPECT_EQ(err, AVERROR_EOF);
  EXPECT_GT(packets, 10);
}

TEST(input, opens_a_file_and_says_what_is_wrong_with_one_it_cannot) {
  temp_dir dir;
  source_spec spec;
  spec.url = dir.write("pattern.ts", small_pattern()->data(), small_pattern()->size());
  spec.label = "pattern.ts";
  std::string error;
  auto in = input::open(spec, AVIOInterruptCB{}, error);
  ASSERT_TRUE(in) << error;
  expect_pattern_tracks(*in);

  std::string junk(64 * 1024, 'x');
  spec.url = dir.write("junk.ts", junk.data(), junk.size());
  spec.label = "junk.ts";
  EXPECT_FALSE(input::open(spec, AVIOInterruptCB{}, error));
  EXPECT_EQ(error, "cannot open junk.ts: Invalid data found when processing input");

  spec.url = (dir.path / "missing.ts").string();
  spec.label = "missing.ts";
  EXPECT_FALSE(input::open(spec, AVIOInterruptCB{}, error));
  EXPECT_EQ(error, std::string("cannot open missing.ts: ") + std::strerror(ENOENT));
}

TEST(input, reads_through_a_function_in_any_sizes) {
  auto bytes = small_pattern();
  size_t pos = 0, calls = 0;
  // A push arrives in whatever pieces the network gives: here 1000 bytes at most.
  auto read = [&](uint8_t* out, int size) -> int {
    ++calls;
    if (pos == bytes->size()) return AVERROR_EOF;
    size_t n = std::min<size_t>({bytes->size() - pos, static_cast<size_t>(size), 1000});
    std::memcpy(out, bytes->data() + pos, n);
    pos += n;
    return static_cast<int>(n);
  };
  std::string error;
  auto in = input::open(read, "the push", AVIOInterruptCB{}, error);
  ASSERT_TRUE(in) << error;
  expect_pattern_tracks(*in);
  EXPECT_GT(calls, 1u);
  av::packet_ptr pkt(av_packet_alloc());
  while (av_read_frame(in->ctx(), pkt.get()) >= 0) av_packet_unref(pkt.get());
  EXPECT_EQ(pos, bytes->size());  // it read everything the function had
}

TEST(input, a_read_function_that_fails_names_the_source) {
  std::string error;
  auto in = input::open([](uint8_t*, int) { return AVERROR(EIO); }, "the push from 10.0.0.7",
                        AVIOInterruptCB{}, error);
  EXPECT_FALSE(in);
  EXPECT_EQ(error.rfind("cannot open the push from 10.0.0.7: ", 0), 0u) << error;
}

// A TCP server on loopback that accepts (in its backlog) and never sends a byte.
struct silent_server {
  address at = *address::parse("127.0.0.1:0");
  listener l{at};
  std::string url() const { return "tcp://" + at.to_string(); }
};

TEST(input, the_interrupt_breaks_a_blocked_open) {
  silent_server server;
  source_spec spec;
  spec.url = server.url();
  spec.label = "silent";
  spec.timeout_us = 30'000'000;  // far beyond the interrupt, which must end this first
  int polls = 0;
  AVIOInterruptCB stop{[](void* n) -> int { return ++*static_cast<int*>(n) > 3; }, &polls};
  std::string error;
  EXPECT_FALSE(input::open(spec, stop, error));
  EXPECT_EQ(error, "cannot open silent: Immediate exit requested");
  EXPECT_GT(polls, 3);
}

TEST(input, a_network_source_that_sends_nothing_times_out) {
  silent_server server;
  source_spec spec;
  spec.url = server.url();
  spec.label = "silent";
  spec.timeout_us = 200'000;
  deadline safety(20s);
  std::string error;
  EXPECT_FALSE(input::open(spec, safety.cb(), error));
  EXPECT_EQ(error, std::string("cannot open silent: ") + std::strerror(ETIMEDOUT));
}

TEST(input, a_udp_source_that_receives_nothing_times_out) {
  // udp's own `timeout` replaces rw_timeout: without it, this would wait forever.
  int probe = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  address at = *address::parse("127.0.0.1:0");
  ASSERT_EQ(bind(probe, reinterpret_cast<const sockaddr*>(&at.storage), at.len), 0);
  socklen_t len = sizeof at.storage;
  getsockname(probe, reinterpret_cast<sockaddr*>(&at.storage), &len);
  close(probe);  // a free port, for FFmpeg to bind
  source_spec spec;
  spec.url = "udp://" + at.to_string();
  spec.label = "quiet udp";
  spec.timeout_us = 100'000;
  deadline safety(20s);
  std::string error;
  EXPECT_FALSE(input::open(spec, safety.cb(), error));
  EXPECT_EQ(error.rfind("cannot open quiet udp: ", 0), 0u) << error;
  EXPECT_EQ(error.find("Immediate exit requested"), std::string::npos) << error;
}

}  // namespace
}  // namespace gordo
