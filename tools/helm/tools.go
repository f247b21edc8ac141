//go:build tools

// Package tools pins the program scripts/test-helm.sh builds, so that go.mod and go.sum keep it
// (go build helm.sh/helm/v3/cmd/helm).
package tools

import _ "helm.sh/helm/v3/cmd/helm"
