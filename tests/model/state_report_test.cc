// What a loaded state holds and leaves out, as lines (src/model/state_report.h).
#include <gtest/gtest.h>

#include "model/state_report.h"

namespace stockade {
namespace {

TEST(StateReport, IgnoredPoliciesTakeTheMostOfAnyStateAndNeverStagedOnes) {
  ClusterState a, b;
  a.unevaluated_policies = {{"GlobalNetworkPolicy", 2}, {"StagedNetworkPolicy", 4}};
  b.unevaluated_policies = {{"GlobalNetworkPolicy", 3}, {"NetworkSet", 1}};
  auto ignored = ignored_policies({&a, &b});
  EXPECT_EQ(ignored,
            (std::map<std::string, uint64_t>{{"GlobalNetworkPolicy", 3}, {"NetworkSet", 1}}));
  EXPECT_EQ(ignored_list(ignored), "3 GlobalNetworkPolicy objects, 1 NetworkSet object");
  EXPECT_TRUE(ignored_policies({}).empty());
}

TEST(StateReport, UnevaluatedWarningsSayWhatStagedMeans) {
  ClusterState s;
  s.unevaluated_policies = {{"Foo", 1}, {"StagedBar", 2}};
  auto w = unevaluated_warnings(s);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0],
            "1 Foo object is not evaluated: Stockade does not support this kind yet; verdicts "
            "ignore what it allows or denies");
  EXPECT_EQ(w[1],
            "2 StagedBar objects are not evaluated: Stockade does not support this kind yet "
            "(staged policies are not enforced)");
}

TEST(StateReport, ContentsSkippedKindsAndUnknownFields) {
  ClusterState s;
  s.pods.resize(2);
  s.skipped_kinds = {{"ConfigMap", 4}};
  s.unknown_fields = {{"NetworkPolicy.spec.foo", 1}};
  auto lines = describe_contents(s);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("loaded 0 namespaces, 2 pods, 0 workloads, ", 0), 0u);
  EXPECT_EQ(lines[1], "skipped 4 ConfigMap");
  EXPECT_NE(lines[2].find("NetworkPolicy.spec.foo in 1 object(s)"), std::string::npos);
}

}  // namespace
}  // namespace stockade

namespace stockade {
namespace {

TEST(StateReport, ResolutionLinesShowTwentyAndCountTheRest) {
  EXPECT_TRUE(resolution_lines({}).empty());
  EXPECT_EQ(resolution_lines({"shop/a: workload inferred"}),
            std::vector<std::string>{"pod shop/a: workload inferred"});
  std::vector<std::string> notes(23, "x");
  const std::vector<std::string> lines = resolution_lines(notes);
  ASSERT_EQ(lines.size(), 21u);
  EXPECT_EQ(lines[19], "pod x");
  EXPECT_EQ(lines[20], "... and 3 more such pods");
}

}  // namespace
}  // namespace stockade
