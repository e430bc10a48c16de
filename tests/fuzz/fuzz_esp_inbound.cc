// fuzz_esp_inbound.cc: libFuzzer target for the ESP inbound path
// (esp_inbound_spi and esp_inbound_burst), over SAs with fixed keys so that
// the fuzzer can learn, and the seed corpus can hold, packets that verify.
//
// Input layout. Missing bytes read as zero, so every input is valid:
//   byte 0      variant: the inbound SA of the burst (see variant_config)
//   byte 1      control: bits 0-2 packets in the burst minus one; bit 3 no
//               headroom; bit 4 no tailroom (the packet ends its buffer, so
//               AddressSanitizer sees any read past it); bit 5 IPv6 outer
//               headers where this target writes them; bit 6 seal mode;
//               bit 7 run the same packets through a second burst, against
//               the windows the first one left
//   per packet  one byte choosing its SA (below 0xf0: the variant's; 0xf0 to
//               0xf7: another variant's; 0xf8 and up: none), a 16-bit
//               big-endian length, then that many bytes: the packet from its
//               outer IP header on or, in seal mode, a sequence number
//               (1 to 256) and the plaintext the receiver will decrypt,
//               payload and trailer, which this target seals under the SA's
//               keys. Seal mode reaches what follows the ICV check: padding,
//               next header, decapsulation.
//
// Every input starts from fresh replay windows and counters, so a packet
// behaves the same whenever it is run. Besides not crashing, each run
// checks the burst contract of esp_worker.h, that accepted packets are
// well-formed IP, and that each accepted packet survives a round trip:
// encrypted again by the matching outbound SA and decrypted, it is the same
// bytes.
//
// Seed corpus: PORTCULLIS_FUZZ_WRITE_CORPUS=DIR fuzz_esp_inbound writes
// inputs with packets sealed by the engine under the fixed keys to DIR, and
// exits.
#include <rte_mbuf.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "crypto/engine.h"
#include "crypto/key_schedule.h"
#include "crypto/secure.h"
#include "dataplane/ipsec/esp_util.h"
#include "dataplane/ipsec/esp_worker.h"
#include "dataplane/ipsec/sa.h"

