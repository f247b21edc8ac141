// Stockade's API client, informers, `apply` and live mode against a real kube-apiserver and
// etcd (tests/support/real_apiserver.h), where a stand-in server cannot be trusted: server-side
// apply's conflicts and managedFields, RBAC refusals, watch errors as the server words them,
// the network-policy-api CRDs installed and their objects validated by the server itself.
// The stand-in server's tests (tests/kube/live_test.cc) keep the fault modes a real server
// cannot produce on demand (429, garbage answers, exec plugins, TLS name checks).
//
// One server serves every case (its start takes seconds). Without the binaries the cases are
// skipped, unless STOCKADE_REQUIRE_APISERVER=1 (scripts/test.sh) makes that a failure.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "apiserver/apiserver_env.h"
#include "kube/client.h"
#include "kube/informer.h"

namespace stockade::kube {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing_env::run;
using testing_env::Shell;
using testing_env::write;

class RealServer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing_env::server()) GTEST_SKIP() << testing_env::skip_reason();
    work = testing_env::work_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  static std::string stockade() { return STOCKADE_BINARY; }
  static std::string admin() {
    return " --kubeconfig " + testing_env::server()->kubeconfig("admin");
  }
  static std::string nobody() {
    return " --kubeconfig " + testing_env::server()->kubeconfig("nobody");
  }
  static Client& client() { return testing_env::admin_client(); }
  fs::path work;
};

std::string policy(const std::string& name, const std::string& ns, const std::string& app) {
  return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: " + name +
         "\n  namespace: " + ns + "\nspec:\n  podSelector:\n    matchLabels: {app: " + app +
         "}\n  policyTypes: [Ingress]\n";
}

// The three network-policy-api CRDs of tests/data/schemas are installed (by the environment)
// and served; live mode reads their (empty) lists.
TEST_F(RealServer, ServesTheNetworkPolicyApiCrds) {
  auto served = client().group_versions();
  ASSERT_TRUE(served) << served.error().str();
  EXPECT_TRUE(served->count("policy.networking.k8s.io/v1alpha1"));
  EXPECT_TRUE(served->count("policy.networking.k8s.io/v1alpha2"));
  EXPECT_TRUE(served->count("networking.k8s.io/v1"));
  Shell r = run(stockade() + " reach -o summary" + admin());
  EXPECT_EQ(r.code, 0) << r.err;
}

