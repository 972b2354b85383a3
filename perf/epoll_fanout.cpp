// The reference point for perf/bench: the simplest fast fan-out a C programmer would
// write. One thread, epoll, a file paced at its bitrate in 100 ms chunks, and one send()
// per chunk per viewer. No HTTP parsing beyond waiting for the blank line, no burst, no
// keyframe alignment: what is left is the practical limit of the box.
//
//   epoll_fanout PORT FILE.ts BITRATE_BPS [CPU]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr size_t ring_chunks = 64;  // 6.4 s; a viewer further behind is dropped

struct viewer {
  int fd = -1;
  bool streaming = false;
  std::string request;
  uint64_t next = 0;  // next chunk to send
  size_t offset = 0;  // bytes of it already sent
};

struct chunk {
  size_t begin = 0, len = 0;  // in the file
};

std::vector<char> file;
std::vector<chunk> ring(ring_chunks);
uint64_t produced = 0;
const char head[] =
    "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nCache-Control: no-cache\r\nConnection: "
    "close\r\n\r\n";

void drop(int ep, viewer& v) {
  epoll_ctl(ep, EPOLL_CTL_DEL, v.fd, nullptr);
  close(v.fd);
  v = viewer{};
}

// Sends what the viewer is missing, chunk by chunk, until the socket is full.
void flush(int ep, viewer& v) {
  if (produced > ring_chunks && v.next < produced - ring_chunks) return drop(ep, v);
  while (v.next < produced) {
    const chunk& c = ring[v.next % ring_chunks];
    ssize_t n = send(v.fd, file.data() + c.begin + v.offset, c.len - v.offset, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN) drop(ep, v);
      return;
    }
    v.offset += static_cast<size_t>(n);
    if (v.offset < c.len) return;
    v.offset = 0;
    ++v.next;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: epoll_fanout PORT FILE.ts BITRATE_BPS [CPU]\n");
    return 2;
  }
  int port = std::atoi(argv[1]);
  double bitrate = std::atof(argv[3]);
  if (argc > 4) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(std::atoi(argv[4]), &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  signal(SIGPIPE, SIG_IGN);
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  FILE* f = std::fopen(argv[2], "rb");
  if (!f) {
    std::perror(argv[2]);
    return 1;
  }
  char buf[1 << 16];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;)
    file.insert(file.end(), buf, buf + n);
  std::fclose(f);
  // 100 ms of stream per chunk, whole TS packets.
  size_t chunk_bytes = static_cast<size_t>(bitrate / 8 / 10) / 188 * 188;
  if (chunk_bytes == 0 || file.size() < chunk_bytes) {
    std::fprintf(stderr, "epoll_fanout: file too short for the bitrate\n");
    return 1;
  }

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || listen(lfd, 4096) < 0) {
    std::perror("listen");
    return 1;
  }
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  itimerspec every{{0, 100'000'000}, {0, 100'000'000}};
  timerfd_settime(tfd, 0, &every, nullptr);

  int ep = epoll_create1(0);
  std::vector<viewer> viewers(lim.rlim_cur);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.fd = tfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  std::printf("epoll_fanout: play http://127.0.0.1:%d/live.ts\n", port);
  std::fflush(stdout);

  size_t pos = 0;
  std::vector<epoll_event> events(4096);
  for (;;) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == tfd) {
        uint64_t ticks;
        if (read(tfd, &ticks, sizeof ticks) <= 0) continue;
        if (pos + chunk_bytes > file.size()) pos = 0;  // loop (a discontinuity; fine here)
        ring[produced % ring_chunks] = {pos, chunk_bytes};
        pos += chunk_bytes;
        ++produced;
        for (viewer& v : viewers)
          if (v.streaming) flush(ep, v);
      } else if (fd == lfd) {
        for (int c; (c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          viewers[c].fd = c;
          ev.events = EPOLLIN;
          ev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        }
      } else {
        viewer& v = viewers[fd];
        if (v.streaming) {  // writable again, or the viewer hung up
          if (events[i].events & (EPOLLHUP | EPOLLERR))
            drop(ep, v);
          else
            flush(ep, v);
          continue;
        }
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got <= 0) {
          drop(ep, v);
          continue;
        }
        v.request.append(buf, static_cast<size_t>(got));
        if (v.request.find("\r\n\r\n") == std::string::npos) continue;
        send(fd, head, sizeof head - 1, MSG_NOSIGNAL);
        v.streaming = true;
        v.request.clear();
        v.next = produced ? produced - 1 : 0;  // the newest chunk, at once
        ev.events = EPOLLOUT | EPOLLET;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
        flush(ep, v);
      }
    }
  }
}
