// Chunks: immutable, reference-counted slices of slab memory. The ingest writes stream
// bytes into slabs once; workers send the same bytes to every viewer without copying.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace gordo {

class slab_pool;

//  slab_pool
//  ┌ arena 0 (one mmap) ──────────────────────────────┐ ┌ arena 1 ... (grows on demand)
//  │ slab │ slab │ slab │ ...                          │
//  └──┬───────────────────────────────────────────────┘
//     │  a slab is shared by consecutive chunks:
//     ▼
//  [ chunk 7 | chunk 8 | chunk 9 |   (writer appends)   ]
//  refs = 1 (writer) + 1 per live chunk_ref into this slab
//
// Slab descriptors are never freed while the pool lives, so a refcount can always be
// touched; the slab returns to the free list when its count drops to zero.
struct slab {
  std::atomic<uint32_t> refs{0};
  slab_pool* pool = nullptr;
  std::byte* data = nullptr;
  uint32_t arena = 0;  // index of the arena (a registered-buffer index for io_uring)
};

class slab_pool {
 public:
  // slab_size: bytes per slab (the largest possible chunk); slabs_per_arena: slabs per mmap.
  slab_pool(size_t slab_size, size_t slabs_per_arena);
  ~slab_pool();
  slab_pool(const slab_pool&) = delete;
  slab_pool& operator=(const slab_pool&) = delete;

  // A slab with refs == 1, owned by the caller. Maps a new arena when none is free;
  // nullptr only when the kernel refuses memory.
  slab* acquire();
  void release(slab* s);

  size_t slab_size() const { return slab_size_; }
  size_t slabs_total() const;
  size_t slabs_free() const;
  // Arena `i` (the memory of slabs whose `arena` is i), or an empty span when there is
  // no such arena yet. Arenas never move or shrink while the pool lives.
  std::span<std::byte> arena(uint32_t i) const;

 private:
  bool grow();

  struct mapping {
    std::byte* base;
    size_t bytes;
  };
  const size_t slab_size_;
  const size_t slabs_per_arena_;
  mutable std::mutex mu_;  // taken once per slab (megabytes), never per send
  std::vector<mapping> arenas_;
  std::vector<std::unique_ptr<slab[]>> descriptors_;
  std::vector<slab*> free_;
};

// A move-only reference to bytes in a slab. share() makes another reference to the same
// bytes (one atomic increment); the bytes never change while any reference exists.
class chunk_ref {
 public:
  chunk_ref() = default;
  chunk_ref(chunk_ref&& o) noexcept : slab_(o.slab_), off_(o.off_), len_(o.len_) {
    o.slab_ = nullptr;
    o.off_ = o.len_ = 0;
  }
  chunk_ref& operator=(chunk_ref&& o) noexcept {
    if (this != &o) {
      reset();
      slab_ = o.slab_;
      off_ = o.off_;
      len_ = o.len_;
      o.slab_ = nullptr;
      o.off_ = o.len_ = 0;
    }
    return *this;
  }
  chunk_ref(const chunk_ref&) = delete;
  chunk_ref& operator=(const chunk_ref&) = delete;
  ~chunk_ref() { reset(); }

  chunk_ref share() const;
  void reset();

  explicit operator bool() const { return slab_ != nullptr; }
  const std::byte* data() const { return slab_ ? slab_->data + off_ : nullptr; }
  uint32_t size() const { return len_; }
  std::span<const std::byte> bytes() const { return {data(), len_}; }
  const slab* owner() const { return slab_; }

 private:
  friend class chunk_builder;
  chunk_ref(slab* s, uint32_t off, uint32_t len) : slab_(s), off_(off), len_(len) {}

  slab* slab_ = nullptr;
  uint32_t off_ = 0;
  uint32_t len_ = 0;
};

// Appends bytes into the current slab and seals them into chunks. Single-threaded
// (the ingest thread of one stream).
class chunk_builder {
 public:
  explicit chunk_builder(slab_pool& pool) : pool_(pool) {}
  ~chunk_builder();
  chunk_builder(const chunk_builder&) = delete;
  chunk_builder& operator=(const chunk_builder&) = delete;

  // Appends `bytes` to the pending chunk. A pending chunk is always contiguous: when the
  // slab has no room, it moves to a fresh slab (one copy of at most one chunk per slab).
  // False, with nothing appended, when the chunk would outgrow a slab (seal() first) or
  // when no memory can be had.
  bool append(std::span<const std::byte> bytes);

  // The bytes appended since the last seal, as a chunk (empty if there were none).
  chunk_ref seal();

  size_t pending() const { return used_ - sealed_; }
  // The pending chunk's bytes, which may still be rearranged before seal() makes them
  // immutable.
  std::span<std::byte> pending_bytes() {
    return {slab_ ? slab_->data + sealed_ : nullptr, pending()};
  }
  // The largest chunk there can be.
  size_t capacity() const { return pool_.slab_size(); }

 private:
  slab_pool& pool_;
  slab* slab_ = nullptr;  // holds one reference while current
  size_t used_ = 0;
  size_t sealed_ = 0;
};

}  // namespace gordo
