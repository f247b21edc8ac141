#!/usr/bin/env python3
"""A small REST application's objects and Hubble L7 traffic, for `recommend --l7` tests.

The shape follows what Hubble prints with L7 visibility on (`hubble observe -o json`, Cilium
1.19: the fields of tests/data/samples/hubble/cilium-1.19-node-labels.json, plus `l7` with
`type`, `latency_ns` and `http` {code, method, url, protocol, headers}, `Type: L7`,
`event_type.type` 129): for every request a TCP SYN record (L3/L4), the REQUEST record and the
RESPONSE record (source and destination swapped, `is_reply`).

The application (namespace `shop`): `web` (static assets behind `ingress-nginx`, and the API
gateway for browsers), `api` (users and products, :8080; metrics :9090), `orders` (:8081;
metrics :9090), `worker` (a batch job calling orders), `monitoring/prometheus` (scrapes
/metrics), `monitoring/blackbox` (health checks). Identifiers are numbers, UUIDs and content
hashes; about 800 distinct paths.

Writes, into the directory given (default: beside this script):
  cluster.yaml        the objects (Namespaces, Deployments, ReplicaSets, Pods, Services)
  observed.json.gz    the traffic to learn from
  fresh.json.gz       requests of observed shapes with identifiers never observed (allowed)
  unobserved.json     requests the application could make but was never seen making: other
                      methods, other paths, other clients, other ports (refused)
Deterministic (seeded).
"""
import gzip
import json
import os
import random
import sys
import uuid

R = random.Random(23)
NODE = "node-1"
T0 = 1767225600  # 2026-01-01T00:00:00Z

APPS = {  # name: (namespace, labels, ports, ip prefix)
    "web": ("shop", {"app": "web", "tier": "frontend"}, [80]),
    "api": ("shop", {"app": "api", "tier": "backend"}, [8080, 9090]),
    "orders": ("shop", {"app": "orders", "tier": "backend"}, [8081, 9090]),
    "worker": ("shop", {"app": "worker"}, []),
    "prometheus": ("monitoring", {"app": "prometheus"}, [9090]),
    "blackbox": ("monitoring", {"app": "blackbox"}, [9115]),
    "ingress-nginx-controller": ("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"},
                                 [80, 443]),
}
PODS = {}  # app -> [(pod name, ip)]


