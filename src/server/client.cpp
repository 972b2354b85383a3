#include "gordo/server/client.h"

#include <utility>

namespace gordo {

bool client::queue(const void* data, size_t len, chunk_ref ref) {
  if (n_iov == max_iov) return false;
  iov[n_iov] = {const_cast<void*>(data), len};
  refs[n_iov] = std::move(ref);
  icy_mark[n_iov] = static_cast<uint16_t>(icy_left);
  ++n_iov;
  return true;
}

void client::consume(size_t sent) {
  size_t done = 0;
  while (done < n_iov && sent >= iov[done].iov_len) {
    sent -= iov[done].iov_len;
    refs[done].reset();
    ++done;
  }
  if (done > 0) head_begun = false;
  if (done < n_iov && sent > 0) {
    iov[done].iov_base = static_cast<char*>(iov[done].iov_base) + sent;
    iov[done].iov_len -= sent;
    head_begun = true;
  }
  for (size_t i = done; i < n_iov; ++i) {
    iov[i - done] = iov[i];
    refs[i - done] = std::move(refs[i]);
    icy_mark[i - done] = icy_mark[i];
  }
  n_iov = static_cast<uint8_t>(n_iov - done);
}

void client::drop_unsent() {
  size_t keep = head_begun ? 1 : 0;
  if (icy && keep < n_iov) {
    icy_left = icy_mark[keep];  // as before the first slice dropped
    icy_gen = ~0u;              // a dropped block is sent again
  }
  for (size_t i = keep; i < n_iov; ++i) refs[i].reset();
  n_iov = static_cast<uint8_t>(keep);
}

msghdr* client::message() {
  msg = {};
  msg.msg_iov = iov;
  msg.msg_iovlen = n_iov;
  return &msg;
}

}  // namespace gordo
