// Command etcd is the etcd server of the pinned go.etcd.io/etcd/server/v3 module.
// The module has no main package of its own; etcdmain.Main is what the upstream binary runs.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
