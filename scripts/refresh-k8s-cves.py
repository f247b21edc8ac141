#!/usr/bin/env python3
"""Rebuilds src/posture/data/k8s_cves.json, the offline Kubernetes CVE table of `stockade scan`.

Source with version ranges and components: stackrox/k8s-cves (cves/CVE-*.yaml), whose rows
carry the kubernetes/kubernetes issue of the official CVE feed (issueUrl). Rows in the current
table that come from elsewhere (no stackrox source, e.g. Go vulnerability database entries newer
than the stackrox snapshot) are kept as they are. Rows without any fixed release (CVE-2020-8554
and the like, "by design") are left out: `scan` covers them with configuration checks.

Cross-check: with a golang/vulndb checkout (data/osv/GO-*.json, module k8s.io/kubernetes), every
row whose fixed releases agree with the Go entry cites it too; disagreements are printed (and
recorded in the row's "note") for a person to settle from the kubernetes/kubernetes issue; Go
entries newer than the stackrox snapshot are added (component from the summary).

Usage:
  git clone https://github.com/stackrox/k8s-cves /tmp/k8s-cves
  git clone https://github.com/golang/vulndb /tmp/vulndb
  scripts/refresh-k8s-cves.py /tmp/k8s-cves /tmp/vulndb [src/posture/data/k8s_cves.json]
then review `git diff src/posture/data/k8s_cves.json`.
"""
import glob
import json
import os
import re
import sys

import yaml

STACKROX = "https://github.com/stackrox/k8s-cves/blob/main/cves/"


def ver(text):
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    if not m:
        raise ValueError("bad version " + text)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def vs(t):
    return "%d.%d.%d" % t


def convert_range(rng, fixed_by):
    out = {}
    lo, hi_excl, hi_incl = None, None, None
    for c in [x.strip() for x in str(rng).split(",")]:
        if c.startswith(">="):
            lo = ver(c[2:])
        elif c.startswith("<="):
            v = ver(c[2:])
            hi_incl = v if hi_incl is None else min(hi_incl, v)
        elif c.startswith("<"):
            v = ver(c[1:])  # "< 1.18.0-alpha.1": fixed in 1.18.0
            hi_excl = v if hi_excl is None else min(hi_excl, v)
        elif c.startswith("="):
            lo = hi_incl = ver(c[1:])
        else:
            lo = hi_incl = ver(c)
    if lo:
        out["introduced"] = vs(lo)
    fixed = ver(str(fixed_by)) if fixed_by else None
    if hi_incl is not None and fixed and fixed > hi_incl and fixed[:2] == hi_incl[:2]:
        out["fixed"] = vs(fixed)  # "<= 1.11.7" fixed by 1.11.8 (also "< 1.11.0, <= 1.11.7")
    elif hi_excl is not None:
        out["fixed"] = vs(hi_excl)
    elif hi_incl is not None:
        out["last_affected"] = vs(hi_incl)
    elif fixed:
        out["fixed"] = vs(fixed)
    if "fixed" in out and ver(out["fixed"]) <= (lo or (0, 0, 0)):
        return None  # only pre-releases of that minor were affected
    return out


COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy",
              "kubelet", "kubectl"]


def go_entries(vulndb):
    """CVE -> (fixed versions, introduced/fixed ranges, summary, GO url, issue url)."""
    out = {}
    for path in glob.glob(os.path.join(vulndb, "data", "osv", "GO-*.json")):
        d = json.load(open(path))
        for a in d.get("affected", []):
            if a["package"]["name"] not in ("k8s.io/kubernetes", "github.com/kubernetes/kubernetes"):
                continue
            ranges, cur = [], {}
            for r in a.get("ranges", []):
                for e in r.get("events", []):
                    if "introduced" in e:
                        cur = {}
                        if e["introduced"] != "0":
                            cur["introduced"] = vs(ver(e["introduced"]))
                    if "fixed" in e:
                        cur["fixed"] = vs(ver(e["fixed"]))
                        ranges.append(cur)
                        cur = {}
            issue = next((r["url"] for r in d.get("references", [])
                          if re.match(r"https://github.com/kubernetes/kubernetes/issues/\d+$", r["url"])), "")
            for cve in [x for x in d.get("aliases", []) if x.startswith("CVE-")]:
                out[cve] = (ranges, d.get("summary", ""), "https://pkg.go.dev/vuln/" + d["id"], issue)
    return out