// Server-side apply as the real server does it: dry run changes nothing; apply creates with
// stockade as the manager in managedFields; re-apply is unchanged; a field another manager
// owns is a conflict (exit 1, nothing applied) until --force-conflicts, after which the other
// manager's own apply conflicts with "stockade"; --prune-owned deletes what stockade alone
// applied and the files no longer hold.
TEST_F(RealServer, ServerSideApplyConflictsAndManagedFields) {
  testing_env::create_namespace("ssa");
  write(work / "p1.yaml",
        policy("apply-one", "ssa", "web") + "---\n" + policy("apply-two", "ssa", "db"));
  Shell dry = run(stockade() + " apply --dry-run -f " + (work / "p1.yaml").string() + admin());
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_NE(dry.out.find("NetworkPolicy ssa/apply-one: created (dry run)"), std::string::npos)
      << dry.out;
  const std::string np = "/apis/networking.k8s.io/v1/namespaces/ssa/networkpolicies/";
  EXPECT_EQ(client().request("GET", np + "apply-one")->status, 404);

  Shell ap = run(stockade() + " apply -f " + (work / "p1.yaml").string() + admin());
  ASSERT_EQ(ap.code, 0) << ap.err;
  EXPECT_NE(ap.out.find("ssa/apply-one: created (applied)"), std::string::npos) << ap.out;
  auto got = client().request("GET", np + "apply-one");
  ASSERT_EQ(got->status, 200) << got->body;
  json obj = json::parse(got->body);
  EXPECT_EQ(obj["spec"]["podSelector"]["matchLabels"]["app"], "web");
  ASSERT_EQ(obj["metadata"]["managedFields"].size(), 1u) << obj["metadata"].dump();
  EXPECT_EQ(obj["metadata"]["managedFields"][0]["manager"], "stockade");
  EXPECT_EQ(obj["metadata"]["managedFields"][0]["operation"], "Apply");
  EXPECT_TRUE(obj["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"].contains("f:podSelector"));

  Shell again = run(stockade() + " apply -o json -f " + (work / "p1.yaml").string() + admin());
  ASSERT_EQ(again.code, 0) << again.err;
  json rep = json::parse(again.out);
  EXPECT_EQ(rep["objects"][0]["action"], "unchanged") << again.out;

  // Another field manager ("kubectl", as kubectl apply --server-side names itself) owns a
  // policy; stockade wants another selector.
  auto other_apply = [&](const std::string& app, bool force) {
    return client().request("PATCH",
                            np + "by-kubectl?fieldManager=kubectl" + (force ? "&force=true" : ""),
                            policy("by-kubectl", "ssa", app), "application/apply-patch+yaml");
  };
  auto k = other_apply("web", false);
  ASSERT_EQ(k->status, 201) << k->body;
  write(work / "s.yaml", policy("by-kubectl", "ssa", "api"));
  Shell conflict = run(stockade() + " apply -f " + (work / "s.yaml").string() + admin());
  EXPECT_EQ(conflict.code, 1) << conflict.err;
  // The real server names the atomic struct (LabelSelector is +structType=atomic), not the
  // leaf field a stand-in server might name.
  EXPECT_NE(conflict.out.find("conflict: .spec.podSelector is managed by \"kubectl\""),
            std::string::npos)
      << conflict.out << conflict.err;
  got = client().request("GET", np + "by-kubectl");
  EXPECT_EQ(json::parse(got->body)["spec"]["podSelector"]["matchLabels"]["app"], "web");
  Shell forced =
      run(stockade() + " apply --force-conflicts -f " + (work / "s.yaml").string() + admin());
  ASSERT_EQ(forced.code, 0) << forced.err;
  EXPECT_NE(forced.out.find("~ .spec.podSelector.matchLabels.app: \"web\" -> \"api\""),
            std::string::npos)
      << forced.out;
  // Now the other manager's apply conflicts with stockade, in the server's own words.
  auto back = other_apply("web", false);
  EXPECT_EQ(back->status, 409) << back->body;
  EXPECT_NE(back->body.find("conflict with \\\"stockade\\\""), std::string::npos) << back->body;

  // An undeclared field in an apply patch: the real server refuses it while building the typed
  // patch, with a 500 (not the 400 "strict decoding error" a create or an update gets).
  auto unknown = client().request("PATCH", np + "bogus?fieldManager=kubectl&fieldValidation=Strict",
                                  policy("bogus", "ssa", "web") + "  bogus: 1\n",
                                  "application/apply-patch+yaml");
  EXPECT_EQ(unknown->status, 500) << unknown->body;
  EXPECT_NE(unknown->body.find(".spec.bogus: field not declared in schema"), std::string::npos)
      << unknown->body;

  // Prune: apply-two is no longer in the files; by-kubectl has two managers and is kept.
  write(work / "p2.yaml", policy("apply-one", "ssa", "web"));
  Shell prune =
      run(stockade() + " apply --prune-owned -f " + (work / "p2.yaml").string() + admin());
  ASSERT_EQ(prune.code, 0) << prune.err;
  EXPECT_NE(prune.out.find("NetworkPolicy ssa/apply-two: pruned"), std::string::npos) << prune.out;
  EXPECT_EQ(client().request("GET", np + "apply-two")->status, 404);
  EXPECT_EQ(client().request("GET", np + "apply-one")->status, 200);
  EXPECT_EQ(client().request("GET", np + "by-kubectl")->status, 200);
}

// RBAC as the real authorizer applies it: an authenticated user no rule names is refused, and
// stockade says which permission is missing; a ClusterRole binding with read rights lets the
// same user read the cluster, and still not apply.
TEST_F(RealServer, RbacRefusesAUserWithoutRights) {
  Shell r = run(stockade() + " reach -o summary" + nobody());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find("403"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("User \"nobody\" cannot list resource"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("grant the missing permission"), std::string::npos) << r.err;

  write(work / "p.yaml", policy("rbac-one", "default", "web"));
  Shell a = run(stockade() + " apply -f " + (work / "p.yaml").string() + nobody());
  EXPECT_EQ(a.code, 2) << a.out;
  EXPECT_NE(a.err.find("forbidden"), std::string::npos) << a.err;
  EXPECT_NE(a.err.find("nobody"), std::string::npos) << a.err;

  // Read rights on everything (get/list/watch), as a read-only Stockade deployment has.
  auto role = client().request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles",
                               R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
      "metadata":{"name":"stockade-read"},"rules":[{"apiGroups":["*"],"resources":["*"],
      "verbs":["get","list","watch"]}]})",
                               "application/json");
  ASSERT_EQ(role->status, 201) << role->body;
  auto binding =
      client().request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                       R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
      "metadata":{"name":"stockade-read-nobody"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io",
      "kind":"ClusterRole","name":"stockade-read"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io",
      "kind":"User","name":"nobody"}]})",
                       "application/json");
  ASSERT_EQ(binding->status, 201) << binding->body;
  // RBAC changes reach the authorizer through its informer: wait for it (a condition, not a
  // timing assertion).
  Shell ok;
  for (int i = 0; i < 100; ++i) {
    ok = run(stockade() + " reach -o summary" + nobody());
    if (ok.code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ok.code, 0) << ok.err;
  Shell still = run(stockade() + " apply -f " + (work / "p.yaml").string() + nobody());
  EXPECT_EQ(still.code, 2) << still.out;
  EXPECT_NE(still.err.find("forbidden"), std::string::npos) << still.err;
}

