// esp_malformed_test.cc: the ESP engine against malformed, forged, replayed
// and random input. Every case must be dropped, counted once under the one
// reason that names what is wrong with it, and must never crash.
#include "esp_test_fixture.h"

namespace portcullis::esptest {
namespace {

using EspMalformed = EspBase;

// --- Outer headers ---------------------------------------------------------

TEST_F(EspMalformed, TruncatedOuterHeadersAreMalformed) {
  auto p = pair(gcm_tunnel());
  const Bytes good = seal(p, inner(1));
  EXPECT_TRUE(dropped_as(Bytes{}, p.in.get(), DropReason::kMalformed));
  for (size_t len : {1, 2, 10, 19}) {
    SCOPED_TRACE(len);
    EXPECT_TRUE(
        dropped_as(Bytes(good.begin(), good.begin() + len), p.in.get(), DropReason::kMalformed));
  }
  auto p6 = pair(with(gcm_tunnel(), "aes128gcm16", false, true));
  const Bytes good6 = seal(p6, inner(1));
  for (size_t len : {1, 20, 39}) {
    SCOPED_TRACE(len);
    EXPECT_TRUE(
        dropped_as(Bytes(good6.begin(), good6.begin() + len), p6.in.get(), DropReason::kMalformed));
  }
  // Neither IPv4 nor IPv6.
  for (uint8_t version : {0, 5, 15}) {
    Bytes b = good;
    b[0] = static_cast<uint8_t>(version << 4 | 5);
    EXPECT_TRUE(dropped_as(b, p.in.get(), DropReason::kMalformed)) << int{version};
  }
}

TEST_F(EspMalformed, IpLengthPastTheBufferIsMalformed) {
  // Overruns of whole cipher blocks too, which a block-size check alone
  // would let through to the ICV.
  auto p = pair(gcm_tunnel());
  auto p6 = pair(with(gcm_tunnel(), "aes128gcm16", false, true));
  const Bytes good = seal(p, inner(1)), good6 = seal(p6, inner(1));
  for (size_t over : {1, 4, 16, 100}) {
    Bytes b = good;
    put16(b, 2, static_cast<uint16_t>(b.size() + over));
    EXPECT_TRUE(dropped_as(b, p.in.get(), DropReason::kMalformed)) << over;
    Bytes b6 = good6;
    put16(b6, 4, static_cast<uint16_t>(b6.size() - 40 + over));
    EXPECT_TRUE(dropped_as(b6, p6.in.get(), DropReason::kMalformed)) << over;
  }
  Bytes b = good;
  put16(b, 2, 19);  // shorter than its own header
  EXPECT_TRUE(dropped_as(b, p.in.get(), DropReason::kMalformed));
}

TEST_F(EspMalformed, LinkLayerPaddingAfterThePacketIsIgnored) {
  // The counterpart of the length check: bytes past the IP length are
  // Ethernet padding, trimmed before anything else looks at the packet.
  auto p = pair(gcm_tunnel());
  const Bytes pt = inner(1);
  Bytes b = seal(p, pt);
  b.insert(b.end(), 14, 0xee);
  EXPECT_TRUE(accepted(b, p.in.get(), pt));
}

TEST_F(EspMalformed, IhlBelowFiveOrPastTheLengthIsMalformed) {
  auto p = pair(gcm_tunnel());
  const Bytes good = seal(p, inner(1));
  for (uint8_t ihl = 0; ihl < 5; ihl++) {
    Bytes b = good;
    b[0] = static_cast<uint8_t>(0x40 | ihl);
    EXPECT_TRUE(dropped_as(b, p.in.get(), DropReason::kMalformed)) << int{ihl};
  }
  Bytes b = Bytes(good.begin(), good.begin() + 40);
  b[0] = 0x4f;  // 60-byte header in a 40-byte packet
  fix_lengths(b, {});
  EXPECT_TRUE(dropped_as(b, p.in.get(), DropReason::kMalformed));
}

TEST_F(EspMalformed, OuterFragmentsAreDroppedAsFragments) {
  auto p = pair(gcm_tunnel());
  const Bytes pt = inner(1);
  Bytes mf = seal(p, pt);
  mf[6] = 0x20;  // more fragments
  EXPECT_TRUE(dropped_as(mf, p.in.get(), DropReason::kFragment));
  Bytes off = seal(p, pt);
  off[7] = 0x01;  // fragment offset 8
  EXPECT_TRUE(dropped_as(off, p.in.get(), DropReason::kFragment));
  Bytes last = seal(p, pt);
  last[6] = 0x1f;  // last fragment, large offset
  last[7] = 0xff;
  EXPECT_TRUE(dropped_as(last, p.in.get(), DropReason::kFragment));
  // DF alone is not a fragment.
  Bytes df = seal(p, pt);
  df[6] = 0x40;
  EXPECT_TRUE(accepted(df, p.in.get(), pt));
}

TEST_F(EspMalformed, ProtocolOtherThanEspOrUdpIsMalformed) {
  auto p = pair(gcm_tunnel());
  const Bytes good = seal(p, inner(1));
  for (uint8_t proto : {0, 1, 6, 51, 4, 41}) {
    Bytes b = good;
    b[9] = proto;
    EXPECT_TRUE(dropped_as(b, p.in.get(), DropReason::kMalformed)) << int{proto};
  }
  auto p6 = pair(with(gcm_tunnel(), "aes128gcm16", false, true));
  const Bytes good6 = seal(p6, inner(1));
  for (uint8_t next : {0, 43, 44, 60, 6}) {  // extension headers are not walked
    Bytes b = good6;
    b[6] = next;
    EXPECT_TRUE(dropped_as(b, p6.in.get(), DropReason::kMalformed)) << int{next};
  }
}

TEST_F(EspMalformed, UdpWithZeroNonEspMarkerIsMalformed) {
  // RFC 3948 section 2.2: four zero bytes after the UDP header mark IKE.
  auto p = pair(with(gcm_tunnel(), "aes128gcm16", true));
  Bytes b = seal(p, inner(1));
  const Outer o{false, true};
  ASSERT_EQ(get16(b, o.ip_len() + 2), 4500);
  std::fill_n(b.begin() + static_cast<long>(o.esp_off()), 4, 0);
  EXPECT_TRUE(dropped_as(b, p.in.get(), DropReason::kMalformed));
  uint32_t spi = 0;
  rte_mbuf* m = arena_.alloc(b);
  EXPECT_TRUE(dp::esp_inbound_spi(arena_.alloc(seal(p, inner(2))), &spi));
  EXPECT_EQ(spi, p.cfg.spi);
  EXPECT_FALSE(dp::esp_inbound_spi(m, &spi)) << "an IKE packet has no SPI";
}

TEST_F(EspMalformed, InconsistentUdpLengthIsMalformed) {
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "IPv6" : "IPv4");
    auto p = pair(with(gcm_tunnel(), "aes128gcm16", true, v6));
    const Outer o{v6, true};
    const Bytes good = seal(p, inner(1));
    const uint16_t udp_len = get16(good, o.ip_len() + 4);
    ASSERT_EQ(udp_len, good.size() - o.ip_len());
    for (int delta : {-1, 1, -8, 100}) {
      Bytes b = good;
      put16(b, o.ip_len() + 4, static_cast<uint16_t>(udp_len + delta));
      EXPECT_TRUE(dropped_as(b, p.in.get(), DropReason::kMalformed)) << delta;
    }
    for (uint16_t len : {0, 7}) {
      Bytes b = good;
      put16(b, o.ip_len() + 4, len);
      EXPECT_TRUE(dropped_as(b, p.in.get(), DropReason::kMalformed)) << len;
    }
    // UDP too short to hold the non-ESP marker.
    Bytes tiny(good.begin(), good.begin() + static_cast<long>(o.esp_off() + 3));
    fix_lengths(tiny, o);
    EXPECT_TRUE(dropped_as(tiny, p.in.get(), DropReason::kMalformed));
  }
}

