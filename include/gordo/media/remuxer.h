// One mount's muxer: packets from its source, remuxed once into the mount's format, as
// chunks for every viewer of the mount.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gordo/core/chunk.h"
#include "gordo/core/stream.h"
#include "gordo/media/av.h"
#include "gordo/media/chunk_writer.h"
#include "gordo/media/formats.h"

namespace gordo {

// What a source carries, as much as a muxer's header depends on it.
struct track {
  av::codecpar_ptr par;
  AVRational time_base{1, 1};
  bool attached_pic = false;  // a cover image, not a video
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
  remuxer(std::string mount, stream& out, slab_pool& pool, chunk_writer_options opts);
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
  // The stream's title changed: viewers that asked for ICY metadata get it.
  void set_title(std::string_view title);
  // The source is gone for good: publish what is pending and end the stream.
  void end();
  stream& out() { return out_; }
  const std::string& mount() const { return mount_; }

 private:
  void end_cluster(chunk_writer::clock::time_point now);
  void drain();

  std::string mount_;
  const output_format& format_;
  stream& out_;
  chunk_writer writer_;
  av::output_ptr mux_;
  av::packet_ptr pkt_;
  std::vector<int> stream_map_;    // track → output stream, -1 when left out
  std::vector<AVRational> in_tb_;  // track time bases
  std::vector<int64_t> last_dts_;  // per output stream, in its time base
  int video_out_ = -1;
  bool need_keyframe_ = true;  // drop packets until the first video keyframe
  int64_t start_us_ = 0;       // ... and any packet with an earlier DTS
  chunk_writer_options opts_;
  chunk_writer::clock::time_point flushed_at_{};  // holds_packets: the muxer's last flush
  bool opened_before_ = false;
};

}  // namespace gordo
