#!/usr/bin/env python3
"""The admission webhook called by a real kube-apiserver over TLS: `stockade serve --tls-cert
--tls-key --admission enforce` with the demo's objects and observed traffic, and the chart's
ValidatingWebhookConfiguration (rendered by helm, with its caBundle) registered in the API server
and pointed at it. Through the API server: policy changes (NetworkPolicy, AdminNetworkPolicy,
ClusterNetworkPolicy; create, update, delete, dry run) that would deny observed traffic are
refused, harmless ones admitted; the guardrails refuse and admit; the policy lint's findings
arrive as the API server's warnings; `warn` admits with warnings; failurePolicy Fail refuses
and Ignore admits while the webhook is down. Last, the chart's own certificates: rendered without
any TLS value, its generated CA and serving certificate are served by serve, and its webhook
configuration is registered unchanged (a Service reference, resolved by the API server through
the Service's endpoints to this host's address, the certificate verified for the Service's
name against the generated caBundle).

Usage: webhook_test.py SOURCE_DIR STOCKADE_BINARY WORK_DIR
Skipped (the message ctest reads) without helm or the API server binaries, unless
STOCKADE_REQUIRE_APISERVER=1.
"""
import base64
import gzip
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apiserver import ApiServer, bin_dir  # noqa: E402

SRC, STOCKADE, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
CHART = os.path.join(SRC, "deploy/helm/stockade")
HELM = os.path.join(os.environ.get("STOCKADE_HELM_DIR", os.path.join(SRC, "build/helm")), "bin/helm")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


for needed, why in [(os.path.join(bin_dir(SRC), "kube-apiserver"), "no kube-apiserver and etcd in " + bin_dir(SRC)),
                    (HELM, "no helm in build/helm/bin (scripts/test-helm.sh build makes it)")]:
    if not os.access(needed, os.X_OK):
        if os.environ.get("STOCKADE_REQUIRE_APISERVER") == "1":
            print("webhook test: required but missing: " + why)
            sys.exit(1)
        print("webhook test skipped: " + why)
        sys.exit(0)
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, check=True, **kw)


# --- a CA and the webhook's certificate for 127.0.0.1 ------------------------------------------
def certificates():
    ca_key, ca_crt = os.path.join(WORK, "ca.key"), os.path.join(WORK, "ca.crt")
    key, csr, crt = (os.path.join(WORK, n) for n in ("tls.key", "tls.csr", "tls.crt"))
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
         "-days", "2", "-subj", "/CN=stockade-webhook-test-ca"])
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=127.0.0.1"])
    ext = os.path.join(WORK, "san.ext")
    open(ext, "w").write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
         "-out", crt, "-days", "2", "-extfile", ext])
    return ca_crt, crt, key


