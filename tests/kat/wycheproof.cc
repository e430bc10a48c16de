#include "tests/kat/wycheproof.h"

#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace portcullis::kat {
namespace {

using crypto::Cipher;
using crypto::Integ;
using nlohmann::json;

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytes reads a hex field; a malformed one makes the whole file unusable.
std::vector<uint8_t> bytes(const json& test, const char* field) {
  const std::string s = test.at(field).get<std::string>();
  if (s.size() % 2 != 0) throw std::runtime_error(std::string(field) + ": odd-length hex");
  std::vector<uint8_t> out(s.size() / 2);
  for (size_t i = 0; i < out.size(); i++) {
    const int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) throw std::runtime_error(std::string(field) + ": not hex");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

Result result(const json& test) {
  const std::string r = test.at("result").get<std::string>();
  if (r == "valid") return Result::kValid;
  if (r == "invalid") return Result::kInvalid;
  if (r == "acceptable") return Result::kAcceptable;
  throw std::runtime_error("unknown result \"" + r + "\"");
}

// load runs per_test over every test case of one file, turning any problem
// into file.error (see the comment at the top of wycheproof.h).
template <typename Vector, typename PerTest>
void load(VectorFile<Vector>& file, const std::string& name, PerTest per_test) {
  const char* dir = std::getenv("PORTCULLIS_TESTVECTORS");
  if (dir == nullptr || *dir == '\0') {
    file.error =
        "PORTCULLIS_TESTVECTORS is not set; run through `meson test` (tests/meson.build "
        "points it at <repo>/../shared/testvectors)";
    return;
  }
  file.path = std::string(dir) + "/wycheproof/" + name;
  std::ifstream in(file.path);
  if (!in) {
    file.error = "cannot open " + file.path;
    return;
  }
  try {
    const json doc = json::parse(in);
    for (const json& group : doc.at("testGroups")) {
      for (const json& test : group.at("tests")) {
        file.total++;
        per_test(group, test);
      }
    }
  } catch (const std::exception& e) {
    file.error = file.path + ": " + e.what();
    file.vectors.clear();
  }
}

// load_aead keeps the vectors ESP's AEADs can carry: a 96-bit nonce (RFC
// 4106 section 4 and RFC 7634 section 2 build it from a 4-byte salt and an
// 8-byte IV), a 128-bit tag, and a 128- or 256-bit key.
AeadFile load_aead(const std::string& name, bool chacha) {
  AeadFile file;
  load(file, name, [&](const json& group, const json& test) {
    AeadVector v;
    v.tc_id = test.at("tcId").get<int>();
    v.comment = test.value("comment", "");
    v.result = result(test);
    const int key_bits = group.at("keySize").get<int>();
    const int iv_bits = group.at("ivSize").get<int>();
    const int tag_bits = group.at("tagSize").get<int>();
    auto exclude = [&](std::string reason) {
      file.excluded.push_back({v.tc_id, std::move(reason), v.result});
    };
    if (chacha) {
      v.cipher = Cipher::kChacha20Poly1305;
    } else if (key_bits == 128) {
      v.cipher = Cipher::kAes128Gcm;
    } else if (key_bits == 256) {
      v.cipher = Cipher::kAes256Gcm;
    } else {
      return exclude(std::to_string(key_bits) + "-bit key: no ESP suite uses it");
    }
    if (iv_bits != 96) {
      return exclude(std::to_string(iv_bits) +
                     "-bit nonce: CryptoOp::iv is always a 12-byte nonce");
    }
    if (tag_bits != 128) {
      return exclude(std::to_string(tag_bits) + "-bit tag: ESP AEADs use a 16-byte ICV");
    }
    v.key = bytes(test, "key");
    v.iv = bytes(test, "iv");
    v.aad = bytes(test, "aad");
    v.msg = bytes(test, "msg");
    v.ct = bytes(test, "ct");
    v.tag = bytes(test, "tag");
    if (v.key.size() * 8 != static_cast<size_t>(key_bits) || v.iv.size() != 12 ||
        v.tag.size() != 16 || v.ct.size() != v.msg.size()) {
      throw std::runtime_error("tcId " + std::to_string(v.tc_id) +
                               ": field sizes disagree with its group");
    }
    file.vectors.push_back(std::move(v));
  });
  return file;
}

MacFile load_mac(const std::string& name, Integ integ) {
  MacFile file;
  load(file, name, [&](const json& group, const json& test) {
    MacVector v;
    v.tc_id = test.at("tcId").get<int>();
    v.comment = test.value("comment", "");
    v.result = result(test);
    v.integ = integ;
    v.tag_len = group.at("tagSize").get<uint32_t>() / 8;
    v.key = bytes(test, "key");
    v.msg = bytes(test, "msg");
    v.tag = bytes(test, "tag");
    if (v.tag.size() != v.tag_len) {
      // The engine compares exactly tag_len bytes, as ESP's fixed-size ICV
      // does; a tag of another length cannot be presented to it.
      file.excluded.push_back({v.tc_id, "tag field is not tagSize long", v.result});
      return;
    }
    file.vectors.push_back(std::move(v));
  });
  return file;
}

}  // namespace

std::string_view result_name(Result r) {
  switch (r) {
    case Result::kValid:
      return "valid";
    case Result::kInvalid:
      return "invalid";
    case Result::kAcceptable:
      return "acceptable";
  }
  return "?";
}

template <typename Vector>
std::map<std::string, int> VectorFile<Vector>::excluded_by_reason() const {
  std::map<std::string, int> counts;
  for (const Excluded& e : excluded) counts[e.reason]++;
  return counts;
}
template struct VectorFile<AeadVector>;
template struct VectorFile<MacVector>;

const AeadFile& aes_gcm_file() {
  static const AeadFile file = load_aead("aes_gcm_test.json", false);
  return file;
}

const AeadFile& chacha20_poly1305_file() {
  static const AeadFile file = load_aead("chacha20_poly1305_test.json", true);
  return file;
}

const MacFile& hmac_file(Integ integ) {
  static const MacFile sha256 = load_mac("hmac_sha256_test.json", Integ::kHmacSha256_128);
  static const MacFile sha384 = load_mac("hmac_sha384_test.json", Integ::kHmacSha384_192);
  static const MacFile sha512 = load_mac("hmac_sha512_test.json", Integ::kHmacSha512_256);
  switch (integ) {
    case Integ::kHmacSha384_192:
      return sha384;
    case Integ::kHmacSha512_256:
      return sha512;
    default:
      return sha256;
  }
}

std::string hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

namespace {

// ThreadEngine is one thread's Engine and, if it failed to start, why.
struct ThreadEngine {
  std::string error;
  std::unique_ptr<crypto::Engine> engine = crypto::Engine::create(&error);
};

ThreadEngine& thread_engine() {
  thread_local ThreadEngine te;
  return te;
}

}  // namespace

crypto::Engine* test_engine() { return thread_engine().engine.get(); }

const std::string& engine_error() { return thread_engine().error; }

void PrintTo(const AeadVector& v, std::ostream* os) {
  *os << "tcId " << v.tc_id << " (" << result_name(v.result) << ", " << v.comment << ")";
}

void PrintTo(const MacVector& v, std::ostream* os) {
  *os << "tcId " << v.tc_id << " (" << result_name(v.result) << ", " << v.comment << ")";
}

}  // namespace portcullis::kat
