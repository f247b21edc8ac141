// kube/kinds.h: the one kind table, which apply's reading, paths and pruning use too.
#include "kube/kinds.h"

#include <gtest/gtest.h>

#include <string>

#include "kube/apply.h"

namespace {

using namespace stockade::kube;

TEST(Kinds, AppliedKindsAndVersions) {
  for (const char* k : {"NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy",
                        "ClusterNetworkPolicy"})
    EXPECT_NE(applied_kind(k), nullptr) << k;
  for (const char* k : {"Pod", "Namespace", "CiliumNetworkPolicy", "Role", ""})
    EXPECT_EQ(applied_kind(k), nullptr) << k;
  // ClusterNetworkPolicy: v1beta1 first (what apply writes where served), v1alpha2 accepted.
  EXPECT_STREQ(applied_kind("ClusterNetworkPolicy")->group_version,
               "policy.networking.k8s.io/v1beta1");
  EXPECT_TRUE(applied_at("ClusterNetworkPolicy", "policy.networking.k8s.io/v1alpha2"));
  EXPECT_FALSE(applied_at("ClusterNetworkPolicy", "policy.networking.k8s.io/v1alpha1"));
  EXPECT_TRUE(applied_at("NetworkPolicy", "networking.k8s.io/v1"));
  EXPECT_FALSE(applied_at("NetworkPolicy", "extensions/v1beta1"));
}

TEST(Kinds, ObjectPathsFromTheTable) {
  ApplyObject np{"NetworkPolicy", "networking.k8s.io/v1", "shop", "web"};
  EXPECT_EQ(np.path(), "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/web");
  ApplyObject anp{"AdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1", "", "a"};
  EXPECT_EQ(anp.path(), "/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies/a");
  ApplyObject cnp{"ClusterNetworkPolicy", "policy.networking.k8s.io/v1alpha2", "", "c"};
  EXPECT_EQ(cnp.path(), "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies/c");
  EXPECT_EQ(kFieldManager, "stockade");
}

}  // namespace
