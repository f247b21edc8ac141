#include "input/state_order.h"

#include <algorithm>
#include <map>
#include <string_view>
#include <tuple>
#include <vector>

namespace stockade::input {

namespace {

// Keeps the last object of each key, sorted by key. `key` returns references (std::tie), so
// that comparing copies nothing; input that is sorted already (a cluster dump often is) costs
// one compare per object.
template <class T, class KeyFn>
void dedup_sort(std::vector<T>& v, KeyFn key) {
  const size_t n = v.size();
  bool sorted = true;
  for (size_t i = 1; i < n && sorted; ++i) sorted = key(v[i - 1]) < key(v[i]);
  if (sorted) return;
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return key(v[a]) < key(v[b]); });
  std::vector<T> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i)  // the last of equal keys: the last seen (the sort is stable)
    if (i + 1 == n || key(v[order[i]]) < key(v[order[i + 1]]))
      out.push_back(std::move(v[order[i]]));
  v = std::move(out);
}

// A namespaced kind ordered as dedup_sort orders it, by (namespace, name, `then`), with cheaper
// comparisons: the namespaces (a few hundred among 10^5 objects) are ranked once, so that most
// read a number and two names rather than two objects' strings. The last of equal keys stays.
template <class T, class Then>
void dedup_sort_namespaced(std::vector<T>& v, Then then) {
  const size_t n = v.size();
  auto less = [&](const T& x, const T& y) {
    const auto a = std::tie(x.ns, x.name), b = std::tie(y.ns, y.name);
    return a != b ? a < b : then(x, y);
  };
  bool sorted = true;
  for (size_t i = 1; i < n && sorted; ++i) sorted = less(v[i - 1], v[i]);
  if (sorted) return;
  std::map<std::string_view, uint32_t> rank;
  for (size_t i = 0; i < n; ++i)
    if (i == 0 || v[i].ns != v[i - 1].ns) rank.emplace(v[i].ns, 0);
  for (uint32_t next = 0; auto& entry : rank) entry.second = next++;
  struct Key {
    uint32_t ns;
    uint32_t index;
    std::string_view name;
  };
  std::vector<Key> keys(n);
  for (size_t i = 0; i < n; ++i)
    keys[i] = {i > 0 && v[i].ns == v[i - 1].ns ? keys[i - 1].ns : rank.at(v[i].ns),
               static_cast<uint32_t>(i), v[i].name};
  auto key_less = [&](const Key& x, const Key& y) {  // without the input order
    if (x.ns != y.ns || x.name != y.name) return std::tie(x.ns, x.name) < std::tie(y.ns, y.name);
    return then(v[x.index], v[y.index]);
  };
  std::sort(keys.begin(), keys.end(), [&](const Key& x, const Key& y) {
    return key_less(x, y) || (!key_less(y, x) && x.index < y.index);
  });
  std::vector<T> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i)  // the last of equal keys: the last seen
    if (i + 1 == n || key_less(keys[i], keys[i + 1])) out.push_back(std::move(v[keys[i].index]));
  v = std::move(out);
}

template <class T>
void dedup_sort_namespaced(std::vector<T>& v) {
  dedup_sort_namespaced(v, [](const T&, const T&) { return false; });
}
}  // namespace

void sort_all_but_pods(ClusterState& s) {
  dedup_sort(s.namespaces, [](const Namespace& n) { return std::tie(n.name); });
  dedup_sort(s.nodes, [](const Node& n) { return std::tie(n.name); });
  dedup_sort_namespaced(s.workloads,
                        [](const Workload& a, const Workload& b) { return a.kind < b.kind; });
  dedup_sort_namespaced(s.services);
  dedup_sort(s.endpoint_slices, [](const EndpointSlice& v) { return std::tie(v.ns, v.name); });
  dedup_sort_namespaced(s.network_policies);
  dedup_sort(s.cluster_policies, [](const ClusterPolicy& p) { return std::tie(p.kind, p.name); });
  dedup_sort(s.ingresses, [](const Ingress& v) { return std::tie(v.ns, v.name); });
  dedup_sort(s.routes, [](const GatewayRoute& v) { return std::tie(v.kind, v.ns, v.name); });
  dedup_sort(s.monitors, [](const ScrapeMonitor& v) { return std::tie(v.kind, v.ns, v.name); });
  dedup_sort_namespaced(s.service_accounts);
  dedup_sort(s.secrets, [](const Secret& v) { return std::tie(v.ns, v.name); });
  dedup_sort(s.roles, [](const RbacRole& v) { return std::tie(v.cluster_scoped, v.ns, v.name); });
  dedup_sort(s.bindings,
             [](const RbacBinding& v) { return std::tie(v.cluster_scoped, v.ns, v.name); });
}

void sort_pods(std::vector<Pod>& pods) {
  dedup_sort_namespaced(pods);
}

}  // namespace stockade::input
