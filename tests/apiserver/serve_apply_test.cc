// POST /api/v1/apply of `stockade serve` following a real kube-apiserver: the requesting user's
// token is checked (TokenReview), the action too (SubjectAccessReview on apply.stockade.io),
// and each policy is authorized for that user (SubjectAccessReview: create and patch on it)
// before the server applies it with its own identity, so the API server's RBAC judges the user,
// not the server's own identity (here system:masters, which could write anywhere).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "apiserver/apiserver_env.h"
#include "support/serve_process.h"

namespace stockade::kube {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string np(const std::string& ns, const std::string& name, const std::string& app) {
  return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: " + name +
         "\n  namespace: " + ns + "\nspec:\n  podSelector:\n    matchLabels: {app: " + app +
         "}\n  policyTypes: [Ingress]\n";
}

void create(const std::string& path, const std::string& body) {
  auto r = testing_env::admin_client().request("POST", path, body, "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << path << ": " << r->body;
}

TEST(ServeOnARealCluster, AppliesPoliciesAsTheRequestingUser) {
  if (!testing_env::server()) GTEST_SKIP() << testing_env::skip_reason();
  const auto* api = testing_env::server();
  const fs::path work = testing_env::work_dir("ServeApply");
  testing_env::create_namespace("serve-apply");
  testing_env::create_namespace("serve-other");
  // The server follows the cluster with the admin's identity; requests carry the user's token.
  test::ServeProcess serve({"--kubeconfig", api->kubeconfig("admin"), "--store",
                            "sqlite:" + (work / "db").string(), "--listen", "127.0.0.1:0"},
                           work / "serve.log");
  ASSERT_GT(serve.port, 0) << testing_env::slurp(work / "serve.log");
  auto c = serve.client();
  const httplib::Headers nobody = {{"Authorization", "Bearer nobody-token"}};
  auto post = [&](const std::string& path, const std::string& body) {
    auto r = c.Post(path.c_str(), nobody, body, "application/yaml");
    EXPECT_TRUE(r) << path;
    return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
  };
  const std::string policy = np("serve-apply", "web", "web");

  // Without a grant on apply.stockade.io the server refuses before asking anything else.
  auto refused = post("/api/v1/apply", policy);
  EXPECT_EQ(refused.first, 403) << refused.second;
  EXPECT_NE(refused.second.find("nobody"), std::string::npos) << refused.second;

  // The grants: apply through Stockade, and write NetworkPolicies in serve-apply only.
  create("/apis/rbac.authorization.k8s.io/v1/clusterroles",
         R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
      "metadata":{"name":"stockade-apply"},"rules":[{"apiGroups":["stockade.io"],
      "resources":["apply"],"verbs":["create"]}]})");
  create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
         R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
      "metadata":{"name":"stockade-apply-nobody"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io",
      "kind":"ClusterRole","name":"stockade-apply"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io",
      "kind":"User","name":"nobody"}]})");
  create("/apis/rbac.authorization.k8s.io/v1/namespaces/serve-apply/roles",
         R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role",
      "metadata":{"name":"policies"},"rules":[{"apiGroups":["networking.k8s.io"],
      "resources":["networkpolicies"],"verbs":["get","list","patch","create"]}]})");
  create("/apis/rbac.authorization.k8s.io/v1/namespaces/serve-apply/rolebindings",
         R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding",
      "metadata":{"name":"policies-nobody"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io",
      "kind":"Role","name":"policies"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io",
      "kind":"User","name":"nobody"}]})");

  // A dry run first: answered once the grants reach the authorizer and the server's cache of
  // refusals expires (a condition, not a timing assertion).
  std::pair<int, std::string> dry;
  for (int i = 0; i < 300; ++i) {
    dry = post("/api/v1/apply?dryRun=All", policy);
    if (dry.first == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(dry.first, 200) << dry.second;
  auto dj = json::parse(dry.second);
  EXPECT_EQ(dj["dryRun"], true);
  ASSERT_EQ(dj["objects"].size(), 1u) << dry.second;
  EXPECT_EQ(dj["objects"][0]["action"], "created");
  const std::string path = "/apis/networking.k8s.io/v1/namespaces/serve-apply/networkpolicies/web";
  EXPECT_EQ(testing_env::admin_client().request("GET", path)->status, 404);

  auto applied = post("/api/v1/apply", policy);
  ASSERT_EQ(applied.first, 200) << applied.second;
  EXPECT_EQ(json::parse(applied.second)["objects"][0]["action"], "created");
  auto got = testing_env::admin_client().request("GET", path);
  ASSERT_EQ(got->status, 200);
  EXPECT_EQ(json::parse(got->body)["metadata"]["managedFields"][0]["manager"], "stockade");
  auto again = post("/api/v1/apply", policy);
  EXPECT_EQ(json::parse(again.second)["objects"][0]["action"], "unchanged") << again.second;

  // Where the user may not write, the API server's RBAC refuses the user (SubjectAccessReview),
  // though the server's own identity could: nothing is written.
  auto other = post("/api/v1/apply", np("serve-other", "web", "web"));
  EXPECT_EQ(other.first, 403) << other.second;
  EXPECT_NE(json::parse(other.second)["error"].get<std::string>().find("User \"nobody\" cannot"),
            std::string::npos)
      << other.second;
  EXPECT_EQ(testing_env::admin_client()
                .request("GET",
                         "/apis/networking.k8s.io/v1/namespaces/serve-other/"
                         "networkpolicies/web")
                ->status,
            404);

  // Another field manager owns the selector: a conflict, nothing applied; ?force=true takes it.
  auto kubectl = testing_env::admin_client().request(
      "PATCH", path + "?fieldManager=kubectl&force=true", np("serve-apply", "web", "api"),
      "application/apply-patch+yaml");
  ASSERT_EQ(kubectl->status, 200) << kubectl->body;
  auto conflict = post("/api/v1/apply", policy);
  EXPECT_EQ(conflict.first, 409) << conflict.second;
  auto cj = json::parse(conflict.second);
  EXPECT_EQ(cj["objects"][0]["action"], "conflict");
  EXPECT_NE(cj["error"].get<std::string>().find("nothing applied"), std::string::npos);
  auto forced = post("/api/v1/apply?force=true", policy);
  EXPECT_EQ(forced.first, 200) << forced.second;
  EXPECT_EQ(
      json::parse(testing_env::admin_client().request("GET", path)->body)["spec"]["podSelector"]
                                                                         ["matchLabels"]["app"],
      "web");

  // Bodies that are no policies: one line naming the line, before the cluster is asked.
  auto pod = post("/api/v1/apply", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n");
  EXPECT_EQ(pod.first, 400) << pod.second;
  EXPECT_NE(pod.second.find("request body:1"), std::string::npos) << pod.second;
  auto dry_bad = post("/api/v1/apply?dryRun=yes", policy);
  EXPECT_EQ(dry_bad.first, 400) << dry_bad.second;
}

}  // namespace
}  // namespace stockade::kube
