// esp_test_fixture.h: shared by esp_malformed_test.cc and esp_crafted_test.cc:
// an engine, a worker and mbufs, checks that a packet was dropped for one
// exact reason, and a Sealer that builds ESP packets with OpenSSL from an
// SA's keys, independently of IPsec-MB, so that packets the engine would
// never send (bad padding, dummy packets, wrong next headers) carry an ICV
// that verifies and only the property under test is wrong.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "crypto/engine.h"
#include "dataplane/ipsec/esp_worker.h"
#include "mbuf_arena.h"
#include "packets.h"
#include "sa_pair.h"

namespace portcullis::dp {
// PrintTo makes gtest print reasons by name.
inline void PrintTo(DropReason r, std::ostream* os) { *os << drop_reason_name(r); }
}  // namespace portcullis::dp

namespace portcullis::esptest {

using crypto::Cipher;
using crypto::Integ;
using crypto::Suite;
using dp::DropReason;
using dp::Mode;
using test::SaPairOptions;
using Bytes = std::vector<uint8_t>;

inline constexpr uint8_t kProtoEsp = 50;
inline constexpr uint8_t kProtoUdp = 17;

inline void put16(Bytes& p, size_t off, uint16_t v) {
  p[off] = static_cast<uint8_t>(v >> 8);
  p[off + 1] = static_cast<uint8_t>(v);
}
inline uint16_t get16(const Bytes& p, size_t off) {
  return static_cast<uint16_t>(p[off] << 8 | p[off + 1]);
}
inline void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
inline uint32_t get32(const Bytes& p, size_t off) {
  return static_cast<uint32_t>(p[off] << 24 | p[off + 1] << 16 | p[off + 2] << 8 | p[off + 3]);
}

inline uint16_t ip_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Outer describes the outer headers of a packet: IPv4 (no options) or IPv6,
// optionally followed by UDP (RFC 3948).
struct Outer {
  bool v6 = false;
  bool udp = false;
  size_t ip_len() const { return v6 ? 40 : 20; }
  size_t esp_off() const { return ip_len() + (udp ? 8 : 0); }
};

// fix_lengths rewrites the outer IP and UDP lengths (and the IPv4 checksum)
// to match p.size(), after a test grew or shrank the packet.
inline void fix_lengths(Bytes& p, Outer o) {
  if (o.v6) {
    put16(p, 4, static_cast<uint16_t>(p.size() - 40));
  } else {
    put16(p, 2, static_cast<uint16_t>(p.size()));
    put16(p, 10, 0);
    put16(p, 10, ip_checksum(p.data(), 20));
  }
  if (o.udp) put16(p, o.ip_len() + 4, static_cast<uint16_t>(p.size() - o.ip_len()));
}

// wrap puts outer headers in front of an ESP packet (SPI to ICV).
inline Bytes wrap(Outer o, const Bytes& esp) {
  Bytes p(o.esp_off(), 0);
  const uint8_t proto = o.udp ? kProtoUdp : kProtoEsp;
  if (o.v6) {
    p[0] = 0x60;
    p[6] = proto;
    p[7] = 64;
    std::copy_n(test::gw_a(true).bytes.begin(), 16, p.begin() + 8);
    std::copy_n(test::gw_b(true).bytes.begin(), 16, p.begin() + 24);
  } else {
    p[0] = 0x45;
    p[8] = 64;
    p[9] = proto;
    std::copy_n(test::gw_a(false).bytes.begin(), 4, p.begin() + 12);
    std::copy_n(test::gw_b(false).bytes.begin(), 4, p.begin() + 16);
  }
  if (o.udp) {
    put16(p, o.ip_len(), 4500);
    put16(p, o.ip_len() + 2, 4500);
  }
  // resize + copy rather than insert: GCC 12 at -O3 with LTO warns,
  // wrongly, that insert may read from an empty range.
  const size_t at = p.size();
  p.resize(at + esp.size());
  if (!esp.empty()) std::memcpy(p.data() + at, esp.data(), esp.size());
  fix_lengths(p, o);
  return p;
}

// esp_plain lays out an ESP payload: `payload`, RFC 4303 section 2.4
// padding 1, 2, 3, ... up to a multiple of `block`, pad length, next header.
inline Bytes esp_plain(const Bytes& payload, uint32_t block, uint8_t next) {
  Bytes p = payload;
  const size_t pad = (block - (payload.size() + 2) % block) % block;
  for (size_t i = 0; i < pad; i++) p.push_back(static_cast<uint8_t>(i + 1));
  p.push_back(static_cast<uint8_t>(pad));
  p.push_back(next);
  return p;
}

// Sealer seals ESP packets with OpenSSL under an SA's keys: RFC 4106 and
// RFC 7634 for the AEADs, RFC 3602 with RFC 4868 HMAC for CBC, each with
// the ESN rules of RFC 4303 section 2.2.1.
class Sealer {
 public:
  explicit Sealer(const dp::SaConfig& cfg) : cfg_(cfg) {}

