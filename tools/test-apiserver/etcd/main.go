// Command etcd is the upstream etcd server (go.etcd.io/etcd/server/v3/etcdmain), built here
// because the upstream main module (go.etcd.io/etcd/v3) uses replace directives and so cannot
// be built from the module proxy directly.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
