// bench_esp.cc: throughput of the ESP engine, set against the IPsec-MB work
// it wraps, measured in the same run.
//
// For each direction (outbound, inbound), AEAD (AES-128-GCM, AES-256-GCM)
// and Ethernet frame size (64, 512, 1420 bytes; the IP packet is the frame
// less its 14-byte Ethernet header), five loops run over the same 64 heap
// mbufs, in bursts of 32:
//   1. restore: put the burst's mbufs back in their starting state (below);
//   2. esp:     restore, then esp_outbound_burst or esp_inbound_burst, in
//               tunnel mode over IPv4 with ESN: the default profile;
//   3. engine:  restore, then crypto::Engine::seal_burst or open_burst over
//               prepared CryptoOps that cover exactly the bytes ESP covers:
//               same buffers, same offsets, same cipher length, 12-byte
//               AAD, 16-byte ICV;
//   4. imb:     restore, then the same work as IPsec-MB jobs through its job
//               API (get_next_job, submit_job, flush_job). This is "raw",
//               the ceiling the ESP path's ratio is taken against;
//   5. direct:  restore, then the same work through IPsec-MB's direct
//               AES-GCM functions (IMB_AES128_GCM_ENC and kin), which skip
//               the job manager: the floor of what the AEAD work costs.
//
// The loops take turns in segments of 16 bursts, the starting loop rotating
// every time, and every burst is timed on its own; the first two bursts of
// a segment, which pay for the previous loop's cache and branch-predictor
// footprint, are not recorded. On a shared machine, what other tenants do
// then falls on all loops alike, within tens of microseconds, and a burst
// that was preempted or interrupted is an outlier that the per-loop median
// of burst times (or minimum, --stat min) leaves out. The restore loop's
// median is subtracted from the others: what is reported is the work alone.
//
// Restoring, and why it is needed:
//   Outbound encrypts the inner packet in place and moves data_off and the
//   lengths. Restore resets data_off, data_len and pkt_len and copies back
//   the inner packet's 20-byte IPv4 header, the only bytes the engine reads
//   (version, TOS, DF). The rest of the inner packet stays as the previous
//   pass left it, ciphertext, which costs the same to encrypt again.
//   Inbound decrypts in place and decapsulates, so restore copies back the
//   whole pristine ESP packet, as a NIC's DMA would have written it. The
//   pristine packets are the SA's own first 64 outbound packets (sequence
//   numbers 1 to 64). They come back every two bursts, so the inbound SA is
//   built with anti-replay off (SaConfig::anti_replay = false). With ESN, a
//   disabled window still infers the high sequence bits from the highest
//   number seen over a 64-packet window, which is why the pool holds 64
//   packets: 1 to 64 always infer to high bits 0 and verify.
//
// Units: cycles are TSC ticks (rdtsc, calibrated against steady_clock).
// Gbps counts the plaintext Ethernet frame: Mpps x frame bytes x 8, without
// preamble, inter-frame gap or FCS; the inner IP packet is frame - 14 bytes.

#include <intel-ipsec-mb.h>
#include <rte_mbuf.h>
#include <sched.h>
#include <x86intrin.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/engine.h"
#include "crypto/suite.h"
#include "dataplane/ipsec/esp_worker.h"
#include "dataplane/ipsec/sa.h"
#include "mbuf_arena.h"
#include "packets.h"
#include "sa_pair.h"