// --- ESP lengths ---------------------------------------------------------

TEST_F(EspMalformed, EspShorterThanHeaderIvIcvIsMalformed) {
  for (const char* suite : {"aes128gcm16", "aes256cbc-sha512"}) {
    SCOPED_TRACE(suite);
    auto p = pair(with(gcm_tunnel(), suite));
    const Bytes good = seal(p, inner(1));
    const size_t overhead = 8 + p.cfg.suite.iv_len() + p.cfg.suite.icv_len();
    // Everything up to header + IV + ICV + 1: no room for pad length and
    // next header, and exactly overhead is a zero-length ciphertext. The SPI
    // is intact, so a length check that came after the SA match would say
    // something else.
    for (size_t esp_len = 0; esp_len <= overhead + 1; esp_len++) {
      Bytes b(good.begin(), good.begin() + static_cast<long>(20 + esp_len));
      fix_lengths(b, {});
      ASSERT_TRUE(dropped_as(b, p.in.get(), DropReason::kMalformed)) << esp_len;
    }
    EXPECT_EQ(p.in->replay.top(), 0u);
  }
}

TEST_F(EspMalformed, CiphertextNotAWholeNumberOfBlocksIsMalformed) {
  // AEADs pad to 4 bytes, CBC to 16 (RFC 4303 section 2.4). Growing the
  // packet by a whole block of the suite passes the length check and fails
  // the ICV instead, which shows the check uses the suite's own block.
  struct Case {
    const char* suite;
    std::vector<int> malformed;
    int block;
  };
  for (const Case& c :
       {Case{"aes128gcm16", {-3, -2, -1, 1, 2, 3}, 4}, Case{"chacha20poly1305", {-1, 5}, 4},
        Case{"aes128cbc-sha256", {-4, -1, 1, 4, 8, 12}, 16}}) {
    SCOPED_TRACE(c.suite);
    auto p = pair(with(gcm_tunnel(), c.suite));
    const Bytes good = seal(p, inner(1));
    for (int delta : c.malformed) {
      Bytes b = good;
      b.resize(static_cast<size_t>(static_cast<long>(b.size()) + delta), 0xab);
      fix_lengths(b, {});
      EXPECT_TRUE(dropped_as(b, p.in.get(), DropReason::kMalformed)) << delta;
    }
    Bytes b = good;
    b.resize(b.size() + static_cast<size_t>(c.block), 0xab);
    fix_lengths(b, {});
    EXPECT_TRUE(dropped_as(b, p.in.get(), DropReason::kIntegrity));
  }
}

