// One mount's recording: chunks from the stream's tap into files, cut at keyframes,
// paused (and retried) while the disk refuses them, old files deleted.
#include "recording.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "gordo/core/stream_ring.h"

extern char** environ;

namespace gordo {

namespace fs = std::filesystem;

namespace {

constexpr int64_t retry_ns = 1'000'000'000;       // a paused recording tries again after this
constexpr int64_t free_check_ns = 1'000'000'000;  // how often record_min_free is looked at

int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// record_keep is looked at a tenth of it apart, from every second to every minute.
int64_t sweep_every(int64_t keep_ns) {
  return std::clamp<int64_t>(keep_ns / 10, 1'000'000'000, 60'000'000'000);
}

// record_command: /bin/sh -c COMMAND, the file and the mount in its environment, with the
// signals gordo blocks unblocked (a child inherits the mask).
pid_t spawn_command(const std::string& command, const std::string& file, const std::string& mount) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "GORDO_RECORD_FILE=", 18) && std::strncmp(*e, "GORDO_MOUNT=", 12))
      env.emplace_back(*e);
  std::error_code ec;
  fs::path abs = fs::absolute(file, ec);
  env.push_back("GORDO_RECORD_FILE=" + (ec ? file : abs.string()));
  env.push_back("GORDO_MOUNT=" + mount);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = "sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int err = posix_spawn(&pid, "/bin/sh", nullptr, &attr, argv, envp.data());
  posix_spawnattr_destroy(&attr);
  if (err) {
    spdlog::error("record_command for {}: cannot start /bin/sh: {}", mount, std::strerror(err));
    return -1;
  }
  return pid;
}

}  // namespace

recorder::recording::recording(std::string mount_path, stream* s, const record_options& opts)
    : mount(std::move(mount_path)),
      out(s),
      tap(nullptr),
      opts_(opts),
      base_(record_base_dir(opts.path)),
      matcher_(opts.path) {}

recorder::recording::~recording() {
  std::vector<pid_t> ignored;
  finish(ignored);
}

void recorder::recording::set_options(const record_options& opts, std::vector<pid_t>& children) {
  if (opts.path != opts_.path) {
    finish(children);
    if (state_ == state::writing) state_ = state::waiting;
    base_ = record_base_dir(opts.path);
    matcher_ = record_matcher(opts.path);
  }
  opts_ = opts;
  next_sweep_ns_ = next_check_ns_ = 0;
}

void recorder::recording::pump(int64_t now_ns, std::vector<pid_t>& children) {
  tap->drain([&](feed_item&& item) { handle(std::move(item), now_ns, children); });
  if (fd_ >= 0 && now_ns - synced_ns_ >= opts_.flush_ns) {
    synced_ns_ = now_ns;
    if (::fdatasync(fd_) != 0) fail(errno, "fdatasync", now_ns, children);
  }
  if ((opts_.keep_ns && now_ns >= next_sweep_ns_) || (opts_.min_free && now_ns >= next_check_ns_)) {
    next_check_ns_ = now_ns + free_check_ns;
    if (!sweep(now_ns) && state_ != state::paused) {
      if (!episode_)
        spdlog::error(
            "recording {}: less than record_min_free ({} bytes) free under {} after "
            "deleting its finished files; paused, retrying",
            mount, opts_.min_free, base_);
      episode_ = true;
      counters_.errors.fetch_add(1, std::memory_order_relaxed);
      finish(children);
      state_ = state::paused;
      retry_ns_ = now_ns + retry_ns;
      show(state_);
    }
  }
}

void recorder::recording::handle(feed_item&& item, int64_t now_ns, std::vector<pid_t>& children) {
  if (item.kind == feed_item::header) {
    header_ = std::move(item.ref);
    header_changed_ = true;
    return;
  }
  if (item.kind != feed_item::chunk) return;
  auto dropped = [&](uint64_t n) { counters_.dropped.fetch_add(n, std::memory_order_relaxed); };
  if (have_seq_ && item.seq < next_seq_) return;  // left in the tap by an earlier recording
  if (have_seq_ && item.seq > next_seq_) {
    // The tap was full: the recorder fell behind (a slow disk). The file ends here.
    dropped(item.seq - next_seq_);
    if (state_ == state::writing) {
      spdlog::warn(
          "recording {}: the recorder fell {} chunks behind; {} ends there, the next "
          "file starts at a keyframe",
          mount, item.seq - next_seq_, file_);
      finish(children);
      state_ = state::waiting;
    }
  }
  have_seq_ = true;
  next_seq_ = item.seq + 1;
  bool key = item.flags & chunk_keyframe;
  if (state_ == state::writing && key &&
      ((item.flags & chunk_restart) || header_changed_ ||
       item.time_ns - file_start_ns_ >= opts_.segment_ns)) {
    finish(children);
    state_ = state::waiting;
  }
  if (state_ == state::paused || state_ == state::error) {
    if (!key || now_ns < retry_ns_) return dropped(1);
    state_ = state::waiting;  // try again at this keyframe
  }
  if (state_ == state::waiting) {
    if (!key) return;  // a file starts at a keyframe
    if (!open_file(now_ns)) {
      dropped(1);
      if (state_ == state::waiting) state_ = state::error;
      retry_ns_ = now_ns + retry_ns;
      return;
    }
    file_start_ns_ = item.time_ns;
    header_changed_ = false;
    if (header_ && !write_all(header_.bytes())) return fail(errno, "write", now_ns, children);
    state_ = state::writing;
  }
  if (!write_all(item.ref.bytes())) return fail(errno, "write", now_ns, children);
  file_has_chunks_ = true;
  if (episode_) resumed();
  show(state_);
}

