// Opens a source for demuxing: any libavformat URL or file, bytes held in memory (the
// built-in test pattern) or bytes an encoder pushes, with an interrupt check so blocking
// reads can be broken.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gordo/media/av.h"

namespace gordo {

struct source_spec {
  std::string url;                      // a URL or path; empty for memory
  std::vector<std::string> alternates;  // more URLs of the same stream, tried in order after url
  std::shared_ptr<const std::vector<uint8_t>> memory;  // the source's bytes, when in memory
  std::string push;      // encoders push to this mount path (url and memory unused)
  std::string password;  // push: what encoders must send (empty: anyone may push)
  std::shared_ptr<const class htpasswd>
      users;                        // push: encoders authenticate as one of these instead
  std::string label;                // how logs name it
  bool loop = false;                // start again at the end
  int64_t timeout_us = 10'000'000;  // network sources: no data for this long is an error
  // A mount of an origin gordo (--relay): opened by the source's thread, not its constructor
  // (the relay's thread is not held up by a slow origin); the origin sends whole chunks,
  // and its MPEG-TS one video frame per PES, each with its length.
  bool relayed = false;

  // Files and memory are read faster than real time and must be paced; network sources
  // arrive at their own rate.
  bool needs_pacing() const;
};

// `url` without a user and password ("http://u:p@host/x" → "http://host/x"), for logs and
// /stats.
std::string without_credentials(const std::string& url);

class input {
 public:
  // Opens and probes the source; `interrupt` is polled during blocking I/O and breaks it
  // (AVERROR_EXIT) when it returns non-zero. On failure returns nullptr and sets `error`
  // to a message that says what went wrong.
  static std::unique_ptr<input> open(const source_spec& spec, AVIOInterruptCB interrupt,
                                     std::string& error);
  // The same, reading the bytes from `read` (as an AVIOContext's read_packet: bytes read,
  // or an AVERROR).
  using read_fn = std::function<int(uint8_t* out, int size)>;
  static std::unique_ptr<input> open(read_fn read, const std::string& label,
                                     AVIOInterruptCB interrupt, std::string& error);
  ~input();
  input(const input&) = delete;
  input& operator=(const input&) = delete;

  AVFormatContext* ctx() const { return ctx_.get(); }

 private:
  input() = default;
  static std::unique_ptr<input> open(const source_spec& spec, read_fn read,
                                     AVIOInterruptCB interrupt, std::string& error);

  read_fn read_;
  AVIOContext* avio_ = nullptr;  // ours, when read_ is set
  av::input_ptr ctx_;
};

}  // namespace gordo