namespace portcullis::perf {
namespace {

constexpr size_t kBurst = 32;
constexpr size_t kPool = 64;          // two bursts; see the ESN note above
constexpr size_t kSegment = 16;       // bursts a loop runs before the next takes over
constexpr size_t kSegmentWarmup = 2;  // of which the first are not recorded
constexpr uint16_t kHeadroom = RTE_PKTMBUF_HEADROOM;
constexpr uint32_t kEthLen = 14;
constexpr uint32_t kInnerHdrLen = 20;       // the bytes outbound restore puts back
constexpr uint32_t kEspStart = 20 + 8 + 8;  // outer IPv4, ESP header, explicit IV
constexpr uint32_t kIcvLen = 16;
constexpr uint32_t kAadLen = 12;  // ESN: SPI, high and low sequence halves
constexpr uint32_t kNonceLen = 12;

enum class Dir { kOut, kIn };

enum Variant { kRestore, kEsp, kEngine, kImb, kDirect, kNumVariants };
constexpr const char* kVariantNames[kNumVariants] = {"restore", "esp", "engine", "imb", "direct"};

struct Alg {
  const char* name;        // as in the JSON output
  const char* suite_name;  // as crypto::parse_suite reads it
  bool aes256;
};
constexpr Alg kAlgs[] = {{"aes128gcm", "aes128gcm16", false}, {"aes256gcm", "aes256gcm16", true}};
constexpr uint32_t kFrames[] = {64, 512, 1420};

// target_ratio is the esp / raw throughput asked for: at 1420-byte frames
// and at 64-byte ones; none is set in between.
double target_ratio(uint32_t frame) {
  if (frame == 1420) return 0.90;
  if (frame == 64) return 0.70;
  return 0;
}

struct Options {
  double seconds = 1.0;
  bool median = true;
  std::string json;
  std::string only_dir, only_alg;
  uint32_t only_frame = 0;
  int only_variant = -1;  // profiling: run restore and this loop only
  int cpu = -1;
};

void usage(FILE* f) {
  std::fprintf(f,
               "usage: bench_esp [options]\n"
               "  --seconds S    time per point, shared by all loops (default 1)\n"
               "  --stat median|min   per-loop statistic over timed bursts (default median)\n"
               "  --json FILE    also write the results as JSON\n"
               "  --dir out|in, --alg aes128gcm|aes256gcm, --frame 64|512|1420\n"
               "                 run only the matching points\n"
               "  --only esp|engine|imb|direct\n"
               "                 run restore and that loop only (for perf record)\n"
               "  --cpu N        pin to CPU N\n"
               "  --help         this text\n");
}

bool parse_options(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; i++) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_esp: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(0);
    } else if (a == "--seconds") {
      o->seconds = std::atof(value());
    } else if (a == "--stat") {
      const std::string_view v = value();
      if (v != "min" && v != "median") {
        std::fprintf(stderr, "bench_esp: --stat takes median or min\n");
        return false;
      }
      o->median = v == "median";
    } else if (a == "--json") {
      o->json = value();
    } else if (a == "--dir") {
      o->only_dir = value();
    } else if (a == "--alg") {
      o->only_alg = value();
    } else if (a == "--frame") {
      o->only_frame = static_cast<uint32_t>(std::atoi(value()));
    } else if (a == "--only") {
      const std::string_view v = value();
      for (int k = kEsp; k < kNumVariants; k++) {
        if (v == kVariantNames[k]) o->only_variant = k;
      }
      if (o->only_variant < 0) {
        std::fprintf(stderr, "bench_esp: --only takes esp, engine, imb or direct\n");
        return false;
      }
    } else if (a == "--cpu") {
      o->cpu = std::atoi(value());
    } else {
      std::fprintf(stderr, "bench_esp: unknown option %s\n", argv[i]);
      return false;
    }
  }
  if (o->seconds <= 0) {
    std::fprintf(stderr, "bench_esp: --seconds must be positive\n");
    return false;
  }
  if (!o->only_dir.empty() && o->only_dir != "out" && o->only_dir != "in") {
    std::fprintf(stderr, "bench_esp: --dir takes out or in\n");
    return false;
  }
  if (!o->only_alg.empty() && std::none_of(std::begin(kAlgs), std::end(kAlgs),
                                           [&](const Alg& a) { return o->only_alg == a.name; })) {
    std::fprintf(stderr, "bench_esp: --alg takes aes128gcm or aes256gcm\n");
    return false;
  }
  if (o->only_frame != 0 &&
      std::find(std::begin(kFrames), std::end(kFrames), o->only_frame) == std::end(kFrames)) {
    std::fprintf(stderr, "bench_esp: --frame takes 64, 512 or 1420\n");
    return false;
  }
  if (!o->json.empty() && o->only_variant >= 0) {
    std::fprintf(stderr, "bench_esp: --json needs every loop; drop --only\n");
    return false;
  }
  return true;
}

