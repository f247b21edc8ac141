// Differential test: the compiled PolicyEngine against the naive reference evaluator, on
// thousands of small random clusters (see tests/support/random_cluster.h).
//
// Environment knobs, for reproducing a failure:
//   STOCKADE_DIFF_CLUSTERS=N  number of clusters (default kDefaultClusters)
//   STOCKADE_DIFF_SEED=S      first seed (default 1); with STOCKADE_DIFF_CLUSTERS=1, one cluster
//   STOCKADE_DIFF_EXHAUSTIVE=1 every (protocol, port) of the set for every pair (slower)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "support/random_calico.h"
#include "support/random_cilium.h"
#include "support/random_cluster.h"
#include "support/reference_evaluator.h"

namespace stockade::testing {
namespace {

constexpr uint64_t kDefaultClusters = 2000;  // ~15 s in a Debug+ASan build
constexpr Protocol kProtocols[] = {Protocol::TCP, Protocol::UDP, Protocol::SCTP};
constexpr uint16_t kPorts[] = {80, 81, 443, 53, 8080};
constexpr size_t kPairQueries = 2;      // (protocol, port) per cluster for endpoint pairs
constexpr size_t kExternalQueries = 1;  // ... and for endpoint / external IP pairs
constexpr uint64_t kReachEvery = 4;     // clusters whose reach() matrix is checked: 1 in N
constexpr int kDetailedReports = 3;     // seeds reported with a full dump
constexpr int kSummaryReports = 40;     // further seeds reported with one line

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

std::string peer_str(const std::vector<Endpoint>& eps, const RefPeer& p) {
  if (p.endpoint) return eps[*p.endpoint].id() + " (#" + std::to_string(*p.endpoint) + ")";
  return "external " + p.ip.str();
}

Peer to_engine(const RefPeer& p) {
  if (p.endpoint) return Peer::of_endpoint(static_cast<uint32_t>(*p.endpoint));
  return Peer::of_ip(p.ip);
}

std::string decision_str(const Decision& d) {
  std::string out = d.allowed ? "allowed" : "denied";
  out += " tier=" + std::string(to_string(d.tier));
  if (d.policy) out += " by " + d.policy->kind + " " + d.policy->ns + "/" + d.policy->name;
  if (d.rule_index >= 0) out += " rule " + std::to_string(d.rule_index);
  if (!d.action.empty()) out += " action " + d.action;
  return out;
}

struct Stats {
  uint64_t checks = 0;
  uint64_t denied = 0;              // connections the reference denies
  uint64_t verdict_mismatches = 0;  // engine verdict != reference verdict
  uint64_t side_mismatches = 0;     // a side's decision differs (explain would be wrong)
  uint64_t isolation_mismatches = 0;
  uint64_t bad_clusters = 0;
  int reported = 0;
};

struct Options {
  bool exhaustive = false;  // every (protocol, port) for every pair
  bool reach = true;        // also check PolicyEngine::reach()
};

class ClusterCheck {
 public:
  // `label` names the cluster in reports ("seed 17", "hand-picked: ..."); `repro` says how to
  // run it alone.
  ClusterCheck(ClusterState state, std::string label, std::string repro, uint64_t rng_seed,
               Options options, Stats& stats)
      : state_(std::move(state)),
        label_(std::move(label)),
        repro_(std::move(repro)),
        rng_(rng_seed * 0x9E3779B97F4A7C15ULL + 1),
        options_(options),
        stats_(stats) {}

