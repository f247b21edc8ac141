// Aggregated ClusterRoles (aggregationRule), resolved as the controller does.
#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_map>

#include "posture/posture_impl.h"

namespace stockade::posture::detail {

namespace {

// A rule's content without its line, for deduplication.
std::string rule_key(const PolicyRuleSpec& r) {
  std::string k;
  for (const auto* v :
       {&r.verbs, &r.api_groups, &r.resources, &r.resource_names, &r.non_resource_urls}) {
    k += std::to_string(v->size());
    k += ';';
    for (const std::string& s : *v) {
      k += std::to_string(s.size());
      k += ':';
      k += s;
    }
  }
  return k;
}

constexpr uint32_t kUnvisited = UINT32_MAX;

// ClusterRoles by label, so a selector looks only at the roles that carry one of its keys.
class RolesByLabel {
 public:
  explicit RolesByLabel(const std::vector<RbacRole>& roles) {
    for (size_t i = 0; i < roles.size(); ++i) {
      if (!roles[i].cluster_scoped) continue;
      cluster_roles_.push_back(uint32_t(i));
      for (const auto& [k, v] : roles[i].labels) {
        by_label_[{k, v}].push_back(uint32_t(i));
        by_label_key_[k].push_back(uint32_t(i));
      }
    }
  }

  // The roles that may match `sel`: the smallest list one of its requirements narrows to.
  std::vector<uint32_t> candidates(const LabelSelector& sel) const {
    const std::vector<uint32_t>* best = &cluster_roles_;
    std::vector<uint32_t> in;
    bool use_in = false;
    for (const SelectorRequirement& req : sel.requirements) {
      if (req.op == SelectorOp::Exists) {
        auto it = by_label_key_.find(req.key);
        if (it == by_label_key_.end()) return std::vector<uint32_t>{};
        if (it->second.size() < (use_in ? in.size() : best->size())) {
          best = &it->second;
          use_in = false;
        }
      } else if (req.op == SelectorOp::In) {
        std::vector<uint32_t> c;
        for (const std::string& v : req.values)
          if (auto it = by_label_.find({req.key, v}); it != by_label_.end())
            c.insert(c.end(), it->second.begin(), it->second.end());
        if (c.size() < (use_in ? in.size() : best->size())) {
          in = std::move(c);
          use_in = true;
        }
      }
    }
    if (!use_in) return *best;
    std::sort(in.begin(), in.end());
    return in;
  }

