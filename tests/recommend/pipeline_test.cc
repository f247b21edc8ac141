// recommend's pipeline as library calls (src/recommend/pipeline.h, summary.h): what
// `stockade recommend` prints, the server and the console can compute without the command.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "input/loader.h"
#include "recommend/pipeline.h"
#include "recommend/summary.h"

namespace stockade {
namespace {

const char* kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 9090}, {containerPort: 9091}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: old, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}, policyTypes: [Ingress], ingress: [{}]}
)";

std::string tcp(const std::string& src, const std::string& dst, int dport, int second) {
  return "{\"flow\":{\"time\":\"2026-01-01T00:00:0" + std::to_string(second) +
         "Z\",\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"" + src + "\",\"destination\":\"" +
         dst + "\"},\"l4\":{\"TCP\":{\"source_port\":4000" + std::to_string(second) +
         ",\"destination_port\":" + std::to_string(dport) +
         ",\"flags\":{\"SYN\":true}}},\"is_reply\":false}}\n";
}

struct Pipeline {
  ClusterState state;
  RecommendEngines engines;
  Observed obs;
  RecommendOptions ro;
  explicit Pipeline(const std::string& flows, bool replace = false) {
    ClusterLoader l;
    EXPECT_TRUE(l.add_text(kCluster, "cluster.yaml"));
    state = std::move(l).finish();
    engines = compile_recommend_engines(state, build_endpoints(state), replace);
    auto r = observe_flows_text(state, engines.existing(), flows, {});
    EXPECT_TRUE(r);
    obs = std::move(*r);
    ro.replace = replace;
  }
};

TEST(RecommendPipeline, NothingToLearnFromIsAnError) {
  Pipeline p("");
  auto r = check_learnable(p.obs);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().str(), "no flow records in the --flows input: nothing to learn from");
  EXPECT_EQ(r.error().code, ErrorCode::Usage);
  EXPECT_TRUE(check_learnable(Pipeline(tcp("10.0.0.1", "10.0.0.2", 9090, 1)).obs));
}

TEST(RecommendPipeline, ReplaceCompilesTheClusterWithoutItsNetworkPolicies) {
  Pipeline kept(tcp("10.0.0.1", "10.0.0.2", 9090, 1));
  EXPECT_EQ(kept.engines.without_np, nullptr);
  EXPECT_EQ(&kept.engines.existing(), kept.engines.current.get());
  Pipeline replaced(tcp("10.0.0.1", "10.0.0.2", 9090, 1), true);
  ASSERT_NE(replaced.engines.without_np, nullptr);
  EXPECT_EQ(&replaced.engines.existing(), replaced.engines.without_np.get());
}

TEST(RecommendPipeline, WindowIsTheRecordsUnlessGiven) {
  Pipeline p(tcp("10.0.0.1", "10.0.0.2", 9090, 1) + tcp("10.0.0.1", "10.0.0.2", 9090, 5));
  LearningWindow w = learning_window(p.obs, p.ro);
  EXPECT_EQ(w.length_ns(), 4'000'000'000LL);
  p.ro.window_since = w.from - 10'000'000'000LL;
  EXPECT_EQ(learning_window(p.obs, p.ro).length_ns(), 14'000'000'000LL);
  EXPECT_EQ(human_duration(w.length_ns()), "4.0s");
  EXPECT_EQ(human_duration(int64_t{3} * 3600 * 1'000'000'000LL + 5 * 60'000'000'000LL), "3h05m");
}

TEST(RecommendPipeline, ProvedRenderedReadBackAndSummarized) {
  Pipeline p(tcp("10.0.0.1", "10.0.0.2", 9090, 1));
  Recommendation rec = recommend(p.state, p.engines.existing(), p.obs, p.ro);
  auto proved = prove_recommendation(p.state, *p.engines.current, p.obs, rec, p.ro,
                                     RecommendKind::NetworkPolicy);
  ASSERT_TRUE(proved);
  EXPECT_FALSE(proved->check.failed());
  const uint32_t web = *proved->after->find_endpoint("shop", "web");
  const uint32_t api = *proved->after->find_endpoint("shop", "api");
  EXPECT_TRUE(proved->after->allowed(web, api, Protocol::TCP, 9090));
  EXPECT_FALSE(proved->after->allowed(web, api, Protocol::TCP, 9091));

  RenderedOutput one = render_output(rec, *proved, "", false);
  ASSERT_EQ(one.files.size(), 1u);
  EXPECT_EQ(one.files[0].policies.size(), rec.policies.size());
  EXPECT_EQ(read_back(one), "");
  RenderedOutput per = render_output(rec, *proved, "out", true);
  ASSERT_EQ(per.files.size(), rec.policies.size());
  EXPECT_EQ(per.files[0].path.parent_path(), "out");
  EXPECT_EQ(per.files[0].path.extension(), ".json");
  EXPECT_EQ(read_back(per), "");
  // A text that is not what was proved is caught, and named.
  per.files[0].text = one.files[0].text;
  EXPECT_EQ(read_back(per).rfind(per.files[0].path.string() + ": ", 0), 0u) << read_back(per);

  // Exposure: the api pod's ingress was open to all on two ports; after, only what was seen.
  std::set<std::string> ns{"shop"};
  Exposure before = exposure(*p.engines.current, ns), after = exposure(*proved->after, ns);
  EXPECT_LT(after.total, before.total);
  EXPECT_EQ(after.per_ns.at("shop"), 1u);  // web -> api tcp/9090
  Tightness t = tightness(*proved->after, p.obs, rec, ns);
  EXPECT_EQ(t.observed_pairs, 1u);
  EXPECT_EQ(t.allowed_in, 1u);
  auto removed = removed_connections(p.state, *p.engines.current, *proved);
  ASSERT_TRUE(removed);
  EXPECT_GE(removed->connections, before.total - after.total);
  EXPECT_FALSE(removed->examples.empty());
  EXPECT_LE(removed->examples.size(), 5u);

  std::string text = summary_text(p.state, *p.engines.current, p.obs, rec, *proved,
                                  {"", "v1beta1", learning_window(p.obs, p.ro), false});
  EXPECT_NE(text.find("allowed after: 1 of 1 (self-check passed)"), std::string::npos) << text;
  EXPECT_NE(text.find("stockade:   shop: " + std::to_string(before.per_ns.at("shop")) + " -> 1"),
            std::string::npos)
      << text;
}

TEST(RecommendPipeline, SelfCheckFailureAndBlockedTexts) {
  SelfCheck c;
  c.declared_denied = {"a -> b TCP/80", "c -> d TCP/81"};
  SelfCheckFailure f = self_check_failure(c);
  EXPECT_NE(f.message.find("deny 2 declared connection(s)"), std::string::npos);
  EXPECT_NE(f.message.find("the first: a -> b TCP/80"), std::string::npos);
  ASSERT_EQ(f.also.size(), 1u);
  EXPECT_EQ(f.also[0], "c -> d TCP/81");
  c.blocked = 3;
  c.blocked_examples = {"x -> y TCP/1 (below --min-count)"};
  EXPECT_EQ(blocked_text(c),
            "stockade: 3 observed edge(s) that the policies in force allow would be denied by the "
            "recommended policies (nothing written; --accept-blocked writes them anyway):\n"
            "  x -> y TCP/1 (below --min-count)\n  ... and 2 more\n");
}

}  // namespace
}  // namespace stockade