// tsc_hz measures the TSC against steady_clock over 200 ms.
double tsc_hz() {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const uint64_t c0 = __rdtsc();
  Clock::time_point t1;
  do {
    t1 = Clock::now();
  } while (t1 - t0 < std::chrono::milliseconds(200));
  const uint64_t c1 = __rdtsc();
  return static_cast<double>(c1 - c0) / std::chrono::duration<double>(t1 - t0).count();
}

// ticks reads the TSC once earlier instructions have completed, so that a
// burst's time does not leak into its neighbour's.
inline uint64_t ticks() {
  _mm_lfence();
  const uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
}

// PointBench holds one measurement point: direction x AEAD x frame size.
class PointBench {
 public:
  PointBench(crypto::Engine& engine, IMB_MGR* imb, Dir dir, const Alg& alg, uint32_t frame)
      : engine_(engine), imb_(imb), dir_(dir), alg_(alg), ip_len_(frame - kEthLen) {
    test::SaPairOptions o;
    o.suite = *crypto::parse_suite(alg.suite_name);
    o.anti_replay = false;  // inbound replays its 64 pristine packets
    pair_ = test::make_sa_pair(engine, o);
    worker_ = std::make_unique<dp::EspWorker>(engine);
    gcm_key_ = std::make_unique<gcm_key_data>();
    const uint8_t* key = pair_.cfg.cipher_key.span().data();
    if (alg.aes256) {
      IMB_AES256_GCM_PRE(imb_, key, gcm_key_.get());
    } else {
      IMB_AES128_GCM_PRE(imb_, key, gcm_key_.get());
    }
    // RFC 4303 section 2.4: the payload, pad length and next header end on
    // a 4-byte boundary for these AEADs.
    const uint32_t pad = (0u - (ip_len_ + 2)) & 3;
    cipher_len_ = ip_len_ + pad + 2;
    esp_len_ = kEspStart + cipher_len_ + kIcvLen;

    // Distinct plaintexts; the SA's first 64 outbound packets are the
    // inbound pristine copies.
    std::vector<rte_mbuf*> ms;
    for (size_t i = 0; i < kPool; i++) {
      plain_.push_back(test::udp_packet(test::host_a(false), test::host_b(false), ip_len_ - 28,
                                        static_cast<uint32_t>(i + 1)));
      ms.push_back(arena_.alloc(plain_.back()));
    }
    std::vector<dp::SaOutbound*> sas(kPool, pair_.out.get());
    if (dp::esp_outbound_burst(*worker_, ms, sas) != kPool) {
      std::fprintf(stderr, "bench_esp: could not make the inbound packets\n");
      std::exit(1);
    }
    for (rte_mbuf* m : ms) pristine_.push_back(test::MbufArena::bytes(m));

    for (size_t i = 0; i < kPool; i++) {
      mbufs_[i] = dir == Dir::kOut ? arena_.alloc(plain_[i]) : arena_.alloc(pristine_[i]);
    }
    out_sas_.fill(pair_.out.get());
    in_sas_.fill(pair_.in.get());
    for (size_t i = 0; i < kPool; i++) make_op(i);
  }

  // run runs one burst (0 or 1) of loop v and returns how many packets
  // came out good.
  size_t run(Variant v, size_t b) {
    restore(b);
    switch (v) {
      case kRestore:
        return kBurst;
      case kEsp:
        return dir_ == Dir::kOut ? dp::esp_outbound_burst(*worker_, burst_, out_sas_)
                                 : dp::esp_inbound_burst(*worker_, burst_, in_sas_);
      case kEngine: {
        std::span<crypto::CryptoOp> ops(&ops_[b * kBurst], kBurst);
        return dir_ == Dir::kOut ? engine_.seal_burst(ops) : engine_.open_burst(ops);
      }
      case kImb:
        return imb_burst(b);
      case kDirect:
        return direct_burst(b);
      case kNumVariants:
        break;
    }
    return 0;
  }

