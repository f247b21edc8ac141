#!/usr/bin/env python3
"""A small Kubernetes API server for tests (there is no kube-apiserver on the test machines).

It implements, faithfully, the parts of the REST protocol Stockade's client and `kubectl get`
use: discovery (/api, /apis, /api/v1, /apis/GROUP/VERSION, /version), list (cluster-wide and
per namespace) with `limit`/`continue` paging, get of one object, Table output for
`kubectl get`, bearer-token and client-certificate authentication, per-user forbidden
resources (403 Status naming the verb, resource and group as the real server does), and
fault injection for tests:

  POST /_test/expire-continue      every continue token issued so far answers 410 Gone
  POST /_test/fail?path=P&status=S&count=N[&retry_after=R][&when=continue][&mode=M]
                                   the next N requests whose path starts with P (and that
                                   carry a continue token, with when=continue) answer S; with
                                   a mode other than `status`, the next N non-watch requests
                                   get a slow or broken answer instead:
                                     trickle   the real answer, `chunk` bytes every `delay` s
                                     stall     headers and a few bytes, then silence for
                                               `seconds` (default 3600)
                                     truncated the connection closes halfway through the body
                                     cut-json  a body cut halfway, with a matching length
                                     garbage   200 application/json that is not JSON
                                     wrong-type 200 text/plain
                                     html      status S (default 502), a proxy's HTML page
  POST /_test/clear-failures       forget the failures not yet served
  GET  /_test/requests             the requests served so far (method, path, user), as JSON
  GET  /_test/reviews              the TokenReviews and SubjectAccessReviews asked, as JSON

Objects come from a JSON file (a `kind: List` of any objects); the server assigns uid,
resourceVersion and creationTimestamp where missing. Usage:

  fake_apiserver.py --objects objs.json --cert server.crt --key server.key --ca ca.crt
                    --tokens tokens.json --port-file PORT_FILE [--forbid user:resource,...]

`--tokens` maps bearer tokens to user names; a client certificate's CN is its user name. A
token `exp.USER.UNIXTIME` is USER's until UNIXTIME and refused (401) after it, as a real
server refuses an expired token (exec credential plugins in tests make them).
The chosen port is written to PORT_FILE once the server listens.
"""

import argparse
import base64
import json
import os
import signal
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# resource -> (group, version, kind, namespaced)
RESOURCES = {
    "namespaces": ("", "v1", "Namespace", False),
    "nodes": ("", "v1", "Node", False),
    "pods": ("", "v1", "Pod", True),
    "services": ("", "v1", "Service", True),
    "serviceaccounts": ("", "v1", "ServiceAccount", True),
    "replicationcontrollers": ("", "v1", "ReplicationController", True),
    "deployments": ("apps", "v1", "Deployment", True),
    "replicasets": ("apps", "v1", "ReplicaSet", True),
    "statefulsets": ("apps", "v1", "StatefulSet", True),
    "daemonsets": ("apps", "v1", "DaemonSet", True),
    "jobs": ("batch", "v1", "Job", True),
    "cronjobs": ("batch", "v1", "CronJob", True),
    "endpointslices": ("discovery.k8s.io", "v1", "EndpointSlice", True),
    "networkpolicies": ("networking.k8s.io", "v1", "NetworkPolicy", True),
    "ingresses": ("networking.k8s.io", "v1", "Ingress", True),
    "roles": ("rbac.authorization.k8s.io", "v1", "Role", True),
    "rolebindings": ("rbac.authorization.k8s.io", "v1", "RoleBinding", True),
    "clusterroles": ("rbac.authorization.k8s.io", "v1", "ClusterRole", False),
    "clusterrolebindings": ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", False),
    "adminnetworkpolicies": ("policy.networking.k8s.io", "v1alpha1", "AdminNetworkPolicy", False),
    "baselineadminnetworkpolicies": ("policy.networking.k8s.io", "v1alpha1",
                                     "BaselineAdminNetworkPolicy", False),
    "clusternetworkpolicies": ("policy.networking.k8s.io", "v1beta1", "ClusterNetworkPolicy",
                               False),
    # Prometheus Operator CRDs (what `recommend` keeps as declared scrape targets).
    "servicemonitors": ("monitoring.coreos.com", "v1", "ServiceMonitor", True),
    "podmonitors": ("monitoring.coreos.com", "v1", "PodMonitor", True),
}
KIND_TO_RESOURCE = {v[2]: k for k, v in RESOURCES.items()}
# Resources also served at older versions of the same schema, as CRDs serve several versions
# (network-policy-api v0.3.0: ClusterNetworkPolicy v1beta1, the storage version, and v1alpha2).
# `--served` without the newer version makes an older cluster.
ALSO_SERVED = {"clusternetworkpolicies": ("v1alpha2",)}