class Serve:
    """stockade serve over HTTPS on `port`, with the demo and its recorded traffic. Port 0: serve
    binds a free port itself and `port` is read from its "listening" log line (a port picked free
    beforehand can be taken by a parallel test before serve binds it)."""

    def __init__(self, port, mode, ca, crt, key, name, host="127.0.0.1"):
        self.host, self.port, self.tls = host, port, ssl.create_default_context(cafile=ca)
        # The chart's certificate names the Service, not this address: the chain is verified here,
        # the name by the API server.
        self.tls.check_hostname = host == "127.0.0.1"
        # Off loopback serve needs a token for its /api/ (not for /admission/validate).
        self.token, extra = None, []
        if host != "127.0.0.1":
            self.token = "webhook-test-token"
            token_file = os.path.join(WORK, "serve-%s.token" % name)
            open(token_file, "w").write(self.token + "\n")
            extra = ["--token-file", token_file]
        self.log = open(os.path.join(WORK, "serve-%s.log" % name), "w")
        self.proc = subprocess.Popen(
            [STOCKADE, "serve", "-f", os.path.join(SRC, "demo/cluster"), "-f", os.path.join(SRC, "demo/policies"),
             "--store", "sqlite:" + os.path.join(WORK, name + ".db"), "--listen", "%s:%d" % (host, port),
             "--tls-cert", crt, "--tls-key", key, "--admission", mode, "--guard-default-deny",
             "--guard-public-ingress", "--guard-block-severity", "high",
             # The shop's front end is public on purpose (its policy has no `from`).
             "--exempt-label", "kubernetes.io/metadata.name=shop"] + extra,
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 60
        while self.port == 0 and time.time() < deadline and self.proc.poll() is None:
            for line in open(self.log.name):
                m = re.search(r'"address":"[^"]*:(\d+)"', line)
                if m and '"msg":"listening"' in line:
                    self.port = int(m.group(1))
            time.sleep(0.1)
        if self.port == 0:
            raise RuntimeError("serve (%s) did not listen: %s" % (mode, open(self.log.name).read()[-500:]))
        while time.time() < deadline:
            try:
                if self.call("GET", "/readyz")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        flows = open(os.path.join(SRC, "demo/flows/hubble.json.gz"), "rb").read()
        code, body = self.call("POST", "/api/v1/flows", gzip.decompress(flows), "application/x-ndjson")
        check(code == 200, "serve (%s) over HTTPS took the demo's records: %d %s" % (mode, code, body))
        code, body = self.call("POST", "/api/v1/baselines/shop/lock", b"")
        check(code == 200, "shop's baseline locked through the API: %d %s" % (code, body))

    def call(self, method, path, data=None, ctype="application/json"):
        headers = {"Content-Type": ctype}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        req = urllib.request.Request("https://%s:%d%s" % (self.host, self.port, path), data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, context=self.tls, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def webhook_configuration(ca, port, failure_policy):
    """The chart's ValidatingWebhookConfiguration, its service reference replaced by the URL of
    the serve above (no Service routes to a process on this host's loopback)."""
    ca_b64 = base64.b64encode(open(ca, "rb").read()).decode()
    out = run([HELM, "template", "stockade", CHART, "-n", "stockade", "--set", "admission.enabled=true",
               "--set", "server.tls.secretName=stockade-tls", "--set", "admission.caBundle=" + ca_b64,
               "--set", "admission.failurePolicy=" + failure_policy, "--set", "admission.mode=enforce",
               "--set", "admission.guardrails.blockSeverity=high"]).stdout
    docs = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "ValidatingWebhookConfiguration"]
    check(len(docs) == 1 and len(docs[0]["webhooks"]) == 2, "the chart renders the webhook configuration "
          "(policies and, with blockSeverity, workloads)")
    vwc = docs[0]
    for w in vwc["webhooks"]:
        check(w["failurePolicy"] == failure_policy and w["clientConfig"]["caBundle"] == ca_b64,
              "%s: failurePolicy %s and the caBundle from the values" % (w["name"], failure_policy))
        w["clientConfig"] = {"url": "https://127.0.0.1:%d/admission/validate" % port,
                             "caBundle": w["clientConfig"]["caBundle"]}
    return vwc


class Api(ApiServer):
    def request(self, method, path, body=None, dry_run=False):
        """(status, body, warnings) of a call with the admin token; body a dict or None."""
        if dry_run:
            path += ("&" if "?" in path else "?") + "dryRun=All"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": "Bearer admin-token",
                                              "Content-Type": "application/json"})
        def parsed(raw):
            try:
                return json.loads(raw or b"{}")
            except ValueError:
                return {"message": raw.decode(errors="replace")}
        try:
            with urllib.request.urlopen(req, context=self.tls) as r:
                return r.status, parsed(r.read()), r.headers.get_all("Warning") or []
        except urllib.error.HTTPError as e:
            return e.code, parsed(e.read()), e.headers.get_all("Warning") or []


def path_of(doc, name=None):
    gv, kind = doc["apiVersion"], doc["kind"]
    plural = {"NetworkPolicy": "networkpolicies", "AdminNetworkPolicy": "adminnetworkpolicies",
              "BaselineAdminNetworkPolicy": "baselineadminnetworkpolicies",
              "ClusterNetworkPolicy": "clusternetworkpolicies", "Pod": "pods", "Namespace": "namespaces",
              "ServiceAccount": "serviceaccounts", "Deployment": "deployments"}[kind]
    prefix = "/api/v1" if gv == "v1" else "/apis/" + gv
    ns = doc["metadata"].get("namespace")
    base = prefix + ("/namespaces/%s/%s" % (ns, plural) if ns and kind != "Namespace" else "/" + plural)
    return base + ("/" + name if name else "")


