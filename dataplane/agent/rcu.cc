#include "dataplane/agent/rcu.h"

#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

namespace portcullis::dp {

RcuDomain::RcuDomain(uint32_t max_readers) : max_readers_(max_readers) {
  const size_t size = rte_rcu_qsbr_get_memsize(max_readers);
  // QSBR memory must be cache-line aligned; it is written by every reader.
  void* mem = std::aligned_alloc(RTE_CACHE_LINE_SIZE,
                                 (size + RTE_CACHE_LINE_SIZE - 1) / RTE_CACHE_LINE_SIZE *
                                     RTE_CACHE_LINE_SIZE);
  if (mem == nullptr) throw std::bad_alloc();
  v_ = static_cast<rte_rcu_qsbr*>(mem);
  if (rte_rcu_qsbr_init(v_, max_readers) != 0) {
    std::free(mem);
    throw std::runtime_error("rte_rcu_qsbr_init failed for " + std::to_string(max_readers) +
                             " readers");
  }
}

RcuDomain::~RcuDomain() { std::free(v_); }

}  // namespace portcullis::dp
