// The wide-area link of perf/bench --net: forwards packets between two persistent tun
// devices, each in its own network namespace, with a fixed one-way delay and random loss
// per direction. netem is not built into this kernel; this is the part of it we need.
//
//   tun_delay NS_A DEV_A NS_B DEV_B [--delay 20ms] [--back-delay D] [--loss P]
//             [--back-loss P] [--slots N] [--cpu N]
//
// A fixed delay releases packets in arrival order, so each direction is a FIFO ring of
// 2 KiB slots: a packet is read straight into its slot and written from it when due, one
// read() and one write() per packet, no allocation, no heap, no timer wheel.
//
//   lane a_to_b: tun A ──read──▶ [ slot slot slot ... ] ──write when due──▶ tun B
//                                  head           tail
//   lane b_to_a: tun B ──read──▶ [ ... ] ──▶ tun A
//
// On SIGTERM or SIGINT it prints one JSON line with each lane's counters and its own CPU.
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace {

const char usage[] =
    "usage: tun_delay NS_A DEV_A NS_B DEV_B [--delay 20ms] [--back-delay D] [--loss P]\n"
    "                 [--back-loss P] [--slots N] [--cpu N]\n"
    "  forwards between tun DEV_A in /run/netns/NS_A and tun DEV_B in /run/netns/NS_B\n"
    "  --delay       one-way delay A->B (us, ms or s suffix; default 20ms)\n"
    "  --back-delay  one-way delay B->A (default: --delay)\n"
    "  --loss        probability that a packet A->B is dropped, 0..1 (default 0)\n"
    "  --back-loss   the same B->A (default 0)\n"
    "  --slots       packets each direction can hold in flight (default 16384, 2 KiB each)\n"
    "  --cpu         pin to this CPU\n"
    "  SIGTERM/SIGINT print the counters as one JSON line on stdout\n";

constexpr int batch = 256;  // reads and writes per lane per wake-up: neither lane starves

// 2 KiB: a packet of up to 2,035 bytes (MTU 1500 here) and its release time. No vnet
// header is asked for, so the kernel segments GSO skbs before the tun and loss applies to
// real, MTU-sized packets.
struct slot {
  int64_t due;  // CLOCK_MONOTONIC ns
  uint32_t len;
  char data[2048 - 12];
};
static_assert(sizeof(slot) == 2048);

struct lane {
  int in = -1, out = -1;
  int64_t delay = 0;        // ns
  uint64_t drop_below = 0;  // loss probability * 2^64
  std::unique_ptr<slot[]> ring;
  uint32_t size = 0, head = 0, count = 0;
  bool readable = false;
  uint64_t passed = 0, lost = 0, overflow = 0, oversize = 0, write_errors = 0, bytes = 0;
};

struct options {
  const char *ns_a, *dev_a, *ns_b, *dev_b;
  int64_t delay = 20'000'000, back_delay = -1;
  double loss = 0, back_loss = 0;
  uint32_t slots = 16384;
  int cpu = -1;
};

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

double cpu_s() {  // user + system: a tun write runs the receiving stack, in system time
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// xorshift64*: a few cycles a packet; loss needs no better randomness than this.
struct prng {
  uint64_t x;
  uint64_t next() {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    return x * 0x2545F4914F6CDD1DULL;
  }
};

// "20ms", "500us", "1.5s", "0". A bare number other than 0 is refused: ms or s is a
// factor of 1,000 nobody should have to guess.
bool parse_duration(const char* s, int64_t& ns) {
  char* end;
  errno = 0;
  double v = std::strtod(s, &end);
  if (end == s || errno || !(v >= 0)) return false;
  double unit;
  if (!std::strcmp(end, "s"))
    unit = 1e9;
  else if (!std::strcmp(end, "ms"))
    unit = 1e6;
  else if (!std::strcmp(end, "us"))
    unit = 1e3;
  else if (!std::strcmp(end, "ns") || (!*end && v == 0))
    unit = 1;
  else
    return false;
  if (v * unit > 3600e9) return false;
  ns = std::llround(v * unit);
  return true;
}

bool parse_probability(const char* s, double& p) {
  char* end;
  p = std::strtod(s, &end);
  return end != s && !*end && p >= 0 && p <= 1;
}

bool parse_uint(const char* s, uint64_t max, uint64_t& v) {
  char* end;
  errno = 0;
  v = std::strtoull(s, &end, 10);
  return end != s && !*end && !errno && *s != '-' && v <= max;
}

bool parse_args(int argc, char** argv, options& o) {
  const char* pos[4];
  int npos = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      if (npos == 4) return false;
      pos[npos++] = argv[i];
      continue;
    }
    std::string name = arg, value;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return false;
    }
    uint64_t n = 0;
    bool ok;
    if (name == "--delay")
      ok = parse_duration(value.c_str(), o.delay);
    else if (name == "--back-delay")
      ok = parse_duration(value.c_str(), o.back_delay);
    else if (name == "--loss")
      ok = parse_probability(value.c_str(), o.loss);
    else if (name == "--back-loss")
      ok = parse_probability(value.c_str(), o.back_loss);
    else if (name == "--slots") {
      ok = parse_uint(value.c_str(), 1u << 20, n) && n > 0;  // at most 2 GiB a lane
      o.slots = static_cast<uint32_t>(n);
    } else if (name == "--cpu") {
      ok = parse_uint(value.c_str(), CPU_SETSIZE - 1, n);
      o.cpu = static_cast<int>(n);
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "tun_delay: bad option %s %s\n", name.c_str(), value.c_str());
      return false;
    }
  }
  if (npos != 4) return false;
  o.ns_a = pos[0], o.dev_a = pos[1], o.ns_b = pos[2], o.dev_b = pos[3];
  if (o.back_delay < 0) o.back_delay = o.delay;
  return true;
}