  // check runs every loop on both bursts and verifies that they do the work
  // the benchmark claims: packets of the expected length, decrypting to the
  // plaintext, and raw IPsec-MB calls reproducing the packets' ICVs.
  bool check(std::string* err) {
    for (size_t b = 0; b < 2; b++) {
      for (int v = kEsp; v < kNumVariants; v++) {
        if (run(static_cast<Variant>(v), b) != kBurst) {
          *err = std::string(kVariantNames[v]) + " dropped packets";
          return false;
        }
      }
    }
    for (size_t b = 0; b < 2; b++) {
      run(kEsp, b);
      for (size_t k = 0; k < kBurst; k++) {
        const rte_mbuf* m = burst_[k];
        const size_t i = b * kBurst + k;
        if (dir_ == Dir::kOut && m->pkt_len != esp_len_) {
          *err = "outbound packet is " + std::to_string(m->pkt_len) + " bytes, expected " +
                 std::to_string(esp_len_);
          return false;
        }
        if (dir_ == Dir::kIn && test::MbufArena::bytes(m) != plain_[i]) {
          *err = "inbound packet " + std::to_string(i) + " did not decrypt to its plaintext";
          return false;
        }
      }
    }
    if (dir_ == Dir::kIn) {
      // Decrypting the pristine packets, the raw calls must compute the
      // packets' own ICVs, or they are not doing the same work.
      for (const Variant v : {kImb, kDirect}) {
        for (size_t b = 0; b < 2; b++) {
          run(v, b);
          for (size_t k = 0; k < kBurst; k++) {
            const crypto::CryptoOp& op = ops_[b * kBurst + k];
            if (std::memcmp(op.tag, op.expected_tag, kIcvLen) != 0) {
              *err = std::string(kVariantNames[v]) + " does not reproduce the ICV";
              return false;
            }
          }
        }
      }
    }
    return true;
  }

