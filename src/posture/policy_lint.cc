// Policy lint (`scan`, category "policy"): policies and rules that do nothing, or not what their
// author meant. What a selector selects is always the engine's answer (PolicyEngine::select,
// resolve_port); this file only decides which questions to ask and how to word the findings.
#include <algorithm>
#include <map>
#include <set>

#include "core/edit_distance.h"
#include "engine/diff.h"
#include "posture/posture_impl.h"

namespace stockade::posture::detail {
namespace {

// The existing value nearest to `want`: one is a prefix of the other, or a small edit
// distance (a third of the longer value, at least 1). Ties: prefix first, then the smaller value.
std::optional<std::string> nearest(const std::string& want, const std::set<std::string>& values) {
  std::optional<std::string> best;
  std::tuple<size_t, int> best_key{SIZE_MAX, 0};
  for (const std::string& v : values) {
    if (v == want) return std::nullopt;  // the value exists: not a typo
    bool prefix = !want.empty() && !v.empty() && (v.starts_with(want) || want.starts_with(v));
    size_t limit = std::max<size_t>(1, std::max(want.size(), v.size()) / 3);
    // The length difference bounds the distance from below: most values are out at once.
    size_t gap = want.size() > v.size() ? want.size() - v.size() : v.size() - want.size();
    if (!prefix && gap > limit) continue;
    size_t bound = std::min(prefix ? SIZE_MAX - 1 : limit, std::get<0>(best_key));
    if (gap > bound) continue;
    size_t d = edit_distance(want, v, bound);
    if (d > bound) continue;
    std::tuple<size_t, int> key{d, prefix ? 0 : 1};
    if (key < best_key) {
      best_key = key;
      best = v;
    }
  }
  return best;
}

using LabelValues = std::map<std::string, std::set<std::string>, std::less<>>;

// As the author wrote it: matchLabels entries as key=value, expressions in canonical form.
std::string selector_text(const LabelSelector& s) {
  if (s.empty()) return "{}";
  std::string t;
  for (const SelectorRequirement& r : s.requirements) {
    LabelSelector one{{r}};
    t += (t.empty() ? "" : ",") + (r.op == SelectorOp::In && r.values.size() == 1
                                       ? r.key + "=" + r.values[0]
                                       : one.canonical());
  }
  return t;
}

class Linter {
 public:
  Linter(const ClusterState& s, const PolicyEngine& e, std::vector<Finding>& out,
         std::vector<std::string>& warnings)
      : state_(s), engine_(e), out_(out), warnings_(warnings) {
    for (const Endpoint& ep : engine_.endpoints()) ns_with_endpoints_.insert(ep.ns);
  }

  void run() {
    namespaces();
    for (const NetworkPolicy& np : state_.network_policies) network_policy(np);
    for (const ClusterPolicy& cp : state_.cluster_policies) cluster_policy(cp);
    unused_rules();
  }

 private:
  const ClusterState& state_;
  const PolicyEngine& engine_;
  std::vector<Finding>& out_;
  std::vector<std::string>& warnings_;
  std::set<std::string, std::less<>> ns_with_endpoints_;
  std::optional<LabelValues> pod_values_, ns_values_;  // built on first need

  // ---- "did you mean" ---------------------------------------------------------------------

  const LabelValues& pod_values() {
    if (!pod_values_) {
      pod_values_.emplace();
      for (const Endpoint& ep : engine_.endpoints())
        if (!ep.pod.host_network)
          for (const auto& [k, v] : ep.pod.labels) (*pod_values_)[k].insert(v);
    }
    return *pod_values_;
  }
  const LabelValues& ns_values() {
    if (!ns_values_) {
      ns_values_.emplace();
      std::set<std::string> names(ns_with_endpoints_.begin(), ns_with_endpoints_.end());
      for (const Namespace& n : state_.namespaces) names.insert(n.name);
      for (const std::string& n : names)
        for (const auto& [k, v] : state_.namespace_labels(n)) (*ns_values_)[k].insert(v);
    }
    return *ns_values_;
  }

