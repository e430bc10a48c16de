// esp_inbound.h: internal to the ESP engine: the decapsulation functions an
// inbound SA chooses between. The burst entry point is in esp_worker.h.
#pragma once

#include "dataplane/ipsec/sa.h"

namespace portcullis::dp {

DropReason decap_tunnel(const SaInbound& sa, rte_mbuf* m, uint32_t off, uint32_t payload_len,
                        uint8_t next);
DropReason decap_transport(const SaInbound& sa, rte_mbuf* m, uint32_t off, uint32_t payload_len,
                           uint8_t next);

}  // namespace portcullis::dp