def main():
    src = sys.argv[1]
    vulndb = sys.argv[2] if len(sys.argv) > 2 and not sys.argv[2].endswith(".json") else None
    rest = sys.argv[3:] if vulndb else sys.argv[2:]
    dst = rest[0] if rest else os.path.join(
        os.path.dirname(__file__), "..", "src", "posture", "data", "k8s_cves.json")
    rows = {}
    for path in sorted(glob.glob(os.path.join(src, "cves", "CVE-*.yaml"))):
        d = yaml.safe_load(open(path))
        affected = [convert_range(a["range"], a.get("fixedBy")) for a in d.get("affected", [])]
        affected = [a for a in affected if a]
        if not any("fixed" in a for a in affected):
            continue
        cvss = d.get("cvss", {}) or {}
        score = (cvss.get("kubernetes") or {}).get("scoreV3") or (cvss.get("nvd") or {}).get("scoreV3") or 0
        issue = d.get("issueUrl") or d.get("url") or ""
        summary = (d.get("description") or "").strip().split(". ")[0].replace("\n", " ")
        rows[d["cve"]] = {
            "id": d["cve"],
            "components": d.get("components", []),
            "summary": summary[:200],
            "cvss": score,
            "url": issue,
            "sources": [STACKROX + os.path.basename(path)] + ([issue] if issue else []),
            "affected": affected,
        }
    if os.path.exists(dst):
        for r in json.load(open(dst)).get("cves", []):
            if not any(s.startswith(STACKROX) for s in r.get("sources", [])):
                rows[r["id"]] = r  # curated from another source: keep
            elif r["id"] in rows:
                for k in ("preconditions", "os", "components"):  # curated by hand
                    if k in r:
                        rows[r["id"]][k] = r[k]
    if vulndb:
        for cve, (ranges, summary, go_url, issue) in sorted(go_entries(vulndb).items()):
            fixed = sorted(ver(r["fixed"]) for r in ranges if "fixed" in r)
            if cve in rows:
                ours = sorted(ver(r["fixed"]) for r in rows[cve]["affected"] if "fixed" in r)
                if [f for f in fixed if f[:2] >= (1, 0)] and fixed == ours:
                    if go_url not in rows[cve]["sources"]:
                        rows[cve]["sources"].append(go_url)
                else:
                    note = ("fixed releases differ: stackrox %s, Go vulndb %s"
                            % (", ".join(map(vs, ours)), ", ".join(map(vs, fixed))))
                    rows[cve]["note"] = note + " (" + go_url + ")"
                    print(cve + ": " + note, file=sys.stderr)
            elif fixed:
                comps = [c for c in COMPONENTS if c in summary] or ["kube-apiserver"]
                rows[cve] = {
                    "id": cve,
                    "components": comps,
                    "summary": summary.replace(" in k8s.io/kubernetes", "")[:200],
                    "cvss": 0,
                    "url": issue or go_url,
                    "sources": [go_url] + ([issue] if issue else []),
                    "affected": ranges,
                }
    table = {
        "about": "Kubernetes CVEs by component and affected release ranges, for stockade scan. "
                 "Rebuilt with scripts/refresh-k8s-cves.py; every row cites its sources.",
        "cves": sorted(rows.values(), key=lambda r: r["id"]),
    }
    with open(dst, "w") as f:
        json.dump(table, f, indent=1)
        f.write("\n")
    print("%d CVEs written to %s" % (len(rows), dst))


if __name__ == "__main__":
    main()