  // `sel` with each single-valued `In` requirement whose value no object carries replaced by
  // the nearest existing value of the same key; nullopt when nothing was replaced.
  std::map<std::tuple<const LabelValues*, std::string, std::string>, std::optional<std::string>>
      nearest_cache_;
  std::optional<LabelSelector> corrected(const LabelSelector& sel, const LabelValues& vals,
                                         std::vector<std::string>& changes) {
    LabelSelector out = sel;
    bool changed = false;
    for (SelectorRequirement& r : out.requirements) {
      if (r.op != SelectorOp::In || r.values.size() != 1) continue;
      auto it = vals.find(r.key);
      if (it == vals.end()) continue;
      auto [c, fresh] = nearest_cache_.try_emplace({&vals, r.key, r.values[0]});
      if (fresh) c->second = nearest(r.values[0], it->second);
      if (const auto& v = c->second) {
        r.values[0] = *v;
        changes.push_back(r.key + "=" + *v);
        changed = true;
      }
    }
    if (!changed) return std::nullopt;
    return out;
  }

  std::string examples(const Selection& s) const {
    std::string t;
    size_t shown = 0;
    for (uint32_t e : s.representatives) {
      if (shown == 3) break;
      t += (shown++ ? ", " : "") + engine_.endpoints()[e].id();
    }
    if (s.endpoints > shown) t += ", …";
    return std::to_string(s.endpoints) + (s.endpoints == 1 ? " endpoint: " : " endpoints: ") + t;
  }

  // "; did you mean name=carts? (it would select 1 endpoint: ns/carts-0)" or "".
  std::string suggestion(const SelectorQuery& q) {
    std::vector<std::string> changes;
    std::optional<LabelSelector> pod, ns;
    if (q.pod_selector) pod = corrected(*q.pod_selector, pod_values(), changes);
    if (q.namespace_selector) ns = corrected(*q.namespace_selector, ns_values(), changes);
    if (changes.empty()) return "";
    SelectorQuery fixed = q;
    if (pod) fixed.pod_selector = &*pod;
    if (ns) fixed.namespace_selector = &*ns;
    Selection s = engine_.select(fixed);
    if (s.endpoints == 0) return "";
    std::string c;
    for (const std::string& ch : changes) c += (c.empty() ? "" : ", ") + ch;
    return "; did you mean " + c + "? (it would select " + examples(s) + ")";
  }

  static std::string describe(const SelectorQuery& q) {
    std::string t;
    if (q.namespace_selector) t = "namespaceSelector " + selector_text(*q.namespace_selector);
    if (q.pod_selector)
      t += (t.empty() ? "" : ", ") + std::string("podSelector ") + selector_text(*q.pod_selector);
    return t;
  }

  void add(std::string_view id, const ResourceRef& ref, const SourceRef& src, int line,
           std::string message) {
    out_.push_back(make_finding(id, ref, src, line ? line : src.line, std::move(message)));
  }

  // ---- namespaces -------------------------------------------------------------------------

  void namespaces() {
    for (const Namespace& n : state_.namespaces) {
      auto it = n.annotations.find("net.beta.kubernetes.io/network-policy");
      if (it == n.annotations.end()) continue;
      uint64_t total = 0, open = 0;
      const auto& eps = engine_.endpoints();
      for (uint32_t i = 0; i < eps.size(); ++i)
        if (eps[i].ns == n.name) {
          ++total;
          if (!engine_.np_isolation(i).ingress) ++open;
        }
      add("POLICY_DEPRECATED_ANNOTATION", {"Namespace", "", n.name}, n.source, n.source.line,
          "Namespace " + n.name + " sets net.beta.kubernetes.io/network-policy (" + it->second +
              "), which Kubernetes ignores since v1.7: isolation comes only from NetworkPolicies "
              "that select the pods (" +
              std::to_string(open) + " of " + std::to_string(total) +
              " endpoints in it are not isolated for ingress)");
    }
  }

  // ---- NetworkPolicy ----------------------------------------------------------------------

