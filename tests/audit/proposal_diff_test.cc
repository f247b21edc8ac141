// audit::ProposalDiff (POST /api/v1/simulate's fast path) gives diff()'s answer: every proposal
// below is compared both ways, at each granularity, on the demo, on Online Boutique's objects and
// Hubble records (tests/data), on a generated cluster with admin policies and its traffic, and
// on random clusters with Cilium policies (compared on every endpoint).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "audit/policy_diff.h"
#include "input/loader.h"
#include "recommend/recommend.h"
#include "support/random_cilium.h"
#include "support/random_cluster.h"
#include "support/sanitizers.h"

namespace stockade::audit {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = STOCKADE_SOURCE_DIR;

struct Input {
  ClusterState state;
  std::unique_ptr<PolicyEngine> engine;
  Observed observed;
};

Input load(const std::vector<fs::path>& objects, const std::vector<std::string>& flows) {
  Input in;
  ClusterLoader loader;
  for (const fs::path& p : objects) EXPECT_TRUE(loader.add_path(p.string())) << p;
  in.state = std::move(loader).finish();
  in.engine = PolicyEngine::compile(in.state, build_endpoints(in.state));
  ObserveOptions oo;
  oo.max_external_nodes = kDefaultMaxObservedExternal;
  auto obs = observe_flows(in.state, *in.engine, flows, oo);
  EXPECT_TRUE(obs) << obs.error().str();
  if (obs) in.observed = std::move(*obs);
  return in;
}

// The answer as the command line computes it (`stockade diff --flows`), and the fast one.
void expect_same(const Input& in, const ProposalDiff& fast, const ClusterState& proposed,
                 const std::string& what) {
  SCOPED_TRACE(what);
  auto after_state = with_policies(in.state, proposed);
  auto got_fast = fast.diff(proposed, Granularity::Pod);
  ASSERT_EQ(bool(after_state), bool(got_fast));
  if (!after_state) {
    EXPECT_EQ(after_state.error().str(), got_fast.error().str());
    return;
  }
  auto after = PolicyEngine::compile(*after_state, build_endpoints(*after_state));
  for (Granularity by : {Granularity::Pod, Granularity::Workload, Granularity::Namespace}) {
    auto full = diff(in.state, *in.engine, *after_state, *after, {}, by, &in.observed);
    auto quick = fast.diff(proposed, by);
    ASSERT_TRUE(full && quick);
    EXPECT_EQ(diff_json(*quick).dump(1), diff_json(*full).dump(1)) << static_cast<int>(by);
  }
}

// What the console proposes: each workload's recommended policies (annotated with it), the
// first `max` workloads; and all of them at once.
size_t recommended_proposals(const Input& in, const ProposalDiff& fast, size_t max,
                             size_t* changing = nullptr) {
  RecommendOptions ro;
  Recommendation rec = recommend(in.state, *in.engine, in.observed, ro);
  std::map<std::string, ClusterState> by_workload;
  ClusterState all;
  for (const RecommendedPolicy& p : rec.policies) {
    all.network_policies.push_back(p.policy);
    for (const auto& [k, v] : p.annotations)
      if (k == "stockade.io/workload")
        by_workload[p.policy.ns + " " + v].network_policies.push_back(p.policy);
  }
  // Those that change some connection are compared first, so that the first `max` are not all
  // proposals in which both sides find nothing.
  std::vector<std::pair<const std::string*, const ClusterState*>> order;
  for (const auto& [wl, proposed] : by_workload) order.emplace_back(&wl, &proposed);
  auto changes = std::stable_partition(order.begin(), order.end(), [&](const auto& p) {
    auto d = fast.diff(*p.second, Granularity::Workload);
    return d && !d->changes.empty();
  });
  if (changing) *changing = static_cast<size_t>(changes - order.begin());
  for (size_t i = 0; i < order.size() && i < max; ++i)
    expect_same(in, fast, *order[i].second, "recommended for " + *order[i].first);
  if (!all.network_policies.empty()) expect_same(in, fast, all, "every recommended policy");
  return by_workload.size();
}

// Policies in force changed: each NetworkPolicy replaced by a deny-all of its name (the first
// `max`), and removed from a copy of the state in force that then gets it back as a proposal.
void changed_policies(const Input& in, const ProposalDiff& fast, size_t max) {
  for (size_t i = 0; i < in.state.network_policies.size() && i < max; ++i) {
    NetworkPolicy deny = in.state.network_policies[i];
    deny.ingress.clear();
    deny.egress.clear();
    deny.affects_ingress = deny.affects_egress = true;
    ClusterState p;
    p.network_policies.push_back(deny);
    expect_same(in, fast, p, "deny-all replacing " + deny.ns + "/" + deny.name);
  }
  // An egress rule towards addresses: new parts of the outside.
  if (!in.state.network_policies.empty()) {
    NetworkPolicy out = in.state.network_policies.front();
    out.name = "to-the-outside";
    out.affects_egress = true;
    NetworkPolicyRule r;
    NetworkPolicyPeer peer;
    peer.ip_block = IpBlock{*Cidr::parse("203.0.113.0/24"), {*Cidr::parse("203.0.113.8/29")}};
    r.peers.push_back(peer);
    NetworkPolicyPort port;
    port.kind = NetworkPolicyPort::Kind::Number;
    port.port = 443;
    r.ports.push_back(port);
    out.egress = {r};
    ClusterState p;
    p.network_policies.push_back(out);
    expect_same(in, fast, p, "egress to 203.0.113.0/24");
  }
  // Admin policies: each replaced by itself with its rules reversed (another first match), and
  // one removed from force and proposed again.
  for (size_t i = 0; i < in.state.cluster_policies.size() && i < max; ++i) {
    ClusterPolicy cp = in.state.cluster_policies[i];
    std::reverse(cp.ingress.begin(), cp.ingress.end());
    std::reverse(cp.egress.begin(), cp.egress.end());
    for (ClusterPolicyRule& r : cp.ingress)
      if (r.action == RuleAction::Allow) r.action = RuleAction::Deny;
    ClusterState p;
    p.cluster_policies.push_back(cp);
    expect_same(in, fast, p, "reversed " + cp.name);
  }
}

TEST(ProposalDiff, SameAsDiffOnTheDemo) {
  Input in = load({kSource / "demo/cluster", kSource / "demo/policies"},
                  {(kSource / "demo/flows/hubble.json.gz").string()});
  ASSERT_FALSE(in.observed.edges.empty());
  ProposalDiff fast(in.state, *in.engine, in.observed);
  size_t changing = 0;
  EXPECT_GT(recommended_proposals(in, fast, 100, &changing), 5u);
  EXPECT_GT(changing, 0u) << "some draft changes a connection";
  changed_policies(in, fast, 100);
  // Bad proposals are refused the same way.
  expect_same(in, fast, ClusterState{}, "nothing");
  ClusterState pod;
  pod.pods.push_back(in.state.pods.front());
  expect_same(in, fast, pod, "a pod");
}

// Real Hubble records' shape (tests/data/online-boutique: `hubble observe -o json` of the live
// pods) with the demo's own NetworkPolicies in force.
TEST(ProposalDiff, SameAsDiffOnOnlineBoutique) {
  const fs::path ob = kSource / "tests/data/online-boutique";
  Input in = load({ob / "everything.yaml", ob / "gitops/network-policies"},
                  {(ob / "flows.json").string()});
  ASSERT_FALSE(in.observed.edges.empty());
  ASSERT_FALSE(in.state.network_policies.empty());
  ProposalDiff fast(in.state, *in.engine, in.observed);
  recommended_proposals(in, fast, 100);
  changed_policies(in, fast, 100);
}

// gen_cluster with admin policies and gen_flows' traffic.
TEST(ProposalDiff, SameAsDiffOnAGeneratedCluster) {
  const fs::path dir = fs::temp_directory_path() / ("proposal_diff_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string cluster = (dir / "cluster.json").string();
  const std::string flows = (dir / "flows.json").string();
  using stockade::testing::full_or_sanitized;
  const int pods = full_or_sanitized(600, 150);
  ASSERT_EQ(std::system((std::string(STOCKADE_GEN_CLUSTER) + " --pods " + std::to_string(pods) +
                         " --admin --out " + cluster + " 2>/dev/null")
                            .c_str()),
            0);
  ASSERT_EQ(std::system((std::string(STOCKADE_GEN_FLOWS) + " --cluster " + cluster + " --records " +
                         std::to_string(pods * 10) + " --out " + flows + " 2>/dev/null")
                            .c_str()),
            0);
  Input in = load({cluster}, {flows});
  fs::remove_all(dir);
  ASSERT_FALSE(in.observed.edges.empty());
  ASSERT_FALSE(in.state.cluster_policies.empty());
  ProposalDiff fast(in.state, *in.engine, in.observed);
  size_t changing = 0;
  recommended_proposals(in, fast, full_or_sanitized<size_t>(12, 3), &changing);
  EXPECT_GT(changing, 0u);
  changed_policies(in, fast, full_or_sanitized<size_t>(3, 1));
}

// Random clusters, NetworkPolicies in force but one proposed again; with Cilium policies in
// force the proposal is compared on every endpoint.
TEST(ProposalDiff, SameAsDiffOnRandomClusters) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    Input in;
    in.state = stockade::testing::random_cluster(seed);
    if (seed % 3 == 0) stockade::testing::add_random_cilium_policies(in.state, seed);
    if (in.state.network_policies.empty()) continue;
    ClusterState proposed;
    proposed.network_policies.push_back(in.state.network_policies.back());
    in.state.network_policies.pop_back();
    in.engine = PolicyEngine::compile(in.state, build_endpoints(in.state));
    ProposalDiff fast(in.state, *in.engine, in.observed);
    expect_same(in, fast, proposed, "seed " + std::to_string(seed));
    changed_policies(in, fast, 3);
  }
}

}  // namespace
}  // namespace stockade::audit
