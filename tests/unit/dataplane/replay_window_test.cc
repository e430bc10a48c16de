// replay_window_test.cc: the anti-replay window against a numbered table of
// cases (after the WireGuard kernel module's replay-counter self-test), then
// against a plain reference model under random traffic.
#include "dataplane/ipsec/replay_window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace portcullis::dp {

// PrintTo makes gtest show verdicts by name.
void PrintTo(ReplayWindow::Verdict v, std::ostream* os) {
  switch (v) {
    case ReplayWindow::Verdict::kOk:
      *os << "kOk";
      return;
    case ReplayWindow::Verdict::kDuplicate:
      *os << "kDuplicate";
      return;
    case ReplayWindow::Verdict::kTooOld:
      *os << "kTooOld";
      return;
  }
  *os << "Verdict(" << static_cast<int>(v) << ")";
}

namespace {

using Verdict = ReplayWindow::Verdict;
constexpr Verdict kOk = Verdict::kOk;
constexpr Verdict kDup = Verdict::kDuplicate;
constexpr Verdict kOld = Verdict::kTooOld;

constexpr uint64_t kEsn1 = uint64_t{1} << 32;  // first number of subspace 1

uint32_t rounded(uint32_t window_size) {
  const uint32_t clamped = std::clamp(window_size, ReplayWindow::kMinSize, ReplayWindow::kMaxSize);
  return (clamped + 63) / 64 * 64;
}

// ---------------------------------------------------------------------------
// The numbered table.

enum class Op : uint8_t {
  // check(), then update() if check() said kOk: a packet whose ICV verifies.
  kReceive,
  // check() alone: a packet whose ICV fails, or one whose update() comes
  // later in the burst.
  kCheckOnly,
  // update() alone, for a packet that passed check() earlier.
  kUpdateOnly,
};

struct Step {
  Op op;
  uint64_t in;      // seq_lo for kReceive and kCheckOnly; the full seq for kUpdateOnly
  Verdict verdict;  // what check() says, or update() for kUpdateOnly
  uint64_t seq;     // the inferred seq; for kUpdateOnly, top() afterwards
};

Step recv(uint32_t seq_lo, Verdict v, uint64_t seq) { return {Op::kReceive, seq_lo, v, seq}; }
Step check_only(uint32_t seq_lo, Verdict v, uint64_t seq) {
  return {Op::kCheckOnly, seq_lo, v, seq};
}
Step update_only(uint64_t seq, Verdict v, uint64_t top) { return {Op::kUpdateOnly, seq, v, top}; }

struct Case {
  int number;
  const char* what;
  uint32_t window;
  bool esn;
  bool enabled;
  std::vector<Step> steps;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.number << ": " << c.what; }

constexpr bool kNoEsn = false;
constexpr bool kEsn = true;
constexpr bool kOn = true;
constexpr bool kOff = false;

// cases is the table. Each row: number, what it shows, window size, ESN,
// anti-replay on or off, then the steps in order. recv(seq_lo, verdict, seq)
// is a packet whose ICV verifies; check_only() one whose ICV fails or whose
// update comes later in the burst; update_only(seq, verdict, top) that later
// update. It is laid out by hand so that it reads as a table.
// clang-format off
const std::vector<Case>& cases() {
  static const auto* table = new std::vector<Case>{
    {1, "first packet", 64, kNoEsn, kOn,
     {recv(1, kOk, 1)}},
    {2, "in order", 64, kNoEsn, kOn,
     {recv(1, kOk, 1), recv(2, kOk, 2), recv(3, kOk, 3), recv(4, kOk, 4), recv(5, kOk, 5)}},
    {3, "out of order inside the window", 64, kNoEsn, kOn,
     {recv(5, kOk, 5), recv(3, kOk, 3), recv(4, kOk, 4), recv(1, kOk, 1), recv(2, kOk, 2)}},
    {4, "duplicates", 64, kNoEsn, kOn,
     {recv(1, kOk, 1), recv(2, kOk, 2), recv(1, kDup, 1), recv(2, kDup, 2),
      recv(3, kOk, 3), recv(3, kDup, 3)}},
    {5, "too old: one below the lower edge of the window", 64, kNoEsn, kOn,
     {recv(100, kOk, 100), recv(36, kOld, 36), recv(1, kOld, 1)}},
    {6, "exactly at the lower edge is still inside", 64, kNoEsn, kOn,
     {recv(100, kOk, 100), recv(37, kOk, 37), recv(37, kDup, 37)}},
    {7, "far ahead: a jump past the window forgets everything below it", 64, kNoEsn, kOn,
     {recv(1, kOk, 1), recv(2, kOk, 2), recv(3, kOk, 3), recv(1000, kOk, 1000),
      recv(3, kOld, 3), recv(936, kOld, 936), recv(937, kOk, 937), recv(999, kOk, 999),
      recv(1000, kDup, 1000)}},
    {8, "slide by exactly one word", 64, kNoEsn, kOn,
     {recv(10, kOk, 10), recv(20, kOk, 20), recv(74, kOk, 74),
      recv(10, kOld, 10), recv(11, kOk, 11), recv(20, kDup, 20), recv(74, kDup, 74),
      recv(75, kOk, 75)}},
    // 130 takes the ring slot and bit that held 2; the slide must clear it.
    {9, "slide by exactly the window size reuses a ring slot", 64, kNoEsn, kOn,
     {recv(2, kOk, 2), recv(64, kOk, 64), recv(66, kOk, 66), recv(128, kOk, 128),
      recv(64, kOld, 64), recv(65, kOk, 65), recv(66, kDup, 66), recv(130, kOk, 130),
      recv(2, kOld, 2)}},
    {10, "slide by exactly the window size, 16 words at once", 1024, kNoEsn, kOn,
     {recv(1, kOk, 1), recv(500, kOk, 500), recv(1024, kOk, 1024), recv(2048, kOk, 2048),
      recv(1024, kOld, 1024), recv(1025, kOk, 1025), recv(500, kOld, 500),
      recv(1500, kOk, 1500), recv(2048, kDup, 2048)}},
    {11, "a jump of exactly the ring (size + 64) clears every word", 1024, kNoEsn, kOn,
     {recv(1, kOk, 1), recv(1000, kOk, 1000), recv(2000, kOk, 2000), recv(3088, kOk, 3088),
      recv(2064, kOld, 2064), recv(2065, kOk, 2065), recv(2896, kOk, 2896),
      recv(3088, kDup, 3088), recv(2065, kDup, 2065)}},
    {12, "sequence number 0 is never accepted", 64, kNoEsn, kOn,
     {recv(0, kOld, 0), recv(1, kOk, 1), recv(0, kOld, 0)}},
    {13, "without ESN the counter stops at 2^32 - 1", 64, kNoEsn, kOn,
     {recv(0xffffffff, kOk, 0xffffffff), recv(1, kOld, 1),
      recv(0xffffffc0, kOk, 0xffffffc0), recv(0xffffffbf, kOld, 0xffffffbf),
      update_only(kEsn1, kOld, 0xffffffff)}},
    {14, "ESN: sequence number 0 is never accepted", 64, kEsn, kOn,
     {recv(0, kOld, 0), recv(1, kOk, 1), recv(0, kOld, 0)}},
    {15, "ESN, new SA: the top 63 low halves would need high bits -1", 64, kEsn, kOn,
     {recv(0xffffffff, kOld, 0xffffffff), recv(0xffffffc1, kOld, 0xffffffc1),
      recv(0xffffffc0, kOk, 0xffffffc0)}},
    // Th = 0, Tl = 10 < W - 1 (case B), Bl = 10 - 63 wraps to 0xffffffcb.
    {16, "ESN, Th = 0: a low half behind the window is too old", 64, kEsn, kOn,
     {recv(10, kOk, 10), recv(0xfffffff0, kOld, 0xfffffff0),
      recv(0xffffffcb, kOld, 0xffffffcb), check_only(0xffffffca, kOk, 0xffffffca)}},
    {17, "ESN: the low half wraps and the high half goes up", 64, kEsn, kOn,
     {recv(0x80000000, kOk, 0x80000000), recv(0xffffffff, kOk, 0xffffffff),
      recv(5, kOk, kEsn1 + 5), recv(6, kOk, kEsn1 + 6), recv(5, kDup, kEsn1 + 5)}},
    {18, "ESN: a late packet from before the wrap keeps the old high half", 64, kEsn, kOn,
     {recv(0x80000000, kOk, 0x80000000), recv(0xfffffff0, kOk, 0xfffffff0),
      recv(0xffffffff, kOk, 0xffffffff), recv(5, kOk, kEsn1 + 5),
      recv(0xfffffff8, kOk, 0xfffffff8), recv(0xfffffff0, kDup, 0xfffffff0),
      recv(0xffffffc6, kOk, 0xffffffc6), recv(5, kDup, kEsn1 + 5)}},
    // RFC 4303 appendix A2.2: such a packet is inferred one subspace up,
    // where its ICV cannot verify, so it never reaches update().
    {19, "ESN: a packet older than the window is placed in the next subspace", 64, kEsn, kOn,
     {recv(0x80000000, kOk, 0x80000000), recv(0xffffffff, kOk, 0xffffffff),
      recv(5, kOk, kEsn1 + 5), check_only(0xffffffc5, kOk, kEsn1 + 0xffffffc5),
      recv(6, kOk, kEsn1 + 6)}},
    {20, "ESN: the 64-bit counter does not cycle either", 64, kEsn, kOn,
     {update_only(0xfffffffffffffff0, kOk, 0xfffffffffffffff0),
      recv(0xffffffff, kOk, 0xffffffffffffffff), recv(3, kOld, 3)}},
    {21, "ESN: update() jumps any distance at once", 1024, kEsn, kOn,
     {update_only(uint64_t{1} << 40, kOk, uint64_t{1} << 40),
      recv(0, kDup, uint64_t{1} << 40), recv(0xffffffff, kOk, (uint64_t{1} << 40) - 1),
      recv(1, kOk, (uint64_t{1} << 40) + 1)}},
    {22, "window of 65,536", 65536, kNoEsn, kOn,
     {recv(70000, kOk, 70000), recv(4465, kOk, 4465), recv(4464, kOld, 4464),
      recv(70000, kDup, 70000), recv(135535, kOk, 135535), recv(70000, kDup, 70000),
      recv(69999, kOld, 69999), recv(4465, kOld, 4465)}},
    {23, "ESN, window of 65,536, across the wrap", 65536, kEsn, kOn,
     {recv(0x80000000, kOk, 0x80000000), recv(0xfffff000, kOk, 0xfffff000),
      recv(0x100, kOk, kEsn1 + 0x100), recv(0xfffff001, kOk, 0xfffff001),
      recv(0xffff0101, kOk, 0xffff0101), check_only(0xffff0100, kOk, kEsn1 + 0xffff0100)}},
    {24, "a size of 100 is rounded up to 128", 100, kNoEsn, kOn,
     {recv(200, kOk, 200), recv(73, kOk, 73), recv(72, kOld, 72)}},
    {25, "disabled: duplicates, old packets and 0 all pass", 64, kNoEsn, kOff,
     {recv(5, kOk, 5), recv(5, kOk, 5), recv(1000, kOk, 1000), recv(3, kOk, 3),
      recv(0, kOk, 0), recv(1000, kOk, 1000)}},
    {26, "disabled: ESN is still inferred from top()", 64, kEsn, kOff,
     {recv(0x80000000, kOk, 0x80000000), recv(0xffffffff, kOk, 0xffffffff),
      recv(2, kOk, kEsn1 + 2), recv(2, kOk, kEsn1 + 2), recv(0xffffffff, kOk, 0xffffffff)}},
    {27, "disabled, new ESN SA: high bits that would be -1 are 0", 64, kEsn, kOff,
     {recv(0xffffffff, kOk, 0xffffffff), recv(3, kOk, kEsn1 + 3)}},
    {28, "one burst: two copies pass check(), the second update() is a duplicate", 64, kNoEsn, kOn,
     {recv(1, kOk, 1), check_only(7, kOk, 7), check_only(7, kOk, 7),
      update_only(7, kOk, 7), update_only(7, kDup, 7), recv(7, kDup, 7)}},
    {29, "one burst: updates out of order", 64, kNoEsn, kOn,
     {recv(1, kOk, 1), check_only(9, kOk, 9), check_only(8, kOk, 8),
      update_only(9, kOk, 9), update_only(8, kOk, 9)}},
    {30, "one burst: a later packet moves the window past an earlier one", 64, kNoEsn, kOn,
     {recv(60, kOk, 60), check_only(5, kOk, 5), check_only(200, kOk, 200),
      update_only(200, kOk, 200), update_only(5, kOld, 200)}},
  };
  return *table;
}
// clang-format on

class ReplayWindowTable : public ::testing::TestWithParam<Case> {};

TEST_P(ReplayWindowTable, Steps) {
  const Case& c = GetParam();
  ReplayWindow w(c.window, c.esn, c.enabled);
  ASSERT_EQ(w.size(), rounded(c.window));
  for (size_t i = 0; i < c.steps.size(); ++i) {
    const Step& s = c.steps[i];
    SCOPED_TRACE(::testing::Message() << "case " << c.number << " (" << c.what << "), step "
                                      << i + 1 << ", in 0x" << std::hex << s.in);
    const uint64_t top_before = w.top();
    if (s.op == Op::kUpdateOnly) {
      EXPECT_EQ(w.update(s.in), s.verdict);
      EXPECT_EQ(w.top(), s.seq);
      continue;
    }
    uint64_t seq = 0xdeadbeef;
    const Verdict v = w.check(static_cast<uint32_t>(s.in), &seq);
    EXPECT_EQ(v, s.verdict);
    EXPECT_EQ(seq, s.seq);
    if (s.op == Op::kReceive && v == kOk) {
      EXPECT_EQ(w.update(seq), kOk);
      EXPECT_EQ(w.top(), std::max(top_before, seq));
    } else {
      EXPECT_EQ(w.top(), top_before);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Numbered, ReplayWindowTable, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return "Case" + std::to_string(info.param.number);
                         });

TEST(ReplayWindowTest, CasesAreNumberedInOrder) {
  for (size_t i = 0; i < cases().size(); ++i) EXPECT_EQ(cases()[i].number, static_cast<int>(i + 1));
}

// ---------------------------------------------------------------------------
// Configuration, sizes and moves.

TEST(ReplayWindowTest, ValidateSaysWhatToFix) {
  EXPECT_NE(ReplayWindow::validate(0), nullptr);
  EXPECT_NE(ReplayWindow::validate(32), nullptr);
  EXPECT_NE(ReplayWindow::validate(63), nullptr);
  EXPECT_EQ(ReplayWindow::validate(64), nullptr);
  EXPECT_EQ(ReplayWindow::validate(100), nullptr);
  EXPECT_EQ(ReplayWindow::validate(65536), nullptr);
  EXPECT_EQ(ReplayWindow::validate(1u << 20), nullptr);
  EXPECT_NE(ReplayWindow::validate((1u << 20) + 1), nullptr);
  EXPECT_NE(std::string(ReplayWindow::validate(1)).find("64"), std::string::npos);
  EXPECT_NE(std::string(ReplayWindow::validate(UINT32_MAX)).find("1048576"), std::string::npos);
}

TEST(ReplayWindowTest, SizeIsRoundedUpToWholeWordsAndClamped) {
  const std::pair<uint32_t, uint32_t> sizes[] = {
      {1, 64},
      {64, 64},
      {65, 128},
      {100, 128},
      {128, 128},
      {1000, 1024},
      {65536, 65536},
      {65537, 65600},
      {1u << 20, 1u << 20},
      {(1u << 20) + 1, 1u << 20},
      {UINT32_MAX, 1u << 20},
  };
  for (const auto& [asked, effective] : sizes) {
    EXPECT_EQ(ReplayWindow(asked, false).size(), effective) << "asked for " << asked;
  }
}

TEST(ReplayWindowTest, MoveKeepsTheState) {
  ReplayWindow a(64, true);
  uint64_t seq = 0;
  ASSERT_EQ(a.check(0x80000000, &seq), kOk);
  ASSERT_EQ(a.update(seq), kOk);
  ASSERT_EQ(a.check(0x7fffffff, &seq), kOk);
  ASSERT_EQ(a.update(seq), kOk);

  ReplayWindow b(std::move(a));
  EXPECT_EQ(b.top(), 0x80000000u);
  EXPECT_EQ(b.check(0x7fffffff, &seq), kDup);

  ReplayWindow c(1024, false);
  c = std::move(b);
  EXPECT_EQ(c.size(), 64u);
  EXPECT_TRUE(c.esn());
  EXPECT_EQ(c.check(0x80000000, &seq), kDup);
  EXPECT_EQ(c.check(0x80000001, &seq), kOk);
}

// ---------------------------------------------------------------------------
// Random traffic against a reference model.

// Reference states the rules as plainly as possible, sharing nothing with
// ReplayWindow: every accepted number sits in a std::set, the window is a
// pair of comparisons, and the ESN high half is found by trying the three
// candidate subspaces of RFC 4303 appendix A2.2 and keeping the one that puts
// the packet among the 2^32 numbers starting at the window's lower edge. It
// works in signed 64-bit arithmetic, so tops must stay below 2^62.
class Reference {
 public:
  Reference(uint32_t size, bool esn, bool enabled) : size_(size), esn_(esn), enabled_(enabled) {}

  Verdict check(uint32_t seq_lo, uint64_t* seq) const {
    bool below_zero = false;
    *seq = seq_lo;
    if (esn_) {
      const int64_t top = static_cast<int64_t>(top_);
      const int64_t lower_edge = top - size_ + 1;
      const int64_t th = top >> 32;
      int found = 0;
      for (int64_t h = th - 1; h <= th + 1; ++h) {
        const int64_t candidate = h * (int64_t{1} << 32) + seq_lo;
        if (candidate >= lower_edge && candidate < lower_edge + (int64_t{1} << 32)) {
          ++found;
          below_zero = candidate < 0;
          if (!below_zero) *seq = static_cast<uint64_t>(candidate);
        }
      }
      EXPECT_EQ(found, 1) << "the reference itself is wrong";
    }
    if (!enabled_) return kOk;
    if (below_zero || *seq == 0) return kOld;
    return verdict_of(*seq);
  }

  Verdict update(uint64_t seq) {
    if (!enabled_) {
      top_ = std::max(top_, seq);
      return kOk;
    }
    if (seq == 0 || (!esn_ && seq > 0xffffffff)) return kOld;
    const Verdict v = verdict_of(seq);
    if (v == kOk) {
      accepted_.insert(seq);
      top_ = std::max(top_, seq);
    }
    return v;
  }

  uint64_t top() const { return top_; }

 private:
  Verdict verdict_of(uint64_t seq) const {
    if (seq > top_) return kOk;
    if (static_cast<int64_t>(seq) < static_cast<int64_t>(top_) - size_ + 1) return kOld;
    return accepted_.contains(seq) ? kDup : kOk;
  }

  int64_t size_;
  bool esn_;
  bool enabled_;
  uint64_t top_ = 0;
  std::set<uint64_t> accepted_;
};

struct Traffic {
  uint32_t window;
  bool esn;
  bool enabled;
  uint64_t start;  // fed to update() first when not 0
};

class Generator {
 public:
  Generator(uint64_t seed, uint32_t window, bool esn) : rng_(seed), w_(window), esn_(esn) {}

  int64_t in(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }

  // seq_lo picks the low half of a packet near `top`, leaning on the places
  // where windows go wrong: the edges, one word or one window ahead, and,
  // with ESN, the wrap of the low half. `behind` says the packet is older
  // than the window.
  uint32_t seq_lo(uint64_t top_u, bool* behind) {
    const int64_t top = static_cast<int64_t>(top_u);
    const int64_t w = w_;
    *behind = false;
    int64_t target;
    const int64_t r = in(0, 999);
    if (r < 400) {
      target = top - in(0, w - 1);
    } else if (r < 480) {
      target = top - w + in(-3, 3);
    } else if (r < 680) {
      target = top + in(1, 200);
    } else if (r < 710) {
      target = top + w + in(-70, 70);
    } else if (r < 720) {
      target = top + in(w, 8 * w);
    } else if (r < 820) {
      target = top - w - in(1, 4 * w);
      *behind = true;
    } else if (r < 990) {
      target = top + in(-2, 2);
    } else if (esn_) {
      target = top + in(int64_t{1} << 30, int64_t{1} << 31);
    } else {
      // Without ESN a jump to near 2^32 would end the SA's useful life
      // within a few operations, so the far jumps stay modest.
      const uint32_t special[] = {0, 1, static_cast<uint32_t>(top)};
      target = in(0, 1) == 0 ? special[in(0, 2)] : top + in(1, 1 << 16);
    }
    // Without ESN the low half of a number below 0 would name a far-ahead
    // packet near 2^32 and end the SA; send sequence number 0 instead.
    if (!esn_ && target < 0) target = 0;
    return static_cast<uint32_t>(target);
  }

 private:
  std::mt19937_64 rng_;
  uint32_t w_;
  bool esn_;
};

TEST(ReplayWindowTest, MatchesReferenceUnderRandomTraffic) {
  constexpr int kOps = 200000;
  const Traffic traffic[] = {
      {64, false, true, 0},
      {100, false, true, 0},
      {1024, false, true, 0},
      {1024, false, true, 0xffffffff - 40000000},
      {65536, false, true, 0},
      {64, true, true, 0},
      {100, true, true, 0xfffff000},
      {1024, true, true, 3 * kEsn1 - 5000},
      {65536, true, true, 7 * kEsn1 - 100000},
      {64, true, false, kEsn1 - 10},
  };
  uint64_t seed = 0x5eed;
  for (const Traffic& t : traffic) {
    ++seed;
    SCOPED_TRACE(::testing::Message() << "window " << t.window << (t.esn ? " esn" : "")
                                      << (t.enabled ? "" : " disabled") << ", seed " << seed);
    ReplayWindow win(t.window, t.esn, t.enabled);
    Reference ref(win.size(), t.esn, t.enabled);
    Generator gen(seed, win.size(), t.esn);
    if (t.start != 0) {
      ASSERT_EQ(win.update(t.start), ref.update(t.start));
    }

    uint64_t checked = 0;
    uint64_t accepted = 0;
    for (int op = 0; op < kOps; ++op) {
      ASSERT_LT(ref.top(), uint64_t{1} << 62);
      // A burst: every packet is checked before any is recorded, as the
      // worker does. Bursts of one are plain receives; copies of the same
      // packet inside a burst come from picking an earlier one again.
      const int64_t kind = gen.in(0, 99);
      const int count = kind < 70 ? 1 : static_cast<int>(gen.in(2, 4));
      std::vector<uint32_t> burst;
      std::vector<bool> icv_good;
      for (int i = 0; i < count; ++i) {
        bool behind = false;
        uint32_t lo = gen.seq_lo(ref.top(), &behind);
        if (i > 0 && gen.in(0, 3) == 0) lo = burst[gen.in(0, i - 1)];
        burst.push_back(lo);
        // A packet from behind the window with ESN is inferred into the next
        // subspace, where a real peer's ICV fails; let most of them fail.
        const bool forged = gen.in(0, 99) < (t.esn && behind ? 90 : 12);
        icv_good.push_back(!forged);
      }

      std::vector<uint64_t> seqs(count);
      std::vector<bool> passed(count);
      for (int i = 0; i < count; ++i) {
        uint64_t want_seq = 0;
        const Verdict want = ref.check(burst[i], &want_seq);
        const Verdict got = win.check(burst[i], &seqs[i]);
        ASSERT_EQ(got, want) << "op " << op << ", check(0x" << std::hex << burst[i] << ")";
        ASSERT_EQ(seqs[i], want_seq) << "op " << op << ", check(0x" << std::hex << burst[i] << ")";
        passed[i] = got == kOk;
        ++checked;
      }
      for (int i = 0; i < count; ++i) {
        if (!passed[i] || !icv_good[i]) continue;
        const Verdict want = ref.update(seqs[i]);
        ASSERT_EQ(win.update(seqs[i]), want)
            << "op " << op << ", update(0x" << std::hex << seqs[i] << ")";
        ASSERT_EQ(win.top(), ref.top()) << "op " << op;
        accepted += want == kOk;
      }
    }
    // Guard against a generator that drifted into testing nothing.
    EXPECT_GT(accepted, checked / 10);
    EXPECT_LT(accepted, checked);
  }
}

}  // namespace
}  // namespace portcullis::dp