  // Whether pods of `q` declare the port name (the engine resolves names on each endpoint).
  bool declares(const Selection& s, const std::string& name, Protocol proto) {
    // A name no endpoint declares at all needs no look-up per endpoint.
    if (!declared_) {
      declared_.emplace();
      for (const Endpoint& ep : engine_.endpoints())
        for (const ContainerPort& p : ep.pod.ports)
          if (!p.name.empty()) declared_->emplace(p.name, p.protocol);
    }
    if (!declared_->contains({name, proto})) return false;
    for (uint32_t e : s.representatives)
      if (engine_.resolve_port(e, PortQuery{proto, 0, name})) return true;
    return false;
  }
  std::optional<std::set<std::pair<std::string, Protocol>>> declared_;

  void network_policy(const NetworkPolicy& np) {
    ResourceRef ref{"NetworkPolicy", np.ns, np.name};
    const std::string who = "NetworkPolicy " + np.ns + "/" + np.name;
    bool any_endpoints = !engine_.endpoints().empty();
    bool ns_endpoints = ns_with_endpoints_.contains(np.ns);

    if (!state_.namespaces.empty() &&
        std::none_of(state_.namespaces.begin(), state_.namespaces.end(),
                     [&](const Namespace& n) { return n.name == np.ns; }))
      add("POLICY_NAMESPACE_MISSING", ref, np.source, np.source.line,
          who + " is in namespace " + np.ns +
              ", which the input does not define: it applies to nothing until that namespace "
              "exists");

    for (auto [rules, active, dir, types] :
         {std::tuple{&np.ingress, np.affects_ingress, "ingress", "Egress"},
          std::tuple{&np.egress, np.affects_egress, "egress", "Ingress"}})
      if (!rules->empty() && !active)
        add("POLICY_RULES_IGNORED", ref, np.source, rules->front().line,
            who + " has " + std::to_string(rules->size()) + " " + dir + " rule" +
                (rules->size() == 1 ? "" : "s") + " but spec.policyTypes is [" + types +
                "]: Kubernetes ignores them");

    SelectorQuery subject_q{np.ns, nullptr, &np.pod_selector, nullptr};
    Selection subject = engine_.select(subject_q);
    if (ns_endpoints && subject.endpoints == 0)
      add("POLICY_SELECTS_NOTHING", ref, np.source, np.source.line,
          who + ": spec.podSelector " + selector_text(np.pod_selector) +
              " selects no endpoint in namespace " + np.ns + suggestion(subject_q));

    for (auto [rules, active, dir] : {std::tuple{&np.ingress, np.affects_ingress, "ingress"},
                                      std::tuple{&np.egress, np.affects_egress, "egress"}}) {
      bool egress = std::string_view(dir) == "egress";
      for (size_t i = 0; i < rules->size(); ++i) {
        const NetworkPolicyRule& r = (*rules)[i];
        const std::string where = who + " " + dir + " rule " + std::to_string(i);
        // The pods this rule's named ports are resolved on: the subject for ingress, the
        // peers for egress (every pod when the rule names no peer).
        bool named = std::any_of(r.ports.begin(), r.ports.end(), [](const NetworkPolicyPort& p) {
          return p.kind == NetworkPolicyPort::Kind::Name;
        });
        Selection dests = egress ? Selection{} : subject;
        if (egress && named && r.peers.empty()) {
          LabelSelector all;
          dests = engine_.select(SelectorQuery{"", &all, nullptr, nullptr});
        }
        for (size_t j = 0; j < r.peers.size(); ++j) {
          const NetworkPolicyPeer& p = r.peers[j];
          const std::string peer_where = where + " peer " + std::to_string(j);
          SelectorQuery q{np.ns, p.namespace_selector ? &*p.namespace_selector : nullptr,
                          p.pod_selector ? &*p.pod_selector : nullptr,
                          p.ip_block ? &*p.ip_block : nullptr};
          Selection s = engine_.select(q);
          if (egress && named) {
            dests.endpoints += s.endpoints;
            dests.representatives.insert(dests.representatives.end(), s.representatives.begin(),
                                         s.representatives.end());
          }
          if (p.ip_block) {
            ip_block(ref, np, r, *p.ip_block, p.ip_block_cidr, s, peer_where);
            continue;
          }
          bool meaningful = p.namespace_selector ? any_endpoints : ns_endpoints;
          if (meaningful && s.endpoints == 0 && active)
            add("POLICY_PEER_SELECTS_NOTHING", ref, np.source, r.line,
                peer_where + " (" + describe(q) + ") selects no endpoint" +
                    (p.namespace_selector ? "" : " in namespace " + np.ns) + suggestion(q));
        }
        if (!active || !named || dests.endpoints == 0) continue;
        for (const NetworkPolicyPort& port : r.ports)
          if (port.kind == NetworkPolicyPort::Kind::Name &&
              !declares(dests, port.name, port.effective_protocol()))
            add("POLICY_NAMED_PORT_UNDECLARED", ref, np.source, r.line,
                where + " allows port \"" + port.name + "\"/" +
                    std::string(to_string(port.effective_protocol())) + ", which none of the " +
                    std::to_string(dests.endpoints) + (egress ? " destination" : " selected") +
                    " endpoints declares: the rule allows nothing on it");
      }
    }
  }