def versions_of(resource):
    return (RESOURCES[resource][1],) + ALSO_SERVED.get(resource, ())


class State:
    def __init__(self, objects, tokens, forbid, served_groups):
        self.lock = threading.Lock()
        self.rv = 1000
        self.objects = {}  # resource -> {(ns, name): obj}
        self.tokens = tokens
        self.forbid = forbid  # set of (user, resource)
        self.reviews = []  # TokenReviews and SubjectAccessReviews asked (GET /_test/reviews)
        self.served = served_groups  # None: all
        self.continue_epoch = 0  # tokens older than this have expired
        self.failures = []  # [path_prefix, status, count, retry_after]
        self.requests = []
        self.owners = {}  # (resource, ns, name) -> {manager: set of field paths}
        self.cond = threading.Condition(self.lock)
        self.history = []  # (rv, type, resource, object) of every change since start
        self.watch_generation = 0  # bumped to drop every open watch
        self.state_file = None
        self.dirty = False
        self.sorted_cache = {}  # resource -> (rv, [(key, obj)] sorted)
        self.encoded_cache = {}  # (resource, key) -> ((resourceVersion, id), JSON text)
        for obj in objects:
            self.add(obj)
        self.history_start = self.rv  # watches from before this answer 410 Gone

    def record(self, type_, resource, obj):
        """Called with the lock held after a change (rv already bumped)."""
        self.history.append((self.rv, type_, resource, json.loads(json.dumps(obj))))
        self.cond.notify_all()
        self.dirty = True  # saved by the writer thread, and at SIGTERM

    def save(self):
        """Called with the lock held: the objects and resourceVersion to the state file."""
        if not self.state_file or not self.dirty:
            return
        items = [o for objs in self.objects.values() for o in objs.values()]
        with open(self.state_file + ".tmp", "w") as f:
            json.dump({"rv": self.rv, "items": items}, f)
        os.replace(self.state_file + ".tmp", self.state_file)
        self.dirty = False

    def add(self, obj):
        kind = obj.get("kind", "")
        resource = KIND_TO_RESOURCE.get(kind)
        if resource is None:
            return
        group, version, _, namespaced = RESOURCES[resource]
        obj["apiVersion"] = f"{group}/{version}" if group else version
        meta = obj.setdefault("metadata", {})
        if namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        meta.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{meta.get('namespace', '')}/{meta['name']}")))
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        self.objects.setdefault(resource, {})[(meta.get("namespace", ""), meta["name"])] = obj

    def sorted_items(self, resource):
        """The objects of a resource in list order, kept while nothing changes (each page of a
        long list would sort them again)."""
        hit = self.sorted_cache.get(resource)
        if hit is None or hit[0] != self.rv:
            hit = (self.rv, sorted(self.objects.get(resource, {}).items()))
            self.sorted_cache[resource] = hit
        return hit[1]

    def encoded(self, resource, key, obj):
        """An object's JSON as a typed list holds it (no kind/apiVersion); cached per version
        (every change bumps the resourceVersion or replaces the object)."""
        stamp = (obj["metadata"].get("resourceVersion"), id(obj))
        hit = self.encoded_cache.get((resource, key))
        if hit is not None and hit[0] == stamp:
            return hit[1]
        o2 = dict(obj)
        o2.pop("kind", None)
        o2.pop("apiVersion", None)
        text = json.dumps(o2)
        self.encoded_cache[(resource, key)] = (stamp, text)
        return text

    def served_gv(self, group, version):
        gv = f"{group}/{version}" if group else version
        return self.served is None or gv in self.served or (group == "" and version == "v1")