 private:
  void restore(size_t b) {
    for (size_t k = 0; k < kBurst; k++) {
      const size_t i = b * kBurst + k;
      rte_mbuf* m = mbufs_[i];
      m->data_off = kHeadroom;
      if (dir_ == Dir::kOut) {
        m->data_len = static_cast<uint16_t>(ip_len_);
        m->pkt_len = ip_len_;
        std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), plain_[i].data(), kInnerHdrLen);
      } else {
        m->data_len = static_cast<uint16_t>(esp_len_);
        m->pkt_len = esp_len_;
        std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), pristine_[i].data(), esp_len_);
      }
      burst_[k] = m;
    }
  }

  // make_op describes slot i's AEAD work as the ESP path lays it out:
  // outbound, the packet starts kEspStart bytes before the inner packet
  // once the engine has prepended its headers; inbound, at the outer IP
  // header. Nonce and AAD are those of the pristine ESP packet, so that
  // inbound ops verify.
  void make_op(size_t i) {
    crypto::CryptoOp& op = ops_[i];
    std::memset(&op, 0, sizeof(op));
    auto* buf = static_cast<uint8_t*>(mbufs_[i]->buf_addr);
    const uint8_t* esp = pristine_[i].data() + 20;
    op.ks = dir_ == Dir::kOut ? pair_.out->ks : pair_.in->ks;
    op.data = dir_ == Dir::kOut ? buf + kHeadroom - kEspStart : buf + kHeadroom;
    op.cipher_offset = kEspStart;
    op.cipher_len = cipher_len_;
    op.tag_len = kIcvLen;
    op.aad_len = kAadLen;
    op.aad = op.aad_buf;
    std::memcpy(op.aad_buf, esp, 4);    // SPI
    std::memset(op.aad_buf + 4, 0, 4);  // high sequence bits
    std::memcpy(op.aad_buf + 8, esp + 4, 4);
    std::memcpy(op.iv, op.ks->salt(), 4);
    std::memcpy(op.iv + 4, esp + 8, 8);
    op.expected_tag = op.data + kEspStart + cipher_len_;
  }

  size_t imb_burst(size_t b) {
    const bool seal = dir_ == Dir::kOut;
    size_t done = 0;
    for (size_t k = 0; k < kBurst; k++) {
      crypto::CryptoOp& op = ops_[b * kBurst + k];
      IMB_JOB* job = IMB_GET_NEXT_JOB(imb_);
      job->cipher_mode = IMB_CIPHER_GCM;
      job->hash_alg = IMB_AUTH_AES_GMAC;
      job->cipher_direction = seal ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
      job->chain_order = seal ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
      job->key_len_in_bytes = alg_.aes256 ? IMB_KEY_256_BYTES : IMB_KEY_128_BYTES;
      job->enc_keys = gcm_key_.get();
      job->dec_keys = gcm_key_.get();
      job->src = op.data;
      job->dst = op.data + op.cipher_offset;
      job->cipher_start_src_offset_in_bytes = op.cipher_offset;
      job->msg_len_to_cipher_in_bytes = op.cipher_len;
      job->hash_start_src_offset_in_bytes = op.cipher_offset;
      job->msg_len_to_hash_in_bytes = op.cipher_len;
      job->iv = op.iv;
      job->iv_len_in_bytes = kNonceLen;
      job->u.GCM.aad = op.aad;
      job->u.GCM.aad_len_in_bytes = op.aad_len;
      job->auth_tag_output = op.tag;
      job->auth_tag_output_len_in_bytes = kIcvLen;
      for (job = IMB_SUBMIT_JOB(imb_); job != nullptr; job = IMB_GET_COMPLETED_JOB(imb_)) {
        done += job->status == IMB_STATUS_COMPLETED;
      }
    }
    for (IMB_JOB* job = IMB_FLUSH_JOB(imb_); job != nullptr; job = IMB_FLUSH_JOB(imb_)) {
      done += job->status == IMB_STATUS_COMPLETED;
    }
    return done;
  }

  size_t direct_burst(size_t b) {
    struct gcm_context_data ctx;
    for (size_t k = 0; k < kBurst; k++) {
      crypto::CryptoOp& op = ops_[b * kBurst + k];
      uint8_t* d = op.data + op.cipher_offset;
      const gcm_key_data* key = gcm_key_.get();
      if (dir_ == Dir::kOut && alg_.aes256) {
        IMB_AES256_GCM_ENC(imb_, key, &ctx, d, d, op.cipher_len, op.iv, op.aad, op.aad_len, op.tag,
                           kIcvLen);
      } else if (dir_ == Dir::kOut) {
        IMB_AES128_GCM_ENC(imb_, key, &ctx, d, d, op.cipher_len, op.iv, op.aad, op.aad_len, op.tag,
                           kIcvLen);
      } else if (alg_.aes256) {
        IMB_AES256_GCM_DEC(imb_, key, &ctx, d, d, op.cipher_len, op.iv, op.aad, op.aad_len, op.tag,
                           kIcvLen);
      } else {
        IMB_AES128_GCM_DEC(imb_, key, &ctx, d, d, op.cipher_len, op.iv, op.aad, op.aad_len, op.tag,
                           kIcvLen);
      }
    }
    return kBurst;
  }

  crypto::Engine& engine_;
  IMB_MGR* imb_;
  Dir dir_;
  Alg alg_;
  uint32_t ip_len_, cipher_len_ = 0, esp_len_ = 0;
  test::SaPair pair_;
  std::unique_ptr<dp::EspWorker> worker_;
  std::unique_ptr<gcm_key_data> gcm_key_;
  test::MbufArena arena_;
  std::vector<std::vector<uint8_t>> plain_;     // inner IP packets
  std::vector<std::vector<uint8_t>> pristine_;  // their ESP packets, seq 1..64
  std::array<rte_mbuf*, kPool> mbufs_{};
  std::array<rte_mbuf*, kBurst> burst_{};
  std::array<dp::SaOutbound*, kBurst> out_sas_{};
  std::array<dp::SaInbound*, kBurst> in_sas_{};
  std::array<crypto::CryptoOp, kPool> ops_{};
};

// Samples holds the timed bursts of every loop of one point.
struct Samples {
  std::vector<uint32_t> ticks[kNumVariants];
  uint64_t lost = 0;  // packets that did not come out good
};

// measure runs the loops in turn, a segment each, for `duration` TSC
// ticks. With record false it only warms caches and predictors.
void measure(PointBench& pb, const std::vector<Variant>& loops, uint64_t duration, bool record,
             Samples* s) {
  const size_t n = loops.size();
  size_t rot = 0;
  const uint64_t start = ticks();
  uint64_t t = start;
  while (t - start < duration) {
    for (size_t k = 0; k < n; k++) {
      const Variant v = loops[(k + rot) % n];
      for (size_t i = 0; i < kSegment; i++) {
        const size_t good = pb.run(v, i & 1);
        const uint64_t t1 = ticks();
        if (record && i >= kSegmentWarmup) {
          s->ticks[v].push_back(static_cast<uint32_t>(std::min<uint64_t>(t1 - t, UINT32_MAX)));
        }
        if (record) s->lost += kBurst - good;
        t = t1;
      }
    }
    rot++;
  }
}

