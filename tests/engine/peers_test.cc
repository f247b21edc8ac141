// Naming the sides of a question (src/engine/peers.h) and listing a reach matrix
// (src/engine/reach_listing.h), as library calls.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/peers.h"
#include "engine/reach_listing.h"
#include "input/loader.h"

namespace stockade {
namespace {

const char* kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: shop}
spec: {serviceName: web, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: shop, labels: {app: web}, ownerReferences: [{kind: StatefulSet, name: web, apiVersion: apps/v1, uid: u1, controller: true}]}
spec: {containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web, canary: "yes"}, ownerReferences: [{kind: StatefulSet, name: web, apiVersion: apps/v1, uid: u1, controller: true}]}
spec: {containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
status: {podIP: 10.0.0.3}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, clusterIP: 10.96.0.10, ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canary-only, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {canary: "yes"}}}]}]
)";

struct Fixture {
  ClusterState state;
  std::unique_ptr<PolicyEngine> engine;
  Fixture() {
    ClusterLoader l;
    EXPECT_TRUE(l.add_text(kCluster, "cluster.yaml"));
    state = std::move(l).finish();
    engine = PolicyEngine::compile(state, build_endpoints(state));
  }
};

size_t count(const std::vector<uint8_t>& mask) {
  size_t n = 0;
  for (uint8_t m : mask) n += m;
  return n;
}

TEST(Peers, SelectEndpoints) {
  Fixture f;
  const auto& eps = f.engine->endpoints();
  EXPECT_EQ(count(*select_endpoints(eps, "*", "--from")), eps.size());
  EXPECT_EQ(count(*select_endpoints(eps, "shop/*", "--from")), 3u);
  EXPECT_EQ(count(*select_endpoints(eps, "shop/db", "--from")), 1u);
  EXPECT_EQ(count(*select_endpoints(eps, "shop/web", "--from")), 2u);  // the workload's pods
  auto bad = select_endpoints(eps, "shop", "--to");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().str(), "--to: expected NS/NAME, NS/* or *, got \"shop\"");
  auto typo = select_endpoints(eps, "shpo/db", "--to");
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().str(),
            "--to: no pod or workload matches \"shpo/db\"; did you mean \"shop/db\"?");
}

TEST(Peers, FindPeersByNameAndAddress) {
  Fixture f;
  EXPECT_EQ(find_peers(*f.engine, f.state, "shop/web", "--from")->size(), 2u);
  auto db = find_peers(*f.engine, f.state, "10.0.0.3", "--to");
  ASSERT_TRUE(db);
  ASSERT_EQ(db->size(), 1u);
  EXPECT_EQ(f.engine->endpoints()[*(*db)[0].endpoint].id(), "shop/db");
  auto outside = find_peers(*f.engine, f.state, "192.0.2.1", "--to");
  ASSERT_TRUE(outside);
  EXPECT_FALSE((*outside)[0].endpoint);
  auto svc = find_peers(*f.engine, f.state, "10.96.0.10", "--to");
  ASSERT_FALSE(svc);
  EXPECT_EQ(svc.error().str(),
            "--to: 10.96.0.10 is the cluster IP of Service shop/web; policies see the pod behind "
            "it: use one of shop/web-0, shop/web-1");
}

TEST(Peers, ExplainOnlyWhenAllPairsAreDecidedAlike) {
  Fixture f;
  auto web = *find_peers(*f.engine, f.state, "shop/web", "--from");
  auto db = *find_peers(*f.engine, f.state, "shop/db", "--to");
  PortQuery q{Protocol::TCP, 5432, ""};
  auto mixed = explain_connection(*f.engine, f.state, web, db, q, "shop/web", "shop/db");
  ASSERT_FALSE(mixed);
  EXPECT_NE(mixed.error().str().find("the pods of shop/web and shop/db are not all decided alike"),
            std::string::npos);
  auto canary = *find_peers(*f.engine, f.state, "shop/web-1", "--from");
  auto x = explain_connection(*f.engine, f.state, canary, db, q, "shop/web-1", "shop/db");
  ASSERT_TRUE(x);
  EXPECT_TRUE(x->verdict.allowed);
  EXPECT_EQ(x->src_name, "shop/web-1");
  EXPECT_EQ(x->port, 5432);
  // A named port is resolved on the destination, and needs one.
  auto named = explain_connection(*f.engine, f.state, db, web, {Protocol::TCP, 0, "http"},
                                  "shop/db", "shop/web");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->port, 80);
  EXPECT_EQ(named->pairs, 2u);
  auto none = explain_connection(*f.engine, f.state, web, db, {Protocol::TCP, 0, "http"},
                                 "shop/web", "shop/db");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().str(), "--port: shop/db declares no TCP port named \"http\"");
}