// Enters the namespace and attaches to its existing tun; attaching brings the carrier up.
// Returns the fd, or -1 after saying why. TUNSETIFF would create a new, transient device
// under a mistyped name, so the device must be there first.
int attach(const char* ns, const char* dev) {
  std::string path = std::string("/run/netns/") + ns;
  int nsfd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
    std::fprintf(stderr, "tun_delay: cannot enter namespace %s (%s): %s%s\n", ns, path.c_str(),
                 std::strerror(errno), errno == ENOENT ? " (ip netns add it first)" : "");
    if (nsfd >= 0) close(nsfd);
    return -1;
  }
  close(nsfd);
  if (std::strlen(dev) >= IFNAMSIZ || !if_nametoindex(dev)) {
    std::fprintf(stderr,
                 "tun_delay: no device %s in namespace %s (ip -n %s tuntap add dev %s mode tun)\n",
                 dev, ns, ns, dev);
    return -1;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    std::fprintf(stderr, "tun_delay: cannot attach to tun %s in namespace %s: %s%s\n", dev, ns,
                 std::strerror(err),
                 err == EBUSY    ? " (another process has it open)"
                 : err == EINVAL ? " (not a tun device, or multi-queue)"
                                 : "");
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

// Reads up to a batch of what arrived into the ring: a full ring still reads (into
// scratch), or the tun's own queue would fill and drop where nobody counts it.
void take(lane& l, int64_t now, prng& rng, char* scratch, size_t scratch_len) {
  for (int i = 0; i < batch; ++i) {
    bool full = l.count == l.size;
    uint32_t tail = l.head + l.count;
    if (tail >= l.size) tail -= l.size;
    slot& s = l.ring[tail];
    ssize_t n = full ? read(l.in, scratch, scratch_len) : read(l.in, s.data, sizeof s.data);
    if (n < 0) {  // EAGAIN: drained
      l.readable = false;
      return;
    }
    if (full)
      ++l.overflow;
    else if (static_cast<size_t>(n) >= sizeof s.data)  // a packet that fills it was cut short
      ++l.oversize;
    else if (l.drop_below && rng.next() < l.drop_below)
      ++l.lost;
    else {
      s.due = now + l.delay;
      s.len = static_cast<uint32_t>(n);
      ++l.count;
    }
  }
}

// Writes up to a batch of the packets that are due. A write to a tun runs the receiving
// stack in this thread, so this is where most of the CPU goes.
void release(lane& l, int64_t now) {
  for (int i = 0; i < batch && l.count && l.ring[l.head].due <= now; ++i) {
    const slot& s = l.ring[l.head];
    if (write(l.out, s.data, s.len) < 0) {
      ++l.write_errors;
    } else {
      ++l.passed;
      l.bytes += s.len;
    }
    if (++l.head == l.size) l.head = 0;
    --l.count;
  }
}

void print_lane(const char* name, const lane& l) {
  std::printf("\"%s\":{\"passed\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"overflow\":%" PRIu64
              ",\"oversize\":%" PRIu64 ",\"write_errors\":%" PRIu64 ",\"bytes\":%" PRIu64
              ",\"queued\":%u}",
              name, l.passed, l.lost, l.overflow, l.oversize, l.write_errors, l.bytes, l.count);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse_args(argc, argv, o)) {
    std::fputs(usage, stderr);
    return 2;
  }
  if (o.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o.cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) {
      std::fprintf(stderr, "tun_delay: cannot pin to CPU %d: %s\n", o.cpu, std::strerror(errno));
      return 1;
    }
  }
  // Signals arrive through the loop, so the counters need no globals.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigprocmask(SIG_BLOCK, &sigs, nullptr);
  int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);

  // Back to where we started once both ends are attached: nothing else here needs either.
  int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int fd_a = attach(o.ns_a, o.dev_a);
  if (fd_a < 0) return 1;
  int fd_b = attach(o.ns_b, o.dev_b);
  if (fd_b < 0) return 1;
  if (home >= 0) {
    setns(home, CLONE_NEWNET);
    close(home);
  }

  // p * 2^64, saturated: p = 1 drops all but one packet in 2^64.
  auto threshold = [](double p) {
    return p >= 1 ? UINT64_MAX : static_cast<uint64_t>(std::ldexp(p, 64));
  };
  lane lanes[2];
  lanes[0].in = fd_a, lanes[0].out = fd_b;
  lanes[0].delay = o.delay, lanes[0].drop_below = threshold(o.loss);
  lanes[1].in = fd_b, lanes[1].out = fd_a;
  lanes[1].delay = o.back_delay, lanes[1].drop_below = threshold(o.back_loss);
  for (lane& l : lanes) {
    // Zeroed now: the ring is used round-robin, so traffic touches every page within a
    // wrap anyway; faulting them in here keeps that out of a benchmark's window (it was
    // 7% of the CPU of a 3 s transfer).
    l.ring = std::make_unique<slot[]>(o.slots);
    l.size = o.slots;
  }
  std::vector<char> scratch(65536);
  prng rng{static_cast<uint64_t>(now_ns()) * 0x9E3779B97F4A7C15ULL | 1};

  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  for (uint32_t i = 0; i < 3; ++i) {
    ev.data.u32 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, i == 2 ? sfd : lanes[i].in, &ev);
  }
  std::fprintf(stderr,
               "tun_delay: %s/%s <-> %s/%s, delay %.3f/%.3f ms, loss %g/%g, %u slots a lane\n",
               o.ns_a, o.dev_a, o.ns_b, o.dev_b, o.delay / 1e6, o.back_delay / 1e6, o.loss,
               o.back_loss, o.slots);
  // From here: the JSON's figures are the forwarding's, not the set-up's (zeroing the rings).
  int64_t started = now_ns();
  double cpu_started = cpu_s();

  bool pwait2 = true;
  epoll_event events[3];
  for (bool running = true; running;) {
    // Sleep until the earliest release (a lane's head: rings are in due order) or input.
    int64_t wait = -1, now = now_ns();
    for (const lane& l : lanes)
      if (l.count) {
        int64_t left = l.ring[l.head].due - now;
        left = left < 0 ? 0 : left;
        wait = wait < 0 || left < wait ? left : wait;
      }
    int n;
    if (pwait2) {
      timespec ts{wait / 1'000'000'000, wait % 1'000'000'000};
      n = epoll_pwait2(ep, events, 3, wait < 0 ? nullptr : &ts, nullptr);
      if (n < 0 && errno == ENOSYS) {
        pwait2 = false;  // before 5.11: whole milliseconds, rounded up so nothing is early
        continue;
      }
    } else {
      n = epoll_wait(ep, events, 3, wait < 0 ? -1 : static_cast<int>((wait + 999'999) / 1'000'000));
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u32 == 2)
        running = false;
      else
        lanes[events[i].data.u32].readable = true;
    }
    // Level-triggered: a lane left readable after its batch is reported again at once.
    now = now_ns();
    for (lane& l : lanes)
      if (l.readable) take(l, now, rng, scratch.data(), scratch.size());
    now = now_ns();
    for (lane& l : lanes) release(l, now);
  }

  double cpu = cpu_s() - cpu_started;
  std::printf("{");
  print_lane("a_to_b", lanes[0]);
  std::printf(",");
  print_lane("b_to_a", lanes[1]);
  std::printf(",\"cpu_s\":%.3f,\"wall_s\":%.3f}\n", cpu, (now_ns() - started) / 1e9);
  std::fflush(stdout);
  return 0;
}
