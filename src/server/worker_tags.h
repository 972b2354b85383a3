// How a worker's io_uring operations are told apart: what each user_data holds. Private
// to the worker's sources.
#pragma once

#include <cstdint>

namespace gordo::worker_tags {

// user_data: a client (or zero-copy hold) pointer, 16-byte aligned, with the operation
// in its low bits; or just the tag for the worker's own operations.
enum tag : uint64_t {
  tag_ignore = 0,
  tag_accept = 1,
  tag_accept_retry = 2,
  tag_wake = 3,
  tag_recv = 4,
  tag_send = 5,
  tag_tick = 6,
  tag_send_zc = 7,  // on a zc_hold
  tag_cancel = 8,
  tag_stop_deadline = 9,  // viewers still finishing their chunk are closed now
  tag_accept_tls = 10,
  tag_accept_tls_retry = 11,
};
constexpr uint64_t tag_mask = 15;

inline uint64_t encode(const void* p, tag t) {
  return reinterpret_cast<uint64_t>(p) | t;
}

}  // namespace gordo::worker_tags
