#!/usr/bin/env python3
"""Decide -> draft -> simulate -> dry run -> apply in the web console, in headless Chromium,
against a `stockade serve` that follows a real kube-apiserver and etcd (scripts/test-apiserver.sh).

The demo's objects (demo/cluster, demo/policies; the pods' IPs set through the status
subresource) are created in the API server; the server follows it with the admin's identity and
is sent the demo's Hubble records. The console's user is `nobody` (token "nobody-token"), granted
only what the console asks (get on the console's resources, create on simulate and apply through
Stockade) and NetworkPolicy writes in one namespace: the server applies *as that user*
(impersonation), so the API server's RBAC judges the user. console_apply.mjs drives the browser
and writes the YAML the console previewed and dry-ran; this script then reads each policy back
from the API server and checks it is the one previewed, written by the field manager `stockade`.

  apply_test.py SOURCE_DIR STOCKADE_BINARY OUT_DIR
Exit 0 when every check passes, 1 on a failure, 77 (skip) without Chromium or without the test
API server's binaries (a failure instead with STOCKADE_REQUIRE_APISERVER=1).
"""
import copy
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

SRC, STOCKADE, OUT = sys.argv[1:4]
sys.path.insert(0, os.path.join(SRC, "tests/helm"))
from apiserver import ApiServer, bin_dir  # noqa: E402

NAME = "console_apply_browser"
# The workload whose draft is applied, and the one namespace the user may write policies in.
NAMESPACE, WORKLOAD = "shop", "checkout"
failed = 0


def check(cond, what):
    global failed
    print("%s: %s %s" % (NAME, "ok  " if cond else "FAIL", what), flush=True)
    if not cond:
        failed += 1


def skip(why):
    if os.environ.get("STOCKADE_REQUIRE_APISERVER") == "1" and "chromium" not in why:
        print("%s: FAIL: STOCKADE_REQUIRE_APISERVER=1 and %s" % (NAME, why))
        sys.exit(1)
    print("%s: SKIP: %s" % (NAME, why))
    sys.exit(77)


