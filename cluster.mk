# Local three-node Raft cluster (docs/raft.md). Included by the Makefile.
.PHONY: cluster cluster-status cluster-stop cluster-clean

cluster: build
	@SKIFF=$(BIN) scripts/cluster.sh start

cluster-status:
	@SKIFF=$(BIN) scripts/cluster.sh status

cluster-stop:
	@SKIFF=$(BIN) scripts/cluster.sh stop

cluster-clean:
	@SKIFF=$(BIN) scripts/cluster.sh clean
