// store.h: what portcullisd must remember across its own restarts, kept in
// STATE_DIR/state.json and written atomically (temporary file, fsync,
// rename, fsync of the directory) before the data plane is told anything
// that depends on it.
//
// Per tunnel: the channel ids of its SAs and policies (so that a restarted
// daemon finds what it installed), the fingerprints of its keys, the
// sequence lease of its outbound SA under that key, and whether its SAs
// hard-expired under that key.
//
// Sequence leases (control/daemon/README.md): the outbound SA may use
// sequence numbers up to `lease`. The lease is persisted before the data
// plane hears of it, so after any crash every number that could have been
// sent is at most `lease`, and a reinstalled SA under the same key starts at
// lease + 1. New keys start a new sequence space at 1.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace portcullis::ctl::daemon {

struct TunnelRecord {
  uint32_t sa_out = 0, sa_in = 0;  // 0: not installed
  std::vector<uint32_t> policies;
  std::string digest;      // of the tunnel's config when installed
  std::string key_out_fp;  // the key the lease and expiry belong to
  uint64_t lease = 0;      // last outbound sequence number leased under key_out_fp
  bool expired = false;    // hard-expired under key_out_fp: not reinstalled until keys change
  std::string expired_reason;
  bool operator==(const TunnelRecord&) const = default;
};

struct Store {
  uint32_t next_id = 1;
  std::map<std::string, TunnelRecord> tunnels;

  uint32_t allocate_id() { return next_id++; }

  // load reads STATE_DIR/state.json; a missing file is an empty store.
  // Returns false with *error for a file that exists but does not parse.
  bool load(const std::string& state_dir, std::string* error);
  // save writes it atomically; false with *error.
  bool save(const std::string& state_dir, std::string* error) const;
  bool operator==(const Store&) const = default;
};

}  // namespace portcullis::ctl::daemon
