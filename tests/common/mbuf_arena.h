// mbuf_arena.h: rte_mbufs in ordinary heap memory, for tests, fuzzers and
// benchmarks that exercise the ESP engine without starting DPDK's EAL. The
// engine only uses the inline single-segment mbuf operations (mtod,
// prepend, append, adj, trim), which need nothing but the mbuf's fields.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace portcullis::test {

class MbufArena {
 public:
  static constexpr uint16_t kBufLen = 2048 + RTE_PKTMBUF_HEADROOM;

  MbufArena() = default;
  MbufArena(const MbufArena&) = delete;
  MbufArena& operator=(const MbufArena&) = delete;

  // alloc returns an mbuf holding `bytes` after `headroom` bytes of headroom.
  rte_mbuf* alloc(std::span<const uint8_t> bytes, uint16_t headroom = RTE_PKTMBUF_HEADROOM,
                  uint16_t buf_len = kBufLen) {
    const size_t size = sizeof(rte_mbuf) + buf_len;
    void* mem = std::aligned_alloc(64, (size + 63) / 64 * 64);
    std::memset(mem, 0, size);
    blocks_.emplace_back(mem);
    auto* m = static_cast<rte_mbuf*>(mem);
    m->buf_addr = static_cast<char*>(mem) + sizeof(rte_mbuf);
    m->buf_len = buf_len;
    m->data_off = headroom;
    rte_mbuf_refcnt_set(m, 1);
    m->nb_segs = 1;
    m->data_len = static_cast<uint16_t>(bytes.size());
    m->pkt_len = static_cast<uint32_t>(bytes.size());
    if (!bytes.empty()) std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), bytes.data(), bytes.size());
    return m;
  }

  static std::vector<uint8_t> bytes(const rte_mbuf* m) {
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    return {p, p + m->data_len};
  }

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::vector<std::unique_ptr<void, Free>> blocks_;
};

}  // namespace portcullis::test
