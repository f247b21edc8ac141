// The validation differential: policy objects (hand-written and generated, valid and invalid)
// are read by the loader and sent to the real API server with dryRun=All and strict field
// validation; the two must agree on accept/reject. The server is the reference: a case where
// they differ is a loader bug, unless it is listed in kKnownDifferences with its reason
// (docs/notes/apiserver.md). The CRDs installed are the standard channel's
// (tests/data/schemas), so the loader reads with --policy-api-channel standard.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiserver/apiserver_env.h"
#include "input/loader.h"

namespace stockade {
namespace {

using json = nlohmann::json;

struct Case {
  std::string label;  // which mutations made it
  json object;
};

struct Mutation {
  std::string pointer;  // JSON pointer into the base object
  std::vector<json> values;
};

std::string repeat(char c, size_t n) {
  return std::string(n, c);
}

// A valid NetworkPolicy touching every field the mutations change.
json base_network_policy() {
  return json::parse(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
    "metadata":{"name":"np","namespace":"validation"},
    "spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress","Egress"],
      "ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"a"}}}],
                  "ports":[{"protocol":"TCP","port":80}]}],
      "egress":[{"to":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.1.0.0/16"]}}],
                 "ports":[{"protocol":"UDP","port":"dns"}]}]}})");
}

std::vector<Mutation> network_policy_mutations() {
  return {
      {"/spec/ingress/0/ports/0/port",
       {0,    1,     65535,   65536, -5,     "http",          "HTTP",          "h",
        "",   "a-b", "-ab",   "ab-", "a--b", repeat('a', 15), repeat('a', 16), "80",
        "1a", "a1",  "web_1", true}},
      {"/spec/ingress/0/ports/0/protocol", {"TCP", "UDP", "SCTP", "tcp", "ICMP", "", 6}},
      {"/spec/ingress/0/ports/0/endPort", {79, 80, 81, 65535, 65536, 0, -1}},
      {"/spec/egress/0/to/0/ipBlock/cidr",
       {"10.0.0.0/8", "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0", "::/0", "fd00::/8", "fd00::1/64",
        "0.0.0.0/0", "010.0.0.0/8", "10.0.0.0/08", "", "abc", "1.2.3.4/32", "10.0.0.0/-1",
        "FD00::/8", "::ffff:10.0.0.0/104"}},
      {"/spec/egress/0/to/0/ipBlock/except/0",
       {"10.1.0.0/16", "10.0.0.0/8", "11.0.0.0/16", "10.1.0.1/16", "fd00::/16", "10.0.0.0/7", "",
        "10.0.0.0/9", "10.1.0.0"}},
      {"/spec/egress/0/ports/0/port", {53, "dns", 0, "DNS", repeat('d', 16)}},
      {"/spec/podSelector/matchLabels",
       {json{{"app", "web"}}, json{{"a/b/c", "x"}}, json{{"Example.com/app", "x"}},
        json{{"app", "-x"}}, json{{"app", repeat('x', 63)}}, json{{"app", repeat('x', 64)}},
        json{{"app", ""}}, json{{"", "x"}}, json{{"k8s.io/", "x"}}, json{{"app", "a b"}},
        json{{"a_b", "c"}}, json{{repeat('k', 64), "y"}},
        json{{"example.com/" + repeat('k', 63), "y"}}, json{{repeat('d', 254) + "/k", "y"}},
        json{{"app", "a.b_c-d"}}, json{{"app", "x."}}}},
      {"/spec/podSelector/matchExpressions",
       {json::parse(R"([{"key":"app","operator":"In","values":["a"]}])"),
        json::parse(R"([{"key":"app","operator":"In","values":[]}])"),
        json::parse(R"([{"key":"app","operator":"NotIn"}])"),
        json::parse(R"([{"key":"app","operator":"Exists","values":["a"]}])"),
        json::parse(R"([{"key":"app","operator":"Exists"}])"),
        json::parse(R"([{"key":"app","operator":"DoesNotExist"}])"),
        json::parse(R"([{"key":"app","operator":"Foo","values":["a"]}])"),
        json::parse(R"([{"key":"app","operator":"NotIn","values":["a","-b"]}])"),
        json::parse(R"([{"key":"-app","operator":"DoesNotExist"}])"),
        json::parse(R"([{"key":"app","operator":"Gt","values":["1"]}])"),
        json::parse(R"([{"operator":"Exists"}])")}},
      {"/spec/policyTypes",
       {json::parse(R"(["Ingress"])"), json::parse(R"(["Egress"])"), json::array(),
        json::parse(R"(["ingress"])"), json::parse(R"(["Ingress","Ingress"])"),
        json::parse(R"(["Foo"])"), json::parse(R"(["Ingress","Egress","Ingress"])")}},
      {"/metadata/name",
       {"ok-name", "Bad", "a.b", "a_b", "-a", "a-", repeat('a', 253), repeat('a', 254), "a..b", "",
        "1abc", "a.-b"}},
      {"/metadata/labels",
       {json{{"team", "a"}}, json{{"team", "-a"}}, json{{"Team/x", "a"}}, json{{"team", 1}}}},
      {"/spec/ingress/0/from/0",
       {json::parse(R"({"podSelector":{}})"), json::object(),
        json::parse(R"({"ipBlock":{"cidr":"1.2.3.0/24"},"podSelector":{}})"),
        json::parse(R"({"namespaceSelector":{},"podSelector":{}})"),
        json::parse(R"({"ipBlock":{"cidr":"1.2.3.0/24"},"namespaceSelector":{}})"),
        json::parse(R"({"ipBlock":{"cidr":"1.2.3.0/24","except":["1.2.3.0/25"]}})"),
        json::parse(R"({"ipBlock":{"cidr":"1.2.3.0/24","except":["1.2.4.0/25"]}})"),
        json::parse(R"({"ipBlock":{}})")}},
      {"/spec/ingress/0/ports/0",
       {json::object(), json::parse(R"({"protocol":"TCP"})"), json::parse(R"({"endPort":90})"),
        json::parse(R"({"port":"http","endPort":90})"),
        json::parse(R"({"port":80,"endPort":90,"protocol":"SCTP"})")}},
      {"/spec/bogus", {1}},
      {"/spec/ingress/0/bogus", {1}},
      {"/spec/podSelector", {json::object(), json::parse(R"({"matchLabels":null})")}},
  };
}

