#!/usr/bin/env python3
"""`stockade guardrails --emit vap` loaded into a real kube-apiserver: the
ValidatingAdmissionPolicies refuse what they should (a NetworkPolicy ingress rule from 0.0.0.0/0,
::/0 or without `from`; deleting or weakening a locked namespace's default-deny) and admit the
rest (narrower rules, exempt and unlocked namespaces, other policies of a locked namespace).

Usage: vap_test.py SOURCE_DIR STOCKADE_BINARY WORK_DIR
Skipped (the message ctest reads) without the API server binaries, unless
STOCKADE_REQUIRE_APISERVER=1.
"""
import os
import shutil
import subprocess
import sys
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apiserver import ApiServer, bin_dir  # noqa: E402

SRC, STOCKADE, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


if not os.access(os.path.join(bin_dir(SRC), "kube-apiserver"), os.X_OK):
    if os.environ.get("STOCKADE_REQUIRE_APISERVER") == "1":
        print("vap test: required but missing: kube-apiserver in " + bin_dir(SRC))
        sys.exit(1)
    print("vap test skipped: no kube-apiserver and etcd in " + bin_dir(SRC))
    sys.exit(0)
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)

p = subprocess.run([STOCKADE, "guardrails", "--emit", "vap"], capture_output=True, text=True)
check(p.returncode == 0, "stockade guardrails --emit vap: exit %d %s" % (p.returncode, p.stderr))
docs = [d for d in yaml.safe_load_all(p.stdout) if d]
for bad, message in [(["--emit", "yaml"], "--emit"), (["--emit", "vap", "--action", "block"], "--action"),
                     (["--emit", "vap", "--locked-label", "locked"], "expected KEY=VALUE"),
                     (["--emit", "vap", "--locked-label", 'a=b"c'], "invalid label value"),
                     (["--emit", "vap", "--exempt-label", "bad key=x"], "invalid label key"),
                     (["--emit", "vap", "-o", os.path.join(WORK, "no/such/dir/vap.yaml")], "cannot write")]:
    p = subprocess.run([STOCKADE, "guardrails", *bad], capture_output=True, text=True)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 2 and len(lines) == 1 and lines[0].startswith("stockade: error: ") and
          message in lines[0] and not p.stdout, "refused with one line, exit 2: %s (%s)" % (bad, p.stderr.strip()))
out = os.path.join(WORK, "vap.yaml")
p = subprocess.run([STOCKADE, "guardrails", "--emit", "vap", "--locked-label", "tier=locked", "-o", out],
                   capture_output=True, text=True)
written = [d for d in yaml.safe_load_all(open(out)) if d] if p.returncode == 0 else []
check(len(written) == 4 and written[3]["spec"]["matchResources"]["namespaceSelector"]["matchLabels"] ==
      {"tier": "locked"}, "-o FILE and --locked-label tier=locked")


def netpol(name, ingress=None, egress=None, types=None, selector=None):
    spec = {"podSelector": selector or {}}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    if types:
        spec["policyTypes"] = types
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name}, "spec": spec}