  // esp returns SPI, sequence number, IV, ciphertext and ICV for `plain`,
  // which already holds its padding, pad length and next header.
  Bytes esp(uint64_t seq, const Bytes& plain) const {
    Bytes out(8);
    put32(out.data(), cfg_.spi);
    put32(out.data() + 4, static_cast<uint32_t>(seq));
    return cfg_.suite.is_aead() ? aead(seq, plain, out) : cbc(seq, plain, out);
  }

 private:
  Bytes aead(uint64_t seq, const Bytes& plain, Bytes out) const {
    const auto key = cfg_.cipher_key.span();
    const size_t key_len = cfg_.suite.cipher_key_len();
    uint8_t nonce[12];
    std::copy_n(key.begin() + key_len, 4, nonce);
    for (int i = 0; i < 8; i++) nonce[4 + i] = static_cast<uint8_t>(seq >> (56 - 8 * i));
    out.insert(out.end(), nonce + 4, nonce + 12);
    uint8_t aad[12];
    put32(aad, cfg_.spi);
    size_t aad_len = 8;
    if (cfg_.esn) {
      put32(aad + 4, static_cast<uint32_t>(seq >> 32));
      put32(aad + 8, static_cast<uint32_t>(seq));
      aad_len = 12;
    } else {
      put32(aad + 4, static_cast<uint32_t>(seq));
    }
    const EVP_CIPHER* c = cfg_.suite.cipher == Cipher::kAes128Gcm   ? EVP_aes_128_gcm()
                          : cfg_.suite.cipher == Cipher::kAes256Gcm ? EVP_aes_256_gcm()
                                                                    : EVP_chacha20_poly1305();
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    Bytes ct(plain.size() + 16);
    int len = 0, fin = 0;
    const bool ok =
        EVP_EncryptInit_ex(ctx, c, nullptr, nullptr, nullptr) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) == 1 &&
        EVP_EncryptInit_ex(ctx, nullptr, nullptr, key.data(), nonce) == 1 &&
        EVP_EncryptUpdate(ctx, nullptr, &len, aad, static_cast<int>(aad_len)) == 1 &&
        EVP_EncryptUpdate(ctx, ct.data(), &len, plain.data(), static_cast<int>(plain.size())) ==
            1 &&
        EVP_EncryptFinal_ex(ctx, ct.data() + len, &fin) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, ct.data() + plain.size()) == 1;
    EVP_CIPHER_CTX_free(ctx);
    EXPECT_TRUE(ok) << "OpenSSL AEAD seal failed";
    out.insert(out.end(), ct.begin(), ct.end());
    return out;
  }

  Bytes cbc(uint64_t seq, const Bytes& plain, Bytes out) const {
    EXPECT_EQ(plain.size() % 16, 0u) << "CBC plaintext must be whole blocks";
    uint8_t iv[16];
    // Any IV will do; its last byte is the sequence number's, like the
    // AEAD explicit IV's.
    for (int i = 0; i < 16; i++) iv[i] = static_cast<uint8_t>(seq * 13 + i * 29);
    iv[15] = static_cast<uint8_t>(seq);
    out.insert(out.end(), iv, iv + 16);
    const EVP_CIPHER* c =
        cfg_.suite.cipher == Cipher::kAes128Cbc ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    Bytes ct(plain.size() + 16);
    int len = 0, fin = 0;
    const bool ok = EVP_EncryptInit_ex(ctx, c, nullptr, cfg_.cipher_key.span().data(), iv) == 1 &&
                    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
                    EVP_EncryptUpdate(ctx, ct.data(), &len, plain.data(),
                                      static_cast<int>(plain.size())) == 1 &&
                    EVP_EncryptFinal_ex(ctx, ct.data() + len, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    EXPECT_TRUE(ok) << "OpenSSL CBC encrypt failed";
    out.insert(out.end(), ct.begin(), ct.begin() + static_cast<long>(plain.size()));
    // The ICV covers header, IV and ciphertext, then under ESN the high
    // sequence bits, which are not sent.
    Bytes mac_in = out;
    if (cfg_.esn) {
      mac_in.resize(mac_in.size() + 4);
      put32(mac_in.data() + mac_in.size() - 4, static_cast<uint32_t>(seq >> 32));
    }
    const char* digest = cfg_.suite.integ == Integ::kHmacSha256_128   ? "SHA256"
                         : cfg_.suite.integ == Integ::kHmacSha384_192 ? "SHA384"
                                                                      : "SHA512";
    uint8_t mac[64];
    size_t mac_len = 0;
    const auto key = cfg_.auth_key.span();
    EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key.data(), key.size(),
                        mac_in.data(), mac_in.size(), mac, sizeof(mac), &mac_len),
              nullptr);
    out.insert(out.end(), mac, mac + cfg_.suite.icv_len());
    return out;
  }

  const dp::SaConfig& cfg_;
};

