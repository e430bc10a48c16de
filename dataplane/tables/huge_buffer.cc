#include "dataplane/tables/huge_buffer.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace portcullis::dp {

namespace {
constexpr size_t kHugePage = 2u << 20;
}

void* HugeBuffer::allocate(size_t bytes) {
  release();
  if (bytes >= kHugePage) {
    const size_t len = bytes + kHugePage;
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    map_base_ = p;
    map_len_ = len;
    const uintptr_t aligned = (reinterpret_cast<uintptr_t>(p) + kHugePage - 1) & ~(kHugePage - 1);
    data_ = reinterpret_cast<void*>(aligned);
    madvise(data_, bytes, MADV_HUGEPAGE);  // best effort: THP may be off; pages come zeroed
    return data_;
  }
  const size_t rounded = (bytes + 63) & ~size_t{63};
  data_ = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (data_ != nullptr) std::memset(data_, 0, rounded);
  return data_;
}

void* huge_map(size_t bytes) {
  if (bytes < kHugePage) {
    return std::aligned_alloc(64, bytes == 0 ? 64 : (bytes + 63) & ~size_t{63});
  }
  // Map a huge page more and trim to the 2 MiB-aligned part, so that the
  // pointer is the start of its own mapping and huge_unmap can find it.
  const size_t len = (bytes + kHugePage - 1) & ~(kHugePage - 1);
  void* p = mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  const uintptr_t base = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (base + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > base) munmap(p, aligned - base);
  const uintptr_t end = base + len + kHugePage;
  if (end > aligned + len) munmap(reinterpret_cast<void*>(aligned + len), end - (aligned + len));
  void* data = reinterpret_cast<void*>(aligned);
  madvise(data, len, MADV_HUGEPAGE);  // best effort: THP may be off
  return data;
}

void huge_unmap(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes < kHugePage) {
    std::free(p);
    return;
  }
  munmap(p, (bytes + kHugePage - 1) & ~(kHugePage - 1));
}

void HugeBuffer::release() {
  if (map_base_ != nullptr) {
    munmap(map_base_, map_len_);
  } else {
    std::free(data_);
  }
  data_ = map_base_ = nullptr;
  map_len_ = 0;
}

}  // namespace portcullis::dp
