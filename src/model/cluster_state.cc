#include "model/cluster_state.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <tuple>
#include <unordered_map>

namespace stockade {

Labels ClusterState::namespace_labels(const std::string& name) const {
  auto it = std::lower_bound(namespaces.begin(), namespaces.end(), name,
                             [](const Namespace& n, const std::string& v) { return n.name < v; });
  if (it != namespaces.end() && it->name == name) return it->labels;
  // Linear fallback when the vector is not sorted (states built by hand in tests).
  for (const Namespace& n : namespaces)
    if (n.name == name) return n.labels;
  return Labels{{"kubernetes.io/metadata.name", name}};
}

std::vector<Endpoint> build_endpoints(const ClusterState& state) {
  std::vector<Endpoint> out;
  out.reserve(state.pods.size() + state.workloads.size());

  // Index workloads by uid and by (ns, kind, name); the keys point into `state`.
  std::unordered_map<std::string_view, size_t> by_uid;
  std::map<std::tuple<std::string_view, std::string_view, std::string_view>, size_t> by_key;
  for (size_t i = 0; i < state.workloads.size(); ++i) {
    const Workload& w = state.workloads[i];
    if (!w.uid.empty()) by_uid[w.uid] = i;
    by_key[{w.ns, to_string(w.kind), w.name}] = i;
  }
  auto find_owner = [&](const std::string& ns, const OwnerRef& o) -> std::optional<size_t> {
    if (!o.uid.empty()) {
      auto it = by_uid.find(o.uid);
      if (it != by_uid.end()) return it->second;
    }
    auto it = by_key.find({ns, o.kind, o.name});
    if (it != by_key.end()) return it->second;
    return std::nullopt;
  };

  std::vector<bool> has_pods(state.workloads.size(), false);
  std::vector<bool> has_owner(state.workloads.size(), false);
  for (size_t i = 0; i < state.workloads.size(); ++i)
    for (const OwnerRef& o : state.workloads[i].owners)
      if (find_owner(state.workloads[i].ns, o)) has_owner[i] = true;

  for (const Pod& p : state.pods) {
    // Mark every workload up the owner chain as having pods (bounded against cycles), and
    // remember the top-most one.
    std::vector<OwnerRef> frontier = p.owners;
    std::string ns = p.ns;
    std::optional<size_t> top;
    for (int depth = 0; depth < 8 && !frontier.empty(); ++depth) {
      std::vector<OwnerRef> next;
      for (const OwnerRef& o : frontier) {
        if (auto w = find_owner(ns, o)) {
          top = *w;
          has_pods[*w] = true;
          next.insert(next.end(), state.workloads[*w].owners.begin(),
                      state.workloads[*w].owners.end());
        }
      }
      frontier = std::move(next);
    }
    if (p.phase == "Succeeded" || p.phase == "Failed") continue;
    Endpoint e;
    e.ns = p.ns;
    e.name = p.name;
    e.kind = "Pod";
    e.pod = p.spec;
    e.ips = p.ips;
    e.node = p.node;
    e.created_ns = p.created_ns;
    e.deleted_ns = p.deleted_ns;
    if (top) {
      e.workload_kind = std::string(to_string(state.workloads[*top].kind));
      e.workload_name = state.workloads[*top].name;
    }
    out.push_back(std::move(e));
  }

  const size_t pod_endpoints = out.size();
  for (size_t i = 0; i < state.workloads.size(); ++i) {
    const Workload& w = state.workloads[i];
    if (has_pods[i] || has_owner[i]) continue;
    Endpoint e;
    e.ns = w.ns;
    e.name = w.name;
    e.kind = std::string(to_string(w.kind));
    e.pod = w.pod;
    e.workload_kind = e.kind;
    e.workload_name = w.name;
    out.push_back(std::move(e));
  }

  // Pods and workloads each come sorted from ClusterLoader::finish(): then a merge does.
  auto less = [](const Endpoint& a, const Endpoint& b) {
    return std::tie(a.ns, a.name, a.kind) < std::tie(b.ns, b.name, b.kind);
  };
  const auto mid = out.begin() + static_cast<std::ptrdiff_t>(pod_endpoints);
  if (std::is_sorted(out.begin(), mid, less) && std::is_sorted(mid, out.end(), less))
    std::inplace_merge(out.begin(), mid, out.end(), less);
  else
    std::sort(out.begin(), out.end(), less);
  // A workload and a pod with the same name in one namespace keep distinct ids in output
  // only by kind; keep both (rare: a bare Pod named like a Deployment that has no pods).
  return out;
}

}  // namespace stockade
