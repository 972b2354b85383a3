// The reference point for perf/bench: the simplest fast fan-out a C programmer would
// write. One thread, epoll, a file paced at its bitrate in 100 ms chunks, and one send()
// per chunk per viewer. No HTTP parsing beyond waiting for the blank line, no burst, no
// keyframe alignment: what is left is the practical limit of the box.
//
//   epoll_fanout PORT FILE.ts BITRATE_BPS [CPU [ADDR]]
//
// CPU: pin to it (-1: not pinned, the default); ADDR: the IPv4 or IPv6 address to listen
// on (default 127.0.0.1).
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

#include <cerrno>
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

int usage() {
  std::fprintf(stderr,
               "usage: epoll_fanout PORT FILE.ts BITRATE_BPS [CPU [ADDR]]\n"
               "  CPU: pin to this CPU, -1 for none (the default)\n"
               "  ADDR: listen on this IPv4 or IPv6 address (default 127.0.0.1)\n");
  return 2;
}

// The listening address, from ADDR: port set, `len` its size; false when not an address.
bool listen_address(const char* text, int port, sockaddr_storage& addr, socklen_t& len) {
  addr = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
    return true;
  }
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
    return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 6) return usage();
  int port = std::atoi(argv[1]);
  double bitrate = std::atof(argv[3]);
  if (argc > 4) {
    char* end = nullptr;
    long cpu = std::strtol(argv[4], &end, 10);
    if (*argv[4] == 0 || *end != 0 || cpu < -1 || cpu >= CPU_SETSIZE) return usage();
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(static_cast<int>(cpu), &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0)
        std::fprintf(stderr, "epoll_fanout: cannot pin to CPU %ld: %s\n", cpu,
                     std::strerror(errno));
    }
  }
  const char* host = argc > 5 ? argv[5] : "127.0.0.1";
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  if (port <= 0 || port > 65535 || !listen_address(host, port, addr, addr_len)) return usage();
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

  int lfd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), addr_len) < 0 || listen(lfd, 4096) < 0) {
    std::fprintf(stderr, "epoll_fanout: listen on %s port %d: %s\n", host, port,
                 std::strerror(errno));
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
  bool v6 = addr.ss_family == AF_INET6;
  std::printf("epoll_fanout: play http://%s%s%s:%d/live.ts\n", v6 ? "[" : "", host, v6 ? "]" : "",
              port);
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