  void run() {
    eps_ = build_endpoints(state_);
    engine_ = PolicyEngine::compile(state_, eps_);
    ASSERT_NE(engine_, nullptr) << label_;
    ASSERT_EQ(engine_->endpoints().size(), eps_.size()) << label_;
    for (size_t i = 0; i < eps_.size(); ++i)
      ASSERT_EQ(engine_->endpoints()[i].id(), eps_[i].id()) << label_;

    std::vector<IpAddr> external = interesting_external_ips(state_, rng_);

    // Every (protocol, port) of the set, in a random order; unless exhaustive, endpoint pairs
    // are checked on the first kPairQueries of them and external peers on the first
    // kExternalQueries (more clusters find more than more ports per cluster).
    std::vector<std::pair<Protocol, uint16_t>> queries;
    for (Protocol proto : kProtocols)
      for (uint16_t port : kPorts) queries.emplace_back(proto, port);
    std::shuffle(queries.begin(), queries.end(), rng_);
    size_t pair_queries = options_.exhaustive ? queries.size() : kPairQueries;
    size_t external_queries = options_.exhaustive ? queries.size() : kExternalQueries;

    for (size_t i = 0; i < eps_.size(); ++i) check_isolation(i);
    for (size_t q = 0; q < pair_queries; ++q) {
      auto [proto, port] = queries[q];
      for (size_t a = 0; a < eps_.size(); ++a)
        for (size_t b = 0; b < eps_.size(); ++b)
          check(RefPeer::of_endpoint(a), RefPeer::of_endpoint(b), proto, port);
    }
    for (size_t q = 0; q < external_queries; ++q) {
      auto [proto, port] = queries[q];
      for (size_t a = 0; a < eps_.size(); ++a) {
        for (const IpAddr& ip : external) {
          check(RefPeer::of_endpoint(a), RefPeer::of_ip(ip), proto, port);
          check(RefPeer::of_ip(ip), RefPeer::of_endpoint(a), proto, port);
        }
      }
    }
    if (options_.reach) {
      check_reach({});  // each destination's declared ports
      check_reach(random_port_queries());
    }
    if (!problems_.empty()) report();
  }

 private:
  void check_isolation(size_t i) {
    Isolation iso = engine_->np_isolation(static_cast<uint32_t>(i));
    bool in = reference_np_isolated_ingress(state_, eps_, i);
    bool out = reference_np_isolated_egress(state_, eps_, i);
    if (iso.ingress != in || iso.egress != out) {
      ++stats_.isolation_mismatches;
      add_problem("np_isolation(" + peer_str(eps_, RefPeer::of_endpoint(i)) + "): engine ingress=" +
                  std::to_string(iso.ingress) + " egress=" + std::to_string(iso.egress) +
                  ", reference ingress=" + std::to_string(in) + " egress=" + std::to_string(out));
    }
  }

  void check(const RefPeer& src, const RefPeer& dst, Protocol proto, uint16_t port) {
    ++stats_.checks;
    // reference_allowed() is exactly "self, or egress and ingress"; the sides are computed
    // once here to halve the reference's cost (reference_allowed itself is unit-tested).
    bool self = src.endpoint && dst.endpoint && *src.endpoint == *dst.endpoint;
    bool ref_e = self || reference_egress_allowed(state_, eps_, src, dst, proto, port);
    bool ref_i = self || reference_ingress_allowed(state_, eps_, src, dst, proto, port);
    bool ref = self || (ref_e && ref_i);
    stats_.denied += !ref;
    Verdict v = engine_->evaluate(to_engine(src), to_engine(dst), proto, port);

    std::string what;
    if (v.allowed != ref) what += " evaluate().allowed=" + std::to_string(v.allowed);
    if (src.endpoint && dst.endpoint) {
      bool fast = engine_->allowed(static_cast<uint32_t>(*src.endpoint),
                                   static_cast<uint32_t>(*dst.endpoint), proto, port);
      if (fast != ref) what += " allowed()=" + std::to_string(fast);
    }
    if (!what.empty()) ++stats_.verdict_mismatches;

    bool side_bad = false;
    if (!self) {
      if (v.egress.allowed != ref_e) {
        what += " egress side: engine " + decision_str(v.egress) + ", reference " +
                (ref_e ? "allowed" : "denied");
        side_bad = true;
      }
      if (v.ingress.allowed != ref_i) {
        what += " ingress side: engine " + decision_str(v.ingress) + ", reference " +
                (ref_i ? "allowed" : "denied");
        side_bad = true;
      }
    }
    if (side_bad) ++stats_.side_mismatches;
    if (what.empty()) return;

    std::string trace;
    reference_allowed(state_, eps_, src, dst, proto, port, &trace);
    add_problem(
        peer_str(eps_, src) + " -> " + peer_str(eps_, dst) + " " + std::string(to_string(proto)) +
        "/" + std::to_string(port) + ": reference " + (ref ? "allowed" : "denied") + ";" + what +
        "\n  engine egress: " + decision_str(v.egress) +
        "\n  engine ingress: " + decision_str(v.ingress) + "\n  reference trace:\n" + trace);
  }

