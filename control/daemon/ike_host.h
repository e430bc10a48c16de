// ike_host.h: the IKE engine's view of portcullisd (ike::EngineHost). The
// engine calls it with its own lock held, so it only queues what the
// engine asks for; the link thread drains the queue (ike_link.cc) and
// talks to the data plane, outside every lock.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "control/ike/engine.h"

namespace portcullis::ctl::daemon {

struct IkeAction {
  enum class Kind { kSend, kInstall, kSwitch, kRemove, kLog } kind = Kind::kLog;
  ike::Datagram datagram;
  ike::ChildSa child;
  bool use_outbound = false;
  std::string tunnel;
  uint64_t child_id = 0;
  ike::Severity severity = ike::Severity::kInfo;
  std::string message;
};

class IkeHost : public ike::EngineHost {
 public:
  void send(ike::Datagram d) override {
    IkeAction a;
    a.kind = IkeAction::Kind::kSend;
    a.datagram = std::move(d);
    push(std::move(a));
  }
  void install_child(const ike::ChildSa& c, bool use_outbound) override {
    IkeAction a;
    a.kind = IkeAction::Kind::kInstall;
    a.child = c;
    a.tunnel = c.tunnel;
    a.child_id = c.id;
    a.use_outbound = use_outbound;
    push(std::move(a));
  }
  void switch_outbound(const std::string& tunnel, uint64_t child_id) override {
    IkeAction a;
    a.kind = IkeAction::Kind::kSwitch;
    a.tunnel = tunnel;
    a.child_id = child_id;
    push(std::move(a));
  }
  void remove_child(const std::string& tunnel, uint64_t child_id) override {
    IkeAction a;
    a.kind = IkeAction::Kind::kRemove;
    a.tunnel = tunnel;
    a.child_id = child_id;
    push(std::move(a));
  }
  void log(const std::string& tunnel, ike::Severity s, const std::string& message) override {
    IkeAction a;
    a.kind = IkeAction::Kind::kLog;
    a.tunnel = tunnel;
    a.severity = s;
    a.message = message;
    push(std::move(a));
  }
  std::vector<IkeAction> take() {
    std::lock_guard lock(mu_);
    return std::exchange(queue_, {});
  }

 private:
  void push(IkeAction a) {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(a));
  }
  std::mutex mu_;
  std::vector<IkeAction> queue_;
};

}  // namespace portcullis::ctl::daemon
