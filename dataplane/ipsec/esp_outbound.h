// esp_outbound.h: internal to the ESP engine: choosing an SA's prepare
// function. The burst entry point is in esp_worker.h.
#pragma once

#include "dataplane/ipsec/sa.h"

namespace portcullis::dp {

OutboundPrepareFn select_outbound_prepare(bool tunnel, bool aead, bool v6, bool udp);

}  // namespace portcullis::dp
