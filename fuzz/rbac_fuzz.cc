// Fuzzes RBAC aggregation (aggregationRule to a fixed point, posture/rbac.cc): the bytes
// describe up to 40 ClusterRoles (labels from a small alphabet, selectors with every
// operator, a few rules each) so that chains, cycles and shared selectors are common. The
// result must equal the naive fixed point (grow every role until nothing changes), each
// role's own rules first; the pattern matching then runs on it. Roles are few, so a run is
// bounded: a slow input is a bug that -timeout reports.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "model/cluster_state.h"
#include "posture/posture_impl.h"

namespace {

struct Bytes {
  const uint8_t* p;
  size_t n;
  uint8_t next() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
};

std::string name(const char* prefix, uint8_t v, uint8_t mod) {
  return prefix + std::to_string(v % mod);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stockade;
  Bytes in{data, size};
  ClusterState s;
  const int roles = in.next() % 40 + 1;
  for (int i = 0; i < roles; ++i) {
    RbacRole r;
    r.cluster_scoped = in.next() % 8 != 0;  // a namespaced Role now and then: never selected
    r.ns = r.cluster_scoped ? "" : "ns";
    r.name = "r" + std::to_string(i);
    for (uint8_t k = in.next() % 4; k > 0; --k)
      r.labels[name("k", in.next(), 3)] = name("v", in.next(), 3);
    for (uint8_t k = in.next() % 3; k > 0; --k) {
      LabelSelector sel;
      for (uint8_t q = in.next() % 3; q > 0; --q) {
        SelectorRequirement req;
        req.key = name("k", in.next(), 3);
        req.op = static_cast<SelectorOp>(in.next() % 4);
        if (req.op == SelectorOp::In || req.op == SelectorOp::NotIn) {
          std::set<std::string> values;
          for (uint8_t v = in.next() % 3 + 1; v > 0; --v) values.insert(name("v", in.next(), 3));
          req.values.assign(values.begin(), values.end());
        }
        sel.requirements.push_back(std::move(req));
      }
      r.aggregation_selectors.push_back(std::move(sel));
    }
    for (uint8_t k = in.next() % 4; k > 0; --k) {
      PolicyRuleSpec rule;
      rule.api_groups = {""};
      rule.resources = {name("res", in.next(), 12)};
      rule.verbs = {in.next() % 5 == 0 ? "*" : "get"};
      rule.line = 1 + k;
      r.rules.push_back(std::move(rule));
    }
    s.roles.push_back(std::move(r));
  }

  posture::detail::RbacIndex index(s);
  if (index.error()) std::abort();  // 40 roles x 48 rules cannot reach the bound

  // The naive fixed point, by rule content.
  auto key = [](const PolicyRuleSpec& r) { return r.resources[0] + " " + r.verbs[0]; };
  std::vector<std::set<std::string>> naive(s.roles.size());
  for (size_t i = 0; i < s.roles.size(); ++i)
    for (const auto& rule : s.roles[i].rules) naive[i].insert(key(rule));
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < s.roles.size(); ++i) {
      if (!s.roles[i].cluster_scoped) continue;
      for (size_t j = 0; j < s.roles.size(); ++j) {
        if (!s.roles[j].cluster_scoped) continue;
        bool selected = false;
        for (const auto& sel : s.roles[i].aggregation_selectors)
          selected |= !sel.empty() && sel.matches(s.roles[j].labels);
        if (!selected) continue;
        for (const auto& k : naive[j]) changed |= naive[i].insert(k).second;
      }
    }
  }
  for (size_t i = 0; i < s.roles.size(); ++i) {
    const auto& got = index.resolved(i);
    std::set<std::string> keys;
    for (const PolicyRuleSpec* r : got) keys.insert(key(*r));
    if (keys != naive[i]) std::abort();
    if (got.size() < s.roles[i].rules.size()) std::abort();
    for (size_t k = 0; k < s.roles[i].rules.size(); ++k)
      if (got[k] != &s.roles[i].rules[k]) std::abort();
    for (size_t k = s.roles[i].rules.size(); k < got.size(); ++k)
      if (got[k]->line != 0) std::abort();
    (void)index.hits(got, s.roles[i].cluster_scoped, s.roles[i].ns);
  }
  return 0;
}
