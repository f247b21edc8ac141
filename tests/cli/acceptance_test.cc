// Acceptance on real-world shapes (issue 18 item 7): Online Boutique (GoogleCloudPlatform/
// microservices-demo, Apache-2.0; tests/data/online-boutique/README.md) as a user meets it:
//   - pods without ReplicaSets (`kubectl get pods,deployments,services -A -o yaml`),
//   - the GitOps repository (Deployments and Services, no pods) with live Hubble flows that
//     name the live pods (with their hashes),
//   - everything (Namespaces, Pods, ReplicaSets, Deployments, Services, EndpointSlices).
// On each: map's edges are the demo's call graph, recommend's allow-lists are that call graph,
// what it recommends verifies with 0 denied, and for the GitOps repository recommend's ingress
// allow-lists equal the demo's own hand-written NetworkPolicies.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include <yaml-cpp/yaml.h>

#include "support/run_command.h"

namespace {

namespace fs = std::filesystem;
using stockade::test::run_command;

const fs::path kData = fs::path(STOCKADE_SOURCE_DIR) / "tests" / "data" / "online-boutique";
const std::string kBin = STOCKADE_BINARY;

// The demo's call graph (its README and the service addresses in each Deployment's env), as
// (client, server, port); the frontend is also reached from an external client.
const std::set<std::tuple<std::string, std::string, int>> kCallGraph = {
    {"loadgenerator", "frontend", 8080},
    {"frontend", "adservice", 9555},
    {"frontend", "cartservice", 7070},
    {"frontend", "checkoutservice", 5050},
    {"frontend", "currencyservice", 7000},
    {"frontend", "productcatalogservice", 3550},
    {"frontend", "recommendationservice", 8080},
    {"frontend", "shippingservice", 50051},
    {"checkoutservice", "cartservice", 7070},
    {"checkoutservice", "currencyservice", 7000},
    {"checkoutservice", "emailservice", 8080},
    {"checkoutservice", "paymentservice", 50051},
    {"checkoutservice", "productcatalogservice", 3550},
    {"checkoutservice", "shippingservice", 50051},
    {"recommendationservice", "productcatalogservice", 3550},
    {"cartservice", "redis-cart", 6379},
    {"world/203.0.113.77", "frontend", 8080},
};

struct Shape {
  std::string name;
  std::string objects;  // the -f arguments
  size_t pods;          // pods the input holds
};

const Shape kPodsDump{"pods without ReplicaSets", "-f " + (kData / "pods-dump.yaml").string(), 14};
const Shape kGitOps{"GitOps manifests",
                    "-f " + (kData / "gitops" / "kubernetes-manifests").string(), 0};
const Shape kEverything{"everything", "-f " + (kData / "everything.yaml").string(), 14};

std::string flows() {
  return " --flows " + (kData / "flows.json").string();
}

nlohmann::json run_json(const std::string& args, int expect_exit = 0) {
  auto r = run_command(kBin + " " + args + " 2>/dev/null");
  EXPECT_TRUE(WIFEXITED(r.status)) << args;
  EXPECT_EQ(WEXITSTATUS(r.status), expect_exit) << args << "\n" << r.out.substr(0, 2000);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << args << "\n" << r.out.substr(0, 2000);
  return j;
}

// "default/frontend" -> "frontend"; external peers keep their id.
std::string short_id(const std::string& id) {
  return id.starts_with("default/") ? id.substr(8) : id;
}

std::set<std::tuple<std::string, std::string, int>> map_edges(const Shape& s) {
  nlohmann::json m = run_json("map " + s.objects + flows() + " --by workload -o json");
  std::set<std::tuple<std::string, std::string, int>> out;
  for (const auto& e : m["edges"]) {
    EXPECT_EQ(e["outcomes"]["established"].get<int>(), e["count"].get<int>()) << e.dump();
    out.emplace(short_id(e["src"]), short_id(e["dst"]), e["port"].get<int>());
  }
  for (const auto& n : m["nodes"])
    if (n["namespace"] == "default") {
      EXPECT_EQ(n["kind"], "Deployment") << n.dump();
    }
  return out;
}

// From a List of NetworkPolicies: per selected app, the (source app or CIDR, port) pairs its
// ingress allows; "*" when a rule allows every source.
std::map<std::string, std::set<std::pair<std::string, int>>> ingress_lists(
    const nlohmann::json& items) {
  std::map<std::string, std::set<std::pair<std::string, int>>> out;
  for (const auto& p : items) {
    if (p["kind"] != "NetworkPolicy" || !p["spec"].contains("ingress")) continue;
    const auto& sel = p["spec"]["podSelector"];
    if (!sel.contains("matchLabels")) continue;
    std::string app = sel["matchLabels"].value("app", "");
    for (const auto& rule : p["spec"]["ingress"]) {
      std::set<int> ports;
      for (const auto& port : rule.value("ports", nlohmann::json::array())) {
        // A named port is the selected pods' own (currencyservice declares 7000 as "grpc").
        if (port["port"].is_string()) {
          EXPECT_TRUE(app == "currencyservice" && port["port"] == "grpc") << port.dump();
          ports.insert(7000);
        } else {
          ports.insert(port["port"].get<int>());
        }
      }
      if (ports.empty()) ports.insert(0);
      std::vector<std::string> from;
      for (const auto& peer : rule.value("from", nlohmann::json::array())) {
        if (peer.contains("podSelector"))
          from.push_back(peer["podSelector"]["matchLabels"].value("app", "?"));
        else if (peer.contains("ipBlock"))
          from.push_back("world/" + peer["ipBlock"]["cidr"].get<std::string>());
      }
      if (from.empty()) from.push_back("*");
      for (const auto& f : from)
        for (int port : ports) out[app].emplace(f, port);
    }
  }
  return out;
}

// A YAML document as JSON: scalars that read as integers become numbers.
nlohmann::json to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& kv : n) j[kv.first.as<std::string>()] = to_json(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& e : n) j.push_back(to_json(e));
    return j;
  }
  if (n.IsScalar()) {
    int i = 0;
    if (YAML::convert<int>::decode(n, i)) return i;
    return n.as<std::string>();
  }
  return nullptr;
}

