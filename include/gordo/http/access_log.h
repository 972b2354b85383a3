// The access log: one line per request at disconnect, in Apache's combined format plus
// the seconds the viewer stayed (as Icecast writes it). Workers hand over lines; a
// thread of its own writes them, so a slow disk never stalls a send.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace gordo {

struct access_record {
  std::string peer;                          // client address, without port
  std::chrono::system_clock::time_point at;  // when the connection was accepted
  std::string request_line;                  // "GET /live.ts HTTP/1.1"; empty when none arrived
  int status = 0;
  uint64_t body_bytes = 0;  // bytes after the response head
  std::string referer;
  std::string user_agent;
  uint64_t seconds = 0;  // connected for
};

// 127.0.0.1 - - [25/Nov/2026:17:50:46 +0000] "GET /live.ts HTTP/1.1" 200 123456 "-" "VLC/3.0.18" 42
// Quotes, backslashes and control bytes in the quoted fields are escaped as \" \\ \xhh.
std::string format_access_line(const access_record& r);

class access_log {
 public:
  // path: a file, appended to (and reopened by reopen()), or "-" for standard output.
  // Throws std::system_error when the file cannot be opened.
  explicit access_log(std::string path);
  ~access_log();  // writes what is pending
  access_log(const access_log&) = delete;
  access_log& operator=(const access_log&) = delete;

  // Any thread. Never waits for the disk.
  void write(std::string line);
  // Reopens the file (after logrotate moved it away): SIGUSR1.
  void reopen();

 private:
  void run();
  int open_file() const;

  std::string path_;
  int fd_ = -1;
  std::mutex mu_;
  std::condition_variable wake_;
  std::string pending_;
  bool reopen_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace gordo
