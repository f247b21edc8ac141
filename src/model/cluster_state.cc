#include "model/cluster_state.h"

#include "core/side_by_side.h"
#include "model/resolution.h"

#include <algorithm>
#include <iterator>
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

std::vector<Endpoint> build_endpoints(const ClusterState& state, std::vector<std::string>* notes) {
  std::vector<Endpoint> out;
  out.reserve(state.pods.size() + state.workloads.size());
  const WorkloadResolver resolver(state);

  // A workload stands for its pods only when none of its pods is in the input, decided by the
  // same resolution that names each pod's workload (owner chain and inferred owners), and
  // only when no workload of the input is above it.
  std::vector<bool> has_pods(state.workloads.size(), false);
  std::vector<bool> below(state.workloads.size(), false);
  for (uint32_t i = 0; i < state.workloads.size(); ++i) below[i] = resolver.top(i) != i;

  // Pods are resolved and copied into endpoints in two halves, side by side on a large
  // cluster; each half writes only its own part, and the parts are joined in pod order.
  struct Part {
    std::vector<Endpoint> eps;
    std::vector<std::string> notes;
    std::vector<uint32_t> workloads;  // the workloads the half's pods resolved to
  };
  auto resolve_pods = [&](size_t begin, size_t end, Part& part) {
    part.eps.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) {
      const Pod& p = state.pods[i];
      WorkloadResolution r = resolver.of_pod(p);
      if (r.workload) part.workloads.push_back(*r.workload);
      if (notes && !r.why.empty()) part.notes.push_back(p.ns + "/" + p.name + ": " + r.why);
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
      if (r.workload) {
        e.workload_kind = std::string(to_string(state.workloads[*r.workload].kind));
        e.workload_name = state.workloads[*r.workload].name;
      }
      part.eps.push_back(std::move(e));
    }
  };
  constexpr size_t kSplitPods = 2048;  // below this, a second thread costs more than it saves
  const size_t pods = state.pods.size();
  const size_t half = pods >= kSplitPods ? pods / 2 : pods;
  Part parts[2];
  if (half < pods)
    side_by_side([&] { resolve_pods(0, half, parts[0]); },
                 [&] { resolve_pods(half, pods, parts[1]); });
  else
    resolve_pods(0, pods, parts[0]);
  for (Part& part : parts) {
    for (uint32_t w : part.workloads) has_pods[w] = true;
    if (notes) std::move(part.notes.begin(), part.notes.end(), std::back_inserter(*notes));
    std::move(part.eps.begin(), part.eps.end(), std::back_inserter(out));
    std::vector<Endpoint>().swap(part.eps);
  }

  const size_t pod_endpoints = out.size();
  for (size_t i = 0; i < state.workloads.size(); ++i) {
    const Workload& w = state.workloads[i];
    if (has_pods[i] || below[i]) continue;
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

std::string group_id(const Endpoint& ep, Granularity by) {
  if (by == Granularity::Namespace) return ep.ns;
  if (by == Granularity::Workload && !ep.workload_name.empty())
    return ep.ns + "/" + ep.workload_name;
  return ep.id();
}

std::optional<Granularity> parse_granularity(std::string_view text) {
  if (text == "pod") return Granularity::Pod;
  if (text == "workload") return Granularity::Workload;
  if (text == "namespace") return Granularity::Namespace;
  return std::nullopt;
}

}  // namespace stockade