InformerOptions quick() {
  InformerOptions io;
  io.backoff_min = std::chrono::milliseconds(50);
  io.backoff_max = std::chrono::milliseconds(500);
  io.watch_timeout = std::chrono::seconds(2);  // each watch ends soon: resumes are exercised
  io.idle = std::chrono::seconds(10);
  io.page_limit = 3;  // the list is paged with the server's own continue tokens
  return io;
}

// An informer on the real server: the paged list, then watch events for creates, updates and
// deletes, through many watch requests ending at timeoutSeconds (each resumed from the last
// resourceVersion or bookmark); the store ends equal to the server's list.
TEST_F(RealServer, InformerFollowsTheServer) {
  testing_env::create_namespace("informer");
  const std::string base = "/apis/networking.k8s.io/v1/namespaces/informer/networkpolicies";
  auto create = [&](const std::string& name, const std::string& app) {
    auto r = client().request("POST", base, policy(name, "informer", app), "application/yaml");
    ASSERT_EQ(r->status, 201) << r->body;
  };
  for (int i = 0; i < 7; ++i) create("before-" + std::to_string(i), "a");
  auto truth = [&] {
    std::map<std::string, std::string> out;
    auto r = client().request("GET", base);
    json list = json::parse(r->body);
    for (const auto& o : list["items"])
      out["informer/" + o["metadata"]["name"].get<std::string>()] =
          o["metadata"]["resourceVersion"];
    return out;
  };
  auto other = Client::create(client().config());
  ASSERT_TRUE(other);
  Informer informer(**other, base, quick());
  std::atomic<bool> stop{false};
  Result<void> result;
  std::thread t([&] { result = informer.run(stop); });
  auto seen = [&] {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : informer.snapshot())
      out[k] = json::parse(v)["metadata"]["resourceVersion"];
    return out;
  };
  auto converges = [&] {  // a wait condition, not a timing assertion
    for (int i = 0; i < 300; ++i) {
      if (informer.synced() && seen() == truth()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  auto state = [&] {
    auto st = informer.stats();
    return "synced " + std::to_string(informer.synced()) + ", seen " + json(seen()).dump() +
           ", server " + json(truth()).dump() + ", lists " + std::to_string(st.lists) +
           ", watches " + std::to_string(st.watches) + ", events " + std::to_string(st.events) +
           ", expired " + std::to_string(st.expired);
  };
  EXPECT_TRUE(converges()) << "initial list: " << state();
  EXPECT_EQ(informer.snapshot().size(), 7u);
  create("after-a", "a");
  auto upd = client().request("PATCH", base + "/before-0",
                              R"({"spec":{"podSelector":{"matchLabels":{"app":"b"}}}})",
                              "application/merge-patch+json");
  ASSERT_EQ(upd->status, 200) << upd->body;
  auto del = client().request("DELETE", base + "/before-1");
  ASSERT_EQ(del->status, 200) << del->body;
  EXPECT_TRUE(converges()) << "watch events: " << state();
  EXPECT_FALSE(informer.snapshot().count("informer/before-1"));
  EXPECT_EQ(
      json::parse(
          informer.snapshot()["informer/before-0"])["spec"]["podSelector"]["matchLabels"]["app"],
      "b");
  // Watches that end at their timeout are resumed; a change between two watches is not lost.
  uint64_t watches = informer.stats().watches;
  for (int i = 0; i < 200 && informer.stats().watches < watches + 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_GE(informer.stats().watches, watches + 2);
  create("after-b", "a");
  EXPECT_TRUE(converges()) << "after resumed watches: " << state();
  EXPECT_EQ(informer.stats().lists, 1u) << "a resumed watch needs no relist";
  stop = true;
  t.join();
  EXPECT_TRUE(result) << result.error().str();
}

// etcd's revision now (its JSON gateway), and a compaction of its history up to `revision`.
int64_t etcd_revision() {
  Shell r = run("curl -sf -X POST " + testing_env::server()->etcd_url() +
                "/v3/kv/range -d '{\"key\":\"L3JlZ2lzdHJ5\",\"limit\":1}'");
  EXPECT_EQ(r.code, 0) << r.err;
  return std::stoll(json::parse(r.out)["header"]["revision"].get<std::string>());
}
void etcd_compact(int64_t revision) {
  Shell r = run("curl -sf -X POST " + testing_env::server()->etcd_url() +
                "/v3/kv/compaction -d '{\"revision\":\"" + std::to_string(revision) +
                "\",\"physical\":true}'");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
}

// History compacted under a watcher: ConfigMaps are watched straight from etcd
// (scripts/test-apiserver.sh), so once etcd's history is compacted past the informer's
// resourceVersion, its next watch gets the real server's 410 and it lists again; nothing is
// lost. The raw answer's shape is checked too: HTTP 200 and an ERROR event holding a 410 Status.
TEST_F(RealServer, InformerRelistsAfterEtcdCompaction) {
  testing_env::create_namespace("compact");
  testing_env::create_namespace("compact-other");
  auto configmap = [&](const std::string& ns, const std::string& name) {
    auto r = client().request("POST", "/api/v1/namespaces/" + ns + "/configmaps",
                              R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" +
                                  name + R"("},"data":{"k":"v"}})",
                              "application/json");
    ASSERT_EQ(r->status, 201) << r->body;
  };
  const std::string base = "/api/v1/namespaces/compact/configmaps";
  for (int i = 0; i < 3; ++i) configmap("compact", "cm-" + std::to_string(i));
  auto list = json::parse(client().request("GET", base)->body);
  std::string old_rv = list["metadata"]["resourceVersion"];

  auto other = Client::create(client().config());
  ASSERT_TRUE(other);
  Informer informer(**other, base, quick());
  std::atomic<bool> stop{false};
  Result<void> result;
  std::thread t([&] { result = informer.run(stop); });
  auto names = [&] {
    std::set<std::string> out;
    for (const auto& [k, v] : informer.snapshot()) out.insert(k);
    return out;
  };
  auto truth = [&] {
    std::set<std::string> out;
    json l = json::parse(client().request("GET", base)->body);
    for (const auto& o : l["items"])
      out.insert("compact/" + o["metadata"]["name"].get<std::string>());
    return out;
  };
  auto wait_for = [&](auto&& cond) {  // a wait condition, not a timing assertion
    for (int i = 0; i < 400 && !cond(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return cond();
  };
  EXPECT_TRUE(wait_for([&] { return informer.synced() && names() == truth(); }));

  // Two writes elsewhere move etcd's revision past the informer's; compact up to now.
  configmap("compact-other", "a");
  configmap("compact-other", "b");
  etcd_compact(etcd_revision());
  EXPECT_TRUE(wait_for([&] { return informer.stats().expired >= 1; }))
      << "lists " << informer.stats().lists << ", watches " << informer.stats().watches;
  EXPECT_TRUE(wait_for([&] { return informer.stats().lists >= 2; })) << "no relist after 410";
  configmap("compact", "cm-after");
  EXPECT_TRUE(wait_for([&] { return names() == truth(); }));
  EXPECT_TRUE(informer.snapshot().count("compact/cm-after"));
  stop = true;
  t.join();
  EXPECT_TRUE(result) << result.error().str();

  std::string body;
  auto r = client().stream(
      base + "?watch=1&timeoutSeconds=5&resourceVersion=" + old_rv,
      [&](std::string_view data) {
        body.append(data);
        return body.find('\n') == std::string::npos;
      },
      nullptr, std::chrono::seconds(10));
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(r->status, 200) << r->body;
  json event = json::parse(body.substr(0, body.find('\n')), nullptr, false);
  EXPECT_EQ(event["type"], "ERROR") << body;
  EXPECT_EQ(event["object"]["code"], 410) << body;
  EXPECT_EQ(event["object"]["reason"], "Expired") << body;
}

// Live mode reads what the server holds as file mode reads the same objects from a file: pods
// (their IPs set through the status subresource), namespaces, NetworkPolicies and an
// AdminNetworkPolicy, created in the real server.
TEST_F(RealServer, LiveAndFileModeAgree) {
  std::vector<json> objects;
  for (const std::string ns : {"shop", "data"}) {
    testing_env::create_namespace(ns);
  }
  int ip = 10;
  auto pod = [&](const std::string& ns, const std::string& name, const std::string& app) {
    json p{{"apiVersion", "v1"},
           {"kind", "Pod"},
           {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", app}}}}},
           {"spec",
            {{"containers", json::array({{{"name", "c"},
                                          {"image", "registry.example/app:1"},
                                          {"ports", json::array({{{"containerPort", 8080},
                                                                  {"name", "http"},
                                                                  {"protocol", "TCP"}}})}}})}}}};
    auto r = client().request("POST", "/api/v1/namespaces/" + ns + "/pods", p.dump(),
                              "application/json");
    EXPECT_EQ(r->status, 201) << r->body;
    std::string addr = "10.244.0." + std::to_string(ip++);
    json status{{"status", {{"podIP", addr}, {"podIPs", json::array({{{"ip", addr}}})}}}};
    r = client().request("PATCH", "/api/v1/namespaces/" + ns + "/pods/" + name + "/status",
                         status.dump(), "application/merge-patch+json");
    EXPECT_EQ(r->status, 200) << r->body;
    p["status"] = status["status"];
    objects.push_back(p);
  };
  pod("shop", "frontend", "frontend");
  pod("shop", "cart", "cart");
  pod("data", "postgres", "postgres");
  auto add = [&](const std::string& path, const json& o) {
    auto r = client().request("POST", path, o.dump(), "application/json");
    EXPECT_EQ(r->status, 201) << r->body;
    objects.push_back(o);
  };
  add("/apis/networking.k8s.io/v1/namespaces/data/networkpolicies",
      json::parse(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
        "metadata":{"name":"pg","namespace":"data"},"spec":{"podSelector":{"matchLabels":
        {"app":"postgres"}},"policyTypes":["Ingress"],"ingress":[{"from":[{"namespaceSelector":
        {"matchLabels":{"kubernetes.io/metadata.name":"shop"}},"podSelector":{"matchLabels":
        {"app":"cart"}}}],"ports":[{"port":"http"}]}]}})"));
  add("/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies",
      json::parse(R"({"apiVersion":"policy.networking.k8s.io/v1alpha1","kind":"AdminNetworkPolicy",
        "metadata":{"name":"deny-frontend-to-data"},"spec":{"priority":10,"subject":
        {"namespaces":{"matchLabels":{"kubernetes.io/metadata.name":"data"}}},"ingress":[{"name":
        "no-frontend","action":"Deny","from":[{"pods":{"namespaceSelector":{},"podSelector":
        {"matchLabels":{"app":"frontend"}}}}]}]}})"));
  // The namespaces as the server labels them (kubernetes.io/metadata.name).
  for (const std::string ns : {"shop", "data"})
    objects.push_back(
        {{"apiVersion", "v1"},
         {"kind", "Namespace"},
         {"metadata", {{"name", ns}, {"labels", {{"kubernetes.io/metadata.name", ns}}}}}});
  json list{{"apiVersion", "v1"}, {"kind", "List"}, {"items", objects}};
  write(work / "objects.json", list.dump());
  // Only the namespaces this test made: the other tests' objects are in the server too.
  std::string sel = " --from 'shop/*' --to 'data/*' -o json";
  Shell live = run(stockade() + " reach" + sel + admin());
  Shell file = run(stockade() + " reach" + sel + " -f " + (work / "objects.json").string());
  ASSERT_EQ(live.code, 0) << live.err;
  ASSERT_EQ(file.code, 0) << file.err;
  EXPECT_EQ(json::parse(live.out), json::parse(file.out));
  // And the answers are the ones the policies give: cart may reach postgres on http; the
  // AdminNetworkPolicy denies frontend.
  Shell ex = run(stockade() + " explain --from shop/cart --to data/postgres --port tcp/8080" +
                 " --exit-code" + admin());
  EXPECT_EQ(ex.code, 0) << ex.out << ex.err;
  Shell deny = run(stockade() +
                   " explain --from shop/frontend --to data/postgres --port "
                   "tcp/8080 --exit-code" +
                   admin());
  EXPECT_EQ(deny.code, 1) << deny.out << deny.err;
}

}  // namespace
}  // namespace stockade::kube
