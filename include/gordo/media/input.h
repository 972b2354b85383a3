// Opens a source for demuxing: any libavformat URL or file, or bytes held in memory
// (the built-in test pattern), with an interrupt check so blocking reads can be broken.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gordo/media/av.h"

namespace gordo {

struct source_spec {
  std::string url;                                     // a URL or path; empty for memory
  std::shared_ptr<const std::vector<uint8_t>> memory;  // the source's bytes, when in memory
  std::string label;                                   // how logs name it
  bool loop = false;                                   // start again at the end
  int64_t timeout_us = 10'000'000;  // network sources: no data for this long is an error

  // Files and memory are read faster than real time and must be paced; network sources
  // arrive at their own rate.
  bool needs_pacing() const;
};

class input {
 public:
  // Opens and probes the source. On failure returns nullptr and sets `error` to a message
  // that says what went wrong.
  static std::unique_ptr<input> open(const source_spec& spec, const std::atomic<bool>& stop,
                                     std::string& error);
  ~input();
  input(const input&) = delete;
  input& operator=(const input&) = delete;

  AVFormatContext* ctx() const { return ctx_.get(); }

 private:
  input() = default;
  struct memory_reader {
    std::shared_ptr<const std::vector<uint8_t>> bytes;
    size_t pos = 0;
  };

  memory_reader reader_;
  AVIOContext* avio_ = nullptr;  // ours, for memory sources
  av::input_ptr ctx_;
};

}  // namespace gordo
