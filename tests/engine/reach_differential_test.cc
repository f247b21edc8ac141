// The whole-cluster reach matrix (bit matrices over identities) against the per-connection
// verdicts, on random clusters: every cell, the counts, and counts under --from/--to masks.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>

#include "engine/engine.h"
#include "support/random_cluster.h"
#include "support/reference_evaluator.h"

namespace stockade {
namespace {

TEST(ReachDifferential, MatrixAgreesWithVerdictsOnRandomClusters) {
  const std::vector<PortQuery> queries = {{Protocol::TCP, 80, ""},
                                          {Protocol::UDP, 53, ""},
                                          {Protocol::SCTP, 81, ""},
                                          {Protocol::TCP, 0, "http"},
                                          {Protocol::UDP, 0, "dns"}};
  uint64_t cells = 0;
  for (uint64_t seed = 1; seed <= 1500; ++seed) {
    ClusterState state = testing::random_cluster(seed);
    auto engine = PolicyEngine::compile(state, build_endpoints(state));
    const auto& eps = engine->endpoints();
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> from(eps.size()), to(eps.size());
    for (size_t i = 0; i < eps.size(); ++i) {
      from[i] = rng() % 3 != 0;
      to[i] = rng() % 3 != 0;
    }
    for (bool use_queries : {false, true}) {
      auto m = engine->reach(use_queries ? queries : std::vector<PortQuery>{});
      ReachCounts want, want_masked;
      for (uint32_t s = 0; s < eps.size(); ++s) {
        for (uint32_t d = 0; d < eps.size(); ++d) {
          const auto& ports = m->ports(d);
          for (size_t k = 0; k < ports.size(); ++k) {
            bool fast = engine->allowed(s, d, ports[k].protocol, ports[k].port);
            ASSERT_EQ(m->allowed(s, d, k), fast)
                << "seed " << seed << " " << eps[s].id() << " -> " << eps[d].id() << " "
                << to_string(ports[k].protocol) << "/" << ports[k].port << "\n"
                << testing::dump_cluster(state);
            ++cells;
            ++want.pairs;
            want.allowed += fast;
            if (from[s] && to[d]) {
              ++want_masked.pairs;
              want_masked.allowed += fast;
            }
          }
        }
      }
      ReachCounts got = m->counts({}, {});
      EXPECT_EQ(got.pairs, want.pairs) << "seed " << seed;
      EXPECT_EQ(got.allowed, want.allowed) << "seed " << seed;
      EXPECT_EQ(got.endpoints, eps.size());
      ReachCounts masked = m->counts(from, to);
      EXPECT_EQ(masked.pairs, want_masked.pairs) << "seed " << seed;
      EXPECT_EQ(masked.allowed, want_masked.allowed) << "seed " << seed;
      EXPECT_EQ(masked.denied, masked.pairs - masked.allowed);
    }
  }
  EXPECT_GT(cells, 10000u);
}

std::string fmt_name(const std::string& base, const std::string& suffix) {
  std::string out;
  out.reserve(base.size() + suffix.size() + 1);
  out.append(base).append(1, '-').append(suffix);
  return out;
}

// Clusters with hundreds of identities, so the 64×64 block transposition and multi-word rows
// are exercised: every pod of a random cluster copied with a distinguishing label.
TEST(ReachDifferential, LargeClustersSpanManyBitBlocks) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    ClusterState state = testing::random_cluster(seed);
    std::vector<Pod> pods;
    for (int copy = 0; copy < 25; ++copy)
      for (Pod p : state.pods) {
        std::string suffix = std::to_string(copy);
        p.name = fmt_name(p.name, suffix);
        p.spec.labels["copy"] = std::to_string(copy % 7);
        pods.push_back(std::move(p));
      }
    state.pods = std::move(pods);
    auto engine = PolicyEngine::compile(state, build_endpoints(state));
    const auto& eps = engine->endpoints();
    auto m = engine->reach({});
    uint64_t allowed = 0, pairs = 0;
    for (uint32_t s = 0; s < eps.size(); ++s)
      for (uint32_t d = 0; d < eps.size(); ++d)
        for (size_t k = 0; k < m->ports(d).size(); ++k) {
          bool fast = engine->allowed(s, d, m->ports(d)[k].protocol, m->ports(d)[k].port);
          ASSERT_EQ(m->allowed(s, d, k), fast)
              << "seed " << seed << " " << eps[s].id() << " -> " << eps[d].id();
          allowed += fast;
          ++pairs;
        }
    ReachCounts c = m->counts({}, {});
    EXPECT_EQ(c.pairs, pairs);
    EXPECT_EQ(c.allowed, allowed);
  }
}

// The ingress rows in "N targets, M ingress rows, ..." (ReachMatrix::describe).
size_t ingress_rows(const ReachMatrix& m) {
  const std::string d = m.describe();
  return std::stoul(d.substr(d.find(", ") + 2));
}

