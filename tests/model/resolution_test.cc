// The one endpoint resolution (model/resolution.h): pod -> top-level workload, inferred owners,
// pods only a record names, and the endpoint rule built on it (no ghost endpoints).
#include "model/resolution.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include <unistd.h>

#include "flow/edge_graph.h"
#include "input/flow_reader.h"
#include "input/loader.h"

namespace stockade {
namespace {

ClusterState load(const std::string& yaml) {
  ClusterLoader l;
  auto r = l.add_text(yaml, "c.yaml");
  EXPECT_TRUE(r) << r.error().str();
  return std::move(l).finish();
}

// A Deployment and its pods as `kubectl get pods,deployments` shows them: the ReplicaSet the
// pods name is not in the input.
const char* kNoReplicaSets = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: d1}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web, tier: front}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d9f8c6b5d-aaaaa
  namespace: shop
  labels: {app: web, tier: front, pod-template-hash: 7d9f8c6b5d}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d9f8c6b5d, uid: r1, controller: true}]
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d9f8c6b5d-bbbbb
  namespace: shop
  labels: {app: web, tier: front, pod-template-hash: 7d9f8c6b5d}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d9f8c6b5d, uid: r1, controller: true}]
status: {podIP: 10.0.0.2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: idle, namespace: shop}
spec:
  selector: {matchLabels: {app: idle}}
  template: {metadata: {labels: {app: idle}}}
)";

const Pod& pod(const ClusterState& s, const std::string& name) {
  for (const Pod& p : s.pods)
    if (p.name == name) return p;
  ADD_FAILURE() << "no pod " << name;
  return s.pods.front();
}

std::string workload_name(const ClusterState& s, const WorkloadResolution& r) {
  return r.workload ? std::string(to_string(s.workloads[*r.workload].kind)) + "/" +
                          s.workloads[*r.workload].name
                    : "-";
}

TEST(Resolution, AbsentReplicaSetIsInferredAsItsDeployment) {
  ClusterState s = load(kNoReplicaSets);
  WorkloadResolver r(s);
  WorkloadResolution res = r.of_pod(pod(s, "web-7d9f8c6b5d-aaaaa"));
  EXPECT_EQ(workload_name(s, res), "Deployment/web");
  EXPECT_TRUE(res.inferred);
  EXPECT_NE(res.why.find("ReplicaSet shop/web-7d9f8c6b5d"), std::string::npos) << res.why;
}

