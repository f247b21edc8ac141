#!/usr/bin/env python3
"""Writes the live-cluster shapes of Online Boutique that the acceptance tests read.

From the vendored manifests in gitops/kubernetes-manifests (Deployments and Services as the
demo's Git repository holds them), this writes what a live cluster running them shows:

  pods-dump.yaml    `kubectl get pods,deployments,services -A -o yaml`: Pods that name their
                    ReplicaSets in ownerReferences, without the ReplicaSets; managedFields,
                    status and annotations as the API server returns them
  everything.yaml   the same cluster with Namespaces, ReplicaSets and EndpointSlices too
  flows.json        Hubble `observe -o json` records of the demo's call graph between the live
                    pods (pod names with their hashes, `workloads`, Cilium's labels), as Cilium
                    1.16+ prints them: a SYN seen at both nodes of a cross-node connection, the
                    SYN-ACK reply, and one external client of the frontend

The call graph is the demo's own (its README's architecture and the addresses in each
Deployment's env). Deterministic: run it again and the files are the same bytes.
Run from this directory: python3 make_shapes.py
"""
import hashlib
import json
import os
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
NS = "default"
NODES = [("worker-1", "172.18.0.3", "10.244.1."), ("worker-2", "172.18.0.4", "10.244.2.")]
REPLICAS = {"frontend": 2, "cartservice": 2}

# (client, server, server's container port): the demo's call graph.
CALLS = [
    ("loadgenerator", "frontend", 8080),
    ("frontend", "adservice", 9555),
    ("frontend", "cartservice", 7070),
    ("frontend", "checkoutservice", 5050),
    ("frontend", "currencyservice", 7000),
    ("frontend", "productcatalogservice", 3550),
    ("frontend", "recommendationservice", 8080),
    ("frontend", "shippingservice", 50051),
    ("checkoutservice", "cartservice", 7070),
    ("checkoutservice", "currencyservice", 7000),
    ("checkoutservice", "emailservice", 8080),
    ("checkoutservice", "paymentservice", 50051),
    ("checkoutservice", "productcatalogservice", 3550),
    ("checkoutservice", "shippingservice", 50051),
    ("recommendationservice", "productcatalogservice", 3550),
    ("cartservice", "redis-cart", 6379),
]
EXTERNAL_CLIENT = "203.0.113.77"

ALNUM = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generated names


def h(text, n):
    d = hashlib.sha256(text.encode()).digest()
    return "".join(ALNUM[b % len(ALNUM)] for b in d[:n])


