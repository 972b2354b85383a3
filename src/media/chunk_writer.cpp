#include "gordo/media/chunk_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>

#include "gordo/media/ts.h"

namespace gordo {

namespace {
// A multiple of the TS packet size, so that even a full-buffer flush ends on a packet.
constexpr int avio_buffer_size = 174 * 188;
}  // namespace

chunk_writer::chunk_writer(stream& out, slab_pool& pool, header_source header,
                           chunk_writer_options opts)
    : out_(out), builder_(pool), header_source_(header), opts_(opts) {}

AVIOContext* chunk_writer::make_avio() {
  auto* buf = static_cast<unsigned char*>(av_malloc(avio_buffer_size));
  if (!buf) return nullptr;
  AVIOContext* pb =
      avio_alloc_context(buf, avio_buffer_size, 1, this, nullptr, &on_write_plain, nullptr);
  if (!pb) {
    av_free(buf);
    return nullptr;
  }
  pb->write_data_type = &on_write;
  return pb;
}

#if LIBAVFORMAT_VERSION_MAJOR < 61
int chunk_writer::on_write_plain(void* opaque, uint8_t* buf, int size) {
#else
int chunk_writer::on_write_plain(void* opaque, const uint8_t* buf, int size) {
#endif
  return on_write(opaque, const_cast<uint8_t*>(buf), size, AVIO_DATA_MARKER_UNKNOWN,
                  AV_NOPTS_VALUE);
}

int chunk_writer::on_write(void* opaque, uint8_t* buf, int size, AVIODataMarkerType type, int64_t) {
  auto* self = static_cast<chunk_writer*>(opaque);
  self->write({reinterpret_cast<const std::byte*>(buf), static_cast<size_t>(size)}, type);
  return size;
}

void chunk_writer::write(std::span<const std::byte> bytes, AVIODataMarkerType type) {
  bytes_ += bytes.size();
  if (type == AVIO_DATA_MARKER_HEADER) {
    flush();
    muxer_header_.insert(muxer_header_.end(), bytes.begin(), bytes.end());
    return;
  }
  if (!muxer_header_.empty()) {
    publish_header(muxer_header_);
    muxer_header_.clear();
  }
  if (type == AVIO_DATA_MARKER_SYNC_POINT) {
    flush();
    next_is_keyframe_ = true;
  }
  append(bytes);
}

void chunk_writer::append(std::span<const std::byte> bytes) {
  if (builder_.pending() == 0) first_byte_at_ = clock::now();
  if (builder_.append(bytes)) return;
  // The pending chunk would outgrow a slab: cut it here. Only a single muxer write larger
  // than a slab is ever split.
  flush();
  first_byte_at_ = clock::now();
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), builder_.capacity());
    if (!builder_.append(bytes.first(n))) {
      spdlog::error("out of memory for stream chunks: dropped {} bytes", bytes.size());
      dropped_ += bytes.size();
      return;
    }
    bytes = bytes.subspan(n);
    if (!bytes.empty()) flush();
  }
}

void chunk_writer::tick(clock::time_point now) {
  size_t pending = builder_.pending();
  if (pending >= opts_.target_bytes || (pending > 0 && now - first_byte_at_ >= opts_.max_delay))
    flush();
}

void chunk_writer::flush() {
  if (builder_.pending() == 0) return;
  uint32_t flags = next_is_keyframe_ || all_keyframes_ ? chunk_keyframe : 0u;
  next_is_keyframe_ = false;
  if (flags && restart_) {
    flags |= chunk_restart;
    restart_ = false;
  }
  if ((flags & chunk_keyframe) && header_source_ == header_source::ts_psi)
    ts::lead_with_psi(builder_.pending_bytes());
  if (part_starts_) flags |= chunk_part;
  part_starts_ = false;
  out_.publish(builder_.seal(), flags, stamp_);
}

void chunk_writer::begin_part(const hls_stamp& stamp, bool keyframe) {
  flush();
  // A new muxer's header goes first: the part that begins a discontinuity is its.
  if (!muxer_header_.empty()) {
    publish_header(muxer_header_);
    muxer_header_.clear();
  }
  stamp_ = stamp;
  part_starts_ = true;
  uint32_t flags = keyframe ? chunk_keyframe : 0u;
  if (keyframe && restart_) flags |= chunk_restart;
  out_.begin_part(stamp, flags);
}

void chunk_writer::publish_metadata(std::string_view block) {
  flush();
  if (!builder_.append(std::as_bytes(std::span(block.data(), block.size())))) return;
  out_.set_metadata(builder_.seal());
}

void chunk_writer::publish_header(std::span<const std::byte> bytes) {
  // Both callers have just flushed, so the header becomes a chunk of its own.
  assert(builder_.pending() == 0);
  if (!builder_.append(bytes)) {
    spdlog::error("stream header of {} bytes does not fit a slab", bytes.size());
    return;
  }
  out_.set_header(builder_.seal());
}

}  // namespace gordo
