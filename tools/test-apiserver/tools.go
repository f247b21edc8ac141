//go:build tools

// Package tools pins the programs scripts/test-apiserver.sh builds, so that go.mod and go.sum
// keep them (go build k8s.io/kubernetes/cmd/kube-apiserver, ./etcd).
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
