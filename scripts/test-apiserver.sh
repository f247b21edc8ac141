#!/usr/bin/env bash
# A real kube-apiserver and etcd for Stockade's live tests (tests/apiserver/), built from the
# upstream Go modules pinned in tools/test-apiserver/go.mod (k8s.io/kubernetes and its staging
# modules at one release; etcd's server module) and started on loopback.
#
#   scripts/test-apiserver.sh build          builds kube-apiserver and etcd into $BIN_DIR
#                                            (nothing to do when they match go.mod/go.sum)
#   scripts/test-apiserver.sh start DIR      starts both with their state, certificates and
#                                            kubeconfigs in DIR; returns once /readyz answers ok
#   scripts/test-apiserver.sh stop DIR       stops what `start DIR` started, removes DIR
#
# Go is test tooling only: the product is C++, nothing built here ships. The binaries and the
# Go module and build caches live under the build directory (never committed):
#   STOCKADE_APISERVER_DIR   default <repo>/build/apiserver (bin/, gomod/, gocache/)
#   STOCKADE_APISERVER_BIN   the directory holding kube-apiserver and etcd (default $DIR/bin)
#   STOCKADE_APISERVER_ARGS  more kube-apiserver flags for `start` (words, e.g.
#                            --enable-aggregator-routing=true)
#
# `start DIR` leaves in DIR: ca.crt, admin.kubeconfig (token "admin-token", group
# system:masters), nobody.kubeconfig (token "nobody-token", a user no RBAC rule names),
# port (the API server's port), etcd-url, pids, logs (etcd.log, kube-apiserver.log).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
top=${STOCKADE_APISERVER_DIR:-$repo/build/apiserver}
bin=${STOCKADE_APISERVER_BIN:-$top/bin}
mod=$repo/tools/test-apiserver

