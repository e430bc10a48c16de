// sample_messages.h: populated channel messages of every type, shared by
// the codec tests and the channel fuzzer's seed corpus.
#pragma once

#include <cstdint>
#include <vector>

#include "control/api/message.h"

namespace portcullis::ctl::api::testing {

// sample_messages returns at least one message of every type with every
// field set away from its default, plus variants (IPv6, CBC suite, each
// reply payload).
std::vector<Message> sample_messages();

// sample_sa_add is SA number i of a bulk provisioning run: distinct id,
// SPI, keys and addresses, with one traffic selector.
SaAdd sample_sa_add(uint32_t i);

// sample_key is n bytes derived from seed, easy to find in hex.
std::vector<uint8_t> sample_key(size_t n, uint8_t seed);

}  // namespace portcullis::ctl::api::testing