namespace stockade {
namespace {

TEST(RecommendPipeline, KindSetsOwnNodeRulesAndRefusesGuardrailsForCilium) {
  RecommendOptions o;
  EXPECT_EQ(*recommend_kind("networkpolicy", o), RecommendKind::NetworkPolicy);
  EXPECT_FALSE(o.own_node_egress);
  EXPECT_FALSE(o.own_node_ingress);
  EXPECT_EQ(*recommend_kind("cilium", o), RecommendKind::Cilium);
  EXPECT_TRUE(o.own_node_egress);
  EXPECT_FALSE(o.own_node_ingress);
  EXPECT_EQ(*recommend_kind("calico", o), RecommendKind::Calico);
  EXPECT_TRUE(o.own_node_egress);
  EXPECT_TRUE(o.own_node_ingress);
  o.guardrails = true;
  EXPECT_TRUE(recommend_kind("calico", o));
  auto refused = recommend_kind("cilium", o);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::Usage);
  EXPECT_NE(refused.error().str().find("Cilium does not enforce"), std::string::npos);
}

}  // namespace
}  // namespace stockade

namespace stockade {
namespace {

TEST(RecommendPipeline, LowConfidenceWarningAndObservedNotes) {
  LearningWindow w{0, int64_t{90} * 60 * 1'000'000'000};
  EXPECT_EQ(low_confidence_warning(w, "24h"),
            "the learning window (1h30m) is shorter than --min-window 24h: traffic that happens "
            "less often was not seen; every policy is annotated stockade.io/confidence: low");
  Observed obs;
  obs.read_stats.records = 12;
  obs.outside_window = 2;
  obs.edges.resize(3);
  obs.unresolved_pods = 4;
  obs.resolution_notes = {"pod shop/gone: not in the input"};
  EXPECT_EQ(observed_notes(obs), (std::vector<std::string>{
                                     "12 flow records, 2 outside --since/--until, 3 observed edges",
                                     "pod shop/gone: not in the input",
                                     "... 4 pods named by records are not in the input in all"}));
  obs.unresolved_pods = 1;
  EXPECT_EQ(observed_notes(obs).size(), 2u);
}

TEST(RecommendPipeline, WrittenIntoTheOutDirAllOrNothing) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("pipeline-outdir-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  RenderedOutput out;
  out.files.push_back({dir / "sub" / "shop.web.yaml", "kind: NetworkPolicy\n", {}, {}, {}, {}});
  ASSERT_TRUE(write_rendered(out, (dir / "sub").string()));
  std::ifstream in(dir / "sub" / "shop.web.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "kind: NetworkPolicy\n");
  std::ofstream(dir / "file") << "x";
  auto refused = write_rendered(out, (dir / "file" / "below").string());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().str().rfind("--out-dir: cannot create ", 0), 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace stockade