// `copies` copies of every namespace of `one`, with its pods and NetworkPolicies, and of its
// nodes (each copy's pods on that copy's nodes; cluster policies and workloads as they are).
ClusterState copy_namespaces(const ClusterState& one, size_t copies) {
  ClusterState state = one;
  state.namespaces.clear();
  state.nodes.clear();
  state.pods.clear();
  state.network_policies.clear();
  for (size_t copy = 0; copy < copies; ++copy) {
    const std::string suffix = "-c" + std::to_string(copy);
    for (Namespace n : one.namespaces) {
      n.name += suffix;
      state.namespaces.push_back(std::move(n));
    }
    for (Node n : one.nodes) {
      n.name += suffix;
      state.nodes.push_back(std::move(n));
    }
    for (Pod p : one.pods) {
      p.ns += suffix;
      if (!p.node.empty()) p.node += suffix;
      state.pods.push_back(std::move(p));
    }
    for (NetworkPolicy np : one.network_policies) {
      np.ns += suffix;
      state.network_policies.push_back(std::move(np));
    }
  }
  return state;
}

// counts() takes blocks of 16 rows on two threads from 32 rows on; random clusters have a few
// rows only. Here every namespace of a random cluster, with its pods and NetworkPolicies, is
// copied 24 times (rows are namespaced: each copy has its own), and the counts, with and
// without --from/--to masks, must equal the sum of per-connection verdicts.
TEST(ReachDifferential, CountsOnTwoThreadsAgreeWithVerdicts) {
  size_t most_rows = 0;
  for (uint64_t seed = 200; seed < 215; ++seed) {
    const ClusterState state = copy_namespaces(testing::random_cluster(seed), 24);
    auto engine = PolicyEngine::compile(state, build_endpoints(state));
    const auto& eps = engine->endpoints();
    auto m = engine->reach({});
    most_rows = std::max(most_rows, ingress_rows(*m));
    std::mt19937_64 rng(seed);
    for (int density : {100, 50}) {
      std::vector<uint8_t> from(eps.size(), 1), to(eps.size(), 1);
      if (density < 100)
        for (size_t i = 0; i < eps.size(); ++i) from[i] = rng() % 2, to[i] = rng() % 2;
      ReachCounts want;
      for (uint32_t s = 0; s < eps.size(); ++s)
        for (uint32_t d = 0; d < eps.size(); ++d)
          for (const auto& port : m->ports(d))
            if (from[s] && to[d]) {
              ++want.pairs;
              want.allowed += engine->allowed(s, d, port.protocol, port.port);
            }
      ReachCounts got = density == 100 ? m->counts({}, {}) : m->counts(from, to);
      EXPECT_EQ(got.pairs, want.pairs) << "seed " << seed << " density " << density;
      EXPECT_EQ(got.allowed, want.allowed) << "seed " << seed << " density " << density;
    }
  }
  EXPECT_GE(most_rows, 64u) << "no cluster has enough ingress rows to be counted on two threads";
}

// The compile (identities, indexes, NetworkPolicies) and the rows (egress profiles, own-node
// cells) run on two threads from 2,048 endpoints and 512 NetworkPolicies; random clusters are
// far smaller. Here a random cluster's namespaces are copied until both hold, and the engine's
// verdicts and the matrix's cells must equal the reference evaluator's on sampled connections
// (among them every host-network pod with pods of its node, in both directions), and masked
// counts the sum of the engine's verdicts.
TEST(ReachDifferential, TwoThreadCompileAndRowsAgreeWithTheReference) {
  int clusters = 0, host_cells = 0;
  size_t node_cells = 0;
  for (uint64_t seed = 300; seed < 500 && clusters < 3; ++seed) {
    const ClusterState one = testing::random_cluster(seed);
    if (one.network_policies.empty() || one.pods.empty()) continue;
    const size_t copies =
        std::max((512 + one.network_policies.size() - 1) / one.network_policies.size(),
                 (2200 + one.pods.size() - 1) / one.pods.size());
    if (one.pods.size() * copies > 3600) continue;
    const ClusterState state = copy_namespaces(one, copies);
    auto engine = PolicyEngine::compile(state, build_endpoints(state));
    const auto& eps = engine->endpoints();
    if (eps.size() < 2048) continue;
    ASSERT_GE(state.network_policies.size(), 512u);
    ++clusters;
    auto m = engine->reach({});
    // "..., N node cells": cells where a pod meets a host-network pod of its node and the
    // verdict differs from their identities'.
    const std::string described = m->describe();
    node_cells += std::stoul(described.substr(described.rfind(", ") + 2));
    std::mt19937_64 rng(seed);
    auto check = [&](uint32_t s, uint32_t d) {
      const auto& ports = m->ports(d);
      if (ports.empty()) return;
      const size_t k = rng() % ports.size();
      const bool want = testing::reference_allowed(state, eps, testing::RefPeer::of_endpoint(s),
                                                   testing::RefPeer::of_endpoint(d),
                                                   ports[k].protocol, ports[k].port);
      ASSERT_EQ(engine->allowed(s, d, ports[k].protocol, ports[k].port), want)
          << "seed " << seed << " " << eps[s].id() << " -> " << eps[d].id();
      ASSERT_EQ(m->allowed(s, d, k), want)
          << "seed " << seed << " " << eps[s].id() << " -> " << eps[d].id();
    };
    for (int i = 0; i < 3000; ++i)
      check(static_cast<uint32_t>(rng() % eps.size()), static_cast<uint32_t>(rng() % eps.size()));
    std::map<std::string, std::vector<uint32_t>> on_node;
    std::vector<uint32_t> host;
    for (uint32_t e = 0; e < eps.size(); ++e) {
      if (eps[e].node.empty()) continue;
      on_node[eps[e].node].push_back(e);
      if (eps[e].pod.host_network) host.push_back(e);
    }
    for (size_t i = 0; i < std::min<size_t>(host.size(), 300); ++i) {
      const uint32_t h = host[rng() % host.size()];
      const auto& members = on_node[eps[h].node];
      const uint32_t o = members[rng() % members.size()];
      if (o == h) continue;
      check(h, o);
      check(o, h);
      ++host_cells;
    }
    std::vector<uint8_t> from(eps.size()), to(eps.size(), 1);
    for (auto& x : from) x = rng() % 10 == 0;
    ReachCounts want;
    for (uint32_t s = 0; s < eps.size(); ++s)
      if (from[s])
        for (uint32_t d = 0; d < eps.size(); ++d)
          for (const auto& port : m->ports(d)) {
            ++want.pairs;
            want.allowed += engine->allowed(s, d, port.protocol, port.port);
          }
    const ReachCounts got = m->counts(from, to);
    EXPECT_EQ(got.pairs, want.pairs) << "seed " << seed;
    EXPECT_EQ(got.allowed, want.allowed) << "seed " << seed;
  }
  EXPECT_EQ(clusters, 3) << "too few random clusters of the size the two threads need";
  EXPECT_GT(host_cells, 0) << "no host-network pod met a pod of its node";
  EXPECT_GT(node_cells, 0u) << "no cell of a pod and its own node differs from its identities'";
}