def status(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return code, body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-apiserver/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    # --- plumbing -------------------------------------------------------------------------
    def send_json(self, code, body, extra_headers=None):
        # `body` is a JSON value, or bytes already encoded (fast list pages).
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_raw(code, "application/json", data, extra_headers)

    def send_raw(self, code, content_type, data, extra_headers=None):
        f = getattr(self, "fault", None)
        mode = f["mode"] if f is not None else "status"
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data) // 2 if mode == "cut-json" else len(data)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if mode == "trickle":
            chunk, delay = int(f.get("chunk", 64)), float(f.get("delay", 0.05))
            for i in range(0, len(data), chunk):
                self.wfile.write(data[i:i + chunk])
                self.wfile.flush()
                time.sleep(delay)
        elif mode == "stall":
            self.wfile.write(data[:8])
            self.wfile.flush()
            time.sleep(float(f.get("seconds", 3600)))
            self.close_connection = True
        elif mode in ("truncated", "cut-json"):
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.wfile.write(data)

    def user(self):
        st = self.server.state
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth[7:].strip()
            if token.startswith("exp."):
                parts = token.split(".")
                if len(parts) == 3 and parts[2].isdigit() and time.time() < int(parts[2]):
                    return parts[1]
                return None
            return st.tokens.get(token)
        cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return v
        return None

    def do_POST(self):
        self.handle_any("POST")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_GET(self):
        self.handle_any("GET")

    def handle_any(self, method):
        st = self.server.state
        self.fault = None  # one handler serves every request of a kept-alive connection
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length", "0") or 0)
        self.body = self.rfile.read(length) if length else b""
        if url.path.startswith("/_test/"):
            return self.test_control(url.path, query)
        user = self.user()
        watch = query.get("watch") in ("1", "true")
        with st.lock:
            st.requests.append({"method": method, "path": self.path, "user": user})
            for f in st.failures:
                if f["when"] == "continue" and "continue" not in query:
                    continue
                if f["mode"] != "status" and watch:
                    continue
                if f["count"] > 0 and url.path.startswith(f["path"]):
                    f["count"] -= 1
                    self.fault = f
                    break
        f = self.fault
        if f is not None and f["mode"] == "status":
            headers = {"Retry-After": str(f["retry_after"])} if f["retry_after"] is not None else None
            reason = {429: "TooManyRequests", 410: "Expired"}.get(f["status"], "InternalError")
            code, body = status(f["status"], reason, "injected failure")
            return self.send_json(code, body, headers)
        if f is not None and f["mode"] in ("garbage", "wrong-type", "html"):
            self.close_connection = True
            if f["mode"] == "garbage":
                return self.send_raw(200, "application/json", b'{"kind": "PodList", "items": [,,,}')
            if f["mode"] == "wrong-type":
                return self.send_raw(200, "text/plain; charset=utf-8", b"ok\n")
            code = f["status"] if f["status"] != 500 else 502
            return self.send_raw(code, "text/html", b"<html><head><title>502 Bad Gateway</title>"
                                 b"</head><body><center><h1>502 Bad Gateway</h1></center><hr>"
                                 b"<center>nginx</center></body></html>\n")
        if user is None:
            return self.send_json(*status(401, "Unauthorized", "Unauthorized"))
        try:
            code, body = self.route(url.path, query, user, method)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
            return
        if code is None:  # a watch stream, already written
            self.close_connection = True
            return
        if isinstance(body, dict) and self.wants_table() and body.get("kind", "").endswith("List") \
                and code == 200:
            body = self.as_table(body)
        self.send_json(code, body)

    def wants_table(self):
        return "as=Table" in self.headers.get("Accept", "")

    def as_table(self, lst):
        rows = []
        for item in lst["items"]:
            meta = item["metadata"]
            rows.append({"cells": [meta["name"], meta.get("creationTimestamp", "")],
                         "object": {"kind": "PartialObjectMetadata",
                                    "apiVersion": "meta.k8s.io/v1", "metadata": meta}})
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                "metadata": lst["metadata"],
                "columnDefinitions": [
                    {"name": "Name", "type": "string", "format": "name",
                     "description": "Name of the object", "priority": 0},
                    {"name": "Created At", "type": "date", "format": "",
                     "description": "creation time", "priority": 0}],
                "rows": rows}

    # --- server-side apply ----------------------------------------------------------------
    # Field ownership as the real server keeps it for these kinds: leaf fields of maps, lists
    # atomic (NetworkPolicy's and the policy API's lists are atomic), labels and annotations
    # per key.
    def apply(self, resource, namespace, name, query, version):
        st = self.server.state
        if self.headers.get("Content-Type", "").split(";")[0] != "application/apply-patch+yaml":
            return status(415, "UnsupportedMediaType", "the body of the request was in an unknown format")
        manager = query.get("fieldManager")
        if not manager:
            return status(400, "BadRequest", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
        try:
            try:
                import yaml
                cfg = yaml.safe_load(self.body.decode())
            except ImportError:
                cfg = json.loads(self.body.decode())
        except Exception as e:
            return status(400, "BadRequest", f"error decoding YAML: {e}")
        group, _, kind, namespaced = RESOURCES[resource]
        gv = f"{group}/{version}" if group else version
        if not isinstance(cfg, dict) or cfg.get("kind") != kind or cfg.get("apiVersion") != gv:
            return status(400, "BadRequest", f"the body must be a {kind} of {gv}")
        if query.get("fieldValidation") == "Strict":
            unknown = self.unknown_fields(kind, cfg)
            if unknown:
                return status(400, "BadRequest", "; ".join(
                    f'strict decoding error: unknown field "{u[1:]}"' for u in unknown))
        meta = cfg.get("metadata") or {}
        if meta.get("name") != name:
            return status(400, "BadRequest", "the name of the object does not match the name on the URL")
        force = query.get("force") == "true"
        dry = query.get("dryRun") == "All"

        def leaves(obj, prefix=""):
            out = {}
            for k, v in obj.items():
                if prefix == "" and k in ("apiVersion", "kind", "status"):
                    continue
                if prefix == ".metadata" and k not in ("labels", "annotations"):
                    continue
                p = f"{prefix}.{k}"
                if isinstance(v, dict) and v and not (prefix == ".metadata.labels" or prefix == ".metadata.annotations"):
                    out.update(leaves(v, p))
                else:
                    out[p] = v
            return out

        def get_path(obj, p):
            cur = obj
            for k in p.split(".")[1:]:
                if not isinstance(cur, dict) or k not in cur:
                    return None
                cur = cur[k]
            return cur

        def set_path(obj, p, v):
            keys = p.split(".")[1:]
            cur = obj
            for k in keys[:-1]:
                cur = cur.setdefault(k, {})
            cur[keys[-1]] = v

        def del_path(obj, p):
            keys = p.split(".")[1:]
            chain = [obj]
            for k in keys[:-1]:
                if not isinstance(chain[-1], dict) or k not in chain[-1]:
                    return
                chain.append(chain[-1][k])
            chain[-1].pop(keys[-1], None)
            for i in range(len(keys) - 1, 0, -1):  # drop emptied maps
                if chain[i] == {}:
                    chain[i - 1].pop(keys[i - 1], None)

        with st.lock:
            key = (namespace, name)
            objs = st.objects.setdefault(resource, {})
            existing = objs.get(key)
            owners = {m: set(ps) for m, ps in st.owners.get((resource, namespace, name), {}).items()}
            want = leaves(cfg)
            conflicts = []
            if existing is not None:
                for p, v in want.items():
                    cur = get_path(existing, p)
                    if cur is not None and cur != v:
                        for m, ps in owners.items():
                            if m != manager and p in ps:
                                conflicts.append((m, p))
            if conflicts and not force:
                causes = [{"type": "FieldManagerConflict",
                           "message": f'conflict with "{m}" using {gv}', "field": p}
                          for m, p in sorted(conflicts)]
                msg = f"Apply failed with {len(causes)} conflict(s): " + "; ".join(
                    c["message"] + ": " + c["field"] for c in causes)
                return status(409, "Conflict", msg, {"causes": causes})
            obj = json.loads(json.dumps(existing)) if existing is not None else {
                "apiVersion": gv, "kind": kind, "metadata": {"name": name}}
            if namespaced:
                obj["metadata"]["namespace"] = namespace
            obj["apiVersion"] = f"{group}/{RESOURCES[resource][1]}" if group else version  # stored
            before = json.dumps(existing, sort_keys=True) if existing is not None else None
            for m, p in conflicts:  # forced: the other manager loses the field
                owners[m].discard(p)
            others = set().union(*[ps for m, ps in owners.items() if m != manager]) if owners else set()
            for p in owners.get(manager, set()) - set(want) - others:
                del_path(obj, p)
            for p, v in want.items():
                set_path(obj, p, v)
            owners[manager] = set(want)
            owners = {m: ps for m, ps in owners.items() if ps}
            obj.pop("status", None)
            changed = before is None or json.dumps({k: v for k, v in obj.items()}, sort_keys=True) != before
            new_rv = st.rv + 1 if changed else int(obj["metadata"].get("resourceVersion", st.rv))
            obj["metadata"]["resourceVersion"] = str(new_rv)
            obj["metadata"].setdefault("uid", str(uuid.uuid4()))
            obj["metadata"].setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            obj["metadata"]["managedFields"] = [
                {"manager": m, "operation": "Apply", "apiVersion": gv,
                 "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "fieldsType": "FieldsV1", "fieldsV1": fields_v1(ps)}
                for m, ps in sorted(owners.items())]
            if not dry:
                if changed:
                    st.rv = new_rv
                objs[key] = obj
                st.sorted_cache.pop(resource, None)  # a new object, even at the same version
                st.owners[(resource, namespace, name)] = owners
                if changed:
                    st.record("ADDED" if existing is None else "MODIFIED", resource, obj)
            return (201 if existing is None else 200), dict(obj, apiVersion=gv)

    # --- watch ------------------------------------------------------------------------------
    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, resource, namespace, query, version):
        st = self.server.state
        group, _, kind, _ = RESOURCES[resource]
        gv = f"{group}/{version}" if group else version
        bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
        timeout = int(query.get("timeoutSeconds", "1800") or 1800)
        deadline = time.time() + timeout
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(type_, obj):
            if obj.get("kind") == kind and obj.get("apiVersion") != gv:  # an older version
                obj = dict(obj, apiVersion=gv)
            self.write_chunk((json.dumps({"type": type_, "object": obj}) + "\n").encode())

        with st.lock:
            rv_text = query.get("resourceVersion", "")
            generation = st.watch_generation
            if rv_text in ("", "0"):
                # From "now", after a synthetic ADDED for each object (as the real server).
                start = st.rv
                initial = [o for (ns, _), o in sorted(st.objects.get(resource, {}).items())
                           if namespace is None or ns == namespace]
            else:
                start = int(rv_text)
                initial = []
                if start < st.history_start:
                    event("ERROR", {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                    "status": "Failure", "reason": "Expired", "code": 410,
                                    "message": f"too old resource version: {start} ({st.history_start})"})
                    self.write_chunk(b"")
                    return
            pos = len(st.history)
            while pos > 0 and st.history[pos - 1][0] > start:
                pos -= 1
        for o in initial:
            event("ADDED", o)
        last_bookmark = time.time()
        while time.time() < deadline:
            with st.lock:
                if pos >= len(st.history) and st.watch_generation == generation:
                    st.cond.wait(0.2)
                if st.watch_generation != generation:
                    return  # dropped: the connection closes without the final chunk
                batch = st.history[pos:]
                pos = len(st.history)
                current = st.rv
            for rv, type_, res, obj in batch:
                if res != resource:
                    continue
                if namespace is not None and obj["metadata"].get("namespace") != namespace:
                    continue
                event(type_, obj)
            if bookmarks and time.time() - last_bookmark > 1.0:
                event("BOOKMARK", {"kind": kind, "apiVersion": gv,
                                   "metadata": {"resourceVersion": str(current)}})
                last_bookmark = time.time()
        self.write_chunk(b"")

    def test_control(self, path, query):
        st = self.server.state
        with st.lock:
            if path == "/_test/expire-continue":
                st.continue_epoch = st.rv + 1
                st.rv += 1
                return self.send_json(200, {"ok": True})
            if path == "/_test/fail":
                ra = query.get("retry_after")
                f = dict(query)
                f.update({"path": query.get("path", "/"),
                          "status": int(query.get("status", "500")),
                          "count": int(query.get("count", "1")),
                          "retry_after": int(ra) if ra is not None else None,
                          "when": query.get("when", ""), "mode": query.get("mode", "status")})
                st.failures.append(f)
                return self.send_json(200, {"ok": True})
            if path == "/_test/clear-failures":
                st.failures = []
                return self.send_json(200, {"ok": True})
            if path == "/_test/reviews":
                return self.send_json(200, st.reviews)
            if path == "/_test/requests":
                return self.send_json(200, st.requests)
            if path == "/_test/put":
                obj = json.loads(self.body.decode())
                resource = KIND_TO_RESOURCE.get(obj.get("kind"))
                if resource is None:
                    return self.send_json(400, {"error": "unknown kind"})
                ns = obj.get("metadata", {}).get("namespace", "default") \
                    if RESOURCES[resource][3] else ""
                existed = (ns, obj["metadata"]["name"]) in st.objects.get(resource, {})
                obj.get("metadata", {}).pop("resourceVersion", None)
                st.add(obj)
                st.record("MODIFIED" if existed else "ADDED", resource, obj)
                return self.send_json(200, {"resourceVersion": str(st.rv)})
            if path == "/_test/delete":
                resource = KIND_TO_RESOURCE.get(query.get("kind"))
                objs = st.objects.get(resource, {})
                obj = objs.pop((query.get("namespace", ""), query.get("name")), None)
                if obj is None:
                    return self.send_json(404, {"error": "no such object"})
                st.rv += 1
                obj["metadata"]["resourceVersion"] = str(st.rv)
                st.record("DELETED", resource, obj)
                return self.send_json(200, {"resourceVersion": str(st.rv)})
            if path == "/_test/churn":
                # count modifications of existing pods (a label changes), `rate` per second,
                # from a background thread: load for informer benchmarks.
                count, rate = int(query.get("count", "1000")), float(query.get("rate", "1000"))

                def churn():
                    keys = sorted(st.objects.get("pods", {}))
                    t0 = time.time()
                    for i in range(count):
                        delay = t0 + i / rate - time.time()
                        if delay > 0:
                            time.sleep(delay)
                        with st.lock:
                            pod = st.objects["pods"].get(keys[i % len(keys)])
                            if pod is None:
                                continue
                            pod["metadata"].setdefault("labels", {})["churn"] = str(i)
                            st.rv += 1
                            pod["metadata"]["resourceVersion"] = str(st.rv)
                            st.record("MODIFIED", "pods", pod)
                threading.Thread(target=churn, daemon=True).start()
                return self.send_json(200, {"ok": True})
            if path == "/_test/compact":
                st.history = []
                st.history_start = st.rv + 1
                return self.send_json(200, {"ok": True})
            if path == "/_test/drop-watches":
                st.watch_generation += 1
                st.cond.notify_all()
                return self.send_json(200, {"ok": True})
            if path == "/_test/list":  # the server's truth: every object of a resource
                resource = query.get("resource")
                return self.send_json(200, [o for _, o in sorted(st.objects.get(resource, {}).items())])
        return self.send_json(404, {"error": "unknown test control"})

    # --- OpenAPI v3 -------------------------------------------------------------------------
    # What kubectl needs to validate: the group/version documents list the PATCH operation of
    # each kind with its `fieldValidation` parameter (so kubectl leaves validation to the
    # server, which checks fields against the schema with fieldValidation=Strict), and the
    # NetworkPolicy schema (tests/data/schemas, when present).
    def openapi(self, parts):
        if parts == ["openapi", "v3"]:
            paths = {}
            for g, v, _, _ in RESOURCES.values():
                key = f"apis/{g}/{v}" if g else "api/v1"
                paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash=1"}
            return 200, {"paths": paths}
        if parts[:2] != ["openapi", "v3"] or len(parts) < 4:
            return status(404, "NotFound", "the server could not find the requested resource")
        if parts[2] == "api":
            group, version = "", parts[3]
        elif len(parts) >= 5:
            group, version = parts[3], parts[4]
        else:
            return status(404, "NotFound", "the server could not find the requested resource")
        doc_paths, schemas = {}, {}
        for r, (g, v, kind, namespaced) in RESOURCES.items():
            if g != group or v != version:
                continue
            base = f"/apis/{g}/{v}" if g else "/api/v1"
            ns = "/namespaces/{namespace}" if namespaced else ""
            gvk = {"group": g, "version": v, "kind": kind}
            params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                      for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
            doc_paths[f"{base}{ns}/{r}/{{name}}"] = {
                "get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk,
                        "responses": {"200": {"description": "OK"}}},
                "patch": {"x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
                          "parameters": params, "responses": {"200": {"description": "OK"}}},
            }
            schema = self.server.schemas.get(kind)
            if schema is not None:
                schemas[f"io.k8s.api.networking.{v}.{kind}"] = schema
        if not doc_paths:
            return status(404, "NotFound", "the server could not find the requested resource")
        return 200, {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
                     "paths": doc_paths, "components": {"schemas": schemas}}

    def unknown_fields(self, kind, obj):
        """fieldValidation=Strict: fields the kind's schema does not declare (as the real
        server, for kinds with a schema here)."""
        schema = self.server.schemas.get(kind)
        out = []

        def walk(value, sch, at):
            if not isinstance(sch, dict):
                return
            if isinstance(value, dict) and "properties" in sch:
                for k, v in value.items():
                    if k in sch["properties"]:
                        walk(v, sch["properties"][k], f"{at}.{k}")
                    elif sch.get("additionalProperties") is False:
                        out.append(f"{at}.{k}")
            elif isinstance(value, list) and isinstance(sch.get("items"), dict):
                for i, v in enumerate(value):
                    walk(v, sch["items"], f"{at}[{i}]")

        if schema is not None:
            walk(obj, schema, "")
        return out

    # --- the API ----------------------------------------------------------------------------
    # TokenReview: a token of --tokens is its user's (group system:authenticated); a token
    # `aud.AUDIENCE.USER` is valid only when the review asks for AUDIENCE (a projected
    # service-account token). SubjectAccessReview: allowed unless --forbid names the user and
    # the resource (or *), as the real server answers from RBAC.
    def token_review(self):
        st = self.server.state
        spec = json.loads(self.body or b"{}").get("spec", {})
        token, audiences = spec.get("token", ""), spec.get("audiences") or []
        user = st.tokens.get(token)
        if token.startswith("aud."):
            parts = token.split(".")
            user = parts[2] if len(parts) == 3 and parts[1] in audiences else None
        with st.lock:
            st.reviews.append({"kind": "TokenReview", "audiences": audiences, "user": user})
        status_ = {"authenticated": False}
        if user is not None:
            status_ = {"authenticated": True, "audiences": audiences,
                       "user": {"username": user, "uid": "uid-" + user,
                                "groups": ["system:authenticated"]}}
        return 201, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                     "spec": spec, "status": status_}

    def access_review(self):
        st = self.server.state
        spec = json.loads(self.body or b"{}").get("spec", {})
        ra = spec.get("resourceAttributes", {})
        user, resource = spec.get("user"), ra.get("resource")
        allowed = (user, resource) not in st.forbid and (user, "*") not in st.forbid
        with st.lock:
            st.reviews.append({"kind": "SubjectAccessReview", "user": user, "group": ra.get("group"),
                               "verb": ra.get("verb"), "resource": resource, "allowed": allowed})
        status_ = {"allowed": allowed}
        if not allowed:
            status_["reason"] = f'no RBAC policy matched for {user} {ra.get("verb")} {resource}'
        return 201, {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                     "spec": spec, "status": status_}

    def route(self, path, query, user, method="GET"):
        st = self.server.state
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["openapi"]:
            return self.openapi(parts)
        if path == "/version":
            return 200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0",
                         "platform": "linux/amd64"}
        if method == "POST" and path == "/apis/authentication.k8s.io/v1/tokenreviews":
            return self.token_review()
        if method == "POST" and path == "/apis/authorization.k8s.io/v1/subjectaccessreviews":
            return self.access_review()
        if parts == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                         "serverAddress": "127.0.0.1"}]}
        if parts == ["apis"]:
            groups = {}
            for r, (g, _, _, _) in RESOURCES.items():
                for v in versions_of(r):
                    if g and st.served_gv(g, v):
                        groups.setdefault(g, set()).add(v)
            out = []
            for g in sorted(groups):
                vs = [{"groupVersion": f"{g}/{v}", "version": v} for v in sorted(groups[g])]
                out.append({"name": g, "versions": vs, "preferredVersion": vs[-1]})
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": out}
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return status(404, "NotFound", "the server could not find the requested resource")
        if not st.served_gv(group, version) or not any(
                g == group and version in versions_of(r) for r, (g, _, _, _) in RESOURCES.items()):
            return status(404, "NotFound", "the server could not find the requested resource")
        gv = f"{group}/{version}" if group else version
        if not rest:
            res = [{"name": r, "singularName": k.lower(), "namespaced": ns, "kind": k,
                    "verbs": ["get", "list", "patch", "delete"]}
                   for r, (g, _, k, ns) in RESOURCES.items() if g == group and version in versions_of(r)]
            return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                         "resources": res}
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        resource = rest[0]
        name = rest[1] if len(rest) > 1 else None
        if resource not in RESOURCES or RESOURCES[resource][0] != group or \
                version not in versions_of(resource):
            return status(404, "NotFound", "the server could not find the requested resource")
        if (user, resource) in st.forbid or (user, "*") in st.forbid:
            verb = {"PATCH": "patch", "DELETE": "delete"}.get(method, "get" if name else "list")
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            return status(403, "Forbidden",
                          f'{resource} is forbidden: User "{user}" cannot {verb} resource '
                          f'"{resource}" in API group "{group}" {scope}',
                          {"kind": resource, "group": group})
        if method == "PATCH" and name is not None:
            return self.apply(resource, namespace or "", name, query, version)
        if method == "DELETE" and name is not None:
            with st.lock:
                objs = st.objects.get(resource, {})
                obj = objs.get((namespace or "", name))
                if obj is None:
                    return status(404, "NotFound", f'{resource} "{name}" not found')
                if query.get("dryRun") != "All":
                    del objs[(namespace or "", name)]
                    st.owners.pop((resource, namespace or "", name), None)
                    st.rv += 1
                    gone = json.loads(json.dumps(obj))
                    gone["metadata"]["resourceVersion"] = str(st.rv)
                    st.record("DELETED", resource, gone)
                return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success",
                             "details": {"name": name, "kind": resource}}
        if method != "GET":
            return status(405, "MethodNotAllowed", f"{method} is not served here")
        if name is None and query.get("watch") in ("1", "true"):
            self.watch(resource, namespace, query, version)
            return None, None
        with st.lock:
            objs = st.objects.get(resource, {})
            if name is not None:
                obj = objs.get((namespace or "", name))
                if obj is None:
                    return status(404, "NotFound", f'{resource} "{name}" not found',
                                  {"name": name, "kind": resource, "group": group})
                return 200, dict(obj, apiVersion=gv)
            items = st.sorted_items(resource)
            if namespace is not None:
                items = [(k, o) for k, o in items if k[0] == namespace]
            offset = 0
            cont = query.get("continue")
            if cont:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(cont.encode()).decode())
                    offset, issued = int(tok["offset"]), int(tok["rv"])
                except Exception:
                    return status(400, "BadRequest", "invalid continue token")
                if issued < st.continue_epoch:
                    return status(410, "Expired",
                                  "The provided continue parameter is too old to display a "
                                  "consistent list result. You can start a new list without "
                                  "the continue parameter.")
            limit = int(query.get("limit", "0") or 0)
            page = items[offset:offset + limit] if limit > 0 else items[offset:]
            meta = {"resourceVersion": str(st.rv)}
            if limit > 0 and offset + limit < len(items):
                meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                    {"offset": offset + limit, "rv": st.rv}).encode()).decode()
                meta["remainingItemCount"] = len(items) - offset - limit
            kind = RESOURCES[resource][2]
            if self.wants_table():
                return 200, {"kind": kind + "List", "apiVersion": gv, "metadata": meta,
                             "items": [o for _, o in page]}
            # As the real server: items carry no kind/apiVersion in a typed list. Each item's
            # JSON is kept from one list to the next (pages of 50,000 pods stay fast).
            head = json.dumps({"kind": kind + "List", "apiVersion": gv, "metadata": meta})
            items = ",".join(st.encoded(resource, k, o) for k, o in page)
            return 200, (head[:-1] + ', "items": [' + items + "]}").encode()