inline SaPairOptions gcm_tunnel() {
  SaPairOptions o;
  o.suite = *crypto::parse_suite("aes128gcm16");
  o.esn = false;  // so that a packet below the window is kOutOfWindow, not an ICV failure
  o.replay_window = 64;
  return o;
}

inline SaPairOptions with(SaPairOptions o, const char* suite, bool udp = false,
                          bool outer_v6 = false) {
  o.suite = *crypto::parse_suite(suite);
  o.udp = udp;
  o.outer_v6 = outer_v6;
  return o;
}

// EspBase holds an engine, a worker and mbufs, and the checks every case uses.
class EspBase : public testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    engine_ = crypto::Engine::create(&err);
    ASSERT_TRUE(engine_) << err;
    worker_ = std::make_unique<dp::EspWorker>(*engine_);
  }

  test::SaPair pair(const SaPairOptions& o) { return test::make_sa_pair(*engine_, o); }

  static Bytes inner(uint32_t seed, size_t payload = 64, bool v6 = false) {
    return test::udp_packet(test::host_a(v6), test::host_b(v6), payload, seed);
  }

  // seal encrypts `pt` with the engine's outbound SA.
  Bytes seal(const test::SaPair& p, const Bytes& pt) {
    rte_mbuf* m = arena_.alloc(pt);
    dp::SaOutbound* sa = p.out.get();
    if (dp::esp_outbound_burst(*worker_, {&m, 1}, {&sa, 1}) != 1) {
      ADD_FAILURE() << "outbound failed: " << dp::drop_reason_name(worker_->reasons()[0]);
    }
    return test::MbufArena::bytes(m);
  }

  // dropped_as runs one packet inbound and checks it was dropped for
  // `want`, with the per-reason counter and the total each up by one.
  testing::AssertionResult dropped_as(rte_mbuf* m, dp::SaInbound* sa, DropReason want) {
    const dp::DropCounters before = worker_->drops();
    if (dp::esp_inbound_burst(*worker_, {&m, 1}, {&sa, 1}) != 0) {
      return testing::AssertionFailure() << "accepted, expected " << dp::drop_reason_name(want);
    }
    if (worker_->reasons().size() != 1) {
      return testing::AssertionFailure() << worker_->reasons().size() << " reasons for 1 drop";
    }
    const DropReason got = worker_->reasons()[0];
    if (got != want) {
      return testing::AssertionFailure() << "dropped as " << dp::drop_reason_name(got)
                                         << ", expected " << dp::drop_reason_name(want);
    }
    if (worker_->drops()[want] != before[want] + 1 ||
        worker_->drops().total() != before.total() + 1) {
      return testing::AssertionFailure() << "drop counters did not move by exactly one";
    }
    return testing::AssertionSuccess();
  }
  testing::AssertionResult dropped_as(const Bytes& b, dp::SaInbound* sa, DropReason want) {
    return dropped_as(arena_.alloc(b), sa, want);
  }

  // accepted runs one packet inbound and checks it came out as `want`.
  testing::AssertionResult accepted(const Bytes& b, dp::SaInbound* sa, const Bytes& want) {
    rte_mbuf* m = arena_.alloc(b);
    if (dp::esp_inbound_burst(*worker_, {&m, 1}, {&sa, 1}) != 1) {
      return testing::AssertionFailure()
             << "dropped as " << dp::drop_reason_name(worker_->reasons()[0]);
    }
    if (test::MbufArena::bytes(m) != want) return testing::AssertionFailure() << "other bytes";
    return testing::AssertionSuccess();
  }

  // out_dropped_as is dropped_as for the outbound direction.
  testing::AssertionResult out_dropped_as(rte_mbuf* m, dp::SaOutbound* sa, DropReason want) {
    const dp::DropCounters before = worker_->drops();
    const Bytes orig = test::MbufArena::bytes(m);
    if (dp::esp_outbound_burst(*worker_, {&m, 1}, {&sa, 1}) != 0) {
      return testing::AssertionFailure() << "sent, expected " << dp::drop_reason_name(want);
    }
    if (worker_->reasons().size() != 1) {
      return testing::AssertionFailure() << worker_->reasons().size() << " reasons for 1 drop";
    }
    const DropReason got = worker_->reasons()[0];
    if (got != want) {
      return testing::AssertionFailure() << "dropped as " << dp::drop_reason_name(got)
                                         << ", expected " << dp::drop_reason_name(want);
    }
    if (worker_->drops()[want] != before[want] + 1) {
      return testing::AssertionFailure() << "per-reason counter did not move";
    }
    // A refused packet goes back to the caller as it came.
    if (test::MbufArena::bytes(m) != orig) return testing::AssertionFailure() << "packet changed";
    return testing::AssertionSuccess();
  }

  std::unique_ptr<crypto::Engine> engine_;
  std::unique_ptr<dp::EspWorker> worker_;
  test::MbufArena arena_;
};

}  // namespace portcullis::esptest