bool recorder::recording::open_file(int64_t now_ns) {
  std::error_code ec;
  fs::create_directories(base_, ec);
  if (opts_.min_free && !sweep(now_ns)) {
    if (!episode_)
      spdlog::error(
          "recording {}: less than record_min_free ({} bytes) free under {} after "
          "deleting its finished files; paused, retrying",
          mount, opts_.min_free, base_);
    if (!episode_) counters_.errors.fetch_add(1, std::memory_order_relaxed);
    episode_ = true;
    state_ = state::paused;
    show(state_);
    return false;
  }
  std::time_t now = std::time(nullptr);
  int err = 0;
  for (unsigned n = 0; n < 1000; ++n) {
    std::string name = record_file_name(opts_.path, now, n);
    fs::path parent = fs::path(name).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    fd_ = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ >= 0) {
      file_ = name;
      break;
    }
    err = errno;
    if (err != EEXIST) break;
  }
  if (fd_ < 0) {
    if (!episode_) {
      spdlog::error("recording {}: cannot create a file of {}: {}; retrying", mount, opts_.path,
                    std::strerror(err));
      counters_.errors.fetch_add(1, std::memory_order_relaxed);
    }
    episode_ = true;
    state_ = err == ENOSPC || err == EDQUOT ? state::paused : state::error;
    show(state_);
    return false;
  }
  file_bytes_ = 0;
  file_has_chunks_ = false;
  synced_ns_ = now_ns;
  {
    std::lock_guard lock(file_mu_);
    shown_file_ = file_;
  }
  spdlog::info("recording {} to {}", mount, file_);
  return true;
}

// Everything or, on an error (errno set), nothing: a partial chunk is cut off again so
// that the file ends on a chunk.
bool recorder::recording::write_all(std::span<const std::byte> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      if (done) [[maybe_unused]]
        int r = ::ftruncate(fd_, static_cast<off_t>(file_bytes_));
      errno = err;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  file_bytes_ += bytes.size();
  counters_.bytes.fetch_add(bytes.size(), std::memory_order_relaxed);
  return true;
}

void recorder::recording::fail(int err, const std::string& what, int64_t now_ns,
                               std::vector<pid_t>& children) {
  bool full = err == ENOSPC || err == EDQUOT;
  if (!episode_) {
    spdlog::error(
        "recording {}: {} {}: {}; {} until it can write again (viewers are not "
        "affected)",
        mount, what, file_, std::strerror(err), full ? "paused" : "stopped, retrying");
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
  }
  episode_ = true;
  finish(children);
  state_ = full ? state::paused : state::error;
  retry_ns_ = now_ns + retry_ns;
  show(state_);
}

void recorder::recording::resumed() {
  episode_ = false;
  spdlog::info("recording {} resumed: {}", mount, file_);
}

void recorder::recording::finish(std::vector<pid_t>& children) {
  if (fd_ < 0) return;
  ::fdatasync(fd_);
  ::close(fd_);
  fd_ = -1;
  {
    std::lock_guard lock(file_mu_);
    shown_file_.clear();
  }
  if (!file_has_chunks_) {  // a header alone (or nothing) plays nothing
    ::unlink(file_.c_str());
    return;
  }
  counters_.files.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("recording {}: {} finished ({} bytes)", mount, file_, file_bytes_);
  if (!opts_.command.empty())
    if (pid_t pid = spawn_command(opts_.command, file_, mount); pid > 0) children.push_back(pid);
}

uint64_t recorder::recording::free_bytes() const {
  struct statvfs st {};
  if (::statvfs(base_.c_str(), &st) != 0) return UINT64_MAX;  // unknown: not held against it
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

bool recorder::recording::sweep(int64_t now_ns) {
  uint64_t free = opts_.min_free ? free_bytes() : UINT64_MAX;
  bool by_age = opts_.keep_ns && now_ns >= next_sweep_ns_;
  if (!by_age && free >= opts_.min_free) return true;
  if (opts_.keep_ns) next_sweep_ns_ = now_ns + sweep_every(opts_.keep_ns);
  std::vector<record_file> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(base_, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string p = it->path().string();
    if (base_ == "." && p.starts_with("./")) p = p.substr(2);
    if (p == file_ || !matcher_.matches(p)) continue;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) continue;
    files.push_back({p, st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec,
                     static_cast<uint64_t>(st.st_size)});
  }
  int64_t now_real = realtime_ns();
  for (const record_file& f :
       record_expired(std::move(files), now_real, opts_.keep_ns, free, opts_.min_free)) {
    if (::unlink(f.path.c_str()) != 0) continue;
    counters_.deleted.fetch_add(1, std::memory_order_relaxed);
    bool old = opts_.keep_ns && now_real - f.mtime_ns > opts_.keep_ns;
    spdlog::info("recording {}: deleted {} ({})", mount, f.path,
                 old ? "older than record_keep" : "for record_min_free");
    // Its directory goes too once empty (up to the template's base).
    for (fs::path dir = fs::path(f.path).parent_path();
         !dir.empty() && dir != fs::path(base_) && fs::is_empty(dir, ec) && !ec;
         dir = dir.parent_path())
      fs::remove(dir, ec);
  }
  return !opts_.min_free || free_bytes() >= opts_.min_free;
}

void recorder::recording::show(state s) {
  shown_.store(s, std::memory_order_relaxed);
}

record_stats recorder::recording::stats() const {
  record_stats s;
  switch (shown_.load(std::memory_order_relaxed)) {
    case state::waiting:
    case state::writing:
      s.state = "recording";
      break;
    case state::paused:
      s.state = "paused";
      break;
    case state::error:
      s.state = "error";
      break;
  }
  {
    std::lock_guard lock(file_mu_);
    s.file = shown_file_;
  }
  s.counts = copy_counters(counters_);
  return s;
}

}  // namespace gordo
