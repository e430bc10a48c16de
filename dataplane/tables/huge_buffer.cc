#include "dataplane/tables/huge_buffer.h"

#include <cstdlib>
#include <cstring>

#include "crypto/slab.h"

namespace portcullis::dp {

namespace {
constexpr size_t kHugePage = crypto::Slab::kChunk;
}

void* huge_map(size_t bytes) {
  if (bytes >= kHugePage) return crypto::map_huge(bytes);
  return std::aligned_alloc(64, bytes == 0 ? 64 : (bytes + 63) & ~size_t{63});
}

void huge_unmap(void* p, size_t bytes) {
  if (bytes >= kHugePage) {
    crypto::unmap_huge(p, bytes);
  } else {
    std::free(p);
  }
}

void* HugeBuffer::allocate(size_t bytes) {
  release();
  data_ = huge_map(bytes);
  if (data_ == nullptr) return nullptr;
  bytes_ = bytes;
  if (bytes < kHugePage) std::memset(data_, 0, bytes);  // mappings come zeroed
  return data_;
}

void HugeBuffer::release() {
  huge_unmap(data_, bytes_);
  data_ = nullptr;
  bytes_ = 0;
}

}  // namespace portcullis::dp