def fields_v1(paths):
    tree = {}
    for p in sorted(paths):
        cur = tree
        for k in p.split(".")[1:]:
            cur = cur.setdefault("f:" + k, {})
    return tree


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--forbid", default="")
    ap.add_argument("--served", default="", help="comma-separated group/versions (default all)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--schemas", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "..", "data", "schemas"),
                    help="directory with networkpolicy-networking-v1.json (default: tests/data/"
                         "schemas)"),
    ap.add_argument("--state-file", default="",
                    help="objects and resourceVersion, saved on every change and loaded at start "
                         "(a restarted server keeps its objects but not its watch history)")
    a = ap.parse_args()
    saved = None
    if a.state_file and os.path.exists(a.state_file):
        with open(a.state_file) as f:
            saved = json.load(f)
        objects = saved["items"]
    else:
        with open(a.objects) as f:
            doc = json.load(f)
        objects = doc.get("items", []) if doc.get("kind") == "List" else [doc]
    with open(a.tokens) as f:
        tokens = json.load(f)
    forbid = set()
    for pair in filter(None, a.forbid.split(",")):
        u, r = pair.split(":", 1)
        forbid.add((u, r))
    served = set(filter(None, a.served.split(","))) or None
    state = State(objects, tokens, forbid, served)
    if saved:
        state.rv = max(state.rv, int(saved["rv"])) + 1
        state.history_start = state.rv
    state.state_file = a.state_file or None
    if state.state_file:
        # Saved a few times a second (not per change: churn would be bound by the writes), and
        # when the server is stopped, so a restarted server finds every change.
        state.dirty = True

        def writer():
            while True:
                time.sleep(0.2)
                with state.lock:
                    state.save()

        threading.Thread(target=writer, daemon=True).start()

        def stop(signum, frame):
            with state.lock:
                state.save()
            os._exit(0)

        signal.signal(signal.SIGTERM, stop)
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    server.state = state
    server.schemas = {}  # kind -> JSON schema, for OpenAPI and fieldValidation=Strict
    np_schema = os.path.join(a.schemas, "networkpolicy-networking-v1.json")
    if a.schemas and os.path.exists(np_schema):
        with open(np_schema) as f:
            server.schemas["NetworkPolicy"] = json.load(f)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.load_verify_locations(a.ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL  # client certificates authenticate when present
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