std::map<std::string, std::set<std::pair<std::string, int>>> call_graph_ingress() {
  std::map<std::string, std::set<std::pair<std::string, int>>> out;
  for (const auto& [src, dst, port] : kCallGraph)
    out[dst].emplace(src.starts_with("world/") ? src + "/32" : src, port);
  // The frontend-external LoadBalancer Service declares the frontend open to the world:
  // recommend keeps declared exposure.
  out["frontend"].emplace("world/0.0.0.0/0", 8080);
  return out;
}

void check_shape(const Shape& s) {
  SCOPED_TRACE(s.name);
  // map: exactly the call graph, every node a Deployment.
  EXPECT_EQ(map_edges(s), kCallGraph);

  // reach: one endpoint per pod when the pods are there (no ghost Deployments beside them),
  // else one per Deployment.
  nlohmann::json summary = run_json("reach " + s.objects + " -o summary");
  EXPECT_EQ(summary["endpoints"].get<size_t>(), s.pods ? s.pods : 12u) << summary.dump();

  // recommend: one policy per workload, named after it, selecting by its spec.selector; its
  // allow-lists are the call graph; no pod name or hash anywhere.
  auto r = run_command(kBin + " recommend " + s.objects + flows() + " -o json 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("pod-template-hash"), std::string::npos);
  for (const char* hashed : {"frontend-", "cartservice-"})
    for (size_t at = r.out.find(hashed); at != std::string::npos; at = r.out.find(hashed, at + 1))
      ADD_FAILURE() << "a pod name in the recommendation: " << r.out.substr(at, 40);
  nlohmann::json rec = nlohmann::json::parse(r.out);
  std::set<std::string> names;
  for (const auto& p : rec["items"]) {
    std::string name = p["metadata"]["name"];
    names.insert(name);
    if (name.starts_with("stockade-ingress-") && name != "stockade-ingress-default-deny") {
      std::string app = name.substr(17);
      EXPECT_EQ(p["spec"]["podSelector"], (nlohmann::json{{"matchLabels", {{"app", app}}}}))
          << name;
    }
  }
  EXPECT_TRUE(names.contains("stockade-ingress-frontend"));
  EXPECT_TRUE(names.contains("stockade-egress-checkoutservice"));
  EXPECT_EQ(ingress_lists(rec["items"]), call_graph_ingress());

  // verify the recommendation against the same flows: every observed edge evaluated, 0 denied.
  fs::path dir = fs::temp_directory_path() / ("stockade-acceptance-" + std::to_string(getpid()));
  fs::remove_all(dir);
  auto w = run_command(kBin + " recommend " + s.objects + flows() + " --out-dir " + dir.string() +
                       " 2>/dev/null");
  ASSERT_EQ(w.status, 0);
  nlohmann::json v =
      run_json("verify " + s.objects + " -f " + dir.string() + flows() + " -o json --by pod");
  EXPECT_EQ(v["summary"]["denied"], 0) << v["summary"].dump();
  EXPECT_EQ(v["summary"]["unresolved"], 0) << v["summary"].dump();
  EXPECT_EQ(v["summary"]["edges"].get<size_t>(), s.pods ? 26u : kCallGraph.size())
      << v["summary"].dump();
  // By workload (the default), the pods' edges are the application's call graph again.
  nlohmann::json vw =
      run_json("verify " + s.objects + " -f " + dir.string() + flows() + " -o json");
  EXPECT_EQ(vw["edges"].size(), kCallGraph.size()) << vw["summary"].dump();
  EXPECT_EQ(vw["summary"], v["summary"]);  // pod-level edges, whatever the rows
  EXPECT_EQ(vw["summary"]["denied"], 0) << vw["summary"].dump();
  fs::remove_all(dir);
}

TEST(Acceptance, OnlineBoutiquePodsWithoutReplicaSets) {
  check_shape(kPodsDump);
}

TEST(Acceptance, OnlineBoutiqueGitOpsWithLiveFlows) {
  check_shape(kGitOps);
}

TEST(Acceptance, OnlineBoutiqueEverything) {
  check_shape(kEverything);
}

TEST(Acceptance, OnlineBoutiqueGitOpsVerifyAndTheDemosOwnPolicies) {
  const std::string objects = kGitOps.objects;
  const std::string policies = " -f " + (kData / "gitops" / "network-policies").string();
  // The demo's own policies allow every observed edge, and every edge is evaluated.
  nlohmann::json v = run_json("verify " + objects + policies + flows() + " -o json");
  EXPECT_EQ(v["summary"]["edges"].get<size_t>(), kCallGraph.size()) << v["summary"].dump();
  EXPECT_EQ(v["summary"]["denied"], 0);
  EXPECT_EQ(v["summary"]["unresolved"], 0);

  // recommend's ingress allow-lists equal the hand-written ones (the frontend's is open to
  // every source there: recommend allows what was observed, the load generator and the
  // external client).
  nlohmann::json rec = run_json("recommend " + objects + flows() + " -o json");
  auto ours = ingress_lists(rec["items"]);
  // The demo's hand-written policies (kustomize/components/network-policies), read with
  // yaml-cpp rather than our own loader.
  nlohmann::json handwritten = nlohmann::json::array();
  for (const auto& f : fs::directory_iterator(kData / "gitops" / "network-policies")) {
    if (!f.path().filename().string().starts_with("network-policy-")) continue;
    handwritten.push_back(to_json(YAML::LoadFile(f.path().string())));
  }
  auto theirs = ingress_lists(handwritten);
  ASSERT_EQ(theirs.size(), 11u);  // every service but the load generator, which takes nothing
  EXPECT_EQ(theirs["frontend"], (std::set<std::pair<std::string, int>>{{"*", 0}}));
  for (const auto& [app, allowed] : theirs) {
    if (app == "frontend") continue;
    EXPECT_EQ(ours[app], allowed) << app;
  }
  EXPECT_EQ(
      ours["frontend"],
      (std::set<std::pair<std::string, int>>{
          {"loadgenerator", 8080}, {"world/203.0.113.77/32", 8080}, {"world/0.0.0.0/0", 8080}}));
  // Nothing else is open: the load generator receives nothing, there as here.
  EXPECT_FALSE(ours.contains("loadgenerator"));
}

}  // namespace
