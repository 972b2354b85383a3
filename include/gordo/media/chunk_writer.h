// The muxer's output: an AVIOContext whose writes become chunks of a stream. It learns
// from libavformat's data markers where the header ends and where each GOP starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "gordo/core/chunk.h"
#include "gordo/core/stream.h"
#include "gordo/core/stream_ring.h"
#include "gordo/media/av.h"

namespace gordo {

struct chunk_writer_options {
  // A chunk is published once it holds this many bytes, or once its first byte is this
  // old, whichever comes first; always at a sync point. Bigger chunks mean fewer sends
  // per viewer; older ones mean more latency.
  size_t target_bytes = 32 * 1024;
  std::chrono::milliseconds max_delay{100};
};

// Where a format's stream header (what a new viewer needs before any chunk) comes from.
enum class header_source {
  muxer,  // the bytes the muxer marks AVIO_DATA_MARKER_HEADER (FLV, MP4, Matroska)
  // none apart from the chunks: each keyframe chunk starts with its own PAT + PMT, moved
  // there by the writer (MPEG-TS). A cached copy would carry other continuity counters
  // than the chunk a viewer starts at, which players count as lost packets.
  ts_psi,
};

class chunk_writer {
 public:
  using clock = std::chrono::steady_clock;

  chunk_writer(stream& out, slab_pool& pool, header_source header, chunk_writer_options opts);
  chunk_writer(const chunk_writer&) = delete;
  chunk_writer& operator=(const chunk_writer&) = delete;

  // A fresh AVIOContext writing into this writer, for AVFormatContext::pb. The caller
  // owns it (free with av::output_freer through its format context).
  AVIOContext* make_avio();

  // After each packet the muxer wrote (and its AVIO buffer was flushed): publishes the
  // pending chunk if it is big or old enough.
  void tick(clock::time_point now);
  size_t pending() const { return builder_.pending(); }  // bytes not yet published
  // Publishes whatever is pending.
  void flush();
  // Publishes an ICY metadata block (after what is pending).
  void publish_metadata(std::string_view block);
  // Every chunk is a sync point (audio only: a viewer can start between any two packets).
  void every_chunk_is_keyframe(bool on) { all_keyframes_ = on; }
  // The muxer starts again (a new header): flags the next keyframe chunk chunk_restart.
  void restart() {
    flush();
    restart_ = true;
  }
  // HLS: what is pending ends a part, announced at once; the next chunk starts the part
  // `stamp` names (chunk_part), and every chunk until the next call carries `stamp`.
  void begin_part(const hls_stamp& stamp, bool keyframe);

  uint64_t bytes_written() const { return bytes_; }
  uint64_t bytes_dropped() const { return dropped_; }

 private:
  static int on_write(void* opaque, uint8_t* buf, int size, AVIODataMarkerType type, int64_t time);
  static int on_write_plain(void* opaque, uint8_t* buf, int size);
  void write(std::span<const std::byte> bytes, AVIODataMarkerType type);
  void append(std::span<const std::byte> bytes);
  void publish_header(std::span<const std::byte> bytes);

  stream& out_;
  chunk_builder builder_;
  header_source header_source_;
  chunk_writer_options opts_;
  std::vector<std::byte> muxer_header_;  // HEADER-marked bytes not yet published
  bool next_is_keyframe_ = false;
  bool restart_ = false;
  bool all_keyframes_ = false;
  bool part_starts_ = false;
  hls_stamp stamp_;
  clock::time_point first_byte_at_{};
  uint64_t bytes_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace gordo