json base_admin_network_policy() {
  return json::parse(R"({"apiVersion":"policy.networking.k8s.io/v1alpha1",
    "kind":"AdminNetworkPolicy","metadata":{"name":"anp"},
    "spec":{"priority":10,"subject":{"namespaces":{"matchLabels":{"team":"a"}}},
      "ingress":[{"name":"r1","action":"Allow","from":[{"namespaces":{"matchLabels":{"team":"b"}}}],
                  "ports":[{"portNumber":{"protocol":"TCP","port":80}}]}],
      "egress":[{"name":"e1","action":"Deny","to":[{"networks":["10.0.0.0/8"]}]}]}})");
}

std::vector<Mutation> admin_network_policy_mutations() {
  return {
      {"/spec/priority", {0, 1000, 1001, -1, 99, "10"}},
      {"/spec/ingress/0/action", {"Allow", "Deny", "Pass", "allow", "Drop"}},
      {"/spec/egress/0/action", {"Allow", "Deny", "Pass", "Accept"}},
      {"/spec/egress/0/to/0/networks/0",
       {"10.0.0.0/8", "10.0.0.1/8", "::/0", "10.0.0.0", "abc", "fd00::/8", "10.0.0.0/33"}},
      {"/spec/ingress/0/ports/0",
       {json::parse(R"({"portNumber":{"protocol":"TCP","port":0}})"),
        json::parse(R"({"portNumber":{"protocol":"TCP","port":65536}})"),
        json::parse(R"({"portNumber":{"protocol":"ICMP","port":1}})"),
        json::parse(R"({"portNumber":{"port":80}})"), json::parse(R"({"namedPort":"http"})"),
        json::parse(R"({"portRange":{"start":10,"end":5}})"),
        json::parse(R"({"portRange":{"start":10,"end":10}})"),
        json::parse(R"({"portRange":{"start":10,"end":20,"protocol":"UDP"}})"), json::object(),
        json::parse(R"({"portNumber":{"protocol":"TCP","port":80},"namedPort":"x"})")}},
      {"/spec/ingress/0/name", {repeat('x', 100), repeat('x', 101), ""}},
      {"/spec/subject",
       {json::parse(R"({"namespaces":{}})"), json::object(),
        json::parse(R"({"namespaces":{},"pods":{"namespaceSelector":{},"podSelector":{}}})"),
        json::parse(R"({"pods":{"namespaceSelector":{}}})"),
        json::parse(R"({"pods":{"namespaceSelector":{},"podSelector":{}}})")}},
      {"/spec/ingress/0/from",
       {json::array(), json::parse(R"([{}])"),
        json::parse(R"([{"namespaces":{},"pods":{"namespaceSelector":{},"podSelector":{}}}])"),
        json::parse(R"([{"networks":["10.0.0.0/8"]}])")}},
      {"/spec/egress/0/to/0",
       {json::parse(R"({"nodes":{"matchLabels":{}}})"), json::parse(R"({"networks":[]})"),
        json::parse(R"({"namespaces":{}})"),
        json::parse(R"({"pods":{"namespaceSelector":{},"podSelector":{}}})")}},
      {"/metadata/name", {"anp", "Bad", repeat('a', 254)}},
      {"/spec/bogus", {1}},
  };
}