def netpol(ns, name, spec):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


DENY_MONITORING_ANP = {
    "apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
    "metadata": {"name": "deny-monitoring"},
    "spec": {"priority": 5, "subject": {"namespaces": {}},
             "ingress": [{"name": "no-monitoring", "action": "Deny",
                          "from": [{"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}]}}
DENY_MONITORING_CNP = {
    "apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
    "metadata": {"name": "deny-monitoring"},
    "spec": {"tier": "Admin", "priority": 5, "subject": {"namespaces": {}},
             "ingress": [{"name": "no-monitoring", "action": "Deny",
                          "from": [{"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}]}}
PRIVILEGED_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "shop"},
                  "spec": {"automountServiceAccountToken": False,
                           "containers": [{"name": "sh", "image": "registry.example.com/debug:1.0",
                                           "securityContext": {"privileged": True}}]}}
SCRAPE = "NetworkPolicy shop/allow-prometheus-scrape would deny 7 observed connection(s)"


def install(api):
    """The network-policy-api CRDs, the demo's namespaces and policies (admitted by the webhook:
    they are the policies in force)."""
    for f in ["adminnetworkpolicies", "baselineadminnetworkpolicies", "clusternetworkpolicies"]:
        doc = yaml.safe_load(open(os.path.join(SRC, "tests/data/schemas/policy.networking.k8s.io_%s.yaml" % f)))
        code, body, _ = api.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", doc)
        check(code == 201, "CRD %s installed (%d %s)" % (f, code, body.get("message", "")))
    for f in ["clusternetworkpolicies", "adminnetworkpolicies"]:
        deadline = time.time() + 60
        while time.time() < deadline:
            v = "v1alpha2" if f == "clusternetworkpolicies" else "v1alpha1"
            if api.request("GET", "/apis/policy.networking.k8s.io/%s/%s" % (v, f))[0] == 200:
                break
            time.sleep(0.5)
    docs = [d for d in yaml.safe_load_all(open(os.path.join(SRC, "demo/cluster/namespaces.yaml"))) if d]
    docs = [i for d in docs for i in (d["items"] if d["kind"] == "List" else [d])]
    for doc in docs:
        if doc["metadata"]["name"] != "kube-system":
            # Without PodSecurity's labels: its admission would refuse the privileged Pod before
            # the webhook is asked.
            labels = {k: v for k, v in doc["metadata"].get("labels", {}).items()
                      if not k.startswith("pod-security.kubernetes.io/")}
            doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": doc["metadata"]["name"], "labels": labels}}
            code, body, _ = api.request("POST", "/api/v1/namespaces", doc)
            check(code == 201, "namespace %s (%d %s)" % (doc["metadata"]["name"], code, body.get("message", "")))
    code, _, _ = api.request("POST", "/api/v1/namespaces/shop/serviceaccounts",
                             {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})
    check(code == 201, "shop's default ServiceAccount (no controller-manager runs here)")


def create_demo_policies(api):
    for f in sorted(os.listdir(os.path.join(SRC, "demo/policies"))):
        for doc in yaml.safe_load_all(open(os.path.join(SRC, "demo/policies", f))):
            if doc:
                code, body, _ = api.request("POST", path_of(doc), doc)
                check(code == 201, "demo policy %s/%s created through the webhook (%d %s)" % (
                    doc["metadata"].get("namespace", ""), doc["metadata"]["name"], code, body.get("message", "")))


def register(api, vwc):
    api.request("DELETE", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/" +
                vwc["metadata"]["name"])
    code, body, _ = api.request("POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", vwc)
    check(code == 201, "ValidatingWebhookConfiguration registered (%d %s)" % (code, body.get("message", "")))


def wait_for_refusal(api, method, path, body=None):
    """The API server picks a new webhook configuration up from its informer: wait (at most
    60 s, not a timing assert) until a change the webhook refuses is refused."""
    deadline = time.time() + 60
    while True:
        code, out, warnings = api.request(method, path, body, dry_run=True)
        if code != 200 and code != 201 or time.time() > deadline:
            return code, out, warnings
        time.sleep(0.5)


def message(out):
    return out.get("message", "") if isinstance(out, dict) else str(out)


def refused(api, what, method, path, body, needle, dry_run=False):
    code, out, _ = api.request(method, path, body, dry_run=dry_run)
    check(code == 403 and needle in message(out) and "policies.stockade.io" in message(out) or
          code == 403 and needle in message(out) and "workloads.stockade.io" in message(out),
          "refused by the API server: %s (%d %s)" % (what, code, message(out)[:300]))


def admitted(api, what, method, path, body, warning=None, dry_run=False):
    code, out, warnings = api.request(method, path, body, dry_run=dry_run)
    ok = code in (200, 201) and (warning is None or any(warning in w for w in warnings))
    check(ok, "admitted by the API server: %s (%d %s %s)" % (what, code, message(out)[:200], warnings))
    return warnings


HARDENED_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "calm", "namespace": "shop"},
                "spec": {"automountServiceAccountToken": False,
                         "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                             "seccompProfile": {"type": "RuntimeDefault"}},
                         "containers": [{"name": "app", "image": "registry.example.com/app:1.0",
                                         "resources": {"limits": {"cpu": "1", "memory": "64Mi"}},
                                         "securityContext": {"allowPrivilegeEscalation": False,
                                                             "readOnlyRootFilesystem": True,
                                                             "capabilities": {"drop": ["ALL"]}}}]}}


def enforce_checks(api):
    scrape = path_of(netpol("shop", "x", {}), "allow-prometheus-scrape")
    refused(api, "deleting shop/allow-prometheus-scrape (dry run)", "DELETE", scrape, None, SCRAPE, dry_run=True)
    refused(api, "deleting shop/allow-prometheus-scrape", "DELETE", scrape, None, SCRAPE)
    code, cur, _ = api.request("GET", scrape)
    narrowed = dict(cur, spec=dict(cur["spec"], podSelector={"matchLabels": {"app": "frontend"}}))
    refused(api, "narrowing shop/allow-prometheus-scrape to the front end (update)", "PUT", scrape, narrowed,
            "UPDATE NetworkPolicy shop/allow-prometheus-scrape would deny")
    edge = "monitoring/prometheus-6d4b9c8f7f-c4j9m -> shop/cart-5c6b9f7d48-m5r7t TCP/9102"
    refused(api, "an AdminNetworkPolicy denying monitoring", "POST", path_of(DENY_MONITORING_ANP),
            DENY_MONITORING_ANP, edge)
    refused(api, "a ClusterNetworkPolicy denying monitoring", "POST", path_of(DENY_MONITORING_CNP),
            DENY_MONITORING_CNP, edge)
    anp = path_of(DENY_MONITORING_ANP, "protect-kube-system")
    code, cur, _ = api.request("GET", anp)
    no_dns = dict(cur, spec=dict(cur["spec"], ingress=cur["spec"]["ingress"][1:]))
    refused(api, "the AdminNetworkPolicy protect-kube-system without its DNS pass (update)", "PUT", anp, no_dns,
            "UPDATE AdminNetworkPolicy protect-kube-system would deny")
    admitted(api, "deleting the AdminNetworkPolicy protect-kube-system (it only denies; dry run)", "DELETE", anp,
             None, dry_run=True)
    # Guardrails.
    refused(api, "deleting the locked namespace shop's default-deny", "DELETE",
            path_of(netpol("shop", "x", {}), "default-deny"), None, "guardrail default-deny")
    world = netpol("data", "world", {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]})
    refused(api, "ingress from 0.0.0.0/0", "POST", path_of(world), world, "guardrail public-ingress")
    refused(api, "a privileged Pod", "POST", path_of(PRIVILEGED_POD), PRIVILEGED_POD, "PRIVILEGED (critical)")
    # Admitted: harmless changes, with the lint's warnings where there is something to say.
    partner = netpol("data", "partner", {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}]})
    warnings = admitted(api, "ingress from 203.0.113.0/24", "POST", path_of(partner), partner)
    check(not warnings, "no warning on a policy with nothing to say: %s" % warnings)
    typo = netpol("shop", "cart-typo", {"podSelector": {"matchLabels": {"app": "carts"}},
                                         "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]})
    admitted(api, "a policy whose selector names no pod, with the lint's warning", "POST", path_of(typo), typo,
             warning="did you mean app=cart?")
    admitted(api, "a hardened Pod", "POST", path_of(HARDENED_POD), HARDENED_POD)
    deny_more = netpol("shop", "deny-more", {"podSelector": {}, "policyTypes": ["Ingress"]})
    admitted(api, "another default-deny in the locked namespace", "POST", path_of(deny_more), deny_more)
    admitted(api, "deleting data's default-deny (data is not locked)", "DELETE",
             path_of(netpol("data", "x", {}), "default-deny"), None, dry_run=True)


def host_address():
    """An IPv4 address of this host other than loopback (the API server refuses loopback
    addresses in a Service's endpoints), or None. No packet is sent."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))
        addr = s.getsockname()[0]
        return None if addr.startswith("127.") else addr
    except OSError:
        return None
    finally:
        s.close()


def generated_certificates(api):
    """The chart rendered with the webhook on and no TLS value: its Secret's certificate, served
    by serve on this host's address, and its webhook configuration registered as rendered."""
    out = run([HELM, "template", "stockade", CHART, "-n", "stockade", "--set", "admission.enabled=true",
               "--set", "admission.mode=enforce", "--set", "admission.failurePolicy=Fail"]).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    secret = [d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == "stockade-tls"]
    vwc = [d for d in docs if d["kind"] == "ValidatingWebhookConfiguration"]
    service = [d for d in docs if d["kind"] == "Service"]
    check(len(secret) == 1 and secret[0]["type"] == "kubernetes.io/tls",
          "without server.tls.secretName the chart renders a kubernetes.io/tls Secret stockade-tls")
    if len(secret) != 1 or len(vwc) != 1 or len(service) != 1:
        return
    d = os.path.join(WORK, "generated")
    os.makedirs(d, exist_ok=True)
    files = {}
    for k in ("tls.crt", "tls.key", "ca.crt"):
        files[k] = os.path.join(d, k)
        open(files[k], "wb").write(base64.b64decode(secret[0]["data"][k]))
    hooks = vwc[0]["webhooks"]
    check(all(w["clientConfig"].get("caBundle") == secret[0]["data"]["ca.crt"] and
              w["clientConfig"]["service"]["name"] == "stockade" for w in hooks),
          "the webhook's caBundle is the generated CA, its clientConfig the Service")
    verify = subprocess.run(["openssl", "verify", "-CAfile", files["ca.crt"], files["tls.crt"]],
                            capture_output=True, text=True)
    check(verify.returncode == 0, "the serving certificate chains to the generated CA: " + verify.stdout.strip())
    sans = run(["openssl", "x509", "-in", files["tls.crt"], "-noout", "-ext", "subjectAltName"]).stdout
    check("DNS:stockade.stockade.svc" in sans, "it names the Service stockade.stockade.svc: " + " ".join(sans.split()))
    host = host_address()
    if not host:
        print("note: the generated certificate was not put to the API server: this host has no address "
              "other than loopback for the Service's endpoints")
        return
    serve = Serve(0, "enforce", files["ca.crt"], files["tls.crt"], files["tls.key"], "generated", host=host)
    port = serve.port
    try:
        code, body, _ = api.request("POST", "/api/v1/namespaces", {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "stockade"}})
        check(code == 201, "namespace stockade (%d %s)" % (code, message(body)))
        code, body, _ = api.request("POST", "/api/v1/namespaces/stockade/services", service[0])
        check(code == 201, "the chart's Service (%d %s)" % (code, message(body)))
        # No controller-manager runs here: the Service's endpoints are written by hand, to serve.
        svc_port = service[0]["spec"]["ports"][0]["name"]
        code, body, _ = api.request("POST", "/api/v1/namespaces/stockade/endpoints", {
            "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "stockade"},
            "subsets": [{"addresses": [{"ip": host}], "ports": [{"name": svc_port, "port": port, "protocol": "TCP"}]}]})
        check(code == 201, "its Endpoints: %s:%d (%d %s)" % (host, port, code, message(body)))
        code, body, _ = api.request("POST", "/apis/discovery.k8s.io/v1/namespaces/stockade/endpointslices", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": "stockade-1", "labels": {"kubernetes.io/service-name": "stockade"}},
            "endpoints": [{"addresses": [host], "conditions": {"ready": True}}],
            "ports": [{"name": svc_port, "port": port, "protocol": "TCP"}]})
        check(code == 201, "its EndpointSlice (%d %s)" % (code, message(body)))
        register(api, vwc[0])
        code, out, _ = wait_for_refusal(api, "POST", path_of(DENY_MONITORING_ANP), DENY_MONITORING_ANP)
        check(code == 403 and "policies.stockade.io" in message(out) and "TCP/9102" in message(out),
              "the API server called the webhook through the Service with the generated certificate (%d %s)"
              % (code, message(out)[:300]))
        harmless = netpol("data", "harmless", {"podSelector": {"matchLabels": {"app": "postgres"}},
                                               "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]})
        admitted(api, "a harmless policy through the generated certificate (dry run; failurePolicy Fail)", "POST",
                 path_of(harmless), harmless, dry_run=True)
    finally:
        serve.stop()


ca, crt, key = certificates()
# Aggregator routing: a webhook's Service is resolved to its endpoints (not its cluster IP, which
# nothing routes here), as clusters without kube-proxy on the control plane do.
api = Api(SRC, os.path.join(WORK, "apiserver"), "--enable-aggregator-routing=true")
serve = None
try:
    install(api)
    serve = Serve(0, "enforce", ca, crt, key, "enforce")
    port = serve.port
    fail_closed = webhook_configuration(ca, port, "Fail")
    register(api, fail_closed)
    code, out, _ = wait_for_refusal(api, "POST", path_of(DENY_MONITORING_ANP), DENY_MONITORING_ANP)
    check(code == 403, "the API server calls the webhook over TLS (%d %s)" % (code, message(out)[:200]))
    create_demo_policies(api)
    enforce_checks(api)
    serve.stop()

    # warn: the same change admitted, the broken edges in the API server's Warning header.
    serve = Serve(port, "warn", ca, crt, key, "warn")
    admitted(api, "deleting shop/allow-prometheus-scrape in warn mode (dry run)", "DELETE",
             path_of(netpol("shop", "x", {}), "allow-prometheus-scrape"), None, warning=SCRAPE, dry_run=True)
    admitted(api, "ingress from 0.0.0.0/0 in warn mode (dry run)", "POST", path_of(
        netpol("data", "world", {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]})),
        netpol("data", "world", {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}),
        warning="guardrail public-ingress", dry_run=True)
    serve.stop()
    serve = None

    # The webhook down: Fail refuses every change it would judge, Ignore admits them.
    harmless = netpol("data", "harmless", {"podSelector": {"matchLabels": {"app": "postgres"}}, "policyTypes": ["Ingress"],
                                           "ingress": [{"from": [{"podSelector": {}}]}]})
    code, out, _ = api.request("POST", path_of(harmless), harmless, dry_run=True)
    check(code == 500 and "failed calling webhook" in message(out),
          "failurePolicy Fail: refused while the webhook is down (%d %s)" % (code, message(out)[:200]))
    register(api, webhook_configuration(ca, port, "Ignore"))
    deadline = time.time() + 60
    while True:
        code, out, _ = api.request("POST", path_of(harmless), harmless, dry_run=True)
        if code == 201 or time.time() > deadline:
            break
        time.sleep(0.5)
    check(code == 201, "failurePolicy Ignore: admitted while the webhook is down (%d %s)" % (code, message(out)[:200]))

    generated_certificates(api)
finally:
    if serve:
        serve.stop()
    api.stop()

if failures:
    print("webhook test: %d failed" % len(failures))
    sys.exit(1)
print("webhook test: all passed")