  std::vector<PortQuery> random_port_queries() {
    static const char* const kNames[] = {"http", "dns", "metrics", "nope"};
    std::vector<PortQuery> out;
    size_t n = 1 + rng_() % 3;
    for (size_t i = 0; i < n; ++i) {
      PortQuery q;
      q.protocol = kProtocols[rng_() % 3];
      if (rng_() % 2)
        q.name = kNames[rng_() % 4];
      else
        q.number = kPorts[rng_() % 5];
      out.push_back(q);
    }
    return out;
  }

  static std::string port_query_str(const PortQuery& q) {
    return std::string(to_string(q.protocol)) + "/" +
           (q.name.empty() ? std::to_string(q.number) : q.name);
  }

  // The ports reach() must list for `dst`: its declared ports, or the queried ones with names
  // resolved on it (same protocol); unique.
  std::set<std::pair<Protocol, uint16_t>> expected_ports(size_t dst,
                                                         const std::vector<PortQuery>& queries) {
    std::set<std::pair<Protocol, uint16_t>> out;
    const std::vector<ContainerPort>& declared = eps_[dst].pod.ports;
    if (queries.empty())
      for (const ContainerPort& p : declared) out.emplace(p.protocol, p.port);
    for (const PortQuery& q : queries) {
      if (q.name.empty()) {
        out.emplace(q.protocol, q.number);
        continue;
      }
      for (const ContainerPort& p : declared)
        if (p.name == q.name && p.protocol == q.protocol) out.emplace(p.protocol, p.port);
    }
    return out;
  }

