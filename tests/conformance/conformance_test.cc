// Runs the data-driven conformance cases in tests/conformance/cases/**.yaml (format in
// tests/conformance/README.md): a model cluster, extra objects, and expected reachability
// matrices taken from the upstream Kubernetes and network-policy-api tests.
//
// The ClusterNetworkPolicy cases are written as v1alpha2 (upstream's manifests before v0.3.0)
// and run twice: as written, and with every ClusterNetworkPolicy rewritten to v1beta1 (the
// version upstream's conformance moved to in v0.3.0, same schema): both must give the
// expected verdicts.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <sstream>

#include "engine/engine.h"
#include "input/loader.h"

namespace stockade {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kAsV1beta1 = "@v1beta1";

// Every case file (relative to cases/), and each cnp/ case again with kAsV1beta1 appended.
std::vector<std::string> case_files() {
  std::vector<std::string> out;
  fs::path dir = fs::path(STOCKADE_SOURCE_DIR) / "tests/conformance/cases";
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".yaml") {
      std::string rel = fs::relative(e.path(), dir).string();
      out.push_back(rel);
      if (rel.starts_with("cnp/")) out.push_back(rel + std::string(kAsV1beta1));
    }
  std::sort(out.begin(), out.end());
  return out;
}

// yaml-cpp writes a scalar plain unless YAML 1.2 needs quotes: a quoted "y" (a namespace)
// would come back as the YAML 1.1 boolean y, which the loader refuses as Kubernetes does. A
// scalar quoted in the case file (tag "!") stays quoted.
void emit_keeping_quotes(YAML::Emitter& em, const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      em << YAML::BeginMap;
      for (const auto& kv : n) {
        em << YAML::Key;
        emit_keeping_quotes(em, kv.first);
        em << YAML::Value;
        emit_keeping_quotes(em, kv.second);
      }
      em << YAML::EndMap;
      break;
    case YAML::NodeType::Sequence:
      em << YAML::BeginSeq;
      for (const auto& item : n) emit_keeping_quotes(em, item);
      em << YAML::EndSeq;
      break;
    case YAML::NodeType::Scalar:
      if (n.Tag() == "!") em << YAML::DoubleQuoted;
      em << n.Scalar();
      break;
    default:
      em << YAML::Null;
  }
}

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST_P(Conformance, MatchesUpstreamExpectations) {
  std::string rel = GetParam();
  const bool as_v1beta1 = rel.ends_with(kAsV1beta1);
  if (as_v1beta1) rel.resize(rel.size() - kAsV1beta1.size());
  fs::path file = fs::path(STOCKADE_SOURCE_DIR) / "tests/conformance/cases" / rel;
  YAML::Node doc = YAML::LoadFile(file.string());
  SCOPED_TRACE(doc["description"].as<std::string>(""));
  fs::path model = file.parent_path() / doc["model"].as<std::string>();

  ClusterLoader loader;
  ASSERT_TRUE(loader.add_path(model.string())) << model;
  if (doc["objects"] && doc["objects"].size() > 0) {
    YAML::Emitter em;
    int rewritten = 0;
    for (auto obj : doc["objects"]) {
      if (obj["kind"].as<std::string>("") == "ClusterNetworkPolicy") {
        EXPECT_EQ(obj["apiVersion"].as<std::string>(""), "policy.networking.k8s.io/v1alpha2");
        if (as_v1beta1) {
          obj["apiVersion"] = "policy.networking.k8s.io/v1beta1";
          ++rewritten;
        }
      }
      em << YAML::BeginDoc;
      emit_keeping_quotes(em, obj);
    }
    if (as_v1beta1) {
      ASSERT_GT(rewritten, 0) << "no ClusterNetworkPolicy to run as v1beta1";
    }
    auto r = loader.add_text(em.c_str(), file.string() + "#objects");
    ASSERT_TRUE(r) << r.error().str();
  }
  ClusterState state = std::move(loader).finish();
  for (const ClusterPolicy& cp : state.cluster_policies) {
    if (cp.kind == ClusterPolicyKind::ClusterNetworkPolicy) {
      EXPECT_EQ(cp.api_version, as_v1beta1 ? kCnpV1beta1 : kCnpV1alpha2) << cp.name;
    }
  }
  auto engine = PolicyEngine::compile(state, build_endpoints(state));
  // `dns`: the answers the implementation saw (ClusterNetworkPolicy domainNames peers match the
  // addresses they named), as the engine learns them from Hubble DNS records.
  if (doc["dns"]) {
    std::vector<DnsName> names;
    for (const auto& d : doc["dns"]) {
      auto ip = IpAddr::parse(d["ip"].as<std::string>());
      ASSERT_TRUE(ip) << "bad dns ip " << d["ip"].as<std::string>();
      names.push_back({*ip, d["name"].as<std::string>()});
    }
    engine->learn_dns(std::move(names));
  }

  auto peer_of = [&](const std::string& name) -> std::optional<Peer> {
    if (name.find('/') == std::string::npos) {
      auto ip = IpAddr::parse(name);
      if (!ip) return std::nullopt;
      if (auto ep = engine->find_endpoint_by_ip(*ip)) return Peer::of_endpoint(*ep);
      return Peer::of_ip(*ip);
    }
    auto slash = name.find('/');
    auto ep = engine->find_endpoint(name.substr(0, slash), name.substr(slash + 1));
    if (!ep) return std::nullopt;
    return Peer::of_endpoint(*ep);
  };

  ASSERT_TRUE(doc["probes"] && doc["probes"].size() > 0) << "case has no probes";
  for (const auto& probe : doc["probes"]) {
    std::string port_text = probe["port"].as<std::string>();
    auto q = parse_port_query(port_text);
    ASSERT_TRUE(q) << "bad port " << port_text;
    std::istringstream rows(probe["expect"].as<std::string>());
    std::string line;
    std::vector<std::string> header;
    std::string mismatches;
    int checked = 0;
    while (std::getline(rows, line)) {
      std::istringstream cells(line);
      std::vector<std::string> tok;
      for (std::string t; cells >> t;) tok.push_back(t);
      if (tok.empty()) continue;
      if (header.empty()) {
        ASSERT_EQ(tok[0], "-") << "matrix header must start with '-'";
        header.assign(tok.begin() + 1, tok.end());
        continue;
      }
      ASSERT_EQ(tok.size(), header.size() + 1) << "row: " << line;
      auto src = peer_of(tok[0]);
      ASSERT_TRUE(src) << "unknown source " << tok[0];
      for (size_t c = 0; c < header.size(); ++c) {
        auto dst = peer_of(header[c]);
        ASSERT_TRUE(dst) << "unknown destination " << header[c];
        ASSERT_TRUE(tok[c + 1] == "." || tok[c + 1] == "X") << "cell " << tok[c + 1];
        bool want = tok[c + 1] == ".";
        uint16_t port = q->number;
        if (!q->name.empty()) {
          if (!dst->endpoint) continue;
          auto p = engine->resolve_port(*dst->endpoint, *q);
          if (!p) {
            // A named port the destination does not declare: nothing can connect to it.
            EXPECT_FALSE(want && !(src->endpoint == dst->endpoint))
                << tok[0] << " -> " << header[c] << " " << port_text
                << ": expected allowed but the destination does not declare the port";
            continue;
          }
          port = *p;
        }
        Verdict v = engine->evaluate(*src, *dst, q->protocol, port);
        ++checked;
        if (v.allowed != want)
          mismatches += "  " + tok[0] + " -> " + header[c] + " " + port_text + ": expected " +
                        (want ? "allowed" : "denied") + ", got " +
                        (v.allowed ? "allowed" : "denied") + "\n";
        if (src->endpoint && dst->endpoint) {
          bool fast = engine->allowed(*src->endpoint, *dst->endpoint, q->protocol, port);
          EXPECT_EQ(fast, v.allowed) << "fast path disagrees on " << tok[0] << " -> " << header[c];
        }
      }
    }
    EXPECT_GT(checked, 0);
    EXPECT_TRUE(mismatches.empty()) << GetParam() << " probe " << port_text << ":\n" << mismatches;
  }
}

INSTANTIATE_TEST_SUITE_P(Upstream, Conformance, ::testing::ValuesIn(case_files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Conformance);

}  // namespace
}  // namespace stockade
