// Naming the sides of a question to the engine: which endpoints a selector such as "NS/NAME",
// "NS/*" or "*" picks, which peers "NS/NAME" or an IP address stands for, and the verdict of one
// connection between them when every pair they stand for is decided alike (`stockade reach`
// and `explain`, and the server's queries). Errors name `what` (the flag or field asked).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ports.h"
#include "engine/engine.h"
#include "model/cluster_state.h"

namespace stockade {

// "NS/NAME" (a pod, else every pod of the workload), "NS/*" or "*": a mask over `eps`. An
// error when nothing matches, with the closest namespace, pod or workload when one is close.
Result<std::vector<uint8_t>> select_endpoints(const std::vector<Endpoint>& eps,
                                              const std::string& selector, const std::string& what);

// NS/NAME (a pod, or every pod of a workload) or an IP (the pod with that IP, else an address
// outside the pods). A Service's cluster IP is refused with a message naming the pods behind
// it, an address two pods hold with a message naming them.
Result<std::vector<Peer>> find_peers(const PolicyEngine& engine, const ClusterState& state,
                                     const std::string& text, const std::string& what);

// One connection explained: the first of the pairs `srcs` x `dsts` stand for.
struct ExplainedConnection {
  Peer src, dst;
  std::string src_name, dst_name;  // NS/NAME, or the address (with its node's name)
  Protocol protocol = Protocol::TCP;
  uint16_t port = 0;
  Verdict verdict;
  size_t pairs = 1;  // pairs decided alike (srcs x dsts)
};

// The verdict of `srcs` -> `dsts` on `port` (a named port is resolved on each destination
// pod), when all pairs (up to the first 10,000) are decided alike by the same tier, policy and
// rule; else an error naming two that differ. `from` and `to` are how the sides were named.
Result<ExplainedConnection> explain_connection(const PolicyEngine& engine,
                                               const ClusterState& state,
                                               const std::vector<Peer>& srcs,
                                               const std::vector<Peer>& dsts, const PortQuery& port,
                                               const std::string& from, const std::string& to);

}  // namespace stockade