api = ApiServer(SRC, os.path.join(WORK, "apiserver"))
try:
    for d in docs:
        code, body = api.create(d, None)
        check(code == 201, "created %s %s (%d %s)" % (d["kind"], d["metadata"]["name"], code,
                                                      body.get("message", "")))
    for ns, labels in [("open", {}), ("public", {"stockade.io/public-ingress": "true"}),
                       ("locked", {"stockade.io/locked": "true"})]:
        code, _ = api.create({"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": ns, "labels": labels}}, None)
        check(code == 201, "namespace " + ns)

    world = netpol("world", [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}])
    # The policies take effect once the API server has compiled them and its informers hold the
    # bindings: wait (not a timing assert) until the first refusal, at most 60 s.
    deadline = time.time() + 60
    while True:
        code, body = api.create(world, "open")
        if code != 201 or time.time() > deadline:
            break
        api.call("DELETE", "/apis/networking.k8s.io/v1/namespaces/open/networkpolicies/world")
        time.sleep(0.5)
    check(code in (403, 422) and "ipBlock /0" in body.get("message", ""),
          "refused: ingress from 0.0.0.0/0 (%d %s)" % (code, body.get("message", "")))

    def expect(ns, doc, allowed, what, method="POST", name=None):
        if method == "POST":
            code, body = api.create(doc, ns)
        else:
            path = "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/%s" % (ns, name)
            if method == "PUT":
                _, cur = api.call("GET", path)
                doc = dict(doc, metadata=dict(doc["metadata"],
                                              resourceVersion=cur["metadata"]["resourceVersion"]))
                code, body = api.call("PUT", path, yaml.safe_dump(doc), "application/yaml")
            else:
                code, body = api.call(method, path)
        ok = code in (200, 201) if allowed else (code in (403, 422) and
                                                  "stockade guardrail" in body.get("message", ""))
        check(ok, "%s: %s (%d %s)" % ("admitted" if allowed else "refused", what, code,
                                      body.get("message", "")))

    expect("open", netpol("world6", [{"from": [{"ipBlock": {"cidr": "::/0"}}]}]), False,
           "ingress from ::/0")
    expect("open", netpol("mixed", [{"from": [{"podSelector": {}}]},
                                    {"from": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                                           "except": ["10.0.0.0/8"]}}]}]),
           False, "a second rule from 0.0.0.0/0 with except")
    expect("open", netpol("all", [{}]), False, "ingress rule without from")
    expect("open", netpol("all-port", [{"ports": [{"port": 443}]}]), False,
           "ingress rule without from, one port")
    expect("open", netpol("corp", [{"from": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}]), True,
           "ingress from 203.0.113.0/24")
    expect("open", netpol("pods", [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]),
           True, "ingress from pods")
    expect("open", netpol("egress-world", egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}],
                          types=["Egress"]), True, "egress to 0.0.0.0/0 (not an ingress rule)")
    expect("open", netpol("deny", types=["Ingress"]), True, "a default-deny")
    expect("public", netpol("world", [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]), True,
           "ingress from 0.0.0.0/0 in an exempt namespace")
    # Updates are judged too.
    expect("open", netpol("corp", [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]), False,
           "an update to ingress from 0.0.0.0/0", method="PUT", name="corp")

    # A locked namespace keeps its default-deny.
    dd = netpol("default-deny", types=["Ingress", "Egress"])
    expect("locked", dd, True, "a default-deny created in a locked namespace")
    expect("locked", netpol("web", [{"from": [{"podSelector": {}}]}],
                            selector={"matchLabels": {"app": "web"}}), True,
           "another policy in a locked namespace")
    expect("locked", None, False, "deleting the locked default-deny", method="DELETE",
           name="default-deny")
    expect("locked", netpol("default-deny", [{"from": [{"podSelector": {}}]}],
                            types=["Ingress", "Egress"]), False,
           "giving the locked default-deny an ingress rule", method="PUT", name="default-deny")
    expect("locked", netpol("default-deny", types=["Ingress", "Egress"],
                            selector={"matchLabels": {"app": "web"}}), False,
           "narrowing the locked default-deny to some pods", method="PUT", name="default-deny")
    expect("locked", netpol("default-deny", types=["Ingress"]), False,
           "dropping Egress from the locked default-deny", method="PUT", name="default-deny")
    dd_labelled = dict(dd, metadata={"name": "default-deny", "labels": {"team": "a"}})
    expect("locked", dd_labelled, True, "relabelling the locked default-deny", method="PUT",
           name="default-deny")
    expect("locked", None, True, "deleting another policy of a locked namespace",
           method="DELETE", name="web")
    expect("open", None, True, "deleting a default-deny of an unlocked namespace",
           method="DELETE", name="deny")

    # --action warn: admitted, with the API server's warning.
    p = subprocess.run([STOCKADE, "guardrails", "--emit", "vap", "--action", "warn"],
                       capture_output=True, text=True)
    warn = [d for d in yaml.safe_load_all(p.stdout) if d and d["kind"].endswith("Binding")]
    check(all(d["spec"]["validationActions"] == ["Warn"] for d in warn) and len(warn) == 2,
          "--action warn: Warn bindings")
finally:
    api.stop()

if failures:
    print("vap test: %d failed" % len(failures))
    sys.exit(1)
print("vap test: all passed")
