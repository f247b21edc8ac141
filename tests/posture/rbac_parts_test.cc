// The pieces rbac.cc was cut into (posture_impl.h): strongly_connected() under aggregation,
// match_patterns' five groups, and the container checks scan.cc hands each container to.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "posture/posture_impl.h"

namespace stockade::posture::detail {
namespace {

TEST(RbacParts, ComponentsCompleteLeavesFirst) {
  // 0 -> 1 -> 2 -> 1 (a cycle), 2 -> 3; 4 alone.
  std::vector<std::vector<uint32_t>> succ = {{1}, {2}, {1, 3}, {}, {}};
  Components c = strongly_connected(succ);
  ASSERT_EQ(c.of.size(), 5u);
  EXPECT_EQ(c.of[1], c.of[2]);
  EXPECT_NE(c.of[0], c.of[1]);
  EXPECT_EQ(c.members.size(), 4u);
  // Every component after all the ones it reaches.
  for (uint32_t v = 0; v < succ.size(); ++v)
    for (uint32_t w : succ[v]) EXPECT_LE(c.of[w], c.of[v]) << v << " -> " << w;
  size_t nodes = 0;
  for (const auto& m : c.members) nodes += m.size();
  EXPECT_EQ(nodes, 5u);
}

TEST(RbacParts, ALongChainDoesNotRecurse) {
  const uint32_t n = 200000;
  std::vector<std::vector<uint32_t>> succ(n);
  for (uint32_t i = 0; i + 1 < n; ++i) succ[i] = {i + 1};
  succ[n - 1] = {0};  // one cycle through all of them
  Components c = strongly_connected(succ);
  ASSERT_EQ(c.members.size(), 1u);
  EXPECT_EQ(c.members[0].size(), n);
}

std::vector<std::string_view> patterns(const std::vector<PolicyRuleSpec>& rules, bool cluster,
                                       std::string_view ns = "shop") {
  RuleList list;
  for (const PolicyRuleSpec& r : rules) list.push_back(&r);
  std::vector<std::string_view> out;
  for (const PatternHit& h : match_patterns(list, cluster, ns)) out.push_back(h.pattern);
  return out;
}

PolicyRuleSpec rule(std::vector<std::string> groups, std::vector<std::string> resources,
                    std::vector<std::string> verbs, int line = 7) {
  PolicyRuleSpec r;
  r.api_groups = std::move(groups);
  r.resources = std::move(resources);
  r.verbs = std::move(verbs);
  r.line = line;
  return r;
}

TEST(RbacParts, EachGroupOfPatternsFinds) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(patterns({rule({"*"}, {"*"}, {"*"})}, true).front(), "R1");  // wildcards
  EXPECT_EQ(patterns({rule({""}, {"pods/exec"}, {"create"})}, false), V{"R5"});
  EXPECT_EQ(patterns({rule({"rbac.authorization.k8s.io"}, {"roles"}, {"bind"})}, false), V{"R10"});
  EXPECT_EQ(patterns({rule({""}, {"serviceaccounts/token"}, {"create"})}, false), V{"R17"});
  EXPECT_EQ(patterns({rule({""}, {"pods/log"}, {"delete"})}, false), V{"R24"});
  EXPECT_TRUE(patterns({rule({""}, {"configmaps"}, {"get"})}, false).empty());
  // The scope changes the severity of a workload write, not whether it is found.
  auto hits = [](bool cluster, std::string_view ns) {
    PolicyRuleSpec r = rule({"apps"}, {"deployments"}, {"create"});
    return match_patterns({&r}, cluster, ns);
  };
  ASSERT_EQ(hits(false, "shop").size(), 1u);
  EXPECT_EQ(hits(false, "shop")[0].severity, Severity::High);
  EXPECT_EQ(hits(false, "kube-system")[0].severity, Severity::Critical);
  EXPECT_EQ(hits(false, "shop")[0].line, 7);
}

TEST(ContainerChecks, SecurityContextThenImageAndEnvironment) {
  PodSecuritySpec pod;
  pod.present = true;
  ContainerSpec c;
  c.name = "app";
  c.image = "nginx";
  c.line = 12;
  c.security.privileged = true;
  c.security.line = 14;
  c.env.push_back({"DB_PASSWORD", std::string("hunter2-long"), "", 20});
  c.mounts.push_back({"host", "/data", false, false});
  Volume v;
  v.name = "host";
  v.host_path = "/var/lib/";
  v.line = 30;
  std::map<std::string, const Volume*> host_volumes = {{"host", &v}};
  std::vector<std::string> registries;
  std::optional<std::string> subpath_cve;
  std::string seccomp;
  ContainerCheckContext x{pod, seccomp, host_volumes, registries, subpath_cve};
  std::vector<std::pair<std::string, int>> got;
  container_checks(x, c, [&](std::string_view id, int line, std::string msg) {
    got.push_back({std::string(id), line});
    EXPECT_FALSE(msg.empty());
  });
  auto at = [&](const std::string& id) {
    for (const auto& [i, l] : got)
      if (i == id) return l;
    return -1;
  };
  EXPECT_EQ(at("PRIVILEGED"), 14);
  EXPECT_EQ(at("CAPS_NOT_DROPPED"), -1);  // privileged: dropping is beside the point
  EXPECT_EQ(at("HOSTPATH_WRITABLE"), 30);
  EXPECT_EQ(at("IMAGE_TAG"), 0);
  EXPECT_EQ(at("PLAINTEXT_SECRET"), 20);
  EXPECT_EQ(at("NO_LIMITS"), 0);
  // The security context's findings come before the image's.
  EXPECT_LT(std::find_if(got.begin(), got.end(), [](auto& g) { return g.first == "PRIVILEGED"; }),
            std::find_if(got.begin(), got.end(), [](auto& g) { return g.first == "IMAGE_TAG"; }));
  EXPECT_EQ(normalize_path("/var/lib/"), "/var/lib");
  EXPECT_TRUE(unsafe_selinux_type("spc_t"));
  EXPECT_FALSE(unsafe_selinux_type("container_t"));
}

}  // namespace
}  // namespace stockade::posture::detail
