// slab.h: memory for the objects a gateway keeps one of per SA (key
// schedules, the workers' SAs), on transparent huge pages.
//
// Why. At a million tunnels the workers touch a few SAs' worth of lines per
// packet, spread over more than a gigabyte. On 4 KiB pages nearly every one
// of those lines is also a TLB miss, and the page walk misses the caches in
// turn: on the benchmark host (perf/mem_latency) a load from such a line
// took 186 ns on 4 KiB pages and 77 ns on 2 MiB ones. The heap gives out
// 4 KiB pages; a Slab maps 2 MiB-aligned chunks and asks for huge pages.
//
// Secret slabs (key schedules) also keep what they hold out of core dumps
// (MADV_DONTDUMP) and out of swap (mlock, best effort: without the right or
// the limit the memory is still usable), and wipe every object they take
// back. That is what libsodium's guarded allocations give keys, less the
// guard pages: a guard page per key schedule would cost a million tunnels
// 8 GiB of address space and a TLB entry per schedule.
//
// A Slab hands out objects of one size, 64-byte aligned; allocate and
// release are thread-safe (a mutex: they run when SAs are built and freed,
// never per packet). Chunks are kept for the process's life and reused.
#pragma once

#include <cstddef>
#include <mutex>
#include <new>
#include <vector>

namespace portcullis::crypto {

// map_huge maps `bytes` rounded up to 2 MiB, 2 MiB-aligned (THP only backs
// aligned extents), zeroed, with MADV_HUGEPAGE (best effort: THP may be
// off); nullptr if it cannot. unmap_huge takes the same `bytes`.
void* map_huge(size_t bytes);
void unmap_huge(void* p, size_t bytes);

class Slab {
 public:
  static constexpr size_t kChunk = size_t{2} << 20;  // one huge page

  // object_size is rounded up to a multiple of 64.
  Slab(size_t object_size, bool secret);
  ~Slab();
  Slab(const Slab&) = delete;
  Slab& operator=(const Slab&) = delete;

  // allocate returns object_size bytes, 64-byte aligned; throws
  // std::bad_alloc when no memory can be mapped.
  void* allocate();
  // release gives p (from allocate) back, wiped first if the slab is secret.
  void release(void* p);

  struct Stats {
    size_t object_size = 0;
    size_t in_use = 0;     // objects allocated and not released
    size_t chunks = 0;     // 2 MiB chunks mapped
    size_t locked = 0;     // of them, locked in memory (secret slabs)
  };
  Stats stats() const;

 private:
  struct FreeObject {
    FreeObject* next;
  };
  bool grow();  // mu_ held

  const size_t size_;
  const bool secret_;
  // Where objects start in each chunk. Every slab's chunks are 2 MiB
  // aligned, so without it the first SA and the first key schedule would
  // share an address modulo 4 KiB: the CPU then takes a key-schedule load
  // for a possible alias of the store to the SA's counters just before it,
  // and waits (4K aliasing); 4 % at one tunnel. Slabs are coloured apart.
  const size_t color_;
  mutable std::mutex mu_;
  FreeObject* free_ = nullptr;
  char* next_ = nullptr;  // the rest of the newest chunk
  char* end_ = nullptr;
  size_t in_use_ = 0, locked_ = 0;
  std::vector<void*> chunks_;
};

// SlabAllocated<T, Secret> gives T class-scope operator new and delete from
// one Slab for all Ts (made on first use, never destroyed, so that objects
// freed during static destruction still have it). Sanitizer builds use the
// ordinary heap instead, so that AddressSanitizer still sees these objects.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)  // GCC
#define PORTCULLIS_SANITIZED 1
#elif defined(__has_feature)  // clang
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PORTCULLIS_SANITIZED 1
#endif
#endif

template <typename T, bool Secret>
struct SlabAllocated {
  static Slab& slab() {
    static Slab* s = new Slab(sizeof(T), Secret);
    return *s;
  }
#ifndef PORTCULLIS_SANITIZED
  static void* operator new(size_t n) {
    if (n != sizeof(T)) return ::operator new(n, std::align_val_t{alignof(T)});  // a derived class
    return slab().allocate();
  }
  static void* operator new(size_t n, std::align_val_t) { return operator new(n); }
  static void operator delete(void* p, size_t n) {
    if (p == nullptr) return;
    if (n != sizeof(T)) return ::operator delete(p, std::align_val_t{alignof(T)});
    slab().release(p);
  }
  static void operator delete(void* p, size_t n, std::align_val_t) { operator delete(p, n); }
#endif
};

}  // namespace portcullis::crypto