std::string listing(const Fixture& f, ReachListing l, size_t* pieces = nullptr) {
  const auto& eps = f.engine->endpoints();
  auto m = f.engine->reach({});
  std::vector<uint8_t> all(eps.size(), 1);
  ReachCounts c = m->counts(all, all);
  std::string out;
  size_t n = 0;
  list_connections(eps, *m, all, all, c, l, [&](std::string_view s) {
    out += s;
    ++n;
  });
  if (pieces) *pieces = n;
  return out;
}

TEST(ReachListing, JsonRowsAgreeWithTheSummary) {
  Fixture f;
  size_t pieces = 0;
  auto j = nlohmann::json::parse(
      listing(f, {ListingFormat::Json, Granularity::Pod, VerdictFilter::All}, &pieces));
  EXPECT_EQ(pieces, 1u);  // small: one piece
  size_t allowed = 0;
  for (const auto& row : j["connections"]) allowed += row["allowed"].get<bool>();
  EXPECT_EQ(j["connections"].size(), j["summary"]["pairs"].get<size_t>());
  EXPECT_EQ(allowed, j["summary"]["allowed"].get<size_t>());
  EXPECT_GT(j["summary"]["denied"].get<size_t>(), 0u);  // web-0 -> db
  auto denied = nlohmann::json::parse(
      listing(f, {ListingFormat::Json, Granularity::Pod, VerdictFilter::Denied}));
  EXPECT_EQ(denied["connections"].size(), j["summary"]["denied"].get<size_t>());
}

TEST(ReachListing, CsvAndTableByWorkload) {
  Fixture f;
  std::string csv = listing(f, {ListingFormat::Csv, Granularity::Workload, VerdictFilter::All});
  EXPECT_EQ(csv.rfind("src,dst,protocol,port,allowed,pairs\n", 0), 0u);
  // web's two pods differ towards db: one row per verdict.
  EXPECT_NE(csv.find("shop/web,shop/db,TCP,5432,true,1\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("shop/web,shop/db,TCP,5432,false,1\n"), std::string::npos) << csv;
  std::string table = listing(f, {ListingFormat::Table, Granularity::Pod, VerdictFilter::All});
  EXPECT_EQ(table.rfind("SOURCE", 0), 0u);
  EXPECT_NE(table.find(" endpoints, "), std::string::npos);
}

}  // namespace
}  // namespace stockade

namespace stockade {
namespace {

TEST(ReachListing, ByTheNamesReachTakes) {
  ReachListing l = reach_listing("csv", "namespace", "denied");
  EXPECT_EQ(l.format, ListingFormat::Csv);
  EXPECT_EQ(l.by, Granularity::Namespace);
  EXPECT_EQ(l.verdicts, VerdictFilter::Denied);
  l = reach_listing("json", "workload", "allowed");
  EXPECT_EQ(l.format, ListingFormat::Json);
  EXPECT_EQ(l.by, Granularity::Workload);
  EXPECT_EQ(l.verdicts, VerdictFilter::Allowed);
  l = reach_listing("table", "pod", "all");
  EXPECT_EQ(l.format, ListingFormat::Table);
  EXPECT_EQ(l.by, Granularity::Pod);
  EXPECT_EQ(l.verdicts, VerdictFilter::All);
}

}  // namespace
}  // namespace stockade