  void ip_block(const ResourceRef& ref, const NetworkPolicy& np, const NetworkPolicyRule& r,
                const IpBlock& b, const std::string& text, const Selection& s,
                const std::string& where) {
    if (auto slash = text.find('/'); slash != std::string::npos)
      if (auto addr = IpAddr::parse(std::string_view(text).substr(0, slash));
          addr && !(*addr == b.cidr.network))
        add("POLICY_CIDR_HOST_BITS", ref, np.source, r.line,
            where + " ipBlock.cidr " + text + " has host bits set: it means " + b.cidr.str() +
                ", the whole network");
    // 0.0.0.0/0 and ::/0 say "any address" on purpose; a narrower block that holds pod
    // addresses names pods by address.
    if (b.cidr.prefix != 0 && s.endpoints > 0)
      add("POLICY_IPBLOCK_PODS", ref, np.source, r.line,
          where + " ipBlock " + b.cidr.str() + " covers pod addresses (" + examples(s) +
              "): select pods with podSelector/namespaceSelector instead");
  }

  // ---- AdminNetworkPolicy / BaselineAdminNetworkPolicy / ClusterNetworkPolicy -------------

  void cluster_policy(const ClusterPolicy& cp) {
    if (engine_.endpoints().empty()) return;
    ResourceRef ref{std::string(to_string(cp.kind)), "", cp.name};
    const std::string who = ref.kind + " " + cp.name;
    auto query = [](const ClusterPodSet& s) {
      return SelectorQuery{"", &s.namespace_selector, s.pod_selector ? &*s.pod_selector : nullptr,
                           nullptr};
    };
    SelectorQuery subject_q = query(cp.subject);
    Selection subject = engine_.select(subject_q);
    if (subject.endpoints == 0)
      add("POLICY_SELECTS_NOTHING", ref, cp.source, cp.source.line,
          who + ": spec.subject (" + describe(subject_q) + ") selects no endpoint" +
              suggestion(subject_q));
    for (auto [rules, dir] : {std::pair{&cp.ingress, "ingress"}, std::pair{&cp.egress, "egress"}})
      for (size_t i = 0; i < rules->size(); ++i) {
        const ClusterPolicyRule& r = (*rules)[i];
        const std::string where = who + " " + dir + " rule " + std::to_string(i) +
                                  (r.name.empty() ? "" : " (" + r.name + ")");
        const bool egress = std::string_view(dir) == "egress";
        // Named ports resolve on the destination: the subject for ingress, the pod peers for
        // egress (networks and nodes peers cannot be given with named ports).
        Selection dests = egress ? Selection{} : subject;
        for (size_t j = 0; j < r.peers.size(); ++j) {
          const ClusterPeer& p = r.peers[j];
          if (p.kind != ClusterPeer::Kind::Namespaces && p.kind != ClusterPeer::Kind::Pods)
            continue;
          SelectorQuery q = query(p.pods);
          Selection s = engine_.select(q);
          if (egress) {
            dests.endpoints += s.endpoints;
            dests.representatives.insert(dests.representatives.end(), s.representatives.begin(),
                                         s.representatives.end());
          }
          if (s.endpoints == 0)
            add("POLICY_PEER_SELECTS_NOTHING", ref, cp.source, r.line,
                where + " peer " + std::to_string(j) + " (" + describe(q) +
                    ") selects no endpoint" + suggestion(q));
        }
        if (!r.ports || dests.endpoints == 0) continue;
        for (const ClusterPolicyPort& port : *r.ports) {
          if (port.kind != ClusterPolicyPort::Kind::Named) continue;
          // The protocol is the declared port's own.
          bool any = false;
          for (Protocol proto : {Protocol::TCP, Protocol::UDP, Protocol::SCTP})
            any = any || declares(dests, port.name, proto);
          if (!any)
            add("POLICY_NAMED_PORT_UNDECLARED", ref, cp.source, r.line,
                where + " names port \"" + port.name + "\", which none of the " +
                    std::to_string(dests.endpoints) + (egress ? " destination" : " selected") +
                    " endpoints declares: the rule matches nothing on it");
        }
      }
  }

