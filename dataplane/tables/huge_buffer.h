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
  void* map_base_ = nullptr;  // large buffers: the mapping behind data_
  size_t map_len_ = 0;
};

}  // namespace portcullis::dp
