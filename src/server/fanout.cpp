#include "gordo/server/fanout.h"

#include <algorithm>

#include "gordo/net/icy.h"

namespace gordo {

void skip_to_keyframe(client& c) {
  c.drop_unsent();
  c.need_keyframe = true;
}

fill_result fill(client& c, const fanout_source& src) {
  const stream_ring& ring = src.ring;
  fill_result result = fill_result::filled;
  if (!c.need_keyframe && ring.behind(c.next_seq, src.policy.max_lag)) {
    if (src.policy.on_slow == slow_policy::drop) return fill_result::drop;
    skip_to_keyframe(c);
    result = fill_result::skipped;
  }
  if (c.need_keyframe) {
    // A new viewer gets the header and the configured burst; a resynced one goes to the
    // live edge.
    auto key = c.started ? ring.newest_keyframe() : ring.burst_start(src.policy.burst);
    if (!key) return result;
    c.next_seq = *key;
    c.offset = 0;
    c.need_keyframe = false;
    if (const chunk_ref& h = ring.header(); h && !c.started) {
      if (c.icy)
        queue_icy(c, src, h, 0);  // a few bytes (an ICY stream's formats have none)
      else
        c.queue(h.data(), h.size(), h.share());
    }
  }
  while (c.queued() < client::max_iov && c.next_seq < ring.end_seq() && !c.finished) {
    const stream_ring::entry* e = ring.at(c.next_seq);
    if ((e->flags & chunk_restart) && c.started && c.offset == 0 && !src.header_in_band) {
      c.finished = true;  // what follows needs a header this viewer did not get
      break;
    }
    c.started = true;
    if (!c.icy) {
      c.queue(e->chunk.data(), e->chunk.size(), e->chunk.share());
      ++c.next_seq;
      continue;
    }
    c.offset += static_cast<uint32_t>(queue_icy(c, src, e->chunk, c.offset));
    if (c.offset < e->chunk.size()) break;  // the queue is full
    c.offset = 0;
    ++c.next_seq;
  }
  return result;
}

size_t queue_icy(client& c, const fanout_source& src, const chunk_ref& chunk, size_t from) {
  static const char no_change = 0;
  size_t at = from;
  while (at < chunk.size() && c.queued() < client::max_iov) {
    if (c.icy_left == 0) {
      if (src.icy_gen != c.icy_gen && src.icy_block)
        c.queue(src.icy_block.data(), src.icy_block.size(), src.icy_block.share());
      else
        c.queue(&no_change, 1);
      c.icy_gen = src.icy_gen;
      c.icy_left = static_cast<uint32_t>(icy_metaint);
      continue;
    }
    size_t n = std::min<size_t>(chunk.size() - at, c.icy_left);
    c.queue(chunk.data() + at, n, chunk.share());
    c.icy_left -= static_cast<uint32_t>(n);
    at += n;
  }
  return at - from;
}

}  // namespace gordo