  void check_reach(const std::vector<PortQuery>& queries) {
    std::string qs = queries.empty() ? "declared ports" : "";
    for (const PortQuery& q : queries) qs += (qs.empty() ? "" : ",") + port_query_str(q);

    // resolve_port() on every destination.
    for (size_t d = 0; d < eps_.size(); ++d) {
      for (const PortQuery& q : queries) {
        std::optional<uint16_t> want;
        if (q.name.empty()) want = q.number;
        for (const ContainerPort& p : eps_[d].pod.ports)
          if (!q.name.empty() && p.name == q.name && p.protocol == q.protocol) want = p.port;
        std::optional<uint16_t> got = engine_->resolve_port(static_cast<uint32_t>(d), q);
        if (got != want)
          add_problem("resolve_port(" + eps_[d].id() + ", " + port_query_str(q) +
                      ") = " + (got ? std::to_string(*got) : "none") + ", expected " +
                      (want ? std::to_string(*want) : "none"));
      }
    }

    std::unique_ptr<ReachMatrix> m = engine_->reach(queries);
    if (m == nullptr) {
      add_problem("reach(" + qs + ") returned null");
      return;
    }
    uint64_t pairs = 0, allowed = 0;
    std::vector<uint8_t> from(eps_.size()), to(eps_.size());
    for (size_t i = 0; i < eps_.size(); ++i) {
      from[i] = static_cast<uint8_t>(rng_() % 2);
      to[i] = static_cast<uint8_t>(rng_() % 2);
    }
    uint64_t masked_pairs = 0, masked_allowed = 0;
    for (size_t d = 0; d < eps_.size(); ++d) {
      const std::vector<ReachMatrix::Port>& ports = m->ports(static_cast<uint32_t>(d));
      std::set<std::pair<Protocol, uint16_t>> got;
      for (const ReachMatrix::Port& p : ports) got.emplace(p.protocol, p.port);
      if (got != expected_ports(d, queries) || got.size() != ports.size()) {
        std::string list;
        for (const ReachMatrix::Port& p : ports)
          list += " " + std::string(to_string(p.protocol)) + "/" + std::to_string(p.port);
        add_problem("reach(" + qs + ").ports(" + eps_[d].id() + ") =" + list +
                    " (expected the destination's ports, unique)");
        continue;
      }
      for (size_t k = 0; k < ports.size(); ++k) {
        for (size_t src = 0; src < eps_.size(); ++src) {
          ++stats_.checks;
          bool ref = reference_allowed(state_, eps_, RefPeer::of_endpoint(src),
                                       RefPeer::of_endpoint(d), ports[k].protocol, ports[k].port);
          bool got_allowed = m->allowed(static_cast<uint32_t>(src), static_cast<uint32_t>(d), k);
          ++pairs;
          allowed += got_allowed;
          if (from[src] && to[d]) {
            ++masked_pairs;
            masked_allowed += got_allowed;
          }
          if (got_allowed != ref) {
            ++stats_.verdict_mismatches;
            std::string trace;
            reference_allowed(state_, eps_, RefPeer::of_endpoint(src), RefPeer::of_endpoint(d),
                              ports[k].protocol, ports[k].port, &trace);
            add_problem("reach(" + qs + "): " + peer_str(eps_, RefPeer::of_endpoint(src)) + " -> " +
                        peer_str(eps_, RefPeer::of_endpoint(d)) + " " +
                        std::string(to_string(ports[k].protocol)) + "/" +
                        std::to_string(ports[k].port) + ": matrix " +
                        (got_allowed ? "allowed" : "denied") + ", reference " +
                        (ref ? "allowed" : "denied") + "\n  reference trace:\n" + trace);
          }
        }
      }
    }
    auto check_counts = [&](const ReachCounts& c, uint64_t want_pairs, uint64_t want_allowed,
                            const char* which) {
      if (c.pairs != want_pairs || c.allowed != want_allowed ||
          c.denied != want_pairs - want_allowed)
        add_problem("reach(" + qs + ").counts(" + which + ") = pairs " + std::to_string(c.pairs) +
                    " allowed " + std::to_string(c.allowed) + " denied " +
                    std::to_string(c.denied) + "; the matrix has pairs " +
                    std::to_string(want_pairs) + " allowed " + std::to_string(want_allowed));
    };
    check_counts(m->counts({}, {}), pairs, allowed, "all");
    check_counts(m->counts(from, to), masked_pairs, masked_allowed, "random masks");
  }

  void add_problem(std::string p) { problems_.push_back(std::move(p)); }

  void report() {
    ++stats_.bad_clusters;
    ++stats_.reported;
    if (stats_.reported <= kDetailedReports) {
      ADD_FAILURE() << label_ << ": " << problems_.size() << " mismatch(es); first:\n"
                    << problems_.front() << "\n"
                    << dump_cluster(state_) << dump_cilium(state_) << dump_calico(state_)
                    << dump_endpoints(eps_) << repro_;
    } else if (stats_.reported <= kDetailedReports + kSummaryReports) {
      std::string first = problems_.front().substr(0, problems_.front().find('\n'));
      ADD_FAILURE() << label_ << ": " << problems_.size() << " mismatch(es); first: " << first;
    }
  }

