// What a viewer is sent next, decided without I/O: its out queue filled from its cursor
// in the worker's ring of a mount (the header and a burst for a new viewer, the newest
// keyframe after a skip, ICY metadata blocks between audio bytes when it asked for them).
#pragma once

#include <cstddef>
#include <cstdint>

#include "gordo/core/stream_ring.h"
#include "gordo/server/client.h"
#include "gordo/server/mount.h"

namespace gordo {

// A mount's stream as one worker holds it.
struct fanout_source {
  const stream_ring& ring;
  const mount_policy& policy;
  bool header_in_band = false;  // a viewer may follow a new header (else it is finished there)
  const chunk_ref& icy_block;   // the ICY metadata now (none: no title yet)
  uint32_t icy_gen = 0;         // counts icy_block changes
};

enum class fill_result {
  filled,   // as much as fits or is there
  skipped,  // was behind: moved to the newest keyframe (policy skip_to_keyframe)
  drop,     // is behind and the policy says disconnect
};

// Queues chunks from the viewer's cursor, up to its out queue's capacity.
fill_result fill(client& c, const fanout_source& src);

// Moves a slow viewer to the newest keyframe: it finishes the chunk it has begun (so
// its stream changes on a chunk boundary) and gets nothing more of the GOPs it missed.
void skip_to_keyframe(client& c);

// Queues `chunk` from byte `from` with an ICY metadata block after every icy_metaint
// bytes of audio (the block when the title changed since this viewer's last, else one
// zero byte), as far as the out queue has room. Returns the bytes of `chunk` queued.
size_t queue_icy(client& c, const fanout_source& src, const chunk_ref& chunk, size_t from);

}  // namespace gordo