TEST(Resolution, InferenceIsCheckedAgainstTheObjects) {
  // The Deployment's selector does not match the pod; the pod-template-hash differs from the
  // ReplicaSet's name; the Deployment is in another namespace: none of them is inferred.
  ClusterState s = load(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d9f8c6b5d-aaaaa
  namespace: shop
  labels: {app: other}
  ownerReferences: [{kind: ReplicaSet, name: web-7d9f8c6b5d, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d9f8c6b5d-bbbbb
  namespace: shop
  labels: {app: web, pod-template-hash: '5555555555'}
  ownerReferences: [{kind: ReplicaSet, name: web-7d9f8c6b5d, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d9f8c6b5d-ccccc
  namespace: elsewhere
  labels: {app: web}
  ownerReferences: [{kind: ReplicaSet, name: web-7d9f8c6b5d, controller: true}]
)");
  WorkloadResolver r(s);
  for (const Pod& p : s.pods) {
    WorkloadResolution res = r.of_pod(p);
    EXPECT_FALSE(res.workload) << p.name;
    EXPECT_FALSE(res.why.empty()) << p.name;
  }
  // Each pod stays an endpoint of its own, and the Deployment, whose pods none of them is,
  // stands for its pods.
  auto eps = build_endpoints(s);
  ASSERT_EQ(eps.size(), 4u);
  for (const Endpoint& e : eps)
    if (e.kind == "Pod") {
      EXPECT_TRUE(e.workload_name.empty()) << e.id();
    }
}

TEST(Resolution, AbsentJobIsInferredAsItsCronJob) {
  ClusterState s = load(R"(
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: ops}
spec:
  schedule: "0 * * * *"
  jobTemplate: {spec: {template: {metadata: {labels: {app: backup}}}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: backup-29419200-x7k2p
  namespace: ops
  labels: {app: backup, job-name: backup-29419200, batch.kubernetes.io/controller-uid: u1}
  ownerReferences: [{kind: Job, name: backup-29419200, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: backup-manual-x7k2p
  namespace: ops
  labels: {app: backup}
  ownerReferences: [{kind: Job, name: backup-manual, controller: true}]
)");
  WorkloadResolver r(s);
  EXPECT_EQ(workload_name(s, r.of_pod(pod(s, "backup-29419200-x7k2p"))), "CronJob/backup");
  // A Job not named <cronjob>-<scheduled time> is not the CronJob's.
  EXPECT_EQ(workload_name(s, r.of_pod(pod(s, "backup-manual-x7k2p"))), "-");
}

TEST(Resolution, OwnerChainThroughTheInputAndItsCycles) {
  ClusterState s = load(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: d1}
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-1
  namespace: shop
  uid: r1
  ownerReferences: [{kind: Deployment, name: web, uid: d1, controller: true}]
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1-aaaaa
  namespace: shop
  labels: {app: web}
  ownerReferences: [{kind: ReplicaSet, name: web-1, uid: r1, controller: true}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: a
  namespace: loop
  ownerReferences: [{kind: ReplicaSet, name: b}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: b
  namespace: loop
  ownerReferences: [{kind: ReplicaSet, name: a}]
---
apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: loop
  ownerReferences: [{kind: ReplicaSet, name: a}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec: {selector: {matchLabels: {app: db}}, template: {metadata: {labels: {app: db}}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  namespace: shop
  labels: {app: db}
  ownerReferences: [{kind: StatefulSet, name: db, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: cache-0
  namespace: shop
  ownerReferences: [{kind: StatefulSet, name: cache, controller: true}]
)");
  WorkloadResolver r(s);
  WorkloadResolution web = r.of_pod(pod(s, "web-1-aaaaa"));
  EXPECT_EQ(workload_name(s, web), "Deployment/web");
  EXPECT_FALSE(web.inferred);
  EXPECT_TRUE(r.of_pod(pod(s, "p")).workload);  // ends, whichever of the two it stops at
  EXPECT_EQ(workload_name(s, r.of_pod(pod(s, "db-0"))), "StatefulSet/db");
  WorkloadResolution cache = r.of_pod(pod(s, "cache-0"));
  EXPECT_FALSE(cache.workload);
  EXPECT_EQ(cache.why, "its owner StatefulSet shop/cache is not in the input");
}

TEST(Resolution, NoGhostEndpoints) {
  // Each workload stands for its pods only when none of its pods is in the input: the
  // Deployment whose pods name an absent ReplicaSet is not an endpoint beside them.
  ClusterState s = load(kNoReplicaSets);
  std::vector<std::string> notes;
  auto eps = build_endpoints(s, &notes);
  std::vector<std::string> ids;
  for (const Endpoint& e : eps) ids.push_back(e.id() + ":" + e.kind + ":" + e.workload_name);
  EXPECT_EQ(ids, (std::vector<std::string>{"shop/idle:Deployment:idle",
                                           "shop/web-7d9f8c6b5d-aaaaa:Pod:web",
                                           "shop/web-7d9f8c6b5d-bbbbb:Pod:web"}));
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[0].find("inferred Deployment shop/web"), std::string::npos) << notes[0];
}

TEST(Resolution, NoGhostEndpointsInADumpWithoutReplicaSets) {
  // The engine-scale issue's shape: a `kubectl get pods,deployments,...` dump read through the
  // large-List path (gen_cluster --slim: every Deployment's pods name a ReplicaSet the dump
  // lacks). Every pod that runs is one endpoint, and no workload with pods stands beside them.
  namespace fs = std::filesystem;
  const fs::path file = fs::temp_directory_path() /
                        ("stockade_no_ghost_endpoints_" + std::to_string(::getpid()) + ".json");
  ASSERT_EQ(std::system((std::string(STOCKADE_GEN_CLUSTER) + " --pods 4000 --slim --out " +
                         file.string() + " 2>/dev/null")
                            .c_str()),
            0);
  ClusterLoader loader;
  auto r = loader.add_path(file.string());
  fs::remove(file);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_GT(loader.split_items(), 2048u);  // read item by item, on two threads
  const ClusterState s = std::move(loader).finish();
  size_t running = 0, owned_by_absent_replica_set = 0;
  std::map<std::string, size_t> pods_of_deployment;  // "ns/name" -> its pods, by the names
  for (const Pod& p : s.pods) {
    running += p.phase != "Succeeded" && p.phase != "Failed";
    for (const OwnerRef& o : p.owners) owned_by_absent_replica_set += o.kind == "ReplicaSet";
  }
  for (const Workload& w : s.workloads) EXPECT_NE(w.kind, WorkloadKind::ReplicaSet);
  ASSERT_GT(owned_by_absent_replica_set, 1000u);
  std::vector<std::string> notes;
  const std::vector<Endpoint> eps = build_endpoints(s, &notes);
  EXPECT_EQ(eps.size(), running);
  size_t pod_endpoints = 0, deployment_pods = 0;
  for (const Endpoint& e : eps) {
    pod_endpoints += e.kind == "Pod";
    deployment_pods += e.kind == "Pod" && e.workload_kind == "Deployment";
  }
  EXPECT_EQ(pod_endpoints, running);  // no workload stands for pods that are present
  EXPECT_EQ(deployment_pods, owned_by_absent_replica_set);  // each inferred as its Deployment
}

TEST(Resolution, PodsOnlyARecordNames) {
  ClusterState s = load(kNoReplicaSets);
  WorkloadResolver r(s);
  Labels web{{"app", "web"}, {"tier", "front"}};
  // Hubble's `workloads`, checked against the selector.
  EXPECT_EQ(
      workload_name(s, r.of_record("shop", "web-5f5f5f5f5f-zzzzz", "web", "Deployment", &web)),
      "Deployment/web");
  // Without `workloads`: what the pod's name says it was created from, checked the same way.
  EXPECT_EQ(workload_name(s, r.of_record("shop", "web-5f5f5f5f5f-zzzzz", "", "", &web)),
            "Deployment/web");
  // Labels that the selector does not match, no labels, another namespace, an unknown name.
  Labels other{{"app", "other"}};
  WorkloadResolution bad = r.of_record("shop", "web-5f5f5f5f5f-zzzzz", "web", "Deployment", &other);
  EXPECT_FALSE(bad.workload);
  EXPECT_NE(bad.why.find("do not fit the selector of Deployment shop/web"), std::string::npos);
  EXPECT_FALSE(r.of_record("shop", "web-5f5f5f5f5f-zzzzz", "web", "Deployment", nullptr).workload);
  EXPECT_FALSE(r.of_record("prod", "web-5f5f5f5f5f-zzzzz", "web", "Deployment", &web).workload);
  EXPECT_FALSE(r.of_record("shop", "worker-5f5f5f5f5f-zzzzz", "", "", &web).workload);
}

TEST(Resolution, AJobsGeneratedSelectorIsNotAskedOfRecords) {
  // A Job's selector is the controller-uid label the API server generates; flow records leave
  // such per-pod labels out, so the template's labels decide.
  ClusterState s = load(R"(
apiVersion: batch/v1
kind: Job
metadata: {name: reindex, namespace: ops}
spec:
  selector: {matchLabels: {batch.kubernetes.io/controller-uid: 0b1c}}
  template: {metadata: {labels: {app: reindex, batch.kubernetes.io/controller-uid: 0b1c}}}
)");
  WorkloadResolver r(s);
  Labels app{{"app", "reindex"}}, other{{"app", "other"}};
  EXPECT_EQ(workload_name(s, r.of_record("ops", "reindex-x7k2p", "reindex", "Job", &app)),
            "Job/reindex");
  EXPECT_EQ(workload_name(s, r.of_record("ops", "reindex-x7k2p", "", "", &app)), "Job/reindex");
  EXPECT_FALSE(r.of_record("ops", "reindex-x7k2p", "reindex", "Job", &other).workload);
  // A pod that carries the label is held to it.
  Labels wrong_uid{{"app", "reindex"}, {"batch.kubernetes.io/controller-uid", "ffff"}};
  EXPECT_FALSE(r.of_record("ops", "reindex-x7k2p", "reindex", "Job", &wrong_uid).workload);
}

std::string edges(const EdgeGraph& g) {
  std::string out;
  for (const auto& [k, s] : g.edges())
    out += g.nodes()[k.src].id + " -> " + g.nodes()[k.dst].id + " " + std::to_string(k.port) +
           (g.nodes()[k.dst].absent_pod ? " (absent pod)" : "") + "\n";
  return out;
}

std::string hubble(const std::string& src_pod, const std::string& src_labels,
                   const std::string& src_workload, const std::string& dst_pod,
                   const std::string& dst_labels, const std::string& dst_ip) {
  auto peer = [](const std::string& pod, const std::string& labels, const std::string& w) {
    std::string p =
        "{\"namespace\":\"shop\",\"pod_name\":\"" + pod + "\",\"labels\":[" + labels + "]";
    if (!w.empty()) p += ",\"workloads\":[{\"name\":\"" + w + "\",\"kind\":\"Deployment\"}]";
    return p + "}";
  };
  return "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.9.9.1\",\"destination\":\"" +
         dst_ip +
         "\"},\"l4\":{\"TCP\":{\"source_port\":4000,\"destination_port\":80,\"flags\":"
         "{\"SYN\":true}}},\"is_reply\":false,\"source\":" +
         peer(src_pod, src_labels, src_workload) +
         ",\"destination\":" + peer(dst_pod, dst_labels, "") + "}}\n";
}

std::unique_ptr<EdgeGraph> graph_of(const ClusterState& s, const std::vector<Endpoint>& eps,
                                    Granularity by, const std::string& flows) {
  auto g = std::make_unique<EdgeGraph>(s, eps, GraphOptions{by, {}});
  FlowReadStats st;
  EXPECT_TRUE(read_flows_text(flows, "f.json", {}, st, [&](const Flow& f) { g->add(f); }));
  return g;
}

TEST(Resolution, RecordPodsBecomeTheDeclaredWorkloadEndpoint) {
  // GitOps: Deployments, no pods; the records name the live pods.
  ClusterState s = load(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {selector: {matchLabels: {app: api}}, template: {metadata: {labels: {app: api}}}}
)");
  auto eps = build_endpoints(s);
  std::string flows = hubble("web-5f5f5f5f5f-zzzzz", "\"k8s:app=web\"", "web",
                             "api-6c6c6c6c6c-yyyyy", "\"k8s:app=api\"", "10.9.9.2");
  for (Granularity by : {Granularity::Pod, Granularity::Workload}) {
    auto g = graph_of(s, eps, by, flows);
    EXPECT_EQ(edges(*g), "shop/web -> shop/api 80\n");
    for (const GraphNode& n : g->nodes()) EXPECT_EQ(n.endpoints.size(), 1u) << n.id;
    EXPECT_EQ(g->unresolved_pods(), 0u);
  }
}

TEST(Resolution, RecordPodsTheObjectsCannotPlaceFallBackToTheirAddress) {
  ClusterState s = load(kNoReplicaSets);
  auto eps = build_endpoints(s);
  // A pod of another app (no workload of that name), and a pod claiming web's name with
  // labels the selector does not match: their addresses decide. 10.0.0.2 is a pod of the
  // input; 10.9.9.2 is no one's.
  std::string flows = hubble("web-7d9f8c6b5d-aaaaa", "\"k8s:app=web\"", "", "ghost-0",
                             "\"k8s:app=ghost\"", "10.9.9.2") +
                      hubble("web-7d9f8c6b5d-aaaaa", "\"k8s:app=web\"", "", "web-1234567890-qqqqq",
                             "\"k8s:app=impostor\"", "10.0.0.2");
  auto gp = graph_of(s, eps, Granularity::Pod, flows);
  const EdgeGraph& g = *gp;
  EXPECT_EQ(edges(g),
            "shop/web-7d9f8c6b5d-aaaaa -> shop/web-7d9f8c6b5d-bbbbb 80\n"
            "shop/web-7d9f8c6b5d-aaaaa -> world/10.9.9.2 80 (absent pod)\n");
  EXPECT_EQ(g.unresolved_pods(), 2u);
  ASSERT_EQ(g.resolution_notes().size(), 2u);
  EXPECT_NE(g.resolution_notes()[0].find("pod shop/ghost-0 is not in the input"), std::string::npos)
      << g.resolution_notes()[0];
}

TEST(Resolution, ARecordPodNamedLikeAWorkloadIsNotThatWorkload) {
  // StatefulSet db's pod db-2, beside a StatefulSet named db-2: the record says which.
  ClusterState s = load(R"(
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec: {selector: {matchLabels: {app: db}}, template: {metadata: {labels: {app: db}}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db-2, namespace: shop}
spec: {selector: {matchLabels: {app: db-2}}, template: {metadata: {labels: {app: db-2}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}
)");
  auto eps = build_endpoints(s);
  std::string flows = hubble("web-5f5f5f5f5f-zzzzz", "\"k8s:app=web\"", "web", "db-2",
                             "\"k8s:app=db\"", "10.9.9.2");
  EXPECT_EQ(edges(*graph_of(s, eps, Granularity::Pod, flows)), "shop/web -> shop/db 80\n");
}

TEST(Resolution, AHostNetworkRecordPodIsItsNode) {
  ClusterState s = load(R"(
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 10.9.9.2}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: proxy, namespace: shop}
spec:
  selector: {matchLabels: {app: proxy}}
  template: {metadata: {labels: {app: proxy}}, spec: {hostNetwork: true}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}
)");
  auto eps = build_endpoints(s);
  std::string flows = hubble("web-5f5f5f5f5f-zzzzz", "\"k8s:app=web\"", "web", "proxy-qqqqq",
                             "\"k8s:app=proxy\"", "10.9.9.2");
  EXPECT_EQ(edges(*graph_of(s, eps, Granularity::Workload, flows)), "shop/web -> node/n1 80\n");
}

TEST(Resolution, WithoutObjectsTheRecordsNamesAreUsed) {
  ClusterState empty;
  auto eps = build_endpoints(empty);
  std::string flows = hubble("web-5f5f5f5f5f-zzzzz", "\"k8s:app=web\"", "web",
                             "api-6c6c6c6c6c-yyyyy", "\"k8s:app=api\"", "10.9.9.2");
  // Hubble's `workloads` groups the source; the destination's record has none and stays a pod
  // (nothing guesses a workload from a name).
  EXPECT_EQ(edges(*graph_of(empty, eps, Granularity::Workload, flows)),
            "shop/web -> shop/api-6c6c6c6c6c-yyyyy 80\n");
  EXPECT_EQ(edges(*graph_of(empty, eps, Granularity::Pod, flows)),
            "shop/web-5f5f5f5f5f-zzzzz -> shop/api-6c6c6c6c6c-yyyyy 80\n");
}

}  // namespace
}  // namespace stockade
