#include "recommend/check_written.h"

#include <algorithm>
#include <thread>

#include "input/loader.h"
#include "recommend/calico_emit.h"
#include "recommend/cilium_emit.h"

namespace stockade {

namespace {

// What a policy says, as text (selectors canonical, rules and peers in order): two policies
// with the same text select, allow and deny the same traffic.
std::string canonical(const NetworkPolicy& p) {
  std::string s = p.ns + "/" + p.name + "|" + p.pod_selector.canonical() + "|" +
                  (p.affects_ingress ? "I" : "") + (p.affects_egress ? "E" : "");
  auto rules = [&](const std::vector<NetworkPolicyRule>& rs, const char* dir) {
    for (const NetworkPolicyRule& r : rs) {
      s += std::string("|") + dir + "[";
      for (const NetworkPolicyPeer& peer : r.peers) {
        s += "(";
        if (peer.pod_selector) s += "pod:" + peer.pod_selector->canonical() + ";";
        if (peer.namespace_selector) s += "ns:" + peer.namespace_selector->canonical() + ";";
        if (peer.ip_block) s += "ip:" + peer.ip_block->str() + ";";
        s += ")";
      }
      s += "]ports[";
      for (const NetworkPolicyPort& port : r.ports)
        s += std::string(to_string(port.effective_protocol())) + "/" +
             std::to_string(static_cast<int>(port.kind)) + "/" + std::to_string(port.port) + "-" +
             std::to_string(port.end_port) + "/" + port.name + ",";
      s += "]";
    }
  };
  rules(p.ingress, "in");
  rules(p.egress, "eg");
  return s;
}

std::string canonical(const ClusterPodSet& ps) {
  return "ns:" + ps.namespace_selector.canonical() +
         (ps.pod_selector ? ";pod:" + ps.pod_selector->canonical() : std::string());
}

std::string canonical(const ClusterPolicy& p) {
  std::string s = std::string(to_string(p.kind)) + "/" + p.name + "|" +
                  std::string(to_string(p.tier)) + "|" + std::to_string(p.priority) + "|" +
                  canonical(p.subject);
  auto rules = [&](const std::vector<ClusterPolicyRule>& rs, const char* dir) {
    for (const ClusterPolicyRule& r : rs) {
      s += std::string("|") + dir + ":" + r.name + ":" + std::string(to_string(r.action)) + "[";
      for (const ClusterPeer& peer : r.peers) {
        s += "(" + std::to_string(static_cast<int>(peer.kind)) + ":" + canonical(peer.pods) +
             ";nodes:" + peer.node_selector.canonical() + ";nets:";
        for (const Cidr& c : peer.networks) s += c.str() + ",";
        s += ";domains:";
        for (const std::string& d : peer.domain_names) s += d + ",";
        s += ")";
      }
      s += "]";
      if (r.ports) {
        s += "ports[";
        for (const ClusterPolicyPort& port : *r.ports)
          s += std::to_string(static_cast<int>(port.kind)) + "/" +
               std::string(to_string(port.protocol)) + "/" + std::to_string(port.start) + "-" +
               std::to_string(port.end) + "/" + port.name + ",";
        s += "]";
      }
    }
  };
  rules(p.ingress, "in");
  rules(p.egress, "eg");
  return s;
}

}  // namespace

std::string check_written(std::string_view text, const std::string& name,
                          const std::vector<const NetworkPolicy*>& policies,
                          const std::vector<const ClusterPolicy*>& guardrails,
                          const std::vector<const CiliumPolicy*>& cilium,
                          const std::vector<const CalicoPolicy*>& calico) {
  // Large YAML is read on two threads, split where a document starts near the middle: a line
  // "---" starts a document wherever it stands (inside a quoted scalar it is an error either
  // way), so the two halves hold the documents the whole text holds. (The output of a large
  // cluster is tens of megabytes, and libyaml reads a few tens of MB/s.)
  std::string_view parts[2] = {text, {}};
  if (text.size() > (size_t{1} << 20) && text.front() != '{') {
    size_t at = text.find("\n---\n", text.size() / 2);
    if (at != std::string_view::npos) {
      parts[0] = text.substr(0, at + 1);
      parts[1] = text.substr(at + 1);
    }
  }
  ClusterState halves[2];
  std::string errors[2];
  auto load_part = [&](int i) {
    ClusterLoader loader;
    if (auto r = loader.add_text(parts[i], name); !r) {
      errors[i] = "the output does not load back: " + r.error().str();
      return;
    }
    halves[i] = std::move(loader).finish();
  };
  std::thread second;
  if (!parts[1].empty()) second = std::thread(load_part, 1);
  load_part(0);
  if (second.joinable()) second.join();
  for (const std::string& e : errors)
    if (!e.empty()) return e;
  ClusterState& back = halves[0];
  for (NetworkPolicy& p : halves[1].network_policies) back.network_policies.push_back(std::move(p));
  for (ClusterPolicy& p : halves[1].cluster_policies) back.cluster_policies.push_back(std::move(p));
  for (CiliumPolicy& p : halves[1].cilium_policies) back.cilium_policies.push_back(std::move(p));
  for (CalicoPolicy& p : halves[1].calico_policies) back.calico_policies.push_back(std::move(p));
  std::vector<std::string> want, got;
  for (const NetworkPolicy* p : policies) want.push_back(canonical(*p));
  for (const ClusterPolicy* p : guardrails) want.push_back(canonical(*p));
  for (const CiliumPolicy* p : cilium) want.push_back(canonical_cilium(*p));
  for (const CalicoPolicy* p : calico) want.push_back(canonical_calico(*p));
  for (const NetworkPolicy& p : back.network_policies) got.push_back(canonical(p));
  for (const ClusterPolicy& p : back.cluster_policies) got.push_back(canonical(p));
  for (const CiliumPolicy& p : back.cilium_policies) got.push_back(canonical_cilium(p));
  for (const CalicoPolicy& p : back.calico_policies) got.push_back(canonical_calico(p));
  size_t other = 0;
  for (const ClusterState& h : halves) {
    other += h.pods.size() + h.workloads.size() + h.namespaces.size() + h.services.size() +
             h.nodes.size() + h.endpoint_slices.size() + h.ingresses.size() + h.routes.size() +
             h.service_accounts.size() + h.secrets.size() + h.roles.size() + h.bindings.size() +
             h.calico_tiers.size() + h.calico_network_sets.size();
    for (const auto& [kind, n] : h.skipped_kinds) other += n;
  }
  if (other != 0) return "the output holds objects other than the recommended policies";
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  if (want.size() != got.size())
    return "the output holds " + std::to_string(got.size()) + " policies, not the " +
           std::to_string(want.size()) + " proved";
  for (size_t i = 0; i < want.size(); ++i)
    if (want[i] != got[i]) return "a policy read back differs from the one proved: " + got[i];
  return {};
}

}  // namespace stockade
