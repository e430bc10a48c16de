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
