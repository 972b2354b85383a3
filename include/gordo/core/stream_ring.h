// The window of a stream that a worker serves from: chunk references addressed by
// absolute sequence numbers, a keyframe index for burst-on-connect, and the cached header.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "gordo/core/chunk.h"

namespace gordo {

// chunk flags
inline constexpr uint32_t chunk_keyframe = 1u << 0;  // starts a GOP: a viewer may start here
// The first keyframe after the source came back with different tracks: it follows a new
// header, so the chunks before it are another stream.
inline constexpr uint32_t chunk_restart = 1u << 1;
// The first chunk of an HLS part (hls_stamp.part 0: of a segment, which starts at a keyframe).
inline constexpr uint32_t chunk_part = 1u << 2;

// An amount of stream, in bytes or in time (whichever is non-zero; both zero: none).
struct stream_span {
  uint64_t bytes = 0;
  int64_t ns = 0;
  bool none() const { return bytes == 0 && ns == 0; }
};

//            begin_seq()                                   end_seq()
//               │                                              │
//  slots  ... [ 40 | 41 | 42K| 43 | 44 | 45K| 46 | 47 ] ...    ▼  next push is 48
//  keyframes_:            42             45
//
// A slot is `seq % capacity`. Pushing past capacity evicts the oldest chunk (and its
// keyframe entry). A cursor below begin_seq() has fallen out of the window.
class stream_ring {
 public:
  struct entry {
    uint64_t seq = 0;
    uint32_t flags = 0;
    uint64_t pos = 0;     // stream bytes before this chunk
    int64_t time_ns = 0;  // when it was published
    chunk_ref chunk;
  };

  // capacity: number of chunks kept; rounded up to a power of two.
  explicit stream_ring(size_t capacity);

  // Appends chunk `seq`. A seq that does not follow end_seq() (the feed dropped chunks)
  // empties the window first: what was before the gap is not continuous with what
  // follows. Returns false in that case.
  bool push(uint64_t seq, chunk_ref chunk, uint32_t flags, uint64_t pos = 0, int64_t time_ns = 0);

  uint64_t begin_seq() const { return begin_; }
  uint64_t end_seq() const { return end_; }
  bool empty() const { return begin_ == end_; }
  size_t size() const { return static_cast<size_t>(end_ - begin_); }
  size_t capacity() const { return slots_.size(); }
  uint64_t bytes() const { return bytes_; }

  // The entry for `seq`, or nullptr when seq is outside [begin_seq, end_seq).
  const entry* at(uint64_t seq) const;

  // The newest chunk that starts a GOP, if the window holds one.
  std::optional<uint64_t> newest_keyframe() const;
  // The oldest keyframe at or after `seq`, if any.
  std::optional<uint64_t> keyframe_at_or_after(uint64_t seq) const;
  // Where a new viewer starts to get `burst` of history: the newest keyframe at least
  // that far behind the live edge, else the oldest keyframe held (none: newest). Never
  // before the newest chunk_restart (what precedes it is another stream), and nowhere
  // while a new header waits for its first chunk.
  std::optional<uint64_t> burst_start(stream_span burst) const;
  // True when the chunk at `seq` is more than `max` behind the live edge. A seq outside
  // the window is too far behind; the live edge (end_seq) never is.
  bool behind(uint64_t seq, stream_span max) const;

  const chunk_ref& header() const { return header_; }
  // A header that replaces another belongs to the chunks from the next chunk_restart on;
  // the chunks before that stay, for the viewers already on them.
  void set_header(chunk_ref h);

  // Drops every chunk (the header stays); the next push may have any seq.
  void clear();

 private:
  void evict_oldest();

  std::vector<entry> slots_;
  uint64_t mask_;
  uint64_t begin_ = 0;
  uint64_t end_ = 0;
  uint64_t bytes_ = 0;
  bool started_ = false;
  bool header_waits_ = false;  // a new header came; its chunk_restart has not
  uint64_t restart_seq_ = 0;   // the newest chunk_restart (0: none)
  std::deque<uint64_t> keyframes_;
  chunk_ref header_;
};

}  // namespace gordo
