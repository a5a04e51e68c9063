package faults

import "fmt"

// clusterSupported: the cluster topology (3 shards × master + replica).
const clusterSupported = false

func newClusterTopo(m mode, root string, logf func(string, ...any)) (topology, error) {
	return nil, fmt.Errorf("cluster topology not implemented")
}
