// Naming the pods behind the agent's events: from cluster objects given once, or from a live
// pod informer that follows this node's pods as they come and go. The local side of an event is
// its process's pod (by the UID in its cgroup path), else whichever pod holds the address.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agent/event.h"
#include "core/error.h"
#include "kube/client.h"
#include "kube/live_state.h"
#include "model/objects.h"

namespace stockade::agent {

class PodNames {
 public:
  PodNames() = default;
  PodNames(const PodNames&) = delete;
  PodNames& operator=(const PodNames&) = delete;

  void add(const Pod& pod) { pods_.put(pod); }

  // Follows the pods of `node` (a field selector: thousands of agents each following every
  // pod of the cluster would load the API server with what the server side resolves anyway),
  // once listed; `on_stopped` is told when they are no longer followed. `client` must outlive
  // this object.
  Result<void> follow(kube::Client& client, const std::string& node,
                      std::function<void(const Error&)> on_stopped);

  size_t size() const { return pods_.pods().size(); }
  bool empty() const { return pods_.empty(); }

  // Fills the event's empty pod names (AgentOptions::enrich).
  void name(AgentEvent& e) const;

 private:
  kube::PodDirectory pods_;
  std::unique_ptr<kube::LiveState> live_;  // destroyed first: its informers write to pods_
};

}  // namespace stockade::agent
