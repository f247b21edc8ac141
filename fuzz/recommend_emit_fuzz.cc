// Fuzzes the recommend emitter: a policy built from the input (names, label keys and values,
// ports, CIDRs, and evidence and annotations of any bytes: newlines, quotes, NEL, U+2028,
// invalid UTF-8) is written as YAML and as JSON and read back by the loader; what comes back
// must be exactly the policy (check_written, the command's own self-check), and both YAML
// writers must give the same bytes. Text outside the policy (comments, annotations) can never
// become part of it. The same for the policy translated to a CiliumNetworkPolicy and to a
// Calico NetworkPolicy; and a label selector of any bytes (keys and values unvalidated) is
// either refused as a Calico selector expression or reads back matching exactly what it does.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/labels.h"
#include "recommend/calico_emit.h"
#include "recommend/cilium_emit.h"
#include "recommend/recommend.h"

namespace {

using namespace stockade;

std::string valid_or(std::string s, std::string fallback, bool key) {
  return (key ? validate_label_key(s) : validate_label_value(s)).empty() ? s : fallback;
}

LabelSelector selector(FuzzedDataProvider& in) {
  LabelSelector sel;
  int n = in.ConsumeIntegralInRange(0, 3);
  for (int i = 0; i < n; ++i) {
    std::string k = valid_or(in.ConsumeRandomLengthString(20), "k" + std::to_string(i), true);
    auto op = static_cast<SelectorOp>(in.ConsumeIntegralInRange(0, 3));
    std::vector<std::string> values;
    if (op == SelectorOp::In || op == SelectorOp::NotIn) {
      int m = in.ConsumeIntegralInRange(1, 3);
      for (int j = 0; j < m; ++j)
        values.push_back(
            valid_or(in.ConsumeRandomLengthString(12), "v" + std::to_string(j), false));
      std::sort(values.begin(), values.end());
      values.erase(std::unique(values.begin(), values.end()), values.end());
    }
    sel.requirements.push_back({k, op, values});
  }
  return sel;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  RecommendedPolicy rp;
  // Names are validated where they come in (objects, flow records): fixed here, where what
  // is fuzzed is the text around the policy and its selectors.
  rp.policy.ns = "ns";
  rp.policy.name = "stockade-ingress-x";
  rp.policy.pod_selector = selector(in);
  rp.policy.affects_ingress = true;
  rp.policy.affects_egress = in.ConsumeBool();
  auto names = std::make_shared<std::vector<std::string>>();
  for (int dir = 0; dir < 2; ++dir) {
    auto& rules = dir == 0 ? rp.policy.ingress : rp.policy.egress;
    auto& evidence = dir == 0 ? rp.ingress_evidence : rp.egress_evidence;
    if (dir == 1 && !rp.policy.affects_egress) break;
    int nr = in.ConsumeIntegralInRange(0, 2);
    for (int r = 0; r < nr; ++r) {
      NetworkPolicyRule rule;
      std::vector<PeerEvidence> ev;
      int np = in.ConsumeIntegralInRange(0, 3);
      for (int p = 0; p < np; ++p) {
        NetworkPolicyPeer peer;
        if (in.ConsumeBool()) {
          IpBlock b;
          b.cidr.network.lo = in.ConsumeIntegral<uint32_t>();
          b.cidr.prefix = in.ConsumeIntegralInRange<uint8_t>(0, 32);
          b.cidr = *Cidr::parse(b.cidr.str());  // host bits cleared, as a loaded one
          peer.ip_block = b;
        } else {
          peer.pod_selector = selector(in);
          if (in.ConsumeBool()) peer.namespace_selector = selector(in);
        }
        rule.peers.push_back(peer);
        PeerEvidence e;
        e.name = static_cast<uint32_t>(names->size());
        names->push_back(in.ConsumeRandomLengthString(64));
        e.connections = in.ConsumeIntegral<uint32_t>();
        ev.push_back(e);
      }
      int nports = in.ConsumeIntegralInRange(0, 2);
      for (int p = 0; p < nports; ++p) {
        NetworkPolicyPort port;
        port.protocol = in.ConsumeBool() ? Protocol::TCP : Protocol::UDP;
        port.kind = NetworkPolicyPort::Kind::Number;
        port.port = in.ConsumeIntegralInRange<uint16_t>(1, 65535);
        rule.ports.push_back(port);
      }
      rules.push_back(rule);
      evidence.push_back(ev);
    }
  }
  rp.names = names;
  rp.annotations.push_back({"stockade.io/workload", in.ConsumeRandomLengthString(64)});
  std::string yaml = render_policy_yaml(rp);
  if (yaml != render_policy_yaml_via_tree(rp)) __builtin_trap();
  if (!check_written(yaml, "fuzz.yaml", {&rp.policy}, {}).empty()) __builtin_trap();
  if (!check_written(render_policy_json(rp, 2), "fuzz.json", {&rp.policy}, {}).empty())
    __builtin_trap();
  // The same policy as a CiliumNetworkPolicy (--output-kind cilium): read back exactly too,
  // unless a selector key is one Cilium reserves (refused, nothing written).
  Recommendation rec;
  rec.policies.push_back(rp);
  CiliumRecommendation cil = to_cilium(rec, ClusterState{}, {});
  if (cil.error.empty()) {
    const CiliumPolicy* cp = &cil.policies.at(0).policy;
    if (!check_written(render_cilium_yaml(cil), "fuzz.yaml", {}, {}, {cp}).empty())
      __builtin_trap();
    if (!check_written(render_cilium_json(cil), "fuzz.json", {}, {}, {cp}).empty())
      __builtin_trap();
  }
  // As a Calico NetworkPolicy (--output-kind calico): read back exactly, or refused.
  CalicoRecommendation cal = to_calico(rec);
  if (cal.error.empty()) {
    const CalicoPolicy* cp = &cal.policies.at(0).policy;
    if (!check_written(render_calico_yaml(cal), "fuzz.yaml", {}, {}, {}, {cp}).empty())
      __builtin_trap();
    if (!check_written(render_calico_json(cal), "fuzz.json", {}, {}, {}, {cp}).empty())
      __builtin_trap();
  }
  // Raw keys and values in a Calico selector expression: refused, or the same selector.
  LabelSelector raw;
  std::vector<std::string> seen;
  for (int i = in.ConsumeIntegralInRange(0, 3); i > 0; --i) {
    std::string k = in.ConsumeRandomLengthString(16);
    auto op = static_cast<SelectorOp>(in.ConsumeIntegralInRange(0, 3));
    std::vector<std::string> values;
    if (op == SelectorOp::In || op == SelectorOp::NotIn)
      for (int j = in.ConsumeIntegralInRange(1, 3); j > 0; --j)
        values.push_back(in.ConsumeRandomLengthString(16));
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    seen.insert(seen.end(), values.begin(), values.end());
    raw.requirements.push_back({k, op, values});
  }
  std::string why;
  if (auto sel = calico_selector(raw, &why)) {
    auto again = CalicoSelector::parse(sel->text(), &why);
    if (!again) __builtin_trap();
    seen.push_back("");
    for (size_t v = 0; v < seen.size(); ++v) {
      Labels l;
      for (size_t r = 0; r < raw.requirements.size(); ++r)
        if ((v + r) % 3 != 0) l[raw.requirements[r].key] = seen[(v + r) % seen.size()];
      if (again->matches(l) != raw.matches(l)) __builtin_trap();
    }
  }
  return 0;
}
