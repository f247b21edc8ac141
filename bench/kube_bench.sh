#!/usr/bin/env bash
# Live-mode figures against the test API server (tests/kube/fake_apiserver.py):
#   bench/kube_bench.sh [PODS] [EVENTS] [RATE]      (defaults 50000 10000 1000)
# Prints the time of `stockade reach -o summary` in live and in file mode over the same
# objects, and kube_load's list time and informer rate. Needs a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
pods=${1:-50000}
events=${2:-10000}
rate=${3:-1000}
bin=build/release
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
(
  cd "$work"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=ca
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=kube
  printf 'subjectAltName=DNS:localhost\n' > san.ext
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
    -days 2 -extfile san.ext
) >/dev/null 2>&1
$bin/bench/gen_cluster --pods "$pods" --out "$work/objects.json" 2>/dev/null
echo '{"tok": "admin"}' > "$work/tokens.json"
python3 tests/kube/fake_apiserver.py --objects "$work/objects.json" --cert "$work/server.crt" \
  --key "$work/server.key" --ca "$work/ca.crt" --tokens "$work/tokens.json" \
  --port-file "$work/port" &
server=$!
for _ in $(seq 1 600); do [ -s "$work/port" ] && break; sleep 0.1; done
cat > "$work/kubeconfig" <<KC
apiVersion: v1
kind: Config
current-context: bench
clusters:
- name: c
  cluster: {server: "https://localhost:$(cat "$work/port")", certificate-authority: $work/ca.crt}
contexts:
- name: bench
  context: {cluster: c, user: u}
users:
- name: u
  user: {token: tok}
KC
echo "== $pods pods"
# kube_load first: its first list has the server encode (and keep) every object's JSON.
$bin/bench/kube_load --kubeconfig "$work/kubeconfig" --events "$events" --rate "$rate"
/usr/bin/time -f "live reach -o summary: %e s, %M KB" \
  $bin/stockade reach -o summary --kubeconfig "$work/kubeconfig" > "$work/live.json"
/usr/bin/time -f "file reach -o summary: %e s, %M KB" \
  $bin/stockade reach -o summary -f "$work/objects.json" > "$work/file.json"
cmp -s "$work/live.json" "$work/file.json" && echo "live and file mode agree" \
  || echo "live and file mode DIFFER"
