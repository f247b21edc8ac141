#!/usr/bin/env python3
"""The Helm chart deploy/helm/stockade, linted and rendered with a real helm and installed into a
real kube-apiserver: its RBAC is proved with SubjectAccessReviews (the service accounts can do
what the server and the agent need and nothing more), the server's pod passes PodSecurity
"restricted", and `stockade scan` of the rendering reports nothing above low.

Usage: helm_test.py SOURCE_DIR STOCKADE_BINARY WORK_DIR
Skipped (the message ctest reads) without build/helm/bin/helm or the API server binaries, unless
STOCKADE_REQUIRE_APISERVER=1.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apiserver import ApiServer, bin_dir  # noqa: E402

SRC, STOCKADE, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
CHART = os.path.join(SRC, "deploy/helm/stockade")
HELM = os.path.join(os.environ.get("STOCKADE_HELM_DIR", os.path.join(SRC, "build/helm")), "bin/helm")
APISERVER_BIN = bin_dir(SRC)
NS = "stockade"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def skip_or_fail(why):
    if os.environ.get("STOCKADE_REQUIRE_APISERVER") == "1":
        print("helm test: required but missing: " + why)
        sys.exit(1)
    print("helm test skipped: " + why)
    sys.exit(0)


def run(args, ok=True):
    p = subprocess.run(args, capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise SystemExit("command failed: %s\n%s%s" % (" ".join(args), p.stdout, p.stderr))
    return p


def render(name, *extra):
    out = run([HELM, "template", "stockade", CHART, "-n", NS, *extra]).stdout
    path = os.path.join(WORK, name + ".yaml")
    with open(path, "w") as f:
        f.write(out)
    return [d for d in yaml.safe_load_all(out) if d], path


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


# --- helm lint and template --------------------------------------------------------------
if not os.access(HELM, os.X_OK):
    skip_or_fail("no helm in build/helm/bin (scripts/test-helm.sh build makes it)")
if not (os.access(os.path.join(APISERVER_BIN, "kube-apiserver"), os.X_OK)):
    skip_or_fail("no kube-apiserver and etcd in " + APISERVER_BIN)
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
nondefault = os.path.join(SRC, "tests/helm/values-nondefault.yaml")

lint = run([HELM, "lint", "--strict", CHART], ok=False)
check(lint.returncode == 0, "helm lint --strict (defaults)\n" + lint.stdout + lint.stderr)
lint = run([HELM, "lint", "--strict", CHART, "-f", nondefault], ok=False)
check(lint.returncode == 0, "helm lint --strict (non-default values)\n" + lint.stdout + lint.stderr)

default, default_path = render("default")
other, other_path = render("nondefault", "-f", nondefault)
noagent, _ = render("noagent", "--set", "agent.enabled=false")
# The console role: create on apply only with apply.enabled (each object is then checked
# against the user's own RBAC by the server); create on simulate always.
for values, want in [((), ["simulate"]), (("--set", "apply.enabled=true"), ["simulate", "apply"])]:
    docs, _ = render("console-role", *values)
    role = [d for d in by_kind(docs, "ClusterRole") if d["metadata"]["name"] == "stockade-console"]
    creates = [r for d in role for r in d["rules"] if r["verbs"] == ["create"]]
    check([r["resources"] for r in creates] == [want] and
          all(r["apiGroups"] == ["stockade.io"] for r in creates),
          "console role creates %s (%s)" % (want, " ".join(values) or "defaults"))
generated, generated_path = render("generated", "--set", "admission.enabled=true")

kinds = lambda docs: sorted({d["kind"] for d in docs})
check(kinds(default) == sorted(["ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                                "PersistentVolumeClaim", "Deployment", "Service", "DaemonSet",
                                "NetworkPolicy"]), "default rendering's kinds: %s" % kinds(default))
check(not by_kind(default, "ValidatingWebhookConfiguration"), "no webhook by default")
check(not [d for d in default if d["metadata"]["name"].endswith("-apply")], "no apply role by default")
check(not by_kind(noagent, "DaemonSet") and
      not [d for d in noagent if d["metadata"]["name"].endswith("-agent")],
      "agent.enabled=false: no DaemonSet, agent account, role or policy")

hook = by_kind(other, "ValidatingWebhookConfiguration")
check(len(hook) == 1 and hook[0]["webhooks"][0]["failurePolicy"] == "Fail" and
      hook[0]["webhooks"][0]["clientConfig"]["service"]["path"] == "/admission/validate",
      "admission.enabled: the webhook, failurePolicy from the value")
srv = [d for d in other if d["kind"] == "Deployment"][0]["spec"]["template"]["spec"]["containers"][0]
check("--store=$(STOCKADE_STORE)" in srv["args"] and "--journal=/var/lib/stockade/journal" in srv["args"]
      and srv["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "stockade-db",
      "postgres: --store from the Secret, --journal on the PVC")
check("--admission=enforce" in srv["args"] and "--tls-cert=/etc/stockade/tls/tls.crt" in srv["args"],
      "admission and TLS flags")
check(all(f in srv["args"] for f in ["--guard-default-deny", "--locked-label=stockade.io/locked=true",
                                     "--guard-public-ingress", "--guard-block-severity=high"]) and
      "--no-admission-lint" not in srv["args"], "the guardrails' flags from admission.guardrails")
check([w["name"] for w in hook[0]["webhooks"]] == ["policies.stockade.io", "workloads.stockade.io"] and
      any("namespaces" in r["resources"] for r in hook[0]["webhooks"][0]["rules"]),
      "blockSeverity: the workloads' webhook; lintNamespaces: Namespaces sent too")
# The webhook without any TLS value: the chart's own CA and serving certificate (one Secret),
# the CA as the webhook's caBundle, served by the server, trusted by the agents.
gen_secret = [d for d in by_kind(generated, "Secret") if d["metadata"]["name"] == "stockade-tls"]
gen_hook = by_kind(generated, "ValidatingWebhookConfiguration")
check(len(gen_secret) == 1 and gen_secret[0]["type"] == "kubernetes.io/tls" and
      sorted(gen_secret[0]["data"]) == ["ca.crt", "tls.crt", "tls.key"],
      "admission.enabled without server.tls: a generated kubernetes.io/tls Secret with ca.crt")
check(len(gen_hook) == 1 and len(gen_secret) == 1 and
      gen_hook[0]["webhooks"][0]["clientConfig"]["caBundle"] == gen_secret[0]["data"]["ca.crt"],
      "generated: the webhook's caBundle is the generated CA")
gen_pod = by_kind(generated, "Deployment")[0]["spec"]["template"]["spec"]
check("--tls-cert=/etc/stockade/tls/tls.crt" in gen_pod["containers"][0]["args"] and
      any(v.get("secret", {}).get("secretName") == "stockade-tls" for v in gen_pod["volumes"]),
      "generated: the server serves HTTPS with the generated Secret")
gen_agent = by_kind(generated, "DaemonSet")[0]["spec"]["template"]["spec"]
gen_proj = [v for v in gen_agent["volumes"] if v["name"] == "stockade-token"][0]["projected"]["sources"]
check("--server-ca=/var/run/secrets/stockade/ca.crt" in gen_agent["containers"][0]["args"] and
      any(s.get("secret", {}).get("items") == [{"key": "ca.crt", "path": "ca.crt"}] for s in gen_proj) and
      any(a.startswith("--server=https://") for a in gen_agent["containers"][0]["args"]),
      "generated: the agents reach the server over https, verified with the CA only (ca.crt)")
check("--server-ca=/var/run/secrets/stockade/ca.crt" not in
      by_kind(default, "DaemonSet")[0]["spec"]["template"]["spec"]["containers"][0]["args"],
      "no --server-ca without TLS")
agent = by_kind(default, "DaemonSet")[0]["spec"]["template"]
actx = agent["spec"]["containers"][0]["securityContext"]
check(actx["privileged"] is False and sorted(actx["capabilities"]["add"]) ==
      ["BPF", "NET_ADMIN", "PERFMON", "SYS_RESOURCE"] and actx["capabilities"]["drop"] == ["ALL"]
      and not agent["spec"]["hostNetwork"] and not agent["spec"]["hostPID"],
      "agent: not privileged, exactly BPF/PERFMON/NET_ADMIN/SYS_RESOURCE, no host network or PID")
proj = [v for v in agent["spec"]["volumes"] if v["name"] == "stockade-token"][0]
check(proj["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "stockade",
      "agent: projected token with audience stockade")
for bad, message in [(["--set", "server.store=postgres"], "existingSecret"),
                     (["--set", "admission.enabled=true", "--set", "server.tls.secretName=x"],
                      "admission.caBundle or admission.certManagerInjectFrom"),
                     (["--set", "admission.enabled=true",
                       "--set", "admission.failurePolicy=Sometimes"], "failurePolicy"),
                     (["--set", "admission.enabled=true",
                       "--set", "admission.guardrails.blockSeverity=severe"], "blockSeverity"),
                     (["--set", "server.store=mysql"], "sqlite or postgres")]:
    p = run([HELM, "template", "stockade", CHART, "-n", NS, *bad], ok=False)
    check(p.returncode != 0 and message in p.stderr, "refused: %s (%s)" % (bad, p.stderr.strip().splitlines()[0][-150:]))

# --- stockade scan of the renderings -------------------------------------------------------
# Scanned with the cluster they are installed in (tests/helm/cluster.yaml: DNS and an ingress
# controller, which the chart's NetworkPolicies name); only the chart's findings count. What the
# chart suppresses (stockade.io/suppress, with its reason) must be exactly what the agent, the
# server's token and the apply role need: a new finding is never hidden by them.
SEVERITY = {"low": 1, "medium": 2, "high": 3, "critical": 4}
AGENT = "DaemonSet/stockade/stockade-agent"
expected_suppressed = {(c, AGENT) for c in ("DANGEROUS_CAPS", "HOSTPATH", "HOSTPATH_SENSITIVE",
                                            "RUN_AS_ROOT", "SA_TOKEN_AUTOMOUNT", "SECCOMP")}
expected_suppressed.add(("SA_TOKEN_AUTOMOUNT", "Deployment/stockade/stockade-server"))
for path, extra in ((default_path, set()),
                    (other_path, {("RBAC_NETWORK_WRITE", "ClusterRole/stockade-apply")}),
                    (generated_path, set())):
    p = run([STOCKADE, "scan", "-f", path, "-f", os.path.join(SRC, "tests/helm/cluster.yaml"),
             "--fail-on", "none", "-o", "json"], ok=False)
    check(p.returncode == 0, "stockade scan %s: exit %d %s" % (os.path.basename(path), p.returncode,
                                                              p.stderr))
    report = json.loads(p.stdout)
    mine = [f for f in report["findings"] if f.get("file") == path]
    above = [(f["id"], f["severity"], f["message"]) for f in mine if SEVERITY[f["severity"]] > 1]
    check(not above, "stockade scan %s: nothing above low in the chart %s" %
          (os.path.basename(path), above))
    res = lambda f: "/".join(x for x in (f["resource"]["kind"], f["resource"].get("namespace"),
                                         f["resource"]["name"]) if x)
    got = {(f["id"], res(f)) for f in report["suppressed"] if f.get("file") == path}
    check(got == expected_suppressed | extra, "stockade scan %s: suppressed exactly %s (got %s)" %
          (os.path.basename(path), sorted(expected_suppressed | extra), sorted(got)))

# --- the real API server -------------------------------------------------------------------
api_dir = os.path.join(WORK, "apiserver")
api = ApiServer(SRC, api_dir)
try:
    call, url = api.call, api.url

    def create(doc, ns=NS):
        return api.create(doc, ns)

    def install(docs, what):
        for d in docs:
            code, body = create(d)
            if code == 409:  # the upgrade: replace what the first install made
                d = dict(d)
                code, cur = call("GET", url(d, NS) + "/" + d["metadata"]["name"])
                d["metadata"] = dict(d["metadata"], resourceVersion=cur["metadata"]["resourceVersion"])
                code, body = call("PUT", url(d, NS) + "/" + d["metadata"]["name"],
                                  yaml.safe_dump(d), "application/yaml")
            check(code in (200, 201), "%s: %s %s -> %d %s" % (what, d["kind"], d["metadata"]["name"],
                                                             code, body.get("message", "")))

    code, _ = create({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": NS, "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}})
    check(code == 201, "namespace %s" % NS)
    install(default, "install (defaults)")

    def can(user, verb, resource, group="", ns=None, groups=None):
        attrs = {"verb": verb, "resource": resource, "group": group}
        if ns:
            attrs["namespace"] = ns
        spec = {"user": user, "resourceAttributes": attrs}
        if groups:
            spec["groups"] = groups
        code, body = call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                          {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                           "spec": spec})
        assert code == 201, body
        return body["status"].get("allowed", False)

    def sa(name):
        return ("system:serviceaccount:%s:stockade-%s" % (NS, name),
                ["system:serviceaccounts", "system:serviceaccounts:" + NS, "system:authenticated"])

    def expect(who, verb, resource, group, allowed, ns=None):
        user, groups = sa(who) if who in ("server", "agent") else (who, ["system:authenticated"])
        got = can(user, verb, resource, group, ns, groups)
        check(got == allowed, "%s %s %s %s.%s%s" % (who, "can" if allowed else "cannot", verb,
                                                    resource, group or "core",
                                                    " in " + ns if ns else ""))

    # What the model reads: every kind of src/kube/kinds.h, so the chart cannot fall behind it.
    kinds_h = open(os.path.join(SRC, "src/kube/kinds.h")).read()
    table = kinds_h[kinds_h.index("kKinds[] = {"):kinds_h.index("};", kinds_h.index("kKinds[] = {"))]
    read = re.findall(r'\{"([^"]+)",\s*"([^"]+)",\s*"[^"]+",\s*(?:true|false)', table)
    check(len(read) >= 20, "kinds.h parsed: %d kinds" % len(read))
    for gv, resource in read:
        group = "" if gv == "v1" else gv.rsplit("/", 1)[0]
        for verb in ("list", "watch"):
            expect("server", verb, resource, group, True)
            expect("server", verb, resource, group, True, ns="default")
    expect("server", "create", "tokenreviews", "authentication.k8s.io", True)
    expect("server", "create", "subjectaccessreviews", "authorization.k8s.io", True)
    # ... and nothing more.
    for verb, resource, group in [("get", "secrets", ""), ("list", "secrets", ""),
                                  ("list", "configmaps", ""), ("create", "pods", ""),
                                  ("delete", "pods", ""), ("create", "pods/exec", ""),
                                  ("update", "namespaces", ""),
                                  ("create", "networkpolicies", "networking.k8s.io"),
                                  ("patch", "networkpolicies", "networking.k8s.io"),
                                  ("delete", "networkpolicies", "networking.k8s.io"),
                                  ("create", "adminnetworkpolicies", "policy.networking.k8s.io"),
                                  ("patch", "clusternetworkpolicies", "policy.networking.k8s.io"),
                                  ("create", "clusterrolebindings", "rbac.authorization.k8s.io"),
                                  ("escalate", "clusterroles", "rbac.authorization.k8s.io"),
                                  ("create", "serviceaccounts/token", ""),
                                  ("create", "agentbatches", "stockade.io"),
                                  ("get", "map", "stockade.io")]:
        expect("server", verb, resource, group, False)
        expect("server", verb, resource, group, False, ns="default")
    expect("server", "list", "secrets", "", False, ns=NS)

    for verb in ("list", "watch"):
        expect("agent", verb, "pods", "", True)
    expect("agent", "create", "agentbatches", "stockade.io", True)
    for verb, resource, group in [("get", "secrets", ""), ("list", "services", ""),
                                  ("list", "nodes", ""), ("update", "pods", ""),
                                  ("create", "networkpolicies", "networking.k8s.io"),
                                  ("create", "flows", "stockade.io"), ("get", "map", "stockade.io"),
                                  ("create", "tokenreviews", "authentication.k8s.io")]:
        expect("agent", verb, resource, group, False)

    # The console's users: bind the console role to "alice".
    code, _ = create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                      "metadata": {"name": "alice-console"},
                      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "stockade-console"},
                      "subjects": [{"kind": "User", "name": "alice",
                                    "apiGroup": "rbac.authorization.k8s.io"}]})
    check(code == 201, "console role bound to alice")
    for resource in ("map", "audit", "baselines", "openapi", "events", "posture", "verify",
                     "recommendations"):
        expect("alice", "get", resource, "stockade.io", True)
    expect("alice", "update", "baselines", "stockade.io", True)
    # Simulate (keeps nothing); apply only with apply.enabled (below), and never the policies
    # themselves: the user's own RBAC decides those.
    expect("alice", "create", "simulate", "stockade.io", True)
    for verb, resource in [("delete", "baselines"), ("create", "agentbatches"), ("create", "flows"),
                           ("update", "map"), ("create", "apply"), ("create", "shadow")]:
        expect("alice", verb, resource, "stockade.io", False)
    expect("alice", "list", "pods", "", False)
    expect("alice", "create", "networkpolicies", "networking.k8s.io", False, ns="default")

    # The agent's token for the server: audience stockade, which the server's TokenReview asks
    # for; the API server itself does not take it.
    code, tr = call("POST", "/api/v1/namespaces/%s/serviceaccounts/stockade-agent/token" % NS,
                    {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                     "spec": {"audiences": ["stockade"], "expirationSeconds": 3600}})
    check(code == 201, "a token for the agent, audience stockade")
    token = tr["status"]["token"]
    code, rev = call("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                     {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                      "spec": {"token": token, "audiences": ["stockade"]}})
    check(code == 201 and rev["status"].get("authenticated") and
          rev["status"]["user"]["username"] == sa("agent")[0],
          "TokenReview (audience stockade) names the agent's service account")
    code, _ = call("GET", "/api/v1/namespaces/%s/pods" % NS, token=token)
    check(code == 401, "the API server refuses the audience-stockade token itself (%d)" % code)

    # PodSecurity "restricted": the server's pod is admitted in a namespace that enforces it; the
    # agent's (host paths, capabilities) is not, hence the release namespace's "privileged" label.
    code, _ = create({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "psa-restricted", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    check(code == 201, "namespace psa-restricted")
    for d in default:
        if d["kind"] == "ServiceAccount":
            code, _ = create(dict(d, metadata=dict(d["metadata"], namespace="psa-restricted")),
                             "psa-restricted")
            check(code == 201, "service account %s in psa-restricted" % d["metadata"]["name"])
    server_tpl = by_kind(default, "Deployment")[0]["spec"]["template"]
    code, body = create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "server"},
                         "spec": server_tpl["spec"]}, "psa-restricted")
    check(code == 201, "the server's pod passes PodSecurity restricted (%d %s)" %
          (code, body.get("message", "")))
    code, body = create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "agent"},
                         "spec": agent["spec"]}, "psa-restricted")
    check(code == 403 and "PodSecurity" in body.get("message", ""),
          "the agent's pod is refused under restricted (%d)" % code)

    # apply.enabled (and the rest of the non-default values): the upgrade adds write on the four
    # policy kinds, and still nothing else.
    install(other, "upgrade (non-default values)")
    for resource, group in [("networkpolicies", "networking.k8s.io"),
                            ("adminnetworkpolicies", "policy.networking.k8s.io"),
                            ("baselineadminnetworkpolicies", "policy.networking.k8s.io"),
                            ("clusternetworkpolicies", "policy.networking.k8s.io")]:
        for verb in ("create", "patch", "delete"):
            expect("server", verb, resource, group, True)
        expect("alice", "create", resource, group, False, ns="default")
    for verb, resource, group in [("get", "secrets", ""), ("create", "pods", ""),
                                  ("create", "ingresses", "networking.k8s.io"),
                                  ("create", "ciliumnetworkpolicies", "cilium.io")]:
        expect("server", verb, resource, group, False)
finally:
    api.stop()

if failures:
    print("helm test: %d failed" % len(failures))
    sys.exit(1)
print("helm test: all passed")
