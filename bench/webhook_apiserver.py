#!/usr/bin/env python3
"""The admission webhook answering a real kube-apiserver on a large served state.

Generates a cluster (gen_cluster --pods N --admin) and traffic (gen_flows), starts
`stockade serve -f CLUSTER --tls-cert --tls-key --admission enforce` (guardrails and lint on),
posts the traffic, starts kube-apiserver and etcd (scripts/test-apiserver.sh), registers a
ValidatingWebhookConfiguration for NetworkPolicies pointing at the server over TLS, and sends
REQUESTS dry-run NetworkPolicy creates, updates and deletes (dryRun=All: the webhook is called,
nothing is stored) through the API server, one at a time over one connection. Prints, in ms,
the median / p99 / max of
  - the webhook's own answer time, from serve's request log (what the API server waits for);
  - the whole API request as the client sees it (API server + webhook).

Usage: bench/webhook_apiserver.py [--pods 50000] [--requests 1000] [--build build/release]
Needs build/apiserver/bin (scripts/test-apiserver.sh build) and openssl.
"""
import argparse
import gzip
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests/helm"))
from apiserver import ApiServer  # noqa: E402


def run(args):
    subprocess.run(args, check=True, capture_output=True)


def certificates(work):
    ca_key, ca, key, csr, crt = (os.path.join(work, n) for n in ("ca.key", "ca.crt", "tls.key", "tls.csr", "tls.crt"))
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
         "-days", "2", "-subj", "/CN=bench-ca"])
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"])
    ext = os.path.join(work, "san.ext")
    open(ext, "w").write("subjectAltName=IP:127.0.0.1\n")
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
         "-days", "2", "-extfile", ext])
    return ca, crt, key


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100))]


