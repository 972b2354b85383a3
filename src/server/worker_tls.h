// A viewer's TLS state as the worker keeps it (private to the worker's sources): the
// OpenSSL connection, where the recv it was asked for should land, and the plaintext
// whose records are in flight.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gordo/io/loop.h"
#include "gordo/net/tls_stream.h"
#include "gordo/server/client.h"

namespace gordo {

struct tls_conn {
  tls_conn(std::shared_ptr<const tls_config> cfg, int fd) : stream(std::move(cfg), fd) {}
  tls_stream stream;
  // The recv the worker asked for: decrypted bytes go here.
  void* to = nullptr;
  size_t len = 0;
  io_loop::clock::duration timeout{};
  bool aborted = false;    // closed with a reset: no close_notify
  bool kicked = false;     // the pending "recv" is a timer: there is input to read already
  uint32_t encrypted = 0;  // plaintext bytes whose records are being sent
};

// Whether the client is still in its TLS handshake.
inline bool handshaking(const client* c) {
  return c->tls && !c->tls->stream.established();
}

// Whether the worker encrypts this client's bytes itself (TLS without kTLS).
inline bool userspace_tls(const client* c) {
  return c->tls && c->tls->stream.established() && !c->tls->stream.ktls();
}

}  // namespace gordo