// --- SA match, ICV, replay -----------------------------------------------

TEST_F(EspMalformed, UnknownSpiIsNoSa) {
  auto p = pair(gcm_tunnel());
  const Bytes pt = inner(1);
  const Bytes good = seal(p, pt);
  EXPECT_TRUE(dropped_as(good, nullptr, DropReason::kNoSa));
  Bytes other = good;
  other[20 + 3] ^= 0x01;  // SPI 0x1001 given to the SA of 0x1000
  EXPECT_TRUE(dropped_as(other, p.in.get(), DropReason::kNoSa));
  // Neither touched the window: the packet itself is still good.
  EXPECT_EQ(p.in->replay.top(), 0u);
  EXPECT_TRUE(accepted(good, p.in.get(), pt));
}

TEST_F(EspMalformed, BadIcvIsIntegrityAndDoesNotMoveTheWindow) {
  for (const char* suite : {"aes128gcm16", "chacha20poly1305", "aes128cbc-sha256"}) {
    for (bool esn : {false, true}) {
      SCOPED_TRACE(std::string(suite) + (esn ? " esn" : ""));
      SaPairOptions o = with(gcm_tunnel(), suite);
      o.esn = esn;
      auto p = pair(o);
      std::vector<Bytes> pts, esps;
      for (uint32_t i = 0; i < 3; i++) {
        pts.push_back(inner(i));
        esps.push_back(seal(p, pts.back()));
      }
      Bytes icv = esps[0];
      icv.back() ^= 0x80;
      EXPECT_TRUE(dropped_as(icv, p.in.get(), DropReason::kIntegrity));
      Bytes ct = esps[0];
      ct[20 + 8 + p.cfg.suite.iv_len() + 5] ^= 0x01;
      EXPECT_TRUE(dropped_as(ct, p.in.get(), DropReason::kIntegrity));
      // A forged sequence number far ahead: were the window moved before
      // the ICV, the genuine packets 1..3 would then be out of the window.
      Bytes ahead = esps[2];
      put32(ahead.data() + 24, 100000);
      EXPECT_TRUE(dropped_as(ahead, p.in.get(), DropReason::kIntegrity));
      EXPECT_EQ(p.in->replay.top(), 0u);
      for (size_t i = 0; i < 3; i++) EXPECT_TRUE(accepted(esps[i], p.in.get(), pts[i])) << i;
    }
  }
}

