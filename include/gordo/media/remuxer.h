// One mount's muxer: packets from its source, remuxed once into the mount's format, as
// chunks for every viewer of the mount.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gordo/core/chunk.h"
#include "gordo/core/stream.h"
#include "gordo/media/av.h"
#include "gordo/media/chunk_writer.h"
#include "gordo/media/codec_string.h"
#include "gordo/media/formats.h"
#include "gordo/media/hls_cutter.h"

namespace gordo {

// What a source carries, as much as a muxer's header depends on it.
struct track {
  av::codecpar_ptr par;
  AVRational time_base{1, 1};
  AVRational frame_rate{0, 1};  // video: its average, when the source says
  bool attached_pic = false;    // a cover image, not a video
};
using source_layout = std::vector<track>;

source_layout layout_of(const AVFormatContext* ic);
// True when a muxer set up for `a` can go on with `b` unchanged: the same tracks with
// the same codecs, sizes, rates and codec headers (extradata).
bool same_layout(const source_layout& a, const source_layout& b);
// "h264 1280x720, aac 48000 Hz 2 ch"
std::string describe(const source_layout& l);

class remuxer {
 public:
  // `hls`: cut the stream into HLS segments (and parts) as it is written.
  remuxer(std::string mount, stream& out, slab_pool& pool, chunk_writer_options opts,
          std::optional<hls_cut_options> hls = std::nullopt);
  ~remuxer();
  remuxer(const remuxer&) = delete;
  remuxer& operator=(const remuxer&) = delete;

  // Sets up the muxer for these tracks and publishes its header. Called again when the
  // source comes back with different tracks: the new header applies from the next
  // keyframe, which is flagged chunk_restart. Throws std::runtime_error naming the mount
  // and the reason (a codec the format cannot carry) and is then closed.
  void open(const source_layout& in, const std::string& source_label);
  bool is_open() const { return mux_ != nullptr; }
  const output_format& format() const { return format_; }

  // A packet of track pkt->stream_index, in that track's time base. Not modified.
  void write(const AVPacket* pkt);
  // The source has read all it was sent (an upstream's burst): what the muxer wrote is
  // published now, not with the next packet. Small amounts at most every half
  // --chunk-duration, unless the upstream is a gordo (`whole_chunks`), whose bursts are
  // chunks already.
  void catch_up(bool whole_chunks);
  // The stream's title changed: viewers that asked for ICY metadata get it.
  void set_title(std::string_view title);
  // The source is gone for good: publish what is pending and end the stream.
  void end();
  stream& out() { return out_; }
  const std::string& mount() const { return mount_; }
  // Of the tracks it was last opened for (any thread; nullptr before the first open).
  std::shared_ptr<const hls_variant> variant() const { return variant_.load(); }

 private:
  void end_cluster(chunk_writer::clock::time_point now);
  void drain();
  void cut(int out_index, bool key, int64_t dts_us, chunk_writer::clock::time_point now);

  std::string mount_;
  const output_format& format_;
  std::string mux_options_;  // the format's, or those HLS needs of it
  bool holds_packets_;       // the muxer writes only when flushed
  stream& out_;
  chunk_writer writer_;
  av::output_ptr mux_;
  av::packet_ptr pkt_;
  std::vector<int> stream_map_;    // track → output stream, -1 when left out
  std::vector<AVRational> in_tb_;  // track time bases
  std::vector<int64_t> last_dts_;  // per output stream, in its time base
  std::vector<bool> strip_adts_;   // per output stream: AAC whose ADTS headers must go
  int video_out_ = -1;
  bool need_keyframe_ = true;  // drop packets until the first video keyframe
  int64_t start_us_ = 0;       // ... and any packet with an earlier DTS
  chunk_writer_options opts_;
  chunk_writer::clock::time_point flushed_at_{};  // holds_packets: the muxer's last flush
  bool opened_before_ = false;
  chunk_writer::clock::time_point caught_up_at_{};
  std::optional<hls_cutter> cutter_;
  int64_t anchor_wall_ms_ = 0;   // EXT-X-PROGRAM-DATE-TIME: this wall-clock time ...
  int64_t anchor_media_us_ = 0;  // ... was this media time
  std::atomic<std::shared_ptr<const hls_variant>> variant_;
};

}  // namespace gordo