json base_baseline_admin_network_policy() {
  return json::parse(R"({"apiVersion":"policy.networking.k8s.io/v1alpha1",
    "kind":"BaselineAdminNetworkPolicy","metadata":{"name":"default"},
    "spec":{"subject":{"namespaces":{}},
      "ingress":[{"name":"r1","action":"Deny","from":[{"namespaces":{"matchLabels":{"team":"b"}}}],
                  "ports":[{"portNumber":{"protocol":"TCP","port":80}}]}],
      "egress":[{"name":"e1","action":"Allow","to":[{"networks":["10.0.0.0/8"]}]}]}})");
}

std::vector<Mutation> baseline_admin_network_policy_mutations() {
  return {
      {"/metadata/name", {"default", "other", "Default"}},
      {"/spec/ingress/0/action", {"Allow", "Deny", "Pass", "allow"}},
      {"/spec/egress/0/action", {"Allow", "Deny", "Pass"}},
      {"/spec/priority", {10}},
      {"/spec/egress/0/to/0/networks/0", {"10.0.0.0/8", "10.0.0.0/33", "abc", "::/0"}},
      {"/spec/ingress/0/ports/0",
       {json::parse(R"({"portNumber":{"protocol":"UDP","port":53}})"),
        json::parse(R"({"portNumber":{"protocol":"TCP","port":0}})"),
        json::parse(R"({"portRange":{"start":10,"end":20}})"), json::object()}},
      {"/spec/subject",
       {json::parse(R"({"pods":{"namespaceSelector":{},"podSelector":{}}})"), json::object(),
        json::parse(R"({"pods":{"podSelector":{}}})")}},
      {"/spec/ingress/0/from",
       {json::array(), json::parse(R"([{"pods":{"namespaceSelector":{},"podSelector":{}}}])")}},
  };
}

json base_cluster_network_policy() {
  return json::parse(R"({"apiVersion":"policy.networking.k8s.io/v1alpha2",
    "kind":"ClusterNetworkPolicy","metadata":{"name":"cnp"},
    "spec":{"tier":"Admin","priority":10,"subject":{"namespaces":{"matchLabels":{"team":"a"}}},
      "ingress":[{"name":"r1","action":"Accept","from":[{"namespaces":{"matchLabels":{"team":"b"}}}],
                  "protocols":[{"tcp":{"destinationPort":{"number":80}}}]}],
      "egress":[{"name":"e1","action":"Deny","to":[{"networks":["10.0.0.0/8"]}]}]}})");
}

std::vector<Mutation> cluster_network_policy_mutations() {
  return {
      {"/spec/tier", {"Admin", "Baseline", "admin", "Other"}},
      {"/spec/priority", {0, 1000, 1001, -1}},
      {"/spec/ingress/0/action", {"Accept", "Deny", "Pass", "Allow"}},
      {"/spec/egress/0/to/0/networks/0",
       {"10.0.0.0/8", "10.0.0.300/24", "fd00::/8", "abc", "10.0.0.1/8"}},
      {"/spec/ingress/0/protocols/0",
       {json::parse(R"({"udp":{"destinationPort":{"number":53}}})"),
        json::parse(R"({"tcp":{"destinationPort":{"range":{"start":80,"end":90}}}})"),
        json::parse(R"({"tcp":{"destinationPort":{"range":{"start":90,"end":80}}}})"),
        json::parse(R"({"tcp":{"destinationPort":{"range":{"start":80,"end":80}}}})"),
        json::parse(R"({"tcp":{"destinationPort":{"number":0}}})"),
        json::parse(R"({"destinationNamedPort":"http"})"), json::object(),
        json::parse(R"({"tcp":{}})"),
        json::parse(
            R"({"tcp":{"destinationPort":{"number":80}},"udp":{"destinationPort":{"number":80}}})")}},
      {"/spec/egress/0/to/0",
       {json::parse(R"({"nodes":{}})"), json::parse(R"({"networks":[]})"),
        json::parse(R"({"pods":{"namespaceSelector":{},"podSelector":{}}})"), json::object()}},
      {"/spec/ingress/0/name", {repeat('n', 100), repeat('n', 101)}},
      {"/spec/subject", {json::object(), json::parse(R"({"pods":{"namespaceSelector":{}}})")}},
  };
}