  // ---- rules that can never decide --------------------------------------------------------

  static std::string rule_text(const RuleRef& r) {
    const PolicyRef& p = r.policy;
    return p.kind + " " + (p.ns.empty() ? "" : p.ns + "/") + p.name + " " +
           (r.egress ? "egress" : "ingress") + " rule " + std::to_string(r.index) +
           (r.name.empty() ? "" : " (" + r.name + ")");
  }

  // Bounds of the search (docs/scan.md): evaluations per rule and in all.
  static constexpr uint64_t kClassesPerRule = 100'000;
  static constexpr uint64_t kClassesTotal = 4'000'000;

  void unused_rules() {
    if (engine_.endpoints().empty()) return;  // nothing to evaluate connections on
    std::vector<IpAddr> outside;
    for (const WorldPart& w : world_parts(state_, state_, engine_.endpoints()))
      outside.push_back(w.probe);
    UnusedRules u = engine_.unused_rules(outside, {kClassesPerRule, kClassesTotal});
    for (const UnusedRule& r : u.rules) {
      const PolicyRef& p = r.rule.policy;
      ResourceRef ref{p.kind, p.ns, p.name};
      std::string covers;
      for (size_t i = 0; i < r.covered_by.size(); ++i) {
        if (i == 3) {
          covers += " and " + std::to_string(r.covered_by.size() - 3) + " more";
          break;
        }
        const RuleRef& c = r.covered_by[i];
        covers += (i ? ", " : "") + rule_text(c) +
                  (r.kind == UnusedRule::Kind::Shadowed ? " [" + c.action + "]" : "");
        if (c.line) covers += " (line " + std::to_string(c.line) + ")";
      }
      const std::string classes = std::to_string(r.connections) + " (subject, peer, port) class" +
                                  (r.connections == 1 ? "" : "es");
      if (r.kind == UnusedRule::Kind::Shadowed)
        add("POLICY_RULE_SHADOWED", ref, p.source, r.rule.line,
            rule_text(r.rule) + " [" + r.rule.action +
                "] never decides: every connection it matches (" + classes +
                ") is decided first by " + covers);
      else
        add("POLICY_RULE_REDUNDANT", ref, p.source, r.rule.line,
            rule_text(r.rule) + " allows nothing that other rules do not: every connection it " +
                "allows (" + classes + ") is also allowed by " + covers);
    }
    if (!u.skipped.empty()) {
      std::string names;
      for (size_t i = 0; i < u.skipped.size() && i < 3; ++i)
        names += (i ? ", " : "") + rule_text(u.skipped[i]);
      if (u.skipped.size() > 3) names += ", …";
      warnings_.push_back("policy lint: " + std::to_string(u.skipped.size()) + " rule" +
                          (u.skipped.size() == 1 ? " was" : "s were") +
                          " not checked for shadowing/redundancy (over the limit of " +
                          std::to_string(kClassesPerRule) + " evaluations per rule or " +
                          std::to_string(kClassesTotal) + " in all): " + names);
    }
  }
};

}  // namespace

void policy_lint(const ClusterState& state, const PolicyEngine& engine, std::vector<Finding>& out,
                 std::vector<std::string>& warnings) {
  Linter(state, engine, out, warnings).run();
}

}  // namespace stockade::posture::detail