TEST_F(EspMalformed, ReplayedAndTooOldPacketsAreDropped) {
  auto p = pair(gcm_tunnel());  // 32-bit sequence numbers, window 64
  std::vector<Bytes> pts, esps;
  for (uint32_t i = 0; i < 100; i++) {
    pts.push_back(inner(i, 8));
    esps.push_back(seal(p, pts.back()));
    ASSERT_EQ(get32(esps.back(), 24), i + 1);
  }
  EXPECT_TRUE(accepted(esps[0], p.in.get(), pts[0]));
  EXPECT_TRUE(dropped_as(esps[0], p.in.get(), DropReason::kReplay));
  EXPECT_TRUE(accepted(esps[99], p.in.get(), pts[99]));  // top = 100
  EXPECT_TRUE(dropped_as(esps[99], p.in.get(), DropReason::kReplay));
  // 100 - 37 = 63 is the oldest the 64-packet window holds; 36 is past it.
  EXPECT_TRUE(accepted(esps[36], p.in.get(), pts[36]));
  EXPECT_TRUE(dropped_as(esps[35], p.in.get(), DropReason::kOutOfWindow));
  EXPECT_TRUE(dropped_as(esps[1], p.in.get(), DropReason::kOutOfWindow));
  EXPECT_TRUE(dropped_as(esps[0], p.in.get(), DropReason::kOutOfWindow));
  EXPECT_EQ(p.in->totals().packets, 3u);
}

TEST_F(EspMalformed, SecondCopyInTheSameBurstIsReplay) {
  // Both copies pass the pre-ICV check; only the window update after the
  // ICV can tell them apart.
  auto p = pair(gcm_tunnel());
  const Bytes pt = inner(1);
  const Bytes esp = seal(p, pt);
  const Bytes esp2 = seal(p, inner(2));
  std::vector<rte_mbuf*> ms = {arena_.alloc(esp), arena_.alloc(esp), arena_.alloc(esp2),
                               arena_.alloc(esp)};
  const std::vector<rte_mbuf*> orig = ms;
  std::vector<dp::SaInbound*> sas(ms.size(), p.in.get());
  ASSERT_EQ(dp::esp_inbound_burst(*worker_, ms, sas), 2u);
  EXPECT_EQ(ms[0], orig[0]);
  EXPECT_EQ(ms[1], orig[2]);
  EXPECT_EQ(ms[2], orig[1]);
  EXPECT_EQ(ms[3], orig[3]);
  ASSERT_EQ(worker_->reasons().size(), 2u);
  EXPECT_EQ(worker_->reasons()[0], DropReason::kReplay);
  EXPECT_EQ(worker_->reasons()[1], DropReason::kReplay);
  EXPECT_EQ(worker_->drops()[DropReason::kReplay], 2u);
  EXPECT_EQ(test::MbufArena::bytes(ms[0]), pt);
}