die() {
  echo "test-apiserver: $*" >&2
  exit 2
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

build() {
  # Go's own tarball layout, for a non-interactive shell whose PATH lacks it.
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH=/usr/local/go/bin:$PATH; fi
  command -v go >/dev/null 2>&1 || die "go is not installed (Go 1.26 or newer builds the test API server)"
  mkdir -p "$bin"
  # Rebuilt only when the pinned versions change (or the Go toolchain does).
  local want
  want=$(cat "$mod/go.mod" "$mod/go.sum" "$mod/etcd/main.go" <(go version) | sha256sum | cut -c1-16)
  if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/etcd" ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$want" ]; then
    echo "test-apiserver: kube-apiserver and etcd are up to date in $bin"
    return
  fi
  # GOTOOLCHAIN=local: the Go on the machine builds, no toolchain is downloaded.
  export GOMODCACHE=$top/gomod GOCACHE=$top/gocache CGO_ENABLED=0 GOTOOLCHAIN=local
  # -modcacherw: the module cache can be removed with rm -rf like the rest of build/.
  export GOFLAGS="-modcacherw -trimpath -buildvcs=false -mod=readonly"
  local start=$SECONDS
  echo "test-apiserver: building kube-apiserver and etcd (first build: about 15-25 minutes on 2 cores)"
  # The version the release build stamps (else /version says v0.0.0-master).
  local v major minor pkg=k8s.io/component-base/version
  v=$(cd "$mod" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
  major=${v#v}; major=${major%%.*}
  minor=${v#v*.}; minor=${minor%%.*}
  (cd "$mod" && go build -o "$bin/kube-apiserver.new" -ldflags="-s -w -X $pkg.gitVersion=$v \
    -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
    k8s.io/kubernetes/cmd/kube-apiserver)
  (cd "$mod" && go build -ldflags='-s -w' -o "$bin/etcd.new" ./etcd)
  mv "$bin/kube-apiserver.new" "$bin/kube-apiserver"
  mv "$bin/etcd.new" "$bin/etcd"
  echo "$want" >"$bin/.stamp"
  echo "test-apiserver: built in $((SECONDS - start)) s: $("$bin/kube-apiserver" --version)"
}

certs() {
  local d=$1
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=stockade-test-ca
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=kube-apiserver
    printf 'subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:10.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext
    # The service-account token signing key.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key
    openssl pkey -in sa.key -pubout -out sa.pub
  ) >"$d/openssl.log" 2>&1 || die "openssl could not make the certificates (see $d/openssl.log)"
  # Static tokens: token,user,uid,"group1,group2".
  cat >"$d/tokens.csv" <<'EOF'
admin-token,admin,admin-uid,"system:masters"
nobody-token,nobody,nobody-uid
EOF
  chmod 600 "$d/tokens.csv" "$d/ca.key" "$d/server.key" "$d/sa.key"
}

kubeconfig() {
  local d=$1 port=$2 token=$3
  cat <<EOF
apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority: $d/ca.crt
contexts:
- name: test
  context: {cluster: test, user: u}
users:
- name: u
  user:
    token: $token
EOF
}

stop() {
  local d=$1
  [ -n "$d" ] || die "stop: which directory?"
  if [ -f "$d/pids" ]; then
    local pid
    for pid in $(cat "$d/pids"); do kill "$pid" 2>/dev/null || true; done
    for pid in $(cat "$d/pids"); do
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    done
  fi
  # Only a directory `start` made (it holds tokens.csv) is removed.
  if [ -f "$d/tokens.csv" ]; then rm -rf "$d"; fi
}

start() {
  local d=$1
  [ -n "$d" ] || die "start: which directory?"
  [ -x "$bin/kube-apiserver" ] && [ -x "$bin/etcd" ] ||
    die "no kube-apiserver/etcd in $bin: run scripts/test-apiserver.sh build"
  command -v openssl >/dev/null 2>&1 || die "openssl is not installed"
  mkdir -p "$d"
  d=$(cd "$d" && pwd)
  certs "$d"
  # A port free_port saw free can be taken before etcd or kube-apiserver binds it (tests run in
  # parallel, and every outgoing connection takes a port from the same range): then the
  # servers start again on new ports.
  local attempt
  for attempt in 1 2 3 4 5; do
    launch "$d" && return
    echo "test-apiserver: a port was taken before the servers bound it (attempt $attempt of 5), trying new ports" >&2
  done
  stop "$d"
  die "etcd or kube-apiserver could not bind a port in 5 attempts"
}

# Returns 0 once /readyz answers ok, 1 when a server exited because its port was taken (its
# processes stopped, etcd's data removed); exits the script on any other failure.
launch() {
  local d=$1
  local etcd_port peer_port port
  etcd_port=$(free_port)
  peer_port=$(free_port)
  port=$(free_port)
  rm -rf "$d/etcd"
  # --unsafe-no-fsync: throw-away test state, and the shared disk is slow.
  "$bin/etcd" --name test --data-dir "$d/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "test=http://127.0.0.1:$peer_port" --unsafe-no-fsync --log-level warn \
    >"$d/etcd.log" 2>&1 &
  echo $! >"$d/pids"
  echo "http://127.0.0.1:$etcd_port" >"$d/etcd-url"
  # ConfigMaps are watched straight from etcd (no watch cache), so a test can compact etcd's
  # history through its JSON gateway and see the 410 a client then gets; every other resource
  # is served from the watch cache as in a cluster. The endpoint reconciler is off: it refuses
  # a loopback advertise address.
  # The default admission plugins stay on (NamespaceLifecycle, ServiceAccount, ...), with
  # NodeRestriction added as clusters run it; Node,RBAC authorization as kubeadm sets it.
  "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$port" \
    --cert-dir "$d/certs" --tls-cert-file "$d/server.crt" --tls-private-key-file "$d/server.key" \
    --client-ca-file "$d/ca.crt" --token-auth-file "$d/tokens.csv" \
    --service-account-key-file "$d/sa.pub" --service-account-signing-key-file "$d/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range 10.0.0.0/24 \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --watch-cache-sizes configmaps#0 --endpoint-reconciler-type none --allow-privileged=true --profiling=false \
    ${STOCKADE_APISERVER_ARGS:-} --v 1 >"$d/kube-apiserver.log" 2>&1 &
  echo $! >>"$d/pids"
  echo "$port" >"$d/port.tmp"
  kubeconfig "$d" "$port" admin-token >"$d/admin.kubeconfig"
  kubeconfig "$d" "$port" nobody-token >"$d/nobody.kubeconfig"
  # Ready when /readyz says ok (the RBAC bootstrap roles and the default namespaces are in).
  local i
  for i in $(seq 1 600); do
    if curl -sf --cacert "$d/ca.crt" -H "Authorization: Bearer admin-token" \
      "https://127.0.0.1:$port/readyz" 2>/dev/null | grep -qx ok; then
      mv "$d/port.tmp" "$d/port"
      echo "test-apiserver: ready on https://127.0.0.1:$port after $((i / 5)) s ($d)"
      return
    fi
    for pid in $(cat "$d/pids"); do
      kill -0 "$pid" 2>/dev/null || {
        if grep -qs "address already in use" "$d/etcd.log" "$d/kube-apiserver.log"; then
          for pid in $(cat "$d/pids"); do kill -9 "$pid" 2>/dev/null || true; done
          for pid in $(cat "$d/pids"); do
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
          done
          rm -f "$d/pids" "$d/port.tmp"
          return 1
        fi
        tail -n 5 "$d/etcd.log" "$d/kube-apiserver.log" >&2
        stop "$d"
        die "etcd or kube-apiserver exited at start"
      }
    done
    sleep 0.2
  done
  tail -n 5 "$d/kube-apiserver.log" >&2
  stop "$d"
  die "kube-apiserver was not ready after 120 s"
}

case "${1:-}" in
build) build ;;
start) start "${2:-}" ;;
stop) stop "${2:-}" ;;
*) die "usage: $0 build | start DIR | stop DIR" ;;
esac
