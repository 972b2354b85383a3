#include "gordo/http/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <ctime>
#include <system_error>

namespace gordo {

namespace {

constexpr size_t max_pending = 4 << 20;  // beyond this, lines are dropped, not queued

std::string quoted(std::string_view v) {
  if (v.empty()) return "\"-\"";
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\')
      out += {'\\', static_cast<char>(c)};
    else if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out + "\"";
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // disk full or gone: the log loses lines, serving goes on
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::string format_access_line(const access_record& r) {
  std::time_t t = std::chrono::system_clock::to_time_t(r.at);
  std::tm tm{};
  localtime_r(&t, &tm);
  char when[64];
  std::strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", &tm);
  return fmt::format("{} - - [{}] {} {} {} {} {} {}\n", r.peer.empty() ? "-" : r.peer, when,
                     quoted(r.request_line), r.status, r.body_bytes, quoted(r.referer),
                     quoted(r.user_agent), r.seconds);
}

access_log::access_log(std::string path) : path_(std::move(path)) {
  fd_ = open_file();
  thread_ = std::thread([this] { run(); });
}

access_log::~access_log() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  if (fd_ > STDERR_FILENO) ::close(fd_);
}

int access_log::open_file() const {
  if (path_ == "-") return STDOUT_FILENO;
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), "cannot open access log " + path_);
  return fd;
}

void access_log::write(std::string line) {
  {
    std::lock_guard lock(mu_);
    if (pending_.size() > max_pending) return;
    pending_ += line;
  }
  wake_.notify_one();
}

void access_log::reopen() {
  {
    std::lock_guard lock(mu_);
    reopen_ = true;
  }
  wake_.notify_one();
}

void access_log::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || reopen_ || !pending_.empty(); });
    std::string out;
    out.swap(pending_);
    bool reopen = reopen_;
    bool stop = stop_;
    reopen_ = false;
    lock.unlock();
    write_all(fd_, out);
    if (reopen && path_ != "-") {
      try {
        int fresh = open_file();
        ::close(fd_);
        fd_ = fresh;
      } catch (const std::system_error& e) {
        // Keep writing to the old file; better than losing every line.
        write_all(STDERR_FILENO, std::string("gordo: ") + e.what() + "\n");
      }
    }
    lock.lock();
    if (stop && pending_.empty()) return;
  }
}

}  // namespace gordo