// Every single mutation, then random pairs and triples (seeded: the same cases every run).
std::vector<Case> generate(const json& base, const std::vector<Mutation>& mutations, int random,
                           unsigned seed) {
  std::vector<Case> out;
  auto apply = [&](json object, const std::vector<std::pair<size_t, size_t>>& picks) {
    std::string label;
    for (auto [m, v] : picks) {
      const Mutation& mu = mutations[m];
      object[json::json_pointer(mu.pointer)] = mu.values[v];
      label += (label.empty() ? "" : " ") + mu.pointer + "=" + mu.values[v].dump();
    }
    out.push_back({label, std::move(object)});
  };
  out.push_back({"base", base});
  for (size_t m = 0; m < mutations.size(); ++m)
    for (size_t v = 0; v < mutations[m].values.size(); ++v) apply(base, {{m, v}});
  std::mt19937 rng(seed);
  for (int i = 0; i < random; ++i) {
    std::vector<std::pair<size_t, size_t>> picks;
    std::set<size_t> used;
    int n = 2 + static_cast<int>(rng() % 2);
    while (static_cast<int>(picks.size()) < n) {
      size_t m = rng() % mutations.size();
      if (!used.insert(m).second) continue;
      picks.push_back({m, rng() % mutations[m].values.size()});
    }
    // A pointer under another that was replaced may no longer resolve: skip such a case.
    try {
      apply(base, picks);
    } catch (const json::exception&) {
    }
  }
  return out;
}

struct Verdict {
  bool accepted;
  std::string message;
};

Verdict loader_verdict(const json& object) {
  LoadOptions o;
  o.policy_api_channel = PolicyApiChannel::Standard;
  ClusterLoader loader(o);
  auto r = loader.add_text(object.dump(), "case.json");
  if (!r) return {false, r.error().str()};
  return {true, ""};
}

Verdict server_verdict(const json& object) {
  auto& c = testing_env::admin_client();
  std::string kind = object["kind"];
  std::string path = kind == "NetworkPolicy"
                         ? "/apis/networking.k8s.io/v1/namespaces/validation/networkpolicies"
                     : kind == "AdminNetworkPolicy"
                         ? "/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies"
                     : kind == "BaselineAdminNetworkPolicy"
                         ? "/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies"
                         : "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies";
  auto r = c.request("POST", path + "?dryRun=All&fieldValidation=Strict", object.dump(),
                     "application/json");
  if (!r) return {false, "transport: " + r.error().str()};
  if (r->status == 201 || r->status == 200) return {true, ""};
  std::string msg = r->body;
  try {
    msg = json::parse(r->body).value("message", r->body);
  } catch (const json::exception&) {
  }
  return {false, std::to_string(r->status) + ": " + msg};
}

// ClusterNetworkPolicy `domainNames` (experimental channel only): judged by the published
// experimental CRD of v0.2.0 (tests/data/schemas/..._experimental.yaml, v1alpha2). A cluster
// holds one CRD per name, and the suite's is the standard one, so the experimental CRD is
// installed under a group of its own (kExperimentalGroup, same schema) and each case is sent
// there; the loader reads the case as written (policy.networking.k8s.io/v1alpha2).
constexpr const char* kExperimentalGroup = "experimental.stockade.test";

json base_domain_names_policy() {
  return json::parse(R"({"apiVersion":"policy.networking.k8s.io/v1alpha2",
    "kind":"ClusterNetworkPolicy","metadata":{"name":"cnp-domains"},
    "spec":{"tier":"Admin","priority":10,"subject":{"namespaces":{}},
      "egress":[{"name":"e1","action":"Accept",
                 "to":[{"domainNames":["kubernetes.io","*.example.com"]},{"networks":["10.0.0.0/8"]}],
                 "protocols":[{"tcp":{"destinationPort":{"number":443}}}]}]}})");
}