def uid(text):
    d = hashlib.sha256(("uid:" + text).encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


def load_manifests():
    objs = []
    d = os.path.join(HERE, "gitops", "kubernetes-manifests")
    for f in sorted(os.listdir(d)):
        if f.endswith(".yaml") and f != "kustomization.yaml":
            with open(os.path.join(d, f)) as fh:
                objs += [o for o in yaml.safe_load_all(fh) if o]
    return objs


def managed(manager, op, fields):
    return [{"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": fields, "manager": manager,
             "operation": op, "time": "2026-11-30T09:12:44Z"}]


def main():
    objs = load_manifests()
    deployments = [o for o in objs if o["kind"] == "Deployment"]
    services = [o for o in objs if o["kind"] == "Service"]
    pods, replicasets, slices = [], [], []
    pod_ip = {}
    by_app = {}
    counter = [10, 10]
    for d in deployments:
        name = d["metadata"]["name"]
        tmpl = d["spec"]["template"]
        hash_ = h("rs:" + name, 10)
        rs_name = f"{name}-{hash_}"
        replicas = REPLICAS.get(name, 1)
        d.setdefault("metadata", {}).update({
            "namespace": NS, "uid": uid(name), "generation": 1, "resourceVersion": "4211",
            "creationTimestamp": "2026-11-30T09:12:40Z",
            "annotations": {"deployment.kubernetes.io/revision": "1",
                            "kubectl.kubernetes.io/last-applied-configuration":
                                json.dumps({"apiVersion": "apps/v1", "kind": "Deployment",
                                            "metadata": {"name": name, "namespace": NS}})},
            "managedFields": managed("kubectl-client-side-apply", "Update",
                                     {"f:metadata": {"f:labels": {".": {}}}, "f:spec": {}}),
        })
        d["spec"]["replicas"] = replicas
        d["status"] = {"availableReplicas": replicas, "readyReplicas": replicas,
                       "replicas": replicas, "updatedReplicas": replicas, "observedGeneration": 1,
                       "conditions": [{"type": "Available", "status": "True",
                                       "reason": "MinimumReplicasAvailable",
                                       "lastTransitionTime": "2026-11-30T09:13:02Z",
                                       "lastUpdateTime": "2026-11-30T09:13:02Z"}]}
        labels = dict(tmpl["metadata"]["labels"])
        labels["pod-template-hash"] = hash_
        replicasets.append({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs_name, "namespace": NS, "uid": uid(rs_name), "labels": labels,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": name, "uid": uid(name), "controller": True,
                                              "blockOwnerDeletion": True}]},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": dict(d["spec"]["selector"]["matchLabels"],
                                                      **{"pod-template-hash": hash_})},
                     "template": {"metadata": {"labels": labels}, "spec": tmpl["spec"]}},
            "status": {"replicas": replicas, "readyReplicas": replicas}})
        for i in range(replicas):
            pod_name = f"{rs_name}-{h('pod:' + name + str(i), 5)}"
            node, host_ip, prefix = NODES[(len(pods)) % 2]
            ip = prefix + str(counter[len(pods) % 2])
            counter[len(pods) % 2] += 1
            pod_ip[pod_name] = (ip, node)
            by_app.setdefault(name, []).append(pod_name)
            spec = json.loads(json.dumps(tmpl["spec"]))
            spec.update({"nodeName": node, "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
                         "schedulerName": "default-scheduler", "enableServiceLinks": True,
                         "preemptionPolicy": "PreemptLowerPriority", "priority": 0,
                         "serviceAccountName": spec.get("serviceAccountName", "default"),
                         "tolerations": [{"effect": "NoExecute",
                                          "key": "node.kubernetes.io/not-ready",
                                          "operator": "Exists", "tolerationSeconds": 300}]})
            pods.append({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {
                    "name": pod_name, "generateName": rs_name + "-", "namespace": NS,
                    "uid": uid(pod_name), "resourceVersion": "4190",
                    "creationTimestamp": "2026-11-30T09:12:44Z", "labels": labels,
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                         "name": rs_name, "uid": uid(rs_name),
                                         "controller": True, "blockOwnerDeletion": True}],
                    "managedFields": managed("kube-controller-manager", "Update",
                                             {"f:metadata": {"f:generateName": {}}})
                    + managed("kubelet", "Update", {"f:status": {"f:podIP": {}}})},
                "spec": spec,
                "status": {
                    "phase": "Running", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
                    "podIP": ip, "podIPs": [{"ip": ip}], "qosClass": "Burstable",
                    "startTime": "2026-11-30T09:12:44Z",
                    "conditions": [{"type": "Ready", "status": "True",
                                    "lastTransitionTime": "2026-11-30T09:13:01Z"}],
                    "containerStatuses": [{"name": c["name"], "ready": True, "restartCount": 0,
                                           "started": True, "image": c["image"],
                                           "imageID": "sha256:" + h(c["image"], 12),
                                           "containerID": "containerd://" + h(pod_name, 16),
                                           "state": {"running": {
                                               "startedAt": "2026-11-30T09:12:50Z"}}}
                                          for c in spec["containers"]]}})
    for i, s in enumerate(services):
        s["metadata"].update({"namespace": NS, "uid": uid("svc:" + s["metadata"]["name"]),
                              "resourceVersion": "4100",
                              "creationTimestamp": "2026-11-30T09:12:40Z"})
        s["spec"].update({"clusterIP": f"10.96.{100 + i}.{10 + i}",
                          "clusterIPs": [f"10.96.{100 + i}.{10 + i}"], "ipFamilies": ["IPv4"],
                          "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None"})
        s["spec"].setdefault("type", "ClusterIP")
        s["status"] = {"loadBalancer": {}}
        sel = s["spec"].get("selector", {})
        app = sel.get("app")
        if app in by_app:
            slices.append({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": s["metadata"]["name"] + "-" + h("es" + app, 5),
                             "namespace": NS,
                             "labels": {"kubernetes.io/service-name": s["metadata"]["name"]}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": [pod_ip[p][0]], "conditions": {"ready": True},
                               "nodeName": pod_ip[p][1],
                               "targetRef": {"kind": "Pod", "name": p, "namespace": NS}}
                              for p in by_app[app]],
                "ports": [{"port": port["targetPort"] if isinstance(port.get("targetPort"), int)
                           else port["port"], "protocol": "TCP"} for port in s["spec"]["ports"]]})
    namespaces = [{"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": NS, "labels": {"kubernetes.io/metadata.name": NS}}}]

    def dump(path, items):
        with open(os.path.join(HERE, path), "w") as fh:
            fh.write("# Generated by make_shapes.py from the vendored Online Boutique manifests\n"
                     "# (Apache-2.0, see README.md): what the live cluster shows.\n")
            yaml.safe_dump({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
                            "items": items}, fh, sort_keys=True, width=100)

    dump("pods-dump.yaml", pods + deployments + services)
    dump("everything.yaml", namespaces + pods + replicasets + deployments + services + slices)

    def peer(pod_name):
        app = pod_name.rsplit("-", 2)[0]
        return {"ID": 1000 + int(hashlib.sha256(pod_name.encode()).hexdigest()[:3], 16),
                "identity": 20000 + sorted(by_app).index(app), "cluster_name": "boutique",
                "namespace": NS, "pod_name": pod_name,
                "labels": [f"k8s:app={app}",
                           f"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name={NS}",
                           "k8s:io.cilium.k8s.policy.cluster=boutique",
                           f"k8s:io.cilium.k8s.policy.serviceaccount={app}",
                           f"k8s:io.kubernetes.pod.namespace={NS}"],
                "workloads": [{"name": app, "kind": "Deployment"}]}

    records = []
    t = [1796029980]  # 2026-11-30T09:13:00Z, after the pods started

    def rec(src, dst, sip, dip, sport, dport, flags, node, direction, reply):
        t[0] += 1
        ns = t[0] * 1000000000 + 123456789
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t[0])) + ".123456789Z"
        f = {"time": stamp, "uuid": uid(f"{ns}{sip}{dip}{flags}"), "verdict": "FORWARDED",
             "IP": {"source": sip, "destination": dip, "ipVersion": "IPv4"},
             "l4": {"TCP": {"source_port": sport, "destination_port": dport,
                            "flags": {k: True for k in flags}}},
             "source": src, "destination": dst, "Type": "L3_L4",
             "node_name": "boutique/" + node, "event_type": {"type": 4, "sub_type": 3},
             "traffic_direction": direction, "is_reply": reply,
             "trace_observation_point": "TO_ENDPOINT" if direction == "INGRESS" else "TO_STACK",
             "Summary": "TCP Flags: " + ", ".join(flags)}
        records.append({"flow": f, "node_name": "boutique/" + node, "time": stamp})

    world = {"identity": 2, "labels": ["reserved:world"]}
    port = 40000
    for client, server, dport in CALLS:
        for k, cp in enumerate(by_app[client]):
            sp = by_app[server][k % len(by_app[server])]
            (cip, cnode), (sip, snode) = pod_ip[cp], pod_ip[sp]
            for _ in range(2):
                port += 1
                rec(peer(cp), peer(sp), cip, sip, port, dport, ["SYN"], cnode, "EGRESS", False)
                if snode != cnode:
                    rec(peer(cp), peer(sp), cip, sip, port, dport, ["SYN"], snode, "INGRESS",
                        False)
                rec(peer(sp), peer(cp), sip, cip, dport, port, ["SYN", "ACK"], snode, "EGRESS",
                    True)
    for sp in by_app["frontend"]:
        port += 1
        sip, snode = pod_ip[sp]
        rec(world, peer(sp), EXTERNAL_CLIENT, sip, port, 8080, ["SYN"], snode, "INGRESS", False)
        rec(peer(sp), world, sip, EXTERNAL_CLIENT, 8080, port, ["SYN", "ACK"], snode, "EGRESS",
            True)
    with open(os.path.join(HERE, "flows.json"), "w") as fh:
        for r in records:
            fh.write(json.dumps(r, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
