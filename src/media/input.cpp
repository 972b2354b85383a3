#include "gordo/media/input.h"

#include <algorithm>
#include <cstring>

namespace gordo {

bool source_spec::needs_pacing() const {
  if (memory) return true;
  if (!push.empty()) return false;
  const char* proto = avio_find_protocol_name(url.c_str());
  return proto && std::strcmp(proto, "file") == 0;
}

std::string without_credentials(const std::string& url) {
  size_t start = url.find("://");
  if (start == std::string::npos) return url;
  start += 3;
  size_t end = url.find_first_of("/?#", start);
  size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + url.substr(at + 1);
}

input::~input() {
  ctx_.reset();
  if (avio_) {
    av_freep(&avio_->buffer);
    avio_context_free(&avio_);
  }
}

std::unique_ptr<input> input::open(const source_spec& spec, AVIOInterruptCB interrupt,
                                   std::string& error) {
  if (!spec.memory) return open(spec, nullptr, interrupt, error);
  auto bytes = spec.memory;
  size_t pos = 0;
  read_fn read = [bytes, pos](uint8_t* out, int size) mutable -> int {
    size_t left = bytes->size() - pos;
    if (left == 0) return AVERROR_EOF;
    size_t n = std::min(left, static_cast<size_t>(size));
    std::memcpy(out, bytes->data() + pos, n);
    pos += n;
    return static_cast<int>(n);
  };
  return open(spec, std::move(read), interrupt, error);
}

std::unique_ptr<input> input::open(read_fn read, const std::string& label,
                                   AVIOInterruptCB interrupt, std::string& error) {
  source_spec spec;
  spec.label = label;
  return open(spec, std::move(read), interrupt, error);
}

std::unique_ptr<input> input::open(const source_spec& spec, read_fn read, AVIOInterruptCB interrupt,
                                   std::string& error) {
  std::unique_ptr<input> in(new input());
  AVFormatContext* ctx = avformat_alloc_context();
  if (!ctx) {
    error = "out of memory";
    return nullptr;
  }
  ctx->interrupt_callback = interrupt;

  bool custom = static_cast<bool>(read);
  if (custom) {
    in->read_ = std::move(read);
    constexpr int buf_size = 64 * 1024;
    auto* buf = static_cast<unsigned char*>(av_malloc(buf_size));
    in->avio_ = buf ? avio_alloc_context(
                          buf, buf_size, 0, &in->read_,
                          [](void* opaque, uint8_t* out, int size) -> int {
                            return (*static_cast<read_fn*>(opaque))(out, size);
                          },
                          nullptr, nullptr)
                    : nullptr;
    if (!in->avio_) {
      av_free(buf);
      avformat_free_context(ctx);
      error = "out of memory";
      return nullptr;
    }
    ctx->pb = in->avio_;
    ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
  }

  // A network source that goes quiet fails its read after timeout_us instead of
  // blocking forever (rw_timeout is every protocol's I/O timeout).
  AVDictionary* opts = nullptr;
  if (!custom && !spec.needs_pacing()) {
    av_dict_set_int(&opts, "rw_timeout", spec.timeout_us, 0);
    // udp and rtp replace rw_timeout with their own `timeout` (0: wait forever). Other
    // protocols' `timeout` means other things (rtmp: listen), so only these two get it.
    const char* proto = avio_find_protocol_name(spec.url.c_str());
    if (proto && (std::strcmp(proto, "udp") == 0 || std::strcmp(proto, "rtp") == 0))
      av_dict_set_int(&opts, "timeout", spec.timeout_us, 0);
  }
  // avformat_open_input frees ctx on failure.
  int err = avformat_open_input(&ctx, custom ? nullptr : spec.url.c_str(), nullptr, &opts);
  av_dict_free(&opts);
  if (err < 0) {
    error = "cannot open " + spec.label + ": " + av::error_text(err);
    return nullptr;
  }
  in->ctx_.reset(ctx);
  err = avformat_find_stream_info(ctx, nullptr);
  if (err < 0) {
    error = "cannot read stream parameters of " + spec.label + ": " + av::error_text(err);
    return nullptr;
  }
  return in;
}

}  // namespace gordo
