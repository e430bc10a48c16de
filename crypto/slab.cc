#include "crypto/slab.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>

#include "crypto/secure.h"

namespace portcullis::crypto {

namespace {
std::atomic<unsigned> slabs_made{0};
size_t round_huge(size_t bytes) { return (bytes + Slab::kChunk - 1) & ~(Slab::kChunk - 1); }
}  // namespace

void* map_huge(size_t bytes) {
  // Map a huge page more than needed and trim to the aligned part, so that
  // the pointer starts its own mapping and unmap_huge can find it.
  const size_t len = round_huge(bytes == 0 ? 1 : bytes);
  void* p = mmap(nullptr, len + Slab::kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  const uintptr_t base = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (base + Slab::kChunk - 1) & ~(Slab::kChunk - 1);
  if (aligned > base) munmap(p, aligned - base);
  const uintptr_t end = base + len + Slab::kChunk;
  if (end > aligned + len) munmap(reinterpret_cast<void*>(aligned + len), end - (aligned + len));
  void* data = reinterpret_cast<void*>(aligned);
  madvise(data, len, MADV_HUGEPAGE);
  return data;
}

void unmap_huge(void* p, size_t bytes) {
  if (p != nullptr) munmap(p, round_huge(bytes == 0 ? 1 : bytes));
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
    unmap_huge(c, kChunk);
  }
}

bool Slab::grow() {
  void* c = map_huge(kChunk);
  if (c == nullptr) return false;
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