  ClusterState state_;
  std::string label_;
  std::string repro_;
  std::mt19937_64 rng_;
  Options options_;
  Stats& stats_;
  std::vector<Endpoint> eps_;
  std::unique_ptr<PolicyEngine> engine_;
  std::vector<std::string> problems_;
};

TEST(Differential, EngineAgreesWithReferenceOnRandomClusters) {
  uint64_t first = env_or("STOCKADE_DIFF_SEED", 1);
  uint64_t count = env_or("STOCKADE_DIFF_CLUSTERS", kDefaultClusters);
  Options options;
  options.exhaustive = env_or("STOCKADE_DIFF_EXHAUSTIVE", 0) != 0;
  Stats stats;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    // reach() costs a matrix per call: every cluster when exhaustive, else one in kReachEvery.
    options.reach = options.exhaustive || seed % kReachEvery == 0;
    ClusterCheck(random_cluster(seed), "seed " + std::to_string(seed),
                 "reproduce: STOCKADE_DIFF_SEED=" + std::to_string(seed) +
                     " STOCKADE_DIFF_CLUSTERS=1 STOCKADE_DIFF_EXHAUSTIVE=1",
                 seed, options, stats)
        .run();
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_EQ(stats.bad_clusters, 0u);
  EXPECT_EQ(stats.verdict_mismatches, 0u);
  EXPECT_EQ(stats.side_mismatches, 0u);
  EXPECT_EQ(stats.isolation_mismatches, 0u);
  RecordProperty("checks", std::to_string(stats.checks));
  std::printf("differential: %llu clusters, %llu connections checked, %llu denied\n",
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(stats.checks),
              static_cast<unsigned long long>(stats.denied));
}

// Clusters mixing NetworkPolicies, admin/baseline policies and Cilium policies.
TEST(Differential, MixedCiliumClustersAgreeWithReference) {
  uint64_t first = env_or("STOCKADE_DIFF_SEED", 1);
  uint64_t count = env_or("STOCKADE_DIFF_CLUSTERS", kDefaultClusters);
  Options options;
  options.exhaustive = env_or("STOCKADE_DIFF_EXHAUSTIVE", 0) != 0;
  Stats stats;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    options.reach = options.exhaustive || seed % kReachEvery == 0;
    ClusterState s = random_cluster(seed);
    add_random_cilium_policies(s, seed);
    ClusterCheck(std::move(s), "cilium seed " + std::to_string(seed),
                 "reproduce: STOCKADE_DIFF_SEED=" + std::to_string(seed) +
                     " STOCKADE_DIFF_CLUSTERS=1 STOCKADE_DIFF_EXHAUSTIVE=1 "
                     "--gtest_filter=Differential.MixedCiliumClustersAgreeWithReference",
                 seed, options, stats)
        .run();
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_EQ(stats.bad_clusters, 0u);
  EXPECT_EQ(stats.verdict_mismatches, 0u);
  EXPECT_EQ(stats.side_mismatches, 0u);
  EXPECT_EQ(stats.isolation_mismatches, 0u);
  std::printf("differential (Cilium): %llu clusters, %llu connections checked, %llu denied\n",
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(stats.checks),
              static_cast<unsigned long long>(stats.denied));
}

// Clusters mixing NetworkPolicies, admin/baseline policies and Calico's policies, tiers and
// network sets: every verdict goes through Calico's tiers.
TEST(Differential, MixedCalicoClustersAgreeWithReference) {
  uint64_t first = env_or("STOCKADE_DIFF_SEED", 1);
  uint64_t count = env_or("STOCKADE_DIFF_CLUSTERS", kDefaultClusters / 2);
  Options options;
  options.exhaustive = env_or("STOCKADE_DIFF_EXHAUSTIVE", 0) != 0;
  Stats stats;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    options.reach = options.exhaustive || seed % kReachEvery == 0;
    ClusterState s = random_cluster(seed);
    add_random_calico_policies(s, seed);
    ClusterCheck(std::move(s), "calico seed " + std::to_string(seed),
                 "reproduce: STOCKADE_DIFF_SEED=" + std::to_string(seed) +
                     " STOCKADE_DIFF_CLUSTERS=1 STOCKADE_DIFF_EXHAUSTIVE=1 "
                     "--gtest_filter=Differential.MixedCalicoClustersAgreeWithReference",
                 seed, options, stats)
        .run();
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_EQ(stats.bad_clusters, 0u);
  EXPECT_EQ(stats.verdict_mismatches, 0u);
  EXPECT_EQ(stats.side_mismatches, 0u);
  EXPECT_EQ(stats.isolation_mismatches, 0u);
  std::printf("differential (Calico): %llu clusters, %llu connections checked, %llu denied\n",
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(stats.checks),
              static_cast<unsigned long long>(stats.denied));
}

// Clusters the generator is unlikely to produce, checked the same way.
ClusterState two_pods_whose_port_lists_concatenate_alike() {
  // a/pa declares x=TCP/8 and 0y=TCP/81; a/pb declares x=TCP/80 and y=TCP/81 (port names may
  // start with a digit). Same namespace and labels: only the declared ports tell them apart,
  // and "tcp/y" names port 81 on a/pb only.
  ClusterState s;
  s.namespaces.push_back(Namespace{"a", {{"kubernetes.io/metadata.name", "a"}}, {}});
  auto pod = [&](const char* name, const char* ip, std::vector<ContainerPort> ports) {
    Pod p;
    p.ns = "a";
    p.name = name;
    p.phase = "Running";
    p.spec.labels = {{"app", "x"}};
    p.spec.ports = std::move(ports);
    p.ips = {*IpAddr::parse(ip)};
    s.pods.push_back(std::move(p));
  };
  pod("pa", "10.0.0.1", {{"x", 8, Protocol::TCP}, {"0y", 81, Protocol::TCP}});
  pod("pb", "10.0.0.2", {{"x", 80, Protocol::TCP}, {"y", 81, Protocol::TCP}});
  pod("pc", "10.0.0.3", {{"", 8, Protocol::TCP}, {"1y", 81, Protocol::TCP}});
  pod("pd", "10.0.0.4", {{"", 80, Protocol::UDP}, {"y", 81, Protocol::TCP}});
  pod("src", "10.0.0.9", {});
  NetworkPolicy np;
  np.ns = "a";
  np.name = "only-y";
  np.pod_selector.requirements.push_back({"app", SelectorOp::In, {"x"}});
  np.affects_ingress = true;
  NetworkPolicyRule r;
  r.ports.push_back({Protocol::TCP, NetworkPolicyPort::Kind::Name, 0, 0, "y"});
  np.ingress.push_back(r);
  s.network_policies.push_back(np);
  return s;
}

TEST(Differential, HandPickedClusters) {
  struct Case {
    const char* name;
    ClusterState (*make)();
  };
  const Case cases[] = {
      {"port lists that concatenate alike", two_pods_whose_port_lists_concatenate_alike},
  };
  Options options;
  options.exhaustive = true;
  Stats stats;
  for (const Case& c : cases)
    ClusterCheck(c.make(), std::string("hand-picked: ") + c.name, "", 1, options, stats).run();
  EXPECT_EQ(stats.bad_clusters, 0u);
}

// The generator itself: deterministic per seed, and it really produces every shape.
TEST(Differential, RandomClustersAreDeterministicAndVaried) {
  EXPECT_EQ(dump_cluster(random_cluster(42)), dump_cluster(random_cluster(42)));
  int host_network = 0, workloads = 0, nps = 0, anps = 0, banps = 0, cnps = 0, named = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    ClusterState s = random_cluster(seed);
    for (const Pod& p : s.pods) host_network += p.spec.host_network;
    workloads += !s.workloads.empty();
    nps += static_cast<int>(s.network_policies.size());
    for (const ClusterPolicy& cp : s.cluster_policies) {
      anps += cp.kind == ClusterPolicyKind::AdminNetworkPolicy;
      banps += cp.kind == ClusterPolicyKind::BaselineAdminNetworkPolicy;
      cnps += cp.kind == ClusterPolicyKind::ClusterNetworkPolicy;
    }
    for (const NetworkPolicy& np : s.network_policies)
      for (const NetworkPolicyRule& r : np.ingress)
        for (const NetworkPolicyPort& p : r.ports) named += p.kind == NetworkPolicyPort::Kind::Name;
  }
  EXPECT_GT(host_network, 50);
  EXPECT_GT(workloads, 50);
  EXPECT_GT(nps, 300);
  EXPECT_GT(anps, 50);
  EXPECT_GT(banps, 50);
  EXPECT_GT(cnps, 50);
  EXPECT_GT(named, 50);
}

}  // namespace
}  // namespace stockade::testing
