#include "recommend/units.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>

namespace stockade::rec {

namespace {

using Key = std::tuple<std::string, std::string, std::string>;  // (namespace, name, kind)

// The labels every pod of the unit carries, minus the per-pod ones.
Labels common_labels(const Unit& u, const std::vector<Endpoint>& eps) {
  Labels common;
  bool first = true;
  for (uint32_t e : u.endpoints) {
    const Labels& l = eps[e].pod.labels;
    if (first) {
      for (const auto& [k, v] : l)
        if (!is_per_pod_label(k)) common.emplace(k, v);
      first = false;
    } else {
      for (auto it = common.begin(); it != common.end();) {
        auto f = l.find(it->first);
        it = f == l.end() || f->second != it->second ? common.erase(it) : std::next(it);
      }
    }
  }
  return common;
}

}  // namespace

Units build_units(const ClusterState& state, const std::vector<Endpoint>& eps) {
  std::map<Key, const Workload*> workloads;
  for (const Workload& w : state.workloads)
    workloads[{w.ns, std::string(to_string(w.kind)), w.name}] = &w;
  std::map<Key, uint32_t> unit_index;
  Units out;
  std::vector<Unit>& units = out.units;
  std::vector<uint32_t>& unit_of = out.unit_of;
  unit_of.resize(eps.size());
  // endpoints are sorted by (namespace, name); units are created in that order and then
  // sorted by (namespace, name, kind) for stable output.
  std::vector<Key> keys(eps.size());
  for (uint32_t e = 0; e < eps.size(); ++e) {
    const Endpoint& ep = eps[e];
    keys[e] = ep.workload_name.empty() ? std::tuple{ep.ns, ep.name, std::string("Pod")}
                                       : std::tuple{ep.ns, ep.workload_name, ep.workload_kind};
    unit_index.emplace(keys[e], 0);
  }
  uint32_t n = 0;
  for (auto& [k, v] : unit_index) v = n++;
  units.resize(n);
  for (auto& [k, v] : unit_index) {
    units[v].ns = std::get<0>(k);
    units[v].name = std::get<1>(k);
    units[v].kind = std::get<2>(k);
  }
  for (uint32_t e = 0; e < eps.size(); ++e) {
    unit_of[e] = unit_index[keys[e]];
    units[unit_of[e]].endpoints.push_back(e);
  }
  std::map<std::pair<std::string, std::string>, int> name_uses;
  for (const Unit& u : units) ++name_uses[{u.ns, u.name}];
  for (Unit& u : units) {
    u.host_network = eps[u.endpoints.front()].pod.host_network;
    auto w = workloads.find({u.ns, u.kind, u.name});
    if (w != workloads.end() && w->second->selector && selector_is_stable(*w->second->selector)) {
      u.selector = *w->second->selector;
    } else {
      Labels common = common_labels(u, eps);
      u.selector = selector_of_labels(common);
      u.broad = common.empty();
    }
    u.base = lower(u.name);
    if (name_uses[{u.ns, u.name}] > 1) u.base += "-" + lower(u.kind);
  }
  return out;
}

std::optional<SelectorRequirement> exclusion_for(const Units& units, uint32_t u,
                                                 const std::vector<Endpoint>& eps) {
  const Unit& unit = units.units[u];
  // The endpoints are sorted by (namespace, name): the namespace is one range.
  auto lo = std::lower_bound(eps.begin(), eps.end(), unit.ns,
                             [](const Endpoint& e, const std::string& ns) { return e.ns < ns; });
  auto hi = std::upper_bound(eps.begin(), eps.end(), unit.ns,
                             [](const std::string& ns, const Endpoint& e) { return ns < e.ns; });
  for (const SelectorRequirement& r : unit.selector.requirements) {
    if (r.op != SelectorOp::In && r.op != SelectorOp::Exists) continue;
    if (is_per_pod_label(r.key)) continue;
    LabelSelector positive;
    positive.requirements.push_back(r);
    bool exact = true;
    for (uint32_t e : unit.endpoints) exact = exact && positive.matches(eps[e].pod.labels);
    for (auto it = lo; exact && it != hi; ++it) {
      const uint32_t e = static_cast<uint32_t>(it - eps.begin());
      if (units.unit_of[e] != u && !it->pod.host_network && positive.matches(it->pod.labels))
        exact = false;
    }
    if (!exact) continue;
    SelectorRequirement x = r;
    x.op = r.op == SelectorOp::In ? SelectorOp::NotIn : SelectorOp::DoesNotExist;
    return x;
  }
  return std::nullopt;
}

}  // namespace stockade::rec
