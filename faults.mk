# Fault-injection suite (integration/faults, docs/faults.md): RUNS runs of
# each mode (MODES: strong, async, redis) in each topology (TOPOLOGIES:
# sentinel, cluster), seeded (SEED; printed), DURATION of workload each,
# faults drawn from FAULTS (kill, pause, part-master, part-leader,
# part-minority; empty: all).
# `make faults RUNS=200` is the long batch. Results and the summary table
# in integration/faults/out/ (FAULTS_OUT moves them). Included by the
# Makefile.
.PHONY: faults
RUNS       ?= 3
MODES      ?= strong,async,redis
TOPOLOGIES ?= sentinel,cluster
SEED       ?=
DURATION   ?= 25s
FAULTS     ?=

faults: deps build
	SKIFF_BIN=$(CURDIR)/$(BIN) FAULTS_RUNS=$(RUNS) FAULTS_MODES=$(MODES) \
	FAULTS_TOPOLOGIES=$(TOPOLOGIES) FAULTS_SEED=$(SEED) FAULTS_DURATION=$(DURATION) FAULTS_FAULTS=$(FAULTS) \
	$(GO) test -count=1 -timeout 0 -run '^TestFaults$$' -v ./integration/faults/