TEST_F(EspMalformed, ChainedMbufIsUnsupported) {
  auto p = pair(gcm_tunnel());
  const Bytes esp = seal(p, inner(1));
  // The packet split over two segments, as a NIC with scatter RX makes it.
  const size_t head = 60;
  rte_mbuf* m = arena_.alloc(Bytes(esp.begin(), esp.begin() + head));
  rte_mbuf* tail = arena_.alloc(Bytes(esp.begin() + head, esp.end()));
  m->next = tail;
  m->nb_segs = 2;
  m->pkt_len = static_cast<uint32_t>(esp.size());
  EXPECT_TRUE(dropped_as(m, p.in.get(), DropReason::kUnsupported));
  uint32_t spi = 0;
  EXPECT_FALSE(dp::esp_inbound_spi(m, &spi));

  auto out = pair(gcm_tunnel());
  rte_mbuf* o = arena_.alloc(Bytes(esp.begin(), esp.begin() + head));
  o->next = arena_.alloc(Bytes(esp.begin() + head, esp.end()));
  o->nb_segs = 2;
  o->pkt_len = static_cast<uint32_t>(esp.size());
  EXPECT_TRUE(out_dropped_as(o, out.out.get(), DropReason::kUnsupported));
}

// --- Random input and mixed bursts ---------------------------------------

TEST_F(EspMalformed, RandomBytesAreAlwaysDroppedAndNeverCrash) {
  std::mt19937 rng(4303);
  auto gcm = pair(gcm_tunnel());
  SaPairOptions co = with(gcm_tunnel(), "aes256cbc-sha384");
  co.esn = true;
  co.spi = 0x2000;
  auto cbc = pair(co);
  auto udp = pair(with(gcm_tunnel(), "chacha20poly1305", true, true));
  const test::SaPair* pairs[] = {&gcm, &cbc, &udp};
  for (int round = 0; round < 300; round++) {
    const size_t n = 1 + rng() % 40;
    std::vector<rte_mbuf*> ms;
    std::vector<dp::SaInbound*> sas;
    for (size_t i = 0; i < n; i++) {
      const test::SaPair* p = pairs[rng() % 3];
      Bytes b(rng() % 2001);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
      // Some are wholly random; the rest get plausible outer headers and
      // the SA's SPI, some with a length that passes the block check, so
      // that they go as far as the ICV.
      const unsigned shape = rng() % 4;
      if (shape != 0) {
        const Outer o{shape == 2, shape == 3};
        size_t esp_len = 8 + 16 + 32 + rng() % 1500;
        if (rng() % 2)
          esp_len -= (esp_len - 8 - p->cfg.suite.iv_len() - p->cfg.suite.icv_len()) % 16;
        Bytes esp(esp_len);
        for (auto& x : esp) x = static_cast<uint8_t>(rng());
        put32(esp.data(), p->cfg.spi);
        b = wrap(o, esp);
      }
      ms.push_back(arena_.alloc(b));
      sas.push_back(rng() % 16 == 0 ? nullptr : p->in.get());
    }
    std::vector<rte_mbuf*> orig = ms;
    const uint64_t before = worker_->drops().total();
    ASSERT_EQ(dp::esp_inbound_burst(*worker_, ms, sas), 0u);
    ASSERT_EQ(worker_->reasons().size(), n);
    for (DropReason r : worker_->reasons()) {
      ASSERT_NE(r, DropReason::kNone);
      ASSERT_LT(r, DropReason::kCount);
    }
    ASSERT_EQ(worker_->drops().total(), before + n);
    EXPECT_EQ(ms, orig) << "all dropped: the order must not change";
  }
  // The plausible packets went as far as the ICV.
  EXPECT_GT(worker_->drops()[DropReason::kIntegrity], 100u);
  EXPECT_GT(worker_->drops()[DropReason::kMalformed], 100u);
  EXPECT_GT(worker_->drops()[DropReason::kNoSa], 0u);
}