def objects():
    docs = []
    for ns in ("shop", "monitoring", "ingress-nginx"):
        docs.append({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}})
    n = 10
    for app, (ns, labels, ports) in APPS.items():
        h = "%010x" % R.getrandbits(40)
        rs = app + "-" + h[:9]
        cports = [{"containerPort": p, "protocol": "TCP",
                   "name": "metrics" if p == 9090 else "http"} for p in ports]
        tmpl = {"metadata": {"labels": dict(labels, **{"pod-template-hash": h[:9]})},
                "spec": {"serviceAccountName": app,
                         "containers": [{"name": app, "image": "registry.example/" + app + ":1.4",
                                         "ports": cports}]}}
        docs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": app, "namespace": ns, "labels": labels},
                     "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                              "template": {"metadata": {"labels": labels},
                                           "spec": tmpl["spec"]}}})
        docs.append({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                     "metadata": {"name": rs, "namespace": ns, "labels": tmpl["metadata"]["labels"],
                                  "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                       "name": app, "controller": True,
                                                       "uid": str(uuid.UUID(int=R.getrandbits(128)))}]},
                     "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": tmpl}})
        PODS[app] = []
        for i in range(2):
            name = rs + "-" + "".join(R.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            ip = "10.0.%d.%d" % (1 + i, n)
            n += 1
            PODS[app].append((name, ip))
            docs.append({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": name, "namespace": ns,
                                      "labels": tmpl["metadata"]["labels"],
                                      "ownerReferences": [{"apiVersion": "apps/v1",
                                                           "kind": "ReplicaSet", "name": rs,
                                                           "controller": True,
                                                           "uid": str(uuid.UUID(int=R.getrandbits(128)))}]},
                         "spec": dict(tmpl["spec"], nodeName=NODE),
                         "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}})
        if ports:
            docs.append({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": app, "namespace": ns},
                         "spec": {"selector": labels,
                                  "ports": [{"port": p, "targetPort": p, "protocol": "TCP"}
                                            for p in ports]}})
    return docs


def endpoint(app, pod):
    ns, labels, _ = APPS[app]
    name, ip = pod
    ls = ["k8s:%s=%s" % (k, v) for k, v in sorted(labels.items())]
    ls += ["k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=" + ns,
           "k8s:io.cilium.k8s.policy.cluster=default",
           "k8s:io.cilium.k8s.policy.serviceaccount=" + app,
           "k8s:io.kubernetes.pod.namespace=" + ns]
    return {"ID": 100 + sum(map(ord, name)) % 3000, "identity": 20000 + sum(map(ord, app)),
            "cluster_name": "default", "namespace": ns, "labels": ls, "pod_name": name,
            "workloads": [{"name": app, "kind": "Deployment"}]}, ip


def stamp(t):
    s = int(t)
    ns = int((t - s) * 1e9)
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%09dZ" % ns


def records(t, client, server, port, method, path, code=200):
    """The SYN, the REQUEST and the RESPONSE of one request."""
    cpod, spod = R.choice(PODS[client]), R.choice(PODS[server])
    src, sip = endpoint(client, cpod)
    dst, dip = endpoint(server, spod)
    sport = R.randint(32768, 60999)
    host = "%s.%s.svc.cluster.local:%d" % (server, APPS[server][0], port)
    base = {"node_name": NODE, "uuid": str(uuid.UUID(int=R.getrandbits(128))),
            "emitter": {"name": "Hubble", "version": "1.19.1+gd0d0c879"}}
    syn = dict(base, time=stamp(t), verdict="FORWARDED", IP={"source": sip, "destination": dip,
                                                               "ipVersion": "IPv4"},
               l4={"TCP": {"source_port": sport, "destination_port": port,
                           "flags": {"SYN": True}}},
               source=src, destination=dst, Type="L3_L4", event_type={"type": 4, "sub_type": 3},
               traffic_direction="INGRESS", trace_observation_point="TO_ENDPOINT",
               is_reply=False, Summary="TCP Flags: SYN")
    http = {"method": method, "url": "http://" + host + path, "protocol": "HTTP/1.1",
            "headers": [{"key": "User-Agent", "value": "Go-http-client/1.1"},
                        {"key": "X-Request-Id", "value": str(uuid.UUID(int=R.getrandbits(128)))}]}
    req = dict(base, time=stamp(t + 0.0004), verdict="FORWARDED",
               IP={"source": sip, "destination": dip, "ipVersion": "IPv4"},
               l4={"TCP": {"source_port": sport, "destination_port": port}},
               source=src, destination=dst, Type="L7", event_type={"type": 129},
               traffic_direction="INGRESS", is_reply=False,
               l7={"type": "REQUEST", "http": http},
               Summary="HTTP/1.1 %s %s" % (method, http["url"]))
    resp_http = dict(http, code=code)
    resp = dict(base, time=stamp(t + 0.004), verdict="FORWARDED",
                IP={"source": dip, "destination": sip, "ipVersion": "IPv4"},
                l4={"TCP": {"source_port": port, "destination_port": sport}},
                source=dst, destination=src, Type="L7", event_type={"type": 129},
                traffic_direction="INGRESS", is_reply=True,
                l7={"type": "RESPONSE", "latency_ns": str(R.randint(400000, 9000000)),
                    "http": resp_http},
                Summary="HTTP/1.1 %d %dms (%s %s)" % (code, R.randint(1, 9), method, http["url"]))
    return [{"flow": syn, "node_name": NODE, "time": syn["time"]},
            {"flow": req, "node_name": NODE, "time": req["time"]},
            {"flow": resp, "node_name": NODE, "time": resp["time"]}]


def h8():
    return "%08x" % R.getrandbits(32)


USERS = list(range(1, 100001))
BUILDS = [(h8(), h8(), h8(), [h8() for _ in range(24)]) for _ in range(10)]


def traffic(n, ids):
    """(client, server, port, method, path) of ordinary use; `ids` picks identifiers."""
    users, orders = ids
    out = []
    for _ in range(n):
        u = R.choice(users)
        o = R.choice(orders)
        js, css, logo, chunks = R.choice(BUILDS)
        k = R.random()
        if k < 0.30:
            c = R.randrange(len(chunks))
            out.append(("ingress-nginx-controller", "web", 80, "GET", R.choice([
                "/static/js/main.%s.js" % js, "/static/css/main.%s.css" % css,
                "/static/media/logo.%s.svg" % logo, "/static/js/%d.%s.chunk.js" % (c, chunks[c]),
                "/", "/index.html", "/favicon.ico", "/manifest.json"])))
        elif k < 0.55:
            out.append(("web", "api", 8080) + R.choice([
                ("GET", "/api/v1/users/%d" % u), ("PUT", "/api/v1/users/%d" % u),
                ("GET", "/api/v1/users/%d/avatar" % u),
                ("GET", "/api/v1/users?page=%d" % R.randint(1, 9)), ("POST", "/api/v1/users"),
                ("GET", "/api/v1/products/%d" % R.randint(1, 5000)),
                ("GET", "/api/v1/products?category=%s" % R.choice(["books", "music", "toys"]))]))
        elif k < 0.75:
            out.append(("web", "orders", 8081) + R.choice([
                ("GET", "/orders/%s" % o), ("GET", "/orders/%s/items" % o),
                ("POST", "/orders"), ("POST", "/orders/%s/items" % o),
                ("DELETE", "/orders/%s/items/%d" % (o, R.randint(1, 20)))]))
        elif k < 0.85:
            out.append(("worker", "orders", 8081) + R.choice([
                ("GET", "/orders?status=pending"), ("PATCH", "/orders/%s" % o)]))
        elif k < 0.93:
            out.append(("prometheus", R.choice(["api", "orders"]), 9090, "GET", "/metrics"))
        else:
            s = R.choice([("api", 8080), ("orders", 8081)])
            out.append(("blackbox",) + s + ("GET", R.choice(["/healthz", "/readyz"])))
    return out


def unobserved(users, orders):
    """What the application could do and was never seen doing."""
    u, o = R.choice(users), R.choice(orders)
    return [
        ("web", "api", 8080, "DELETE", "/api/v1/users/%d" % u),        # another method
        ("web", "api", 8080, "POST", "/api/v1/users/%d" % u),
        ("web", "api", 8080, "GET", "/api/v1/admin/users"),            # another path
        ("web", "api", 8080, "GET", "/api/v2/users/%d" % u),
        ("web", "api", 8080, "GET", "/api/v1/users/%d/avatar/raw" % u),
        ("web", "api", 8080, "GET", "/api/v1/users/%d/../../admin" % u),
        ("web", "api", 8080, "GET", "/api/v1/users/me"),
        ("web", "orders", 8081, "POST", "/orders/%s/refund" % o),
        ("web", "orders", 8081, "GET", "/orders/%s/items/1" % o),      # DELETE only
        ("web", "orders", 8081, "PATCH", "/orders/%s" % o),            # the worker's
        ("worker", "orders", 8081, "DELETE", "/orders/%s" % o),
        ("worker", "api", 8080, "GET", "/api/v1/users/%d" % u),        # another client
        ("prometheus", "api", 8080, "GET", "/metrics"),                # another port
        ("blackbox", "api", 8080, "GET", "/metrics"),
        ("blackbox", "orders", 8081, "POST", "/healthz"),
        ("ingress-nginx-controller", "web", 80, "GET", "/static/js/main.zzzzzzzz.js"),
        ("ingress-nginx-controller", "web", 80, "GET", "/static/js/evil.js"),
        ("ingress-nginx-controller", "web", 80, "POST", "/index.html"),
        ("ingress-nginx-controller", "web", 80, "GET", "/.env"),
        ("ingress-nginx-controller", "api", 8080, "GET", "/api/v1/users/%d" % u),
    ]


def write(path, recs, gz=False):
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in recs)
    if gz:
        with gzip.GzipFile(path, "wb", mtime=0) as f:
            f.write(text.encode())
    else:
        with open(path, "w") as f:
            f.write(text)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    docs = objects()
    with open(os.path.join(out, "cluster.yaml"), "w") as f:
        f.write("# Generated by make_rest_app.py: a small REST application (see there).\n")
        f.write(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}, indent=1))
        f.write("\n")
    seen_users = R.sample(USERS[:50000], 160)
    seen_orders = [str(uuid.UUID(int=R.getrandbits(128), version=4)) for _ in range(90)]
    fresh_users = R.sample(USERS[50000:], 50)
    fresh_orders = [str(uuid.UUID(int=R.getrandbits(128), version=4)) for _ in range(20)]
    t = T0
    recs = []
    for req in traffic(4500, (seen_users, seen_orders)):
        t += R.random() * 0.5
        recs += records(t, *req)
    write(os.path.join(out, "observed.json.gz"), recs, gz=True)
    fresh = []
    for req in traffic(150, (fresh_users, fresh_orders)):
        t += 0.1
        fresh += records(t, *req)
    write(os.path.join(out, "fresh.json.gz"), fresh, gz=True)
    held = []
    for req in unobserved(fresh_users, fresh_orders):
        t += 0.1
        held += records(t, *req, code=404)
    write(os.path.join(out, "unobserved.json"), held)
    paths = {r["flow"]["l7"]["http"]["url"].split("?")[0] for r in recs
             if r["flow"].get("l7", {}).get("type") == "REQUEST"}
    print("observed: %d records, %d distinct paths" % (len(recs), len(paths)), file=sys.stderr)


if __name__ == "__main__":
    main()