std::vector<Mutation> domain_names_mutations() {
  std::vector<json> many;
  for (int i = 0; i < 26; ++i) many.push_back("d" + std::to_string(i) + ".example.com");
  json max25 = many;
  max25.erase(max25.end() - 1);
  return {
      {"/spec/egress/0/to/0/domainNames/0",
       {"kubernetes.io",
        "*.kubernetes.io",
        "blog.kubernetes.io.",
        "KUBERNETES.IO",
        "a.b",
        "a",
        "*.io",
        "*",
        "*.*.example.com",
        "www.*.example.com",
        "a*.example.com",
        "-a.example.com",
        "a-.example.com",
        "a--b.example.com",
        "a_b.example.com",
        "_dmarc.example.com",
        "^a.example.com",
        "[b.example.com",
        "`a.example.com",
        "a.example.com..",
        ".example.com",
        "a..example.com",
        "exa mple.com",
        "ex\u00e4mple.com",
        "",
        "1.2.3.4",
        "x.[b",
        repeat('a', 64) + ".example.com",
        "a.example.com/",
        7,
        nullptr}},
      {"/spec/egress/0/to/0/domainNames",
       {json::array(), json::parse(R"(["a.com","a.com"])"), json::parse(R"(["A.com","a.com"])"),
        json(many), max25, "kubernetes.io"}},
      {"/spec/egress/0/action", {"Accept", "Deny", "Pass"}},
      {"/spec/egress/0/protocols",
       {json::parse(R"([{"destinationNamedPort":"https"}])"),
        json::parse(R"([{"udp":{"destinationPort":{"number":53}}}])")}},
      {"/spec/egress/0/to/1",
       {json::parse(R"({"domainNames":["a.io"],"networks":["10.0.0.0/8"]})"),
        json::parse(R"({"domainNames":["a.io"]})"), json::parse(R"({"nodes":{}})")}},
      {"/spec/ingress",
       {json::parse(R"([{"action":"Accept","from":[{"domainNames":["a.io"]}]}])")}},
  };
}

Verdict experimental_loader_verdict(const json& object) {
  ClusterLoader loader;  // experimental channel: the default
  auto r = loader.add_text(object.dump(), "case.json");
  if (!r) return {false, r.error().str()};
  return {true, ""};
}

Verdict experimental_server_verdict(const json& object) {
  json o = object;
  o["apiVersion"] = std::string(kExperimentalGroup) + "/v1alpha2";
  auto r = testing_env::admin_client().request(
      "POST",
      "/apis/" + std::string(kExperimentalGroup) +
          "/v1alpha2/clusternetworkpolicies?dryRun=All&fieldValidation=Strict",
      o.dump(), "application/json");
  if (!r) return {false, "transport: " + r.error().str()};
  if (r->status == 201 || r->status == 200) return {true, ""};
  std::string msg = r->body;
  try {
    msg = json::parse(r->body).value("message", r->body);
  } catch (const json::exception&) {
  }
  return {false, std::to_string(r->status) + ": " + msg};
}