// per_packet is the chosen statistic of a loop's burst times, per packet.
double per_packet(std::vector<uint32_t>& v, bool median) {
  if (v.empty()) return 0;
  auto mid = median ? v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2) : v.begin();
  std::nth_element(v.begin(), mid, v.end());
  return static_cast<double>(*mid) / kBurst;
}

struct Result {
  Dir dir;
  const Alg* alg;
  uint32_t frame;
  double cycles[kNumVariants];  // ticks per packet; restore subtracted from the others
};

double mpps(double hz, double cycles) { return cycles > 0 ? hz / cycles / 1e6 : 0; }
const char* dir_name(Dir d) { return d == Dir::kOut ? "out" : "in"; }

void print_header(bool all) {
  std::printf("dir alg       frame |  esp cyc    Mpps    Gbps |    rst");
  if (all) std::printf(" | engine    imb raw Mpps direct | esp/raw esp/eng esp/dir | target");
  std::printf("\n");
}

void print_row(const Result& r, double hz, bool all) {
  const double esp = r.cycles[kEsp], imb = r.cycles[kImb];
  const double m = mpps(hz, esp);
  std::printf("%-3s %-9s %5u | %8.1f %7.3f %7.2f | %6.1f", dir_name(r.dir), r.alg->name, r.frame,
              esp, m, m * r.frame * 8 / 1e3, r.cycles[kRestore]);
  if (all) {
    const double ratio = imb / esp;
    const double target = target_ratio(r.frame);
    std::printf(" | %6.1f %6.1f %8.3f %6.1f |  %6.3f  %6.3f  %6.3f |", r.cycles[kEngine], imb,
                mpps(hz, imb), r.cycles[kDirect], ratio, r.cycles[kEngine] / esp,
                r.cycles[kDirect] / esp);
    if (target > 0) {
      std::printf(" %.2f %s", target, ratio >= target ? "met" : "MISSED");
    } else {
      std::printf(" -");
    }
  }
  std::printf("\n");
}

bool write_json(const std::string& path, const std::vector<Result>& rs, double hz) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    std::perror(path.c_str());
    return false;
  }
  std::fprintf(f, "{\"results\":[");
  for (size_t i = 0; i < rs.size(); i++) {
    const Result& r = rs[i];
    const double m = mpps(hz, r.cycles[kEsp]);
    std::fprintf(f,
                 "%s\n {\"direction\":\"%s\",\"alg\":\"%s\",\"frame\":%u,\"mpps\":%.4f,"
                 "\"gbps\":%.4f,\"cycles_per_pkt\":%.2f,\"raw_mpps\":%.4f,\"ratio_to_raw\":%.4f,"
                 "\"engine_mpps\":%.4f,\"direct_mpps\":%.4f,\"restore_cycles_per_pkt\":%.2f}",
                 i == 0 ? "" : ",", dir_name(r.dir), r.alg->name, r.frame, m, m * r.frame * 8 / 1e3,
                 r.cycles[kEsp], mpps(hz, r.cycles[kImb]), r.cycles[kImb] / r.cycles[kEsp],
                 mpps(hz, r.cycles[kEngine]), mpps(hz, r.cycles[kDirect]), r.cycles[kRestore]);
  }
  std::fprintf(f, "\n]}\n");
  return std::fclose(f) == 0;
}

