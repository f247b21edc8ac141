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
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "support/random_cluster.h"
#include "support/reference_evaluator.h"

namespace stockade::testing {
namespace {

constexpr uint64_t kDefaultClusters = 3000;
constexpr Protocol kProtocols[] = {Protocol::TCP, Protocol::UDP, Protocol::SCTP};
constexpr uint16_t kPorts[] = {80, 81, 443, 53, 8080};
constexpr size_t kPairQueries = 2;      // (protocol, port) per cluster for endpoint pairs
constexpr size_t kExternalQueries = 1;  // ... and for endpoint / external IP pairs
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

class ClusterCheck {
 public:
  ClusterCheck(uint64_t seed, bool exhaustive, Stats& stats)
      : seed_(seed), exhaustive_(exhaustive), stats_(stats) {}

  void run() {
    state_ = random_cluster(seed_);
    eps_ = build_endpoints(state_);
    engine_ = PolicyEngine::compile(state_, eps_);
    ASSERT_NE(engine_, nullptr) << "seed " << seed_;
    ASSERT_EQ(engine_->endpoints().size(), eps_.size()) << "seed " << seed_;
    for (size_t i = 0; i < eps_.size(); ++i)
      ASSERT_EQ(engine_->endpoints()[i].id(), eps_[i].id()) << "seed " << seed_;

    std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ULL + 1);
    std::vector<IpAddr> external = interesting_external_ips(state_, rng);

    // Every (protocol, port) of the set, in a random order; unless exhaustive, endpoint pairs
    // are checked on the first kPairQueries of them and external peers on the first
    // kExternalQueries (more clusters find more than more ports per cluster).
    std::vector<std::pair<Protocol, uint16_t>> queries;
    for (Protocol proto : kProtocols)
      for (uint16_t port : kPorts) queries.emplace_back(proto, port);
    std::shuffle(queries.begin(), queries.end(), rng);
    size_t pair_queries = exhaustive_ ? queries.size() : kPairQueries;
    size_t external_queries = exhaustive_ ? queries.size() : kExternalQueries;

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

  void add_problem(std::string p) { problems_.push_back(std::move(p)); }

  void report() {
    ++stats_.bad_clusters;
    ++stats_.reported;
    if (stats_.reported <= kDetailedReports) {
      ADD_FAILURE() << "seed " << seed_ << ": " << problems_.size() << " mismatch(es); first:\n"
                    << problems_.front() << "\n"
                    << dump_cluster(state_) << dump_endpoints(eps_)
                    << "reproduce: STOCKADE_DIFF_SEED=" << seed_ << " STOCKADE_DIFF_CLUSTERS=1";
    } else if (stats_.reported <= kDetailedReports + kSummaryReports) {
      std::string first = problems_.front().substr(0, problems_.front().find('\n'));
      ADD_FAILURE() << "seed " << seed_ << ": " << problems_.size()
                    << " mismatch(es); first: " << first;
    }
  }

  uint64_t seed_;
  bool exhaustive_;
  Stats& stats_;
  ClusterState state_;
  std::vector<Endpoint> eps_;
  std::unique_ptr<PolicyEngine> engine_;
  std::vector<std::string> problems_;
};

TEST(Differential, EngineAgreesWithReferenceOnRandomClusters) {
  uint64_t first = env_or("STOCKADE_DIFF_SEED", 1);
  uint64_t count = env_or("STOCKADE_DIFF_CLUSTERS", kDefaultClusters);
  bool exhaustive = env_or("STOCKADE_DIFF_EXHAUSTIVE", 0) != 0;
  Stats stats;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    ClusterCheck(seed, exhaustive, stats).run();
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
