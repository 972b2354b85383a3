#include "gordo/core/chunk.h"

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <cstring>

namespace gordo {

slab_pool::slab_pool(size_t slab_size, size_t slabs_per_arena)
    : slab_size_(slab_size), slabs_per_arena_(slabs_per_arena) {
  assert(slab_size > 0 && slabs_per_arena > 0);
}

slab_pool::~slab_pool() {
  for (auto& a : arenas_) munmap(a.base, a.bytes);
}

bool slab_pool::grow() {
  size_t bytes = slab_size_ * slabs_per_arena_;
  // NORESERVE: untouched slabs cost no memory; the arena is one range so that it can be
  // registered with io_uring as a single fixed buffer.
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  auto* base = static_cast<std::byte*>(p);
  auto descs = std::make_unique<slab[]>(slabs_per_arena_);
  uint32_t index = static_cast<uint32_t>(arenas_.size());
  // Pushed in reverse so that acquire() hands out low addresses first.
  for (size_t i = slabs_per_arena_; i-- > 0;) {
    descs[i].pool = this;
    descs[i].data = base + i * slab_size_;
    descs[i].arena = index;
    free_.push_back(&descs[i]);
  }
  arenas_.push_back({base, bytes});
  descriptors_.push_back(std::move(descs));
  return true;
}

slab* slab_pool::acquire() {
  std::lock_guard lock(mu_);
  if (free_.empty() && !grow()) return nullptr;
  slab* s = free_.back();
  free_.pop_back();
  s->refs.store(1, std::memory_order_relaxed);
  return s;
}

void slab_pool::release(slab* s) {
  std::lock_guard lock(mu_);
  free_.push_back(s);
}

size_t slab_pool::slabs_total() const {
  std::lock_guard lock(mu_);
  return arenas_.size() * slabs_per_arena_;
}

size_t slab_pool::slabs_free() const {
  std::lock_guard lock(mu_);
  return free_.size();
}

std::span<std::byte> slab_pool::arena(uint32_t i) const {
  std::lock_guard lock(mu_);
  if (i >= arenas_.size()) return {};
  return {arenas_[i].base, arenas_[i].bytes};
}

static void drop(slab* s) {
  if (s->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) s->pool->release(s);
}

chunk_ref chunk_ref::share() const {
  if (!slab_) return {};
  slab_->refs.fetch_add(1, std::memory_order_relaxed);
  return chunk_ref(slab_, off_, len_);
}

void chunk_ref::reset() {
  if (slab_) drop(slab_);
  slab_ = nullptr;
  off_ = len_ = 0;
}

chunk_builder::~chunk_builder() {
  if (slab_) drop(slab_);
}

bool chunk_builder::append(std::span<const std::byte> bytes) {
  size_t n = bytes.size();
  if (pending() + n > pool_.slab_size()) return false;
  if (!slab_ || used_ + n > pool_.slab_size()) {
    slab* fresh = pool_.acquire();
    if (!fresh) return false;
    size_t carried = 0;
    if (slab_) {
      carried = pending();
      std::memcpy(fresh->data, slab_->data + sealed_, carried);
      drop(slab_);
    }
    slab_ = fresh;
    used_ = carried;
    sealed_ = 0;
  }
  std::memcpy(slab_->data + used_, bytes.data(), n);
  used_ += n;
  return true;
}

chunk_ref chunk_builder::seal() {
  if (!slab_ || pending() == 0) return {};
  slab_->refs.fetch_add(1, std::memory_order_relaxed);
  chunk_ref c(slab_, static_cast<uint32_t>(sealed_), static_cast<uint32_t>(pending()));
  sealed_ = used_;
  return c;
}

}  // namespace gordo