// The experimental CRD under kExperimentalGroup (created once; waits until it is served).
void install_experimental_crd() {
  static bool done = false;
  if (done) return;
  std::string text = testing_env::slurp(std::string(STOCKADE_SOURCE_DIR) +
                                        "/tests/data/schemas/"
                                        "policy.networking.k8s.io_clusternetworkpolicies_"
                                        "experimental.yaml");
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  };
  replace("name: clusternetworkpolicies.policy.networking.k8s.io",
          std::string("name: clusternetworkpolicies.") + kExperimentalGroup);
  replace("group: policy.networking.k8s.io", std::string("group: ") + kExperimentalGroup);
  // Only *.k8s.io groups carry the API-approval annotation.
  size_t a = text.find("    api-approved.kubernetes.io:");
  ASSERT_NE(a, std::string::npos);
  text.erase(a, text.find('\n', a) + 1 - a);
  auto& c = testing_env::admin_client();
  auto r = c.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", text,
                     "application/yaml");
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_TRUE(r->status == 201 || r->status == 409) << r->body;
  // Served once a probe is validated against the schema (a bad name refused, not 404).
  for (int i = 0; i < 300; ++i) {
    json bad = base_domain_names_policy();
    bad["spec"]["egress"][0]["to"][0]["domainNames"][0] = "*";
    Verdict v = experimental_server_verdict(bad);
    if (!v.accepted && v.message.find("domainNames") != std::string::npos) {
      done = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL() << "the experimental ClusterNetworkPolicy CRD is not served";
}

// Differences the loader keeps on purpose, each with its reason (docs/notes/apiserver.md): a
// difference is known when the server's and the loader's verdicts hold these texts ("" for
// "accepts"). Any other difference fails the test.
struct KnownDifference {
  std::string server, loader, why;
};
const std::vector<KnownDifference> kKnownDifferences = {
    {"must not have bits set beyond the prefix length", "",
     "Kubernetes 1.37 refuses a non-canonical CIDR (10.0.0.1/8) in a new NetworkPolicy, but "
     "earlier releases stored them and keep serving them (ratcheting): a reader of clusters of "
     "every release accepts them, as 10.0.0.0/8"},
    {"", "Start port must be less than End port",
     "AdminNetworkPolicy v1alpha1's CRD (v0.1.7) has no rule on portRange start < end; the engine "
     "assumes start <= end (an empty range would need every port consumer changed)"},
    {"", ".protocol: unsupported value",
     "AdminNetworkPolicy v1alpha1's CRD (v0.1.7) leaves protocol a free string; the model knows "
     "TCP, UDP and SCTP only, the protocols the API documents"},
};

bool known(const Verdict& server, const Verdict& loader) {
  for (const auto& k : kKnownDifferences) {
    bool s = k.server.empty()
                 ? server.accepted
                 : !server.accepted && server.message.find(k.server) != std::string::npos;
    bool l = k.loader.empty()
                 ? loader.accepted
                 : !loader.accepted && loader.message.find(k.loader) != std::string::npos;
    if (s && l) return true;
  }
  return false;
}

void differential(const std::string& what, const std::vector<Case>& cases,
                  Verdict (*loader)(const json&) = loader_verdict,
                  Verdict (*server)(const json&) = server_verdict) {
  int agree = 0, accepted = 0, known_count = 0;
  std::vector<std::string> unexpected;
  std::ofstream report(testing_env::work_dir("validation") / (what + ".txt"));
  for (const Case& k : cases) {
    Verdict l = loader(k.object), s = server(k.object);
    ASSERT_EQ(s.message.rfind("transport:", 0), std::string::npos) << s.message;
    accepted += s.accepted;
    if (l.accepted == s.accepted) {
      ++agree;
      continue;
    }
    std::string line = k.label + "\n    server: " + (s.accepted ? "accepts" : s.message) +
                       "\n    loader: " + (l.accepted ? "accepts" : l.message);
    report << line << "\n";
    if (known(s, l))
      ++known_count;
    else
      unexpected.push_back(line);
  }
  std::printf(
      "%s: %zu cases (%d accepted by the server), %d agree, %d known differences, %zu "
      "unexpected\n",
      what.c_str(), cases.size(), accepted, agree, known_count, unexpected.size());
  // Enough of both verdicts that agreement means something.
  EXPECT_GT(accepted, 10);
  EXPECT_GT(static_cast<int>(cases.size()) - accepted, 10);
  std::string all;
  for (const auto& u : unexpected) all += u + "\n";
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " unexpected differences:\n" << all;
}

class ValidationDifferential : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing_env::server()) GTEST_SKIP() << testing_env::skip_reason();
    testing_env::create_namespace("validation");
  }
};

TEST_F(ValidationDifferential, NetworkPolicy) {
  differential("NetworkPolicy",
               generate(base_network_policy(), network_policy_mutations(), 2000, 22));
}

TEST_F(ValidationDifferential, AdminNetworkPolicy) {
  differential("AdminNetworkPolicy",
               generate(base_admin_network_policy(), admin_network_policy_mutations(), 600, 23));
}

TEST_F(ValidationDifferential, BaselineAdminNetworkPolicy) {
  differential("BaselineAdminNetworkPolicy",
               generate(base_baseline_admin_network_policy(),
                        baseline_admin_network_policy_mutations(), 150, 24));
}

TEST_F(ValidationDifferential, ClusterNetworkPolicy) {
  differential("ClusterNetworkPolicy", generate(base_cluster_network_policy(),
                                                cluster_network_policy_mutations(), 400, 25));
}

TEST_F(ValidationDifferential, ClusterNetworkPolicyDomainNamesExperimental) {
  install_experimental_crd();
  if (HasFatalFailure()) return;
  differential("ClusterNetworkPolicy-domainNames",
               generate(base_domain_names_policy(), domain_names_mutations(), 300, 26),
               experimental_loader_verdict, experimental_server_verdict);
}

}  // namespace
}  // namespace stockade
