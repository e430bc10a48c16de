#include "crypto/slab.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>

#include "crypto/secure.h"

namespace portcullis::crypto {

namespace {
std::atomic<unsigned> slabs_made{0};
}

// Colours step by 1,344 bytes (21 lines) modulo 4 KiB: the first 64 slabs
// start on different lines.
Slab::Slab(size_t object_size, bool secret)
    : size_((object_size + 63) & ~size_t{63}),
      secret_(secret),
      color_(slabs_made.fetch_add(1, std::memory_order_relaxed) * 21 % 64 * 64) {}

Slab::~Slab() {
  for (void* c : chunks_) {
    if (secret_) wipe(c, kChunk);
    munmap(c, kChunk);
  }
}

bool Slab::grow() {
  // Map twice the chunk and keep the 2 MiB-aligned middle: THP only backs
  // aligned extents.
  void* p = mmap(nullptr, 2 * kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  const uintptr_t base = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (base + kChunk - 1) & ~(kChunk - 1);
  if (aligned > base) munmap(p, aligned - base);
  const uintptr_t tail = aligned + kChunk;
  if (base + 2 * kChunk > tail) munmap(reinterpret_cast<void*>(tail), base + 2 * kChunk - tail);
  void* c = reinterpret_cast<void*>(aligned);
  madvise(c, kChunk, MADV_HUGEPAGE);  // best effort: THP may be off
  if (secret_) {
    madvise(c, kChunk, MADV_DONTDUMP);
    if (mlock(c, kChunk) == 0) locked_++;
  }
  chunks_.push_back(c);
  next_ = static_cast<char*>(c) + color_;
  end_ = static_cast<char*>(c) + kChunk;
  return true;
}

void* Slab::allocate() {
  if (size_ > kChunk) throw std::bad_alloc();
  std::lock_guard<std::mutex> lock(mu_);
  void* p;
  if (free_ != nullptr) {
    p = free_;
    free_ = free_->next;
  } else {
    if (static_cast<size_t>(end_ - next_) < size_ && !grow()) throw std::bad_alloc();
    p = next_;
    next_ += size_;
  }
  in_use_++;
  return p;
}

void Slab::release(void* p) {
  if (p == nullptr) return;
  if (secret_) wipe(p, size_);
  std::lock_guard<std::mutex> lock(mu_);
  auto* f = static_cast<FreeObject*>(p);
  f->next = free_;
  free_ = f;
  in_use_--;
}

Slab::Stats Slab::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {size_, in_use_, chunks_.size(), locked_};
}

}  // namespace portcullis::crypto
