"""The real kube-apiserver of scripts/test-apiserver.sh for the Python tests of tests/helm/:
started in a directory, called with the admin token over its CA."""
import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request

PLURAL = {"ServiceAccount": "serviceaccounts", "ClusterRole": "clusterroles",
          "ClusterRoleBinding": "clusterrolebindings", "PersistentVolumeClaim":
          "persistentvolumeclaims", "Deployment": "deployments", "Service": "services",
          "DaemonSet": "daemonsets", "NetworkPolicy": "networkpolicies", "Namespace": "namespaces",
          "Pod": "pods", "ValidatingWebhookConfiguration": "validatingwebhookconfigurations",
          "ValidatingAdmissionPolicy": "validatingadmissionpolicies",
          "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings"}
CLUSTER = {"ClusterRole", "ClusterRoleBinding", "Namespace", "ValidatingWebhookConfiguration",
           "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}


def bin_dir(src):
    return os.environ.get("STOCKADE_APISERVER_BIN", os.path.join(src, "build/apiserver/bin"))


class ApiServer:
    def __init__(self, src, directory, args=""):
        """`args`: more kube-apiserver flags (STOCKADE_APISERVER_ARGS of the script)."""
        self.src, self.dir = src, directory
        self.env = dict(os.environ, STOCKADE_APISERVER_BIN=bin_dir(src), STOCKADE_APISERVER_ARGS=args)
        p = subprocess.run([os.path.join(src, "scripts/test-apiserver.sh"), "start", directory],
                           env=self.env, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit("the API server did not start:\n" + p.stdout + p.stderr)
        self.base = "https://127.0.0.1:" + open(os.path.join(directory, "port")).read().strip()
        self.tls = ssl.create_default_context(cafile=os.path.join(directory, "ca.crt"))

    def stop(self):
        subprocess.run([os.path.join(self.src, "scripts/test-apiserver.sh"), "stop", self.dir],
                       env=self.env, capture_output=True)

    def call(self, method, path, body=None, ctype="application/json", token="admin-token"):
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": "Bearer " + token,
                                              "Content-Type": ctype})
        try:
            with urllib.request.urlopen(req, context=self.tls) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    @staticmethod
    def url(doc, ns):
        gv = doc["apiVersion"]
        prefix = "/api/v1" if gv == "v1" else "/apis/" + gv
        if doc["kind"] in CLUSTER:
            return prefix + "/" + PLURAL[doc["kind"]]
        return "%s/namespaces/%s/%s" % (prefix, ns, PLURAL[doc["kind"]])

    def create(self, doc, ns):
        import yaml
        return self.call("POST", self.url(doc, ns), yaml.safe_dump(doc), "application/yaml")
