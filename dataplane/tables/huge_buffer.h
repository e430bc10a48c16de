// huge_buffer.h: zeroed memory for large lookup tables, backed by
// transparent huge pages where the kernel allows.
//
// Tables that workers probe at random (the SPD's destination hash) miss the
// TLB on nearly every lookup when they sit on 4 KiB pages; a 2 MiB page
// covers 512 times as much. THP only backs aligned 2 MiB extents, so large
// buffers are mapped over-sized and aligned by hand; small ones come from
// the heap. Not for secrets: nothing here is wiped or locked.
#pragma once

#include <cstddef>
#include <new>

namespace portcullis::dp {

class HugeBuffer {
 public:
  HugeBuffer() = default;
  // allocate returns bytes of zeroed memory aligned to 64, or nullptr.
  void* allocate(size_t bytes);
  ~HugeBuffer() { release(); }
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;
  void* data() const { return data_; }

 private:
  void release();
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// huge_map and huge_unmap are the allocation behind HugeBuffer and
// HugePageAllocator: under 2 MiB the heap (64-byte aligned, not zeroed),
// from 2 MiB crypto::map_huge (zeroed).
void* huge_map(size_t bytes);
void huge_unmap(void* p, size_t bytes);

// HugePageAllocator lets a std::vector that workers index at random (the
// SPD's policies, 32 MiB at a million tunnels) sit on huge pages.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}
  T* allocate(size_t n) {
    void* p = huge_map(n * sizeof(T));
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) { huge_unmap(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
};

}  // namespace portcullis::dp