namespace portcullis::fuzz {
namespace {

using dp::DropReason;

constexpr size_t kMaxPacketLen = 2048;

// FUZZ_CHECK aborts with a message when an invariant does not hold, so that
// libFuzzer records the input.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

// Variant: suite x mode x UDP x ESN x replay setting.
constexpr const char* kSuites[] = {"aes128gcm16", "aes256gcm16", "chacha20poly1305",
                                   "aes128cbc-sha256", "aes256cbc-sha512"};
constexpr size_t kNumSuites = std::size(kSuites);
constexpr size_t kNumWindows = 4;  // 64, 1024, anti-replay off, 64 with a 2-packet hard limit
constexpr size_t kNumVariants = kNumSuites * 2 * 2 * 2 * kNumWindows;

struct Variant {
  dp::SaConfig cfg;
  std::unique_ptr<dp::SaInbound> in;
  // Outbound SAs with the same keys: IPv4 and IPv6 outer headers (tunnel)
  // or endpoints (transport). Used for the round trip and the seed corpus.
  std::unique_ptr<dp::SaOutbound> out[2];
};

struct State {
  std::unique_ptr<crypto::Engine> engine;
  std::unique_ptr<dp::EspWorker> worker;
  std::array<std::unique_ptr<Variant>, kNumVariants> variants;
};

State& state() {
  static State* s = [] {
    auto* st = new State;
    std::string err;
    st->engine = crypto::Engine::create(&err);
    if (!st->engine) {
      std::fprintf(stderr, "fuzz_esp_inbound: %s\n", err.c_str());
      std::abort();
    }
    st->worker = std::make_unique<dp::EspWorker>(*st->engine);
    return st;
  }();
  return *s;
}

dp::IpAddress addr(bool v6, uint8_t host) {
  if (!v6) return dp::IpAddress::v4(192, 0, 2, host);
  dp::IpAddress a;
  a.v6 = true;
  a.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, host};
  return a;
}

dp::SaConfig variant_config(size_t v, bool v6) {
  size_t x = v;
  const size_t suite = x % kNumSuites;
  x /= kNumSuites;
  const bool tunnel = x % 2 == 0;
  x /= 2;
  const bool udp = x % 2 == 1;
  x /= 2;
  const bool esn = x % 2 == 1;
  x /= 2;
  const size_t window = x % kNumWindows;

  dp::SaConfig c;
  c.spi = 0x1000 + static_cast<uint32_t>(v);
  c.suite = *crypto::parse_suite(kSuites[suite]);
  // Fixed keys, different for every variant.
  std::vector<uint8_t> key(c.suite.cipher_key_len() + c.suite.salt_len());
  for (size_t i = 0; i < key.size(); i++) key[i] = static_cast<uint8_t>(v * 31 + i * 7 + 1);
  std::vector<uint8_t> auth(c.suite.auth_key_len());
  for (size_t i = 0; i < auth.size(); i++) auth[i] = static_cast<uint8_t>(v * 17 + i * 3 + 5);
  c.cipher_key = crypto::SecretBytes(key);
  c.auth_key = crypto::SecretBytes(auth);
  c.mode = tunnel ? dp::Mode::kTunnel : dp::Mode::kTransport;
  c.esn = esn;
  c.udp_encap = udp;
  c.tunnel_src = addr(v6, 1);
  c.tunnel_dst = addr(v6, 2);
  c.replay_window = window == 1 ? 1024 : 64;
  c.anti_replay = window != 2;
  if (window == 3) c.lifetime.hard_packets = 2;
  return c;
}

Variant& variant(size_t v) {
  auto& slot = state().variants[v];
  if (!slot) {
    slot = std::make_unique<Variant>();
    std::string err;
    slot->cfg = variant_config(v, false);
    slot->in = dp::build_inbound(slot->cfg, *state().engine, &err);
    for (int fam = 0; fam < 2; fam++) {
      dp::SaConfig oc = variant_config(v, fam == 1);
      oc.lifetime = {};
      slot->out[fam] = dp::build_outbound(oc, *state().engine, &err);
      FUZZ_CHECK(slot->out[fam] != nullptr);
    }
    FUZZ_CHECK(slot->in != nullptr);
  }
  return *slot;
}

// reset gives an inbound SA a fresh window and counters.
void reset(Variant& v) {
  v.in->replay =
      dp::ReplayWindow(v.cfg.anti_replay ? v.cfg.replay_window : 64, v.cfg.esn, v.cfg.anti_replay);
  v.in->received.packets.store(0);
  v.in->received.bytes.store(0);
  v.in->counters.events.store(0);
  v.in->counters.dead.store(false);
}

// Mbuf is an rte_mbuf in a heap block sized exactly to its buffer, so that
// AddressSanitizer reports any access past the buffer's end.
struct MbufFree {
  void operator()(rte_mbuf* m) const { ::operator delete (m, std::align_val_t{64}); }
};
using Mbuf = std::unique_ptr<rte_mbuf, MbufFree>;

Mbuf make_mbuf(const uint8_t* data, size_t len, uint16_t headroom, uint16_t tailroom) {
  const size_t buf_len = headroom + len + tailroom;
  void* mem = ::operator new (sizeof(rte_mbuf) + buf_len, std::align_val_t{64});
  std::memset(mem, 0, sizeof(rte_mbuf));
  auto* m = static_cast<rte_mbuf*>(mem);
  m->buf_addr = static_cast<char*>(mem) + sizeof(rte_mbuf);
  m->buf_len = static_cast<uint16_t>(buf_len);
  m->data_off = headroom;
  rte_mbuf_refcnt_set(m, 1);
  m->nb_segs = 1;
  m->data_len = static_cast<uint16_t>(len);
  m->pkt_len = static_cast<uint32_t>(len);
  if (len != 0) std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), data, len);
  return Mbuf(m);
}