// The streamed count (sparse rows, sources grouped by egress profile, weighed with bit planes,
// mostly-ones rows from the column sums) against the sum of per-connection verdicts, under
// --from/--to masks of every density and with queried ports, on clusters of hundreds of
// identities where identities stand for several endpoints.
TEST(ReachDifferential, StreamedCountsAgreeWithVerdictsUnderMasks) {
  const std::vector<PortQuery> queries = {{Protocol::TCP, 80, ""}, {Protocol::TCP, 0, "http"}};
  for (uint64_t seed = 100; seed < 130; ++seed) {
    ClusterState state = testing::random_cluster(seed);
    std::vector<Pod> pods;
    for (int copy = 0; copy < 12; ++copy)
      for (Pod p : state.pods) {
        p.name = fmt_name(p.name, std::to_string(copy));
        p.spec.labels["copy"] = std::to_string(copy % 5);
        pods.push_back(std::move(p));
      }
    state.pods = std::move(pods);
    auto engine = PolicyEngine::compile(state, build_endpoints(state));
    const auto& eps = engine->endpoints();
    std::mt19937_64 rng(seed);
    for (bool use_queries : {false, true}) {
      auto m = engine->reach(use_queries ? queries : std::vector<PortQuery>{});
      std::vector<uint8_t> verdict;  // per (src, dst, port), in that order
      for (uint32_t s = 0; s < eps.size(); ++s)
        for (uint32_t d = 0; d < eps.size(); ++d)
          for (const auto& port : m->ports(d))
            verdict.push_back(engine->allowed(s, d, port.protocol, port.port));
      // Densities: none, one endpoint, a third, two thirds, all but one, all.
      for (int density : {0, 1, 33, 67, 99, 100}) {
        auto mask = [&] {
          std::vector<uint8_t> v(eps.size());
          for (auto& x : v) x = static_cast<uint64_t>(rng() % 100) < static_cast<uint64_t>(density);
          if (density == 1) {
            std::fill(v.begin(), v.end(), 0);
            v[rng() % v.size()] = 1;
          }
          if (density == 99) {
            std::fill(v.begin(), v.end(), 1);
            v[rng() % v.size()] = 0;
          }
          return v;
        };
        std::vector<uint8_t> from = mask(), to = mask();
        ReachCounts want;
        size_t i = 0;
        for (uint32_t s = 0; s < eps.size(); ++s)
          for (uint32_t d = 0; d < eps.size(); ++d)
            for (size_t k = 0; k < m->ports(d).size(); ++k, ++i)
              if (from[s] && to[d]) {
                ++want.pairs;
                want.allowed += verdict[i];
              }
        ReachCounts got = m->counts(from, to);
        EXPECT_EQ(got.pairs, want.pairs) << "seed " << seed << " density " << density;
        EXPECT_EQ(got.allowed, want.allowed) << "seed " << seed << " density " << density;
        EXPECT_EQ(got.denied, got.pairs - got.allowed);
      }
    }
  }
}

}  // namespace
}  // namespace stockade