def wait_for(what, cond, seconds=120):
    """Polls cond() until it is true; the deadline is generous (a busy 2-core machine)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise SystemExit("%s: FAIL: %s (waited %d s)" % (NAME, what, seconds))


if not shutil.which("chromium") and not shutil.which("chromium-browser"):
    skip("chromium is not installed (apt-get install chromium)")
if not all(os.access(os.path.join(bin_dir(SRC), b), os.X_OK) for b in ("kube-apiserver", "etcd")):
    skip("no kube-apiserver and etcd in %s: run scripts/test-apiserver.sh build" % bin_dir(SRC))
if subprocess.run(["bash", os.path.join(SRC, "scripts/build-web.sh"), "console"],
                  stdout=subprocess.DEVNULL).returncode != 0:
    raise SystemExit("%s: FAIL: scripts/build-web.sh console failed" % NAME)

os.makedirs(OUT, exist_ok=True)
for f in glob.glob(os.path.join(OUT, "*.png")):
    os.remove(f)
work = tempfile.mkdtemp(prefix=NAME + ".")
api = ApiServer(SRC, os.path.join(work, "apiserver"))
serve = None
try:
    # --- the demo's objects in the API server -----------------------------------------------
    def install_crd(file, gv, plural):
        code, body = api.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                              open(file).read(), "application/yaml")
        check(code == 201, "CRD %s created (%d %s)" % (plural, code, body.get("message", "")))
        wait_for("%s served" % plural, lambda: served("/apis/%s/%s" % (gv, plural)))

    def served(path):
        try:  # a path not served yet answers text ("404 page not found"), not JSON
            return api.call("GET", path)[0] == 200
        except ValueError:
            return False

    schemas = os.path.join(SRC, "tests/data/schemas")
    anp = "policy.networking.k8s.io/v1alpha1"
    install_crd(os.path.join(schemas, "policy.networking.k8s.io_adminnetworkpolicies.yaml"), anp,
                "adminnetworkpolicies")
    install_crd(os.path.join(schemas, "policy.networking.k8s.io_baselineadminnetworkpolicies.yaml"),
                anp, "baselineadminnetworkpolicies")

    docs = []
    for f in sorted(glob.glob(os.path.join(SRC, "demo/cluster/*.yaml")) +
                    glob.glob(os.path.join(SRC, "demo/policies/*.yaml"))):
        for d in yaml.safe_load_all(open(f)):
            if d:
                docs.extend(d["items"] if d.get("kind") == "List" else [d])
    plural = {"ReplicaSet": "replicasets", "StatefulSet": "statefulsets", "CronJob": "cronjobs",
              "Node": "nodes", "AdminNetworkPolicy": "adminnetworkpolicies",
              "BaselineAdminNetworkPolicy": "baselineadminnetworkpolicies"}
    cluster_scoped = {"Namespace", "Node", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy"}

    def path_of(d):
        gv = d["apiVersion"]
        prefix = "/api/v1" if gv == "v1" else "/apis/" + gv
        res = plural.get(d["kind"]) or api.url(d, "x").rsplit("/", 1)[1]
        if d["kind"] in cluster_scoped:
            return prefix + "/" + res
        return "%s/namespaces/%s/%s" % (prefix, d["metadata"]["namespace"], res)

    def create(d):
        d = copy.deepcopy(d)
        status = d.pop("status", None)
        for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation",
                  "selfLink"):
            d["metadata"].pop(k, None)
        if d["kind"] == "Service":  # the demo's cluster IPs are not in this server's range
            for k in ("clusterIP", "clusterIPs"):
                d["spec"].pop(k, None)
        # The demo's abridged workloads may lack their template's labels, which the API server
        # requires to match the selector: the selector's labels are the template's.
        tmpl = d.get("spec", {}).get("template")
        if tmpl is not None and not tmpl.get("metadata", {}).get("labels"):
            tmpl.setdefault("metadata", {})["labels"] = d["spec"]["selector"]["matchLabels"]
        # Pod Security admission would refuse the demo's pods in its `restricted` namespaces (the
        # pods are not run here): the namespaces get their labels after the pods are in.
        if d["kind"] == "Namespace":
            labels = d["metadata"].get("labels", {})
            d["metadata"]["labels"] = {k: v for k, v in labels.items()
                                       if not k.startswith("pod-security.kubernetes.io/")}
        code, body = api.call("POST", path_of(d), yaml.safe_dump(d), "application/yaml")
        if code == 201 and d["kind"] == "Pod" and status:
            code, body = api.call("PATCH", path_of(d) + "/" + d["metadata"]["name"] + "/status",
                                  {"status": status}, "application/merge-patch+json")
        return code, body

    order = ["Namespace", "Node"]
    docs.sort(key=lambda d: order.index(d["kind"]) if d["kind"] in order else len(order))
    made = 0
    for d in docs:
        if d["kind"] == "Pod":  # the ServiceAccount admission plugin wants the pod's account
            ns = d["metadata"]["namespace"]
            sa = d["spec"].get("serviceAccountName", "default")
            api.call("POST", "/api/v1/namespaces/%s/serviceaccounts" % ns,
                     {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa}})
        code, body = create(d)
        if code in (200, 201) or (code == 409 and d["kind"] == "Namespace"):  # kube-system
            made += 1
        else:
            check(False, "%s %s: %d %s" % (d["kind"], d["metadata"]["name"], code, body.get("message", "")))
    check(made == len(docs), "the demo's %d objects created in the API server" % len(docs))
    for d in docs:
        if d["kind"] == "Namespace" and d["metadata"].get("labels"):
            code, body = api.call("PATCH", "/api/v1/namespaces/" + d["metadata"]["name"],
                                  {"metadata": {"labels": d["metadata"]["labels"]}},
                                  "application/merge-patch+json")
            check(code == 200, "namespace %s labelled (%d %s)" % (d["metadata"]["name"], code,
                                                                  body.get("message", "")))

    # --- what the console's user may do ---------------------------------------------------
    def grant(path, doc):
        code, body = api.call("POST", path, doc)
        check(code == 201, "%s %s (%d %s)" % (doc["kind"], doc["metadata"]["name"], code,
                                               body.get("message", "")))

    rbac = "/apis/rbac.authorization.k8s.io/v1"
    subject = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "nobody"}]
    grant(rbac + "/clusterroles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "stockade-console-apply"},
        "rules": [{"apiGroups": ["stockade.io"], "verbs": ["get"],
                   "resources": ["console", "map", "audit", "baselines", "openapi", "events",
                                 "posture", "verify", "recommendations"]},
                  {"apiGroups": ["stockade.io"], "verbs": ["create"],
                   "resources": ["simulate", "apply"]}]})
    grant(rbac + "/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "stockade-console-apply-nobody"}, "subjects": subject,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "stockade-console-apply"}})
    grant(rbac + "/namespaces/%s/roles" % NAMESPACE, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "policies"},
        "rules": [{"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
                   "verbs": ["get", "list", "patch", "create"]}]})
    grant(rbac + "/namespaces/%s/rolebindings" % NAMESPACE, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "policies-nobody"}, "subjects": subject,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "policies"}})

    # --- the server, following the cluster, with the demo's records -----------------------
    log = open(os.path.join(OUT, "serve.log"), "w")
    serve = subprocess.Popen([STOCKADE, "serve", "--kubeconfig",
                              os.path.join(work, "apiserver", "admin.kubeconfig"),
                              "--store", "sqlite:" + os.path.join(work, "stockade.db"),
                              "--listen", "127.0.0.1:0"], stderr=log, cwd=SRC)

    def listening():
        if serve.poll() is not None:
            raise SystemExit("%s: FAIL: stockade serve exited: %s" % (
                NAME, open(os.path.join(OUT, "serve.log")).read()))
        for line in open(os.path.join(OUT, "serve.log")):
            if '"listening"' in line:
                return json.loads(line).get("address")
        return None

    base = "http://" + wait_for("stockade serve says where it listens", listening)

    def http(method, path, body=None, token="admin-token", ctype="application/json"):
        import urllib.error
        import urllib.request
        req = urllib.request.Request(base + path, data=body, method=method,
                                     headers={"Authorization": "Bearer " + token,
                                              "Content-Type": ctype})
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except OSError:
            return 0, b""

    wait_for("the server is ready", lambda: http("GET", "/readyz")[0] == 200)
    flows = subprocess.run(["zcat", os.path.join(SRC, "demo/flows/hubble.json.gz")],
                           capture_output=True, check=True).stdout
    code, body = http("POST", "/api/v1/flows", flows, ctype="application/x-ndjson")
    check(code == 200, "the demo's records posted (%d %s)" % (code, body[:200]))
    # The grants reach the server's authorizer (its cache of refusals expires): a condition.
    wait_for("nobody may read the map through the server",
             lambda: http("GET", "/api/v1/map", token="nobody-token")[0] == 200)
    open(os.path.join(work, "token"), "w").write("nobody-token\n")

    # --- the browser -------------------------------------------------------------------------
    previewed = os.path.join(OUT, "previewed.yaml")
    if os.path.exists(previewed):
        os.remove(previewed)
    p = subprocess.run(["node", os.path.join(SRC, "tests/console_browser/console_apply.mjs"),
                        base, os.path.join(work, "token"), "%s/%s" % (NAMESPACE, WORKLOAD), OUT])
    check(p.returncode == 0, "the browser's steps (console_apply.mjs)")

    # --- read back what was applied --------------------------------------------------------
    if os.path.exists(previewed):
        want = [d for d in yaml.safe_load_all(open(previewed)) if d]
        check(len(want) > 0 and all(d["kind"] == "NetworkPolicy" for d in want),
              "the console previewed %d NetworkPolicies" % len(want))
        for d in want:
            md = d["metadata"]
            code, got = api.call("GET", "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/%s"
                                 % (md["namespace"], md["name"]))
            check(code == 200, "%s/%s is in the API server (%d)" % (md["namespace"], md["name"], code))
            if code != 200:
                continue
            check(got["spec"] == d["spec"], "%s/%s: its spec is the one previewed (%s vs %s)" % (
                md["namespace"], md["name"], json.dumps(got["spec"]), json.dumps(d["spec"])))
            extra = {k: v for k, v in md.get("annotations", {}).items()
                     if got["metadata"].get("annotations", {}).get(k) != v}
            check(not extra, "%s/%s: the previewed annotations (%s)" % (md["namespace"], md["name"], extra))
            managers = {f["manager"] for f in got["metadata"].get("managedFields", [])}
            check("stockade" in managers, "%s/%s: written by the field manager stockade (%s)" % (
                md["namespace"], md["name"], sorted(managers)))
    else:
        check(False, "the browser wrote the previewed YAML")
finally:
    if serve:
        serve.terminate()
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
    api.stop()
    shutil.rmtree(work, ignore_errors=True)

print("%s: %s" % (NAME, "every check passed" if not failed else "%d check(s) failed" % failed))
sys.exit(1 if failed else 0)