int run(const Options& opt) {
  if (opt.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(opt.cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) std::perror("bench_esp: sched_setaffinity");
  }
  std::string err;
  auto engine = crypto::Engine::create(&err);
  if (!engine) {
    std::fprintf(stderr, "bench_esp: %s\n", err.c_str());
    return 1;
  }
  // The raw loops get a manager of their own, so that nothing they leave
  // queued can meet the engine's jobs.
  IMB_MGR* imb = alloc_mb_mgr(0);
  IMB_ARCH arch = IMB_ARCH_NONE;
  if (imb != nullptr) init_mb_mgr_auto(imb, &arch);
  if (imb == nullptr || arch == IMB_ARCH_NONE) {
    std::fprintf(stderr, "bench_esp: cannot start IPsec-MB\n");
    return 1;
  }
  const double hz = tsc_hz();
  const bool all = opt.only_variant < 0;
  const std::vector<Variant> loops =
      all ? std::vector<Variant>{kRestore, kEsp, kEngine, kImb, kDirect}
          : std::vector<Variant>{kRestore, static_cast<Variant>(opt.only_variant)};
  const auto duration = static_cast<uint64_t>(hz * opt.seconds);

  std::printf(
      "bench_esp: IPsec-MB %s (%s), TSC %.3f GHz, bursts of %zu over %zu mbufs, %.2f s/point, "
      "%s of timed bursts\n"
      "ESP: tunnel mode, IPv4 outer, ESN, 16-byte ICV; inbound with anti-replay off.\n"
      "Cycles are TSC ticks per packet, the restore cost (rst: outbound 20-byte inner header,\n"
      "inbound the whole ESP packet) subtracted. Gbps = Mpps x plaintext frame bytes x 8\n"
      "(IP packet = frame - 14). Same AEAD bytes in every loop: engine = crypto::Engine,\n"
      "imb = IPsec-MB job API (raw), direct = IPsec-MB direct AES-GCM calls.\n"
      "esp/raw = imb cyc / esp cyc, the ratio the targets apply to.\n",
      imb_get_version_str(), std::string(engine->arch_name()).c_str(), hz / 1e9, kBurst, kPool,
      opt.seconds, opt.median ? "median" : "minimum");
  if (!all) {
    std::printf("--only %s: the esp columns show that loop.\n", kVariantNames[opt.only_variant]);
  }
  std::printf("\n");
  print_header(all);

  std::vector<Result> results;
  int missed = 0;
  for (const Dir dir : {Dir::kOut, Dir::kIn}) {
    if (!opt.only_dir.empty() && opt.only_dir != dir_name(dir)) continue;
    for (const Alg& alg : kAlgs) {
      if (!opt.only_alg.empty() && opt.only_alg != alg.name) continue;
      for (const uint32_t frame : kFrames) {
        if (opt.only_frame != 0 && opt.only_frame != frame) continue;
        PointBench pb(*engine, imb, dir, alg, frame);
        if (!pb.check(&err)) {
          std::fprintf(stderr, "bench_esp: %s %s %u: %s\n", dir_name(dir), alg.name, frame,
                       err.c_str());
          return 1;
        }
        Samples samples;
        measure(pb, loops, duration / 20, false, &samples);
        measure(pb, loops, duration, true, &samples);
        if (samples.lost != 0) {
          std::fprintf(stderr, "bench_esp: %llu packets dropped while measuring\n",
                       static_cast<unsigned long long>(samples.lost));
          return 1;
        }
        Result r{dir, &alg, frame, {}};
        r.cycles[kRestore] = per_packet(samples.ticks[kRestore], opt.median);
        for (const Variant v : loops) {
          if (v != kRestore) {
            r.cycles[v] = per_packet(samples.ticks[v], opt.median) - r.cycles[kRestore];
          }
        }
        if (!all) r.cycles[kEsp] = r.cycles[opt.only_variant];
        print_row(r, hz, all);
        std::fflush(stdout);
        const double target = target_ratio(frame);
        if (all && target > 0 && r.cycles[kImb] / r.cycles[kEsp] < target) missed++;
        results.push_back(r);
      }
    }
  }
  free_mb_mgr(imb);
  if (all) std::printf("\n%d point(s) below target.\n", missed);
  if (!opt.json.empty() && !write_json(opt.json, results, hz)) return 1;
  return 0;
}

}  // namespace
}  // namespace portcullis::perf

int main(int argc, char** argv) {
  portcullis::perf::Options opt;
  if (!portcullis::perf::parse_options(argc, argv, &opt)) {
    portcullis::perf::usage(stderr);
    return 2;
  }
  return portcullis::perf::run(opt);
}