TEST_F(EspMalformed, MixedBurstKeepsGoodPacketsFirstInOrder) {
  auto a = pair(gcm_tunnel());
  SaPairOptions bo = with(gcm_tunnel(), "aes256cbc-sha256");
  bo.spi = 0x3000;
  auto b = pair(bo);
  std::vector<Bytes> pts;
  for (uint32_t i = 0; i < 5; i++) pts.push_back(inner(100 + i, 20 + i));
  const Bytes a1 = seal(a, pts[0]), a2 = seal(a, pts[1]), b1 = seal(b, pts[2]);
  const Bytes b2 = seal(b, pts[3]), a3 = seal(a, pts[4]);
  Bytes forged = a2;
  forged[forged.size() - 1] ^= 1;
  Bytes frag = b2;
  frag[6] = 0x20;

  struct In {
    Bytes bytes;
    dp::SaInbound* sa;
    DropReason want;
  };
  // Good packets interleaved with every kind of failure, and the SA
  // changing from packet to packet.
  const std::vector<In> ins = {
      {forged, a.in.get(), DropReason::kIntegrity},
      {a1, a.in.get(), DropReason::kNone},
      {b1, nullptr, DropReason::kNoSa},
      {a2, a.in.get(), DropReason::kNone},
      {b1, b.in.get(), DropReason::kNone},
      {Bytes(7, 0x45), b.in.get(), DropReason::kMalformed},
      {a1, a.in.get(), DropReason::kReplay},
      {frag, b.in.get(), DropReason::kFragment},
      {b2, a.in.get(), DropReason::kNoSa},
      {a3, a.in.get(), DropReason::kNone},
      {b2, b.in.get(), DropReason::kNone},
  };
  std::vector<rte_mbuf*> ms;
  std::vector<dp::SaInbound*> sas;
  for (const In& in : ins) {
    ms.push_back(arena_.alloc(in.bytes));
    sas.push_back(in.sa);
  }
  const std::vector<rte_mbuf*> orig = ms;
  ASSERT_EQ(dp::esp_inbound_burst(*worker_, ms, sas), 5u);
  std::vector<rte_mbuf*> want_order;
  std::vector<DropReason> want_reasons;
  for (size_t i = 0; i < ins.size(); i++) {
    if (ins[i].want == DropReason::kNone) want_order.push_back(orig[i]);
  }
  for (size_t i = 0; i < ins.size(); i++) {
    if (ins[i].want != DropReason::kNone) {
      want_order.push_back(orig[i]);
      want_reasons.push_back(ins[i].want);
    }
  }
  EXPECT_EQ(ms, want_order);
  EXPECT_EQ(std::vector<DropReason>(worker_->reasons().begin(), worker_->reasons().end()),
            want_reasons);
  const Bytes want_pts[] = {pts[0], pts[1], pts[2], pts[4], pts[3]};
  for (size_t i = 0; i < 5; i++) EXPECT_EQ(test::MbufArena::bytes(ms[i]), want_pts[i]) << i;
  EXPECT_EQ(a.in->totals().packets, 3u);
  EXPECT_EQ(b.in->totals().packets, 2u);
  EXPECT_EQ(worker_->drops().total(), 6u);
  EXPECT_EQ(worker_->drops()[DropReason::kNoSa], 2u);
}

// --- Outbound --------------------------------------------------------------