 private:
  std::vector<uint32_t> cluster_roles_;
  std::map<std::pair<std::string_view, std::string_view>, std::vector<uint32_t>> by_label_;
  std::map<std::string_view, std::vector<uint32_t>> by_label_key_;
};

// Nodes 0..n-1 are the roles, then one node per distinct selector: roles sharing a selector
// share its edges (linking each role to every match would be quadratic).
struct AggregationGraph {
  std::vector<std::vector<uint32_t>> succ;
  std::vector<uint32_t> owner;  // per node, the role named when a bound is hit
};

AggregationGraph aggregation_graph(const std::vector<RbacRole>& roles) {
  const size_t n = roles.size();
  const RolesByLabel by_label(roles);
  AggregationGraph g;
  g.succ.resize(n);
  g.owner.resize(n);
  for (uint32_t i = 0; i < n; ++i) g.owner[i] = i;
  std::unordered_map<std::string, uint32_t> selector_node;
  for (size_t i = 0; i < n; ++i) {
    const RbacRole& agg = roles[i];
    if (!agg.cluster_scoped) continue;
    for (const LabelSelector& sel : agg.aggregation_selectors) {
      // An empty selector in clusterRoleSelectors selects nothing upstream (it is converted
      // with LabelSelectorAsSelector, where empty means everything, but the API server
      // rejects such roles); be conservative and require requirements.
      if (sel.empty()) continue;
      auto [it, fresh] = selector_node.try_emplace(sel.canonical(), uint32_t(g.succ.size()));
      if (fresh) {
        std::vector<uint32_t> matched;
        for (uint32_t j : by_label.candidates(sel))
          if (sel.matches(roles[j].labels)) matched.push_back(j);
        g.succ.push_back(std::move(matched));
        g.owner.push_back(uint32_t(i));
      }
      g.succ[i].push_back(it->second);
    }
  }
  return g;
}

}  // namespace

Components strongly_connected(const std::vector<std::vector<uint32_t>>& succ) {
  const size_t nodes = succ.size();
  Components out;
  std::vector<uint32_t>& comp = out.of;
  comp.assign(nodes, kUnvisited);
  std::vector<uint32_t> index(nodes, kUnvisited), low(nodes, 0);
  std::vector<uint32_t> stack;
  std::vector<std::pair<uint32_t, uint32_t>> call;  // node, next edge
  uint32_t counter = 0;
  auto enter = [&](uint32_t v) {
    index[v] = low[v] = counter++;
    stack.push_back(v);
    call.emplace_back(v, 0);
  };
  for (uint32_t s = 0; s < nodes; ++s) {
    if (index[s] != kUnvisited) continue;
    enter(s);
    while (!call.empty()) {
      auto [v, e] = call.back();
      if (e < succ[v].size()) {
        ++call.back().second;
        uint32_t w = succ[v][e];
        if (index[w] == kUnvisited)
          enter(w);
        else if (comp[w] == kUnvisited)  // still on the stack
          low[v] = std::min(low[v], index[w]);
        continue;
      }
      call.pop_back();
      if (!call.empty()) low[call.back().first] = std::min(low[call.back().first], low[v]);
      if (low[v] != index[v]) continue;
      out.members.emplace_back();
      uint32_t w;
      do {
        w = stack.back();
        stack.pop_back();
        comp[w] = uint32_t(out.members.size() - 1);
        out.members.back().push_back(w);
      } while (w != v);
    }
  }
  return out;
}

// aggregationRule: the controller gives an aggregating ClusterRole the rules of every
// ClusterRole its selectors match, and aggregated roles may aggregate in turn, so the answer
// is a fixed point: each role gets the rules of every ClusterRole reachable from it. It is
// computed on the graph role -> selector -> matched roles, collapsed into strongly connected
// components (roles that aggregate each other share one rule set), in one pass from the
// leaves: time and memory linear in the graph plus the rules it hands out.
void RbacIndex::aggregate() {
  const auto& roles = state_.roles;
  const size_t n = roles.size();
  bool any = false;
  for (const RbacRole& r : roles) any |= r.cluster_scoped && !r.aggregation_selectors.empty();
  if (!any) return;

  // One copy of each distinct ClusterRole rule, line 0 (it is written in another object).
  std::unordered_map<std::string, uint32_t> rule_id;
  std::vector<std::vector<uint32_t>> own_ids(n);
  for (size_t i = 0; i < n; ++i) {
    if (!roles[i].cluster_scoped) continue;
    for (const PolicyRuleSpec& rule : roles[i].rules) {
      auto [it, fresh] = rule_id.try_emplace(rule_key(rule), uint32_t(aggregated_.size()));
      if (fresh) {
        aggregated_.push_back(rule);
        aggregated_.back().line = 0;
      }
      own_ids[i].push_back(it->second);
    }
    std::sort(own_ids[i].begin(), own_ids[i].end());
    own_ids[i].erase(std::unique(own_ids[i].begin(), own_ids[i].end()), own_ids[i].end());
  }

  const AggregationGraph g = aggregation_graph(roles);
  const std::vector<std::vector<uint32_t>>& succ = g.succ;
  const Components components = strongly_connected(succ);
  const std::vector<uint32_t>& comp = components.of;
  const std::vector<std::vector<uint32_t>>& members = components.members;

  // The rule set of each component: its roles' own rules and those of every component it
  // reaches (already computed: they completed first).
  size_t handed_out = 0;
  auto over = [&](uint32_t node) {
    if (handed_out <= kMaxAggregatedRules) return false;
    const RbacRole& r = roles[g.owner[node]];
    error_ = Error{r.source.file, r.source.line,
                   "ClusterRole " + r.name + ": its aggregationRule takes the aggregated rules " +
                       "past " + std::to_string(kMaxAggregatedRules) +
                       " in all (ClusterRoles aggregating each other); stopping rather than "
                       "reporting on part of them"};
    return true;
  };
  std::vector<std::vector<uint32_t>> set(members.size());
  for (uint32_t c = 0; c < members.size(); ++c) {
    std::vector<uint32_t> acc;
    bool aggregates = false;
    for (uint32_t v : members[c]) {
      if (v < n) acc.insert(acc.end(), own_ids[v].begin(), own_ids[v].end());
      for (uint32_t w : succ[v]) {
        aggregates = true;
        if (comp[w] != c) acc.insert(acc.end(), set[comp[w]].begin(), set[comp[w]].end());
      }
    }
    std::sort(acc.begin(), acc.end());
    acc.erase(std::unique(acc.begin(), acc.end()), acc.end());
    if (aggregates) {
      handed_out += acc.size();
      if (over(members[c].front())) return;
    }
    set[c] = std::move(acc);
  }
  for (size_t i = 0; i < n; ++i) {
    if (succ[i].empty()) continue;
    const auto& own = own_ids[i];
    for (uint32_t id : set[comp[i]])
      if (!std::binary_search(own.begin(), own.end(), id)) {
        resolved_[i].push_back(&aggregated_[id]);
        ++handed_out;
      }
    if (over(uint32_t(i))) return;
  }
}

}  // namespace stockade::posture::detail