std::vector<uint8_t> bytes_of(const rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  return {p, p + m->data_len};
}

uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

bool ipv4_checksum_ok(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += load16(p + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

// Reader hands out input bytes, zeros once they run out.
struct Reader {
  const uint8_t* p;
  size_t n;
  uint8_t u8() {
    if (n == 0) return 0;
    n--;
    return *p++;
  }
  uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
};

// check_accepted checks a packet the burst accepted: well-formed IP of the
// length its header says.
void check_accepted(const rte_mbuf* m, const Variant& v) {
  FUZZ_CHECK(m->nb_segs == 1 && m->data_len == m->pkt_len);
  FUZZ_CHECK(m->data_off + m->data_len <= m->buf_len);
  FUZZ_CHECK(m->pkt_len >= 20);
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint8_t version = p[0] >> 4;
  FUZZ_CHECK(version == 4 || version == 6);
  if (version == 4) {
    FUZZ_CHECK(load16(p + 2) == m->pkt_len);
    if (v.cfg.mode == dp::Mode::kTransport) {
      // Transport mode rebuilt this header, checksum included.
      FUZZ_CHECK(ipv4_checksum_ok(p, (p[0] & 0x0f) * 4u));
    }
  } else {
    FUZZ_CHECK(m->pkt_len >= 40 && 40u + load16(p + 4) == m->pkt_len);
  }
}

// seal_plain builds a packet whose ESP payload decrypts to `plain`
// (trimmed or zero-filled to whole cipher blocks), sealed for variant v
// with sequence number seq by the engine's crypto directly: the ESP layout
// of RFC 4303 section 2, the AEAD nonce and AAD of RFC 4106 section 4 and 5,
// and for CBC with ESN the high sequence bits after the payload (section
// 2.2.1).
std::vector<uint8_t> seal_plain(const Variant& v, bool outer_v6, uint32_t seq, const uint8_t* plain,
                                size_t n) {
  using namespace dp::esp;
  const crypto::Suite suite = v.cfg.suite;
  const size_t block = suite.block_len();
  const size_t cipher_len = std::max(block, n - n % block);
  const size_t ip_len = outer_v6 ? 40 : 20;
  const size_t esp_off = ip_len + (v.cfg.udp_encap ? kUdpHdrLen : 0);
  const size_t iv_off = esp_off + kEspHdrLen;
  const size_t ct_off = iv_off + suite.iv_len();
  const size_t total = ct_off + cipher_len + suite.icv_len();
  std::vector<uint8_t> p(total, 0);
  std::memcpy(&p[ct_off], plain, std::min(n, cipher_len));
  if (outer_v6) {
    p[0] = 0x60;
    store16(&p[4], static_cast<uint16_t>(total - ip_len));
    p[6] = v.cfg.udp_encap ? kProtoUdp : kProtoEsp;
    p[7] = 64;
  } else {
    p[0] = 0x45;
    store16(&p[2], static_cast<uint16_t>(total));
    p[8] = 64;
    p[9] = v.cfg.udp_encap ? kProtoUdp : kProtoEsp;
  }
  if (v.cfg.udp_encap) {
    store16(&p[ip_len], 4500);
    store16(&p[ip_len + 2], 4500);
    store16(&p[ip_len + 4], static_cast<uint16_t>(total - ip_len));
  }
  store32(&p[esp_off], v.cfg.spi);
  store32(&p[esp_off + 4], seq);
  crypto::CryptoOp op{};
  op.ks = v.in->ks;
  op.data = p.data();
  op.cipher_offset = static_cast<uint32_t>(ct_off);
  op.cipher_len = static_cast<uint32_t>(cipher_len);
  op.tag_len = suite.icv_len();
  if (suite.is_aead()) {
    store64(&p[iv_off], seq);
    aead_nonce(op, v.in->ks->salt(), &p[iv_off]);
    aead_aad(op, v.in->spi_be, seq, v.cfg.esn);
  } else {
    for (size_t i = 0; i < 16; i++) p[iv_off + i] = static_cast<uint8_t>(seq + i);
    std::memcpy(op.iv, &p[iv_off], 16);
    op.auth_offset = static_cast<uint32_t>(esp_off);
    op.auth_len = static_cast<uint32_t>(kEspHdrLen + 16 + cipher_len);
    if (v.cfg.esn) op.auth_len += 4;  // high bits 0, already in the ICV's place
  }
  FUZZ_CHECK(state().engine->seal_burst({&op, 1}) == 1);
  std::memcpy(&p[ct_off + cipher_len], op.tag, suite.icv_len());
  return p;
}

// round_trip encrypts an accepted packet again with the variant's outbound
// SA and decrypts it with its inbound SA: it must come back unchanged.
void round_trip(const rte_mbuf* accepted, Variant& v, bool outer_v6) {
  dp::EspWorker& w = *state().worker;
  const std::vector<uint8_t> want = bytes_of(accepted);
  const bool v6 = v.cfg.mode == dp::Mode::kTunnel ? outer_v6 : (want[0] >> 4) == 6;
  dp::SaOutbound* out = v.out[v6 ? 1 : 0].get();
  out->next_seq.store(1);
  reset(v);
  Mbuf m = make_mbuf(want.data(), want.size(), 128, 64);
  rte_mbuf* mp = m.get();
  if (dp::esp_outbound_burst(w, {&mp, 1}, {&out, 1}) != 1) {
    // IPv6 extension headers in transport mode are not handled yet.
    FUZZ_CHECK(w.reasons().size() == 1 && w.reasons()[0] == DropReason::kUnsupported);
    return;
  }
  dp::SaInbound* in = v.in.get();
  const size_t good = dp::esp_inbound_burst(w, {&mp, 1}, {&in, 1});
  if (good != 1) {
    std::fprintf(stderr, "round trip dropped: %s\n",
                 std::string(dp::drop_reason_name(w.reasons()[0])).c_str());
  }
  FUZZ_CHECK(good == 1);
  FUZZ_CHECK(bytes_of(mp) == want);
}

// Burst is one burst's packets, as this target built them.
struct Burst {
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<Variant*> vars;  // null: no SA
  uint16_t headroom = 0, tailroom = 0;
};

// Ran is what one esp_inbound_burst call did: the mbufs in output order, each
// with the index of its input packet, and how many were good.
struct Ran {
  std::vector<Mbuf> owned;
  std::vector<rte_mbuf*> pkts;
  std::vector<size_t> index;
  size_t good = 0;
};

// esp_seq_lo reads the sequence number field of a packet that the engine
// accepted as ESP.
uint32_t esp_seq_lo(const std::vector<uint8_t>& p) {
  size_t off = (p[0] >> 4) == 6 ? 40 : (p[0] & 0x0f) * 4u;
  if (p[(p[0] >> 4) == 6 ? 6 : 9] == dp::esp::kProtoUdp) off += dp::esp::kUdpHdrLen;
  return static_cast<uint32_t>(p[off + 4] << 24 | p[off + 5] << 16 | p[off + 6] << 8 | p[off + 7]);
}

// Accepted remembers, per SA with anti-replay, the sequence numbers it
// accepted during one input: none may be accepted twice (RFC 4303 section
// 3.4.3).
using Accepted = std::vector<std::pair<const Variant*, uint32_t>>;

// run_burst runs b through esp_inbound_burst and checks the burst contract
// of esp_worker.h: the same mbufs, good ones first, both halves in input
// order, one reason per drop, counted.
void run_burst(const Burst& b, Ran* ran, Accepted* accepted) {
  dp::EspWorker& w = *state().worker;
  std::vector<dp::SaInbound*> sas;
  std::vector<bool> has_spi;
  std::vector<uint32_t> spis;
  for (size_t k = 0; k < b.bytes.size(); k++) {
    ran->owned.push_back(make_mbuf(b.bytes[k].data(), b.bytes[k].size(), b.headroom, b.tailroom));
    ran->pkts.push_back(ran->owned.back().get());
    sas.push_back(b.vars[k] != nullptr ? b.vars[k]->in.get() : nullptr);
    uint32_t spi = 0;
    has_spi.push_back(dp::esp_inbound_spi(ran->pkts.back(), &spi));
    spis.push_back(spi);
  }
  const std::vector<rte_mbuf*> orig = ran->pkts;
  const size_t n = orig.size();
  const uint64_t drops_before = w.drops().total();
  const size_t good = dp::esp_inbound_burst(w, ran->pkts, sas);
  ran->good = good;

  FUZZ_CHECK(good <= n);
  FUZZ_CHECK(w.reasons().size() == n - good);
  FUZZ_CHECK(w.drops().total() == drops_before + (n - good));
  for (DropReason reason : w.reasons()) {
    FUZZ_CHECK(reason != DropReason::kNone && reason < DropReason::kCount);
  }
  std::vector<bool> used(n, false);
  size_t last = 0;
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (j < n && (orig[j] != ran->pkts[i] || used[j])) j++;
    FUZZ_CHECK(j < n);
    used[j] = true;
    FUZZ_CHECK(i == 0 || i == good || j > last);
    last = j;
    ran->index.push_back(j);
  }
  for (size_t i = 0; i < good; i++) {
    const size_t j = ran->index[i];
    FUZZ_CHECK(b.vars[j] != nullptr);
    // Only ESP carrying this SA's SPI gets through.
    FUZZ_CHECK(has_spi[j] && spis[j] == b.vars[j]->cfg.spi);
    check_accepted(ran->pkts[i], *b.vars[j]);
    if (b.vars[j]->cfg.anti_replay) {
      const std::pair<const Variant*, uint32_t> key{b.vars[j], esp_seq_lo(b.bytes[j])};
      FUZZ_CHECK(std::find(accepted->begin(), accepted->end(), key) == accepted->end());
      accepted->push_back(key);
    }
  }
}

void run(const uint8_t* data, size_t size) {
  Reader r{data, size};
  const size_t vi = r.u8() % kNumVariants;
  const uint8_t ctl = r.u8();
  const size_t n = 1 + (ctl & 7);
  const bool outer_v6 = (ctl & 0x20) != 0;
  const bool seal_mode = (ctl & 0x40) != 0;
  const bool twice = (ctl & 0x80) != 0;
  Burst b;
  b.headroom = (ctl & 0x08) ? 0 : 128;
  b.tailroom = (ctl & 0x10) ? 0 : 64;

  Variant& main = variant(vi);
  reset(main);
  for (size_t k = 0; k < n; k++) {
    if (k > 0 && r.n == 0) break;
    const uint8_t choice = r.u8();
    Variant* v = &main;
    if (choice >= 0xf8) {
      v = nullptr;
    } else if (choice >= 0xf0) {
      v = &variant((vi + 1 + (choice & 7)) % kNumVariants);
      reset(*v);
    }
    const size_t len = std::min({size_t{r.u16()}, r.n, kMaxPacketLen});
    if (seal_mode) {
      // Sealed under the chosen SA, or the variant's when there is none.
      const uint32_t seq = len == 0 ? 1 : r.p[0] + 1u;
      const size_t skip = std::min<size_t>(len, 1);
      b.bytes.push_back(
          seal_plain(v != nullptr ? *v : main, outer_v6, seq, r.p + skip, len - skip));
    } else {
      b.bytes.emplace_back(r.p, r.p + len);
    }
    b.vars.push_back(v);
    r.p += len;
    r.n -= len;
  }

  Accepted accepted;
  Ran first;
  run_burst(b, &first, &accepted);
  if (twice) {
    // Against the windows the first burst moved: replays and old packets.
    Ran second;
    run_burst(b, &second, &accepted);
  }
  for (size_t i = 0; i < first.good; i++) {
    round_trip(first.pkts[i], *b.vars[first.index[i]], outer_v6);
  }
}

// --- Seed corpus ---------------------------------------------------------

// Packet builds an inner packet: IPv4 or IPv6, UDP, `len` payload bytes.
std::vector<uint8_t> inner_packet(bool v6, size_t len, uint8_t seed) {
  const size_t ip = v6 ? 40 : 20;
  std::vector<uint8_t> p(ip + 8 + len);
  for (size_t i = 0; i < len; i++) p[ip + 8 + i] = static_cast<uint8_t>(seed + i);
  p[ip] = 0x30, p[ip + 1] = 0x39, p[ip + 2] = 0x13, p[ip + 3] = 0x89;
  p[ip + 4] = static_cast<uint8_t>((8 + len) >> 8), p[ip + 5] = static_cast<uint8_t>(8 + len);
  if (v6) {
    p[0] = 0x60;
    p[4] = static_cast<uint8_t>((8 + len) >> 8), p[5] = static_cast<uint8_t>(8 + len);
    p[6] = 17, p[7] = 64;
    p[8] = 0xfd, p[23] = 1, p[24] = 0xfd, p[39] = 2;
  } else {
    p[0] = 0x45;
    p[2] = static_cast<uint8_t>(p.size() >> 8), p[3] = static_cast<uint8_t>(p.size());
    p[8] = 64, p[9] = 17;
    p[12] = 10, p[15] = 1, p[16] = 10, p[19] = 2;
    uint32_t sum = 0;
    for (size_t i = 0; i < 20; i += 2) sum += load16(&p[i]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    p[10] = static_cast<uint8_t>(~sum >> 8), p[11] = static_cast<uint8_t>(~sum);
  }
  return p;
}

// esp_plain appends RFC 4303 section 2.4 padding, pad length and next
// header to a payload.
std::vector<uint8_t> esp_plain(std::vector<uint8_t> p, size_t block, uint8_t next) {
  const size_t pad = (block - (p.size() + 2) % block) % block;
  for (size_t i = 0; i < pad; i++) p.push_back(static_cast<uint8_t>(i + 1));
  p.push_back(static_cast<uint8_t>(pad));
  p.push_back(next);
  return p;
}

// seal returns the ESP packet for `pt` from variant v's outbound SA.
std::vector<uint8_t> seal(size_t v, bool v6, const std::vector<uint8_t>& pt) {
  Variant& var = variant(v);
  Mbuf m = make_mbuf(pt.data(), pt.size(), 128, 128);
  rte_mbuf* mp = m.get();
  dp::SaOutbound* out = var.out[v6 ? 1 : 0].get();
  FUZZ_CHECK(dp::esp_outbound_burst(*state().worker, {&mp, 1}, {&out, 1}) == 1);
  return bytes_of(mp);
}

void put_packet(std::vector<uint8_t>& in, uint8_t choice, const std::vector<uint8_t>& p) {
  in.push_back(choice);
  in.push_back(static_cast<uint8_t>(p.size() >> 8));
  in.push_back(static_cast<uint8_t>(p.size()));
  in.insert(in.end(), p.begin(), p.end());
}

void write_file(const std::string& dir, const std::string& name, const std::vector<uint8_t>& b) {
  const std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_CHECK(f != nullptr);
  FUZZ_CHECK(std::fwrite(b.data(), 1, b.size(), f) == b.size());
  std::fclose(f);
}

void write_corpus(const std::string& dir) {
  int files = 0;
  // One packet for every suite, mode, UDP and ESN setting (window 1024),
  // alternating address families.
  for (size_t v = 0; v < kNumVariants / kNumWindows; v++) {
    const size_t vi = v + kNumVariants / kNumWindows;  // window index 1
    const bool v6 = v % 3 == 1;
    const bool transport = variant(vi).cfg.mode == dp::Mode::kTransport;
    // A transport SA carries packets of its own family; a tunnel may mix.
    const bool inner_v6 = transport ? v6 : v % 2 == 1;
    std::vector<uint8_t> in = {static_cast<uint8_t>(vi), static_cast<uint8_t>(v6 ? 0x20 : 0)};
    put_packet(in, 0, seal(vi, v6, inner_packet(inner_v6, 16 + v, static_cast<uint8_t>(v))));
    write_file(dir, "single-" + std::to_string(vi), in);
    files++;
  }
  // Bursts: three in order, a duplicate, another SA's packet, no SA, and
  // for the variant with a 2-packet hard limit, one too many.
  for (size_t vi :
       {size_t{0}, size_t{13}, size_t{46}, size_t{3 * kNumVariants / kNumWindows + 4}}) {
    std::vector<uint8_t> in = {static_cast<uint8_t>(vi), 6};
    const bool transport = variant(vi).cfg.mode == dp::Mode::kTransport;
    std::vector<std::vector<uint8_t>> ps;
    for (uint8_t i = 0; i < 3; i++) ps.push_back(seal(vi, false, inner_packet(false, 40 * i, i)));
    put_packet(in, 0, ps[0]);
    put_packet(in, 0, ps[1]);
    put_packet(in, 0, ps[1]);
    put_packet(in, 0xf0, seal((vi + 1) % kNumVariants, false, inner_packet(false, 8, 9)));
    put_packet(in, 0xff, ps[2]);
    put_packet(in, 0, ps[2]);
    if (transport) {
      put_packet(in, 0, ps[0]);  // a replay
    } else {
      // Under an IPv6 outer header: the other outbound SA, whose sequence
      // numbers must not repeat those above.
      variant(vi).out[1]->next_seq.store(10);
      put_packet(in, 0, seal(vi, true, inner_packet(true, 5, 7)));
    }
    write_file(dir, "burst-" + std::to_string(vi), in);
    files++;
  }
  // Seal mode: plaintexts the engine never sends, in every variant's block
  // size and mode: good, bad padding, dummy, wrong next header, an inner
  // packet longer than the payload; once more in two bursts.
  for (size_t vi : {size_t{0}, size_t{3}, size_t{5}, size_t{8}, size_t{kNumVariants - 1}}) {
    const size_t block = variant(vi).cfg.suite.block_len();
    std::vector<std::vector<uint8_t>> plains;
    plains.push_back(esp_plain(inner_packet(false, 21, 1), block, 4));
    plains.push_back(plains.back());
    plains.back()[49] ^= 1;  // the first padding byte
    plains.push_back(esp_plain(std::vector<uint8_t>(20, 0x5a), block, 59));
    plains.push_back(esp_plain(inner_packet(false, 21, 2), block, 6));
    std::vector<uint8_t> longer = inner_packet(false, 21, 3);
    longer[3]++;
    plains.push_back(esp_plain(longer, block, 4));
    plains.push_back(esp_plain(inner_packet(true, 3, 4), block, 41));
    for (uint8_t ctl : {uint8_t{0x45}, uint8_t{0xc5}}) {
      std::vector<uint8_t> in = {static_cast<uint8_t>(vi), ctl};
      for (size_t i = 0; i < plains.size(); i++) {
        std::vector<uint8_t> body = {static_cast<uint8_t>(i)};  // sequence number i + 1
        body.insert(body.end(), plains[i].begin(), plains[i].end());
        put_packet(in, 0, body);
      }
      write_file(dir, "seal-" + std::to_string(vi) + (ctl & 0x80 ? "-twice" : ""), in);
      files++;
    }
  }
  std::fprintf(stderr, "fuzz_esp_inbound: wrote %d seed inputs to %s\n", files, dir.c_str());
}

}  // namespace
}  // namespace portcullis::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("PORTCULLIS_FUZZ_WRITE_CORPUS")) {
    portcullis::fuzz::write_corpus(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  portcullis::fuzz::run(data, size);
  return 0;
}
