// The whole-cluster reach matrix (bit matrices over identities) against the per-connection
// verdicts, on random clusters: every cell, the counts, and counts under --from/--to masks.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "engine/engine.h"
#include "support/random_cluster.h"

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

// counts() takes blocks of 16 rows on two threads from 32 rows on; random clusters have a few
// rows only. Here every namespace of a random cluster, with its pods and NetworkPolicies, is
// copied 24 times (rows are namespaced: each copy has its own), and the counts, with and
// without --from/--to masks, must equal the sum of per-connection verdicts.
TEST(ReachDifferential, CountsOnTwoThreadsAgreeWithVerdicts) {
  size_t most_rows = 0;
  for (uint64_t seed = 200; seed < 215; ++seed) {
    const ClusterState one = testing::random_cluster(seed);
    ClusterState state = one;
    state.namespaces.clear();
    state.pods.clear();
    state.network_policies.clear();
    for (int copy = 0; copy < 24; ++copy) {
      const std::string suffix = "-c" + std::to_string(copy);
      for (Namespace n : one.namespaces) {
        n.name += suffix;
        state.namespaces.push_back(std::move(n));
      }
      for (Pod p : one.pods) {
        p.ns += suffix;
        state.pods.push_back(std::move(p));
      }
      for (NetworkPolicy np : one.network_policies) {
        np.ns += suffix;
        state.network_policies.push_back(std::move(np));
      }
    }
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
