# Local cluster: three masters holding all slots, REPLICAS=1 adds a replica
# of each (docs/cluster.md, docs/raft.md). Included by the Makefile.
.PHONY: cluster cluster-status cluster-stop cluster-clean
REPLICAS ?= 0

cluster: build
	@SKIFF=$(BIN) REPLICAS=$(REPLICAS) scripts/cluster.sh start

cluster-status:
	@SKIFF=$(BIN) scripts/cluster.sh status

cluster-stop:
	@SKIFF=$(BIN) scripts/cluster.sh stop

cluster-clean:
	@SKIFF=$(BIN) scripts/cluster.sh clean