TEST_F(EspMalformed, OutboundWithoutHeadroomOrTailroomIsNoRoom) {
  auto p = pair(gcm_tunnel());
  const Bytes pt = inner(1, 31);
  const auto size = static_cast<uint16_t>(pt.size());
  const uint16_t head = 20 + 8 + 8;  // outer IPv4, ESP header, IV
  const uint16_t pad = (4 - (size + 2) % 4) % 4;
  ASSERT_EQ(pad, 3);
  const uint16_t tail = pad + 2 + 16;  // padding, pad length and next header, ICV
  EXPECT_TRUE(out_dropped_as(arena_.alloc(pt, 0), p.out.get(), DropReason::kNoRoom));
  EXPECT_TRUE(out_dropped_as(arena_.alloc(pt, head - 1), p.out.get(), DropReason::kNoRoom));
  EXPECT_TRUE(
      out_dropped_as(arena_.alloc(pt, head, head + size), p.out.get(), DropReason::kNoRoom));
  EXPECT_TRUE(out_dropped_as(arena_.alloc(pt, head, head + size + tail - 1), p.out.get(),
                             DropReason::kNoRoom));
  // Exactly enough room on both sides.
  rte_mbuf* m = arena_.alloc(pt, head, head + size + tail);
  dp::SaOutbound* sa = p.out.get();
  ASSERT_EQ(dp::esp_outbound_burst(*worker_, {&m, 1}, {&sa, 1}), 1u);
  EXPECT_EQ(rte_pktmbuf_headroom(m), 0u);
  EXPECT_EQ(rte_pktmbuf_tailroom(m), 0u);
  EXPECT_TRUE(accepted(test::MbufArena::bytes(m), p.in.get(), pt));

  // Transport mode needs room for ESP header and IV only (and UDP).
  SaPairOptions to = gcm_tunnel();
  to.mode = Mode::kTransport;
  to.udp = true;
  auto t = pair(to);
  EXPECT_TRUE(out_dropped_as(arena_.alloc(pt, 8 + 8 + 8 - 1), t.out.get(), DropReason::kNoRoom));
  rte_mbuf* tm = arena_.alloc(pt, 8 + 8 + 8);
  sa = t.out.get();
  EXPECT_EQ(dp::esp_outbound_burst(*worker_, {&tm, 1}, {&sa, 1}), 1u);
}

TEST_F(EspMalformed, OutboundNonIpIsMalformed) {
  auto p = pair(gcm_tunnel());
  Bytes v5 = inner(1);
  v5[0] = 0x55;
  EXPECT_TRUE(out_dropped_as(arena_.alloc(v5), p.out.get(), DropReason::kMalformed));
  EXPECT_TRUE(out_dropped_as(arena_.alloc(Bytes{}), p.out.get(), DropReason::kMalformed));
  const Bytes v4 = inner(1);
  EXPECT_TRUE(out_dropped_as(arena_.alloc(Bytes(v4.begin(), v4.begin() + 19)), p.out.get(),
                             DropReason::kMalformed));
  const Bytes v6 = inner(1, 0, true);
  EXPECT_TRUE(out_dropped_as(arena_.alloc(Bytes(v6.begin(), v6.begin() + 39)), p.out.get(),
                             DropReason::kMalformed));

  SaPairOptions to = gcm_tunnel();
  to.mode = Mode::kTransport;
  auto t = pair(to);
  Bytes ihl = inner(1);
  ihl[0] = 0x44;
  EXPECT_TRUE(out_dropped_as(arena_.alloc(ihl), t.out.get(), DropReason::kMalformed));
  EXPECT_TRUE(out_dropped_as(arena_.alloc(inner(1, 8, true)), t.out.get(),
                             DropReason::kMalformed));  // IPv6 to an IPv4 transport SA
  Bytes frag = inner(1);
  frag[6] = 0x20;
  EXPECT_TRUE(out_dropped_as(arena_.alloc(frag), t.out.get(), DropReason::kFragment));
}

TEST_F(EspMalformed, OutboundWithoutSaIsNoSa) {
  auto p = pair(gcm_tunnel());
  EXPECT_TRUE(out_dropped_as(arena_.alloc(inner(1)), nullptr, DropReason::kNoSa));
  // A null SA in the middle of a burst fails that packet only.
  std::vector<rte_mbuf*> ms = {arena_.alloc(inner(1)), arena_.alloc(inner(2)),
                               arena_.alloc(inner(3))};
  const auto orig = ms;
  std::vector<dp::SaOutbound*> sas = {p.out.get(), nullptr, p.out.get()};
  ASSERT_EQ(dp::esp_outbound_burst(*worker_, ms, sas), 2u);
  EXPECT_EQ(ms, (std::vector<rte_mbuf*>{orig[0], orig[2], orig[1]}));
  EXPECT_EQ(worker_->reasons()[0], DropReason::kNoSa);
  EXPECT_EQ(p.out->next_seq.load(), 3u);
}

}  // namespace
}  // namespace portcullis::esptest