def summary(name, values):
    print("%-34s n=%-5d median %7.2f ms   p99 %7.2f ms   max %7.2f ms" % (
        name, len(values), percentile(values, 50), percentile(values, 99), max(values)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=50000)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--build", default=os.path.join(SRC, "build/release"))
    ap.add_argument("--stockade", default=None, help="the stockade binary (default: BUILD/stockade)")
    ap.add_argument("--no-guardrails", action="store_true", help="for a binary without the guardrails' flags")
    a = ap.parse_args()
    stockade = a.stockade or os.path.join(a.build, "stockade")
    work = tempfile.mkdtemp(prefix="stockade-webhook-bench-")
    # The generated inputs are kept between runs (same seed, same files).
    cache = os.path.join(tempfile.gettempdir(), "stockade-webhook-bench-%d" % a.pods)
    os.makedirs(cache, exist_ok=True)
    cluster, flows = os.path.join(cache, "cluster.json"), os.path.join(cache, "flows.json")
    t = time.time()
    if not os.path.exists(flows):
        run([os.path.join(a.build, "bench/gen_cluster"), "--pods", str(a.pods), "--admin", "--out", cluster])
        run([os.path.join(a.build, "bench/gen_flows"), "--cluster", cluster, "--records", str(a.pods * 4),
             "--out", flows + ".tmp"])
        os.rename(flows + ".tmp", flows)
        print("generated %d pods and %d records in %.0f s" % (a.pods, a.pods * 4, time.time() - t), flush=True)
    ca, crt, key = certificates(work)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log_path = os.path.join(work, "serve.log")
    serve = subprocess.Popen([stockade, "serve", "-f", cluster, "--store", "sqlite:" + os.path.join(work, "db"),
                              "--listen", "127.0.0.1:%d" % port, "--tls-cert", crt, "--tls-key", key,
                              "--admission", "enforce"] +
                             ([] if a.no_guardrails else ["--guard-default-deny", "--guard-public-ingress"]),
                             stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))
    api = None
    try:
        tls = ssl.create_default_context(cafile=ca)
        t = time.time()
        while True:
            try:
                with urllib.request.urlopen("https://127.0.0.1:%d/readyz" % port, context=tls, timeout=5) as r:
                    if r.status == 200:
                        break
            except Exception:  # noqa: BLE001 — not up yet
                time.sleep(0.5)
        print("serve ready in %.0f s" % (time.time() - t), flush=True)
        # In bodies under serve's --max-body (32 MiB).
        lines = open(flows, "rb").read().splitlines(keepends=True)
        for i in range(0, len(lines), 4000):
            req = urllib.request.Request("https://127.0.0.1:%d/api/v1/flows" % port, data=b"".join(lines[i:i + 4000]),
                                         method="POST", headers={"Content-Type": "application/x-ndjson"})
            with urllib.request.urlopen(req, context=tls, timeout=600) as r:
                r.read()
        print("%d records posted" % len(lines), flush=True)
        api = ApiServer(SRC, os.path.join(work, "apiserver"))
        import base64
        vwc = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
               "metadata": {"name": "stockade-bench"},
               "webhooks": [{"name": "policies.stockade.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                             "failurePolicy": "Fail", "timeoutSeconds": 10,
                             "clientConfig": {"url": "https://127.0.0.1:%d/admission/validate" % port,
                                              "caBundle": base64.b64encode(open(ca, "rb").read()).decode()},
                             "rules": [{"apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"],
                                        "resources": ["networkpolicies"], "operations": ["CREATE", "UPDATE", "DELETE"],
                                        "scope": "Namespaced"}]}]}
        code, body = api.call("POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", vwc)
        assert code == 201, body
        state = json.load(open(cluster))
        items = state["items"] if "items" in state else []
        namespaces = sorted({i["metadata"]["name"] for i in items if i["kind"] == "Namespace"})
        for ns in namespaces:
            api.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        policies = [i for i in items if i["kind"] == "NetworkPolicy"]
        # The policies in force exist in the API server too (updates and deletes need them):
        # created before the webhook judges them? No: through it, as a user would.
        by_ns = {}
        for p in policies:
            by_ns.setdefault(p["metadata"]["namespace"], []).append(p)
        chosen = [ps[0] for ns, ps in sorted(by_ns.items())][:200]
        for p in chosen:
            doc = {k: p[k] for k in ("apiVersion", "kind", "spec")}
            doc["metadata"] = {"name": p["metadata"]["name"], "namespace": p["metadata"]["namespace"]}
            api.call("POST", "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies" % p["metadata"]["namespace"], doc)
        conn = http.client.HTTPSConnection("127.0.0.1", int(api.base.rsplit(":", 1)[1]), context=api.tls)
        headers = {"Authorization": "Bearer admin-token", "Content-Type": "application/json"}
        log_start = os.path.getsize(log_path)
        client_ms = []
        codes = {}
        for i in range(a.requests):
            p = chosen[i % len(chosen)]
            ns, name = p["metadata"]["namespace"], p["metadata"]["name"]
            base = "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies" % ns
            kind = i % 3
            if kind == 0:
                doc = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": "bench-deny", "namespace": ns},
                       "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
                method, path, body = "POST", base + "?dryRun=All", json.dumps(doc)
            elif kind == 1:
                method, path, body = "DELETE", base + "/" + name + "?dryRun=All", None
            else:
                doc = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": "bench-allow", "namespace": ns},
                       "spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}}
                method, path, body = "POST", base + "?dryRun=All", json.dumps(doc)
            t0 = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            client_ms.append((time.perf_counter() - t0) * 1000)
            codes[r.status] = codes.get(r.status, 0) + 1
        webhook_ms = []
        with open(log_path) as f:
            f.seek(log_start)
            for line in f:
                try:
                    j = json.loads(line)
                except ValueError:
                    continue
                if j.get("path") == "/admission/validate" and "ms" in j:
                    webhook_ms.append(float(j["ms"]))
        print("API answers by status:", codes)
        summary("webhook (serve's request log)", webhook_ms)
        summary("API request (client side)", client_ms)
    finally:
        if api:
            api.stop()
        serve.terminate()
        serve.wait(60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
