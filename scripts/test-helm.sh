#!/usr/bin/env bash
# The helm binary that lints and renders deploy/helm/stockade in the tests (tests/helm/), built
# from the upstream Go module pinned in tools/helm/go.mod (helm.sh/helm/v3).
#
#   scripts/test-helm.sh build     builds helm into $BIN_DIR (nothing to do when it matches
#                                  go.mod/go.sum and the Go toolchain)
#
# Go is test tooling only: the product is C++, nothing built here ships. The binary and the Go
# module and build caches live under the build directory (never committed):
#   STOCKADE_HELM_DIR   default <repo>/build/helm (bin/, gomod/, gocache/)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
top=${STOCKADE_HELM_DIR:-$repo/build/helm}
bin=$top/bin
mod=$repo/tools/helm

die() {
  echo "test-helm: $*" >&2
  exit 2
}

build() {
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH=/usr/local/go/bin:$PATH; fi
  command -v go >/dev/null 2>&1 || die "go is not installed (Go 1.26 or newer builds helm)"
  mkdir -p "$bin"
  local want
  want=$(cat "$mod/go.mod" "$mod/go.sum" <(go version) | sha256sum | cut -c1-16)
  if [ -x "$bin/helm" ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$want" ]; then
    echo "test-helm: helm is up to date in $bin"
    return
  fi
  # GOTOOLCHAIN=local: the Go on the machine builds, no toolchain is downloaded.
  export GOMODCACHE=$top/gomod GOCACHE=$top/gocache CGO_ENABLED=0 GOTOOLCHAIN=local
  export GOFLAGS="-modcacherw -trimpath -buildvcs=false -mod=readonly"
  local start=$SECONDS v kv kmajor kminor
  echo "test-helm: building helm (first build: about 2 minutes on 2 cores with the downloads)"
  v=$(cd "$mod" && go list -m -f '{{.Version}}' helm.sh/helm/v3)
  # The Kubernetes version helm assumes without a cluster (.Capabilities.KubeVersion), as helm's
  # own Makefile stamps it: the minor of the k8s.io modules it is built with (v0.36 -> 1.36).
  kv=$(cd "$mod" && go list -m -f '{{.Version}}' k8s.io/client-go)
  kmajor=1
  kminor=${kv#v0.}; kminor=${kminor%%.*}
  local p=helm.sh/helm/v3
  (cd "$mod" && go build -o "$bin/helm.new" -ldflags="-s -w -X $p/internal/version.version=$v \
    -X $p/internal/version.gitTreeState=clean \
    -X $p/pkg/lint/rules.k8sVersionMajor=$kmajor -X $p/pkg/lint/rules.k8sVersionMinor=$kminor \
    -X $p/pkg/chartutil.k8sVersionMajor=$kmajor -X $p/pkg/chartutil.k8sVersionMinor=$kminor" \
    helm.sh/helm/v3/cmd/helm)
  mv "$bin/helm.new" "$bin/helm"
  echo "$want" >"$bin/.stamp"
  echo "test-helm: built in $((SECONDS - start)) s: $("$bin/helm" version --short)"
}

case ${1:-} in
  build) build ;;
  *) die "usage: scripts/test-helm.sh build" ;;
esac
