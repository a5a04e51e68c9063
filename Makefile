# Skiff — see README.md.
GO      ?= go
BIN     := bin/skiff
GOFLAGS ?=
export GOFLAGS

.PHONY: all build test unit integration vet deps run bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/skiff

# Installs Debian's redis-server/redis-tools when missing (the interop peers).
deps:
	@scripts/install-deps.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

# The whole test suite: unit tests, then integration tests that start real
# skiff and redis-server processes on loopback ports, then the fault suite's
# short batch on its own (it measures timing-sensitive failovers, so it does
# not share the two cores with the integration tests).
test: deps build vet
	SKIFF_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 12m $$($(GO) list ./... | grep -v /integration/faults)
	SKIFF_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 5m ./integration/faults/

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /integration)

integration: deps build
	SKIFF_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 12m ./integration/...

# One node on 6379 with its data in ./data.
run: build
	mkdir -p data
	$(BIN) server --port 6379 --dir ./data

# skiff vs redis-server, same machine, same run (see bench/README.md).
bench: deps build
	$(GO) run ./bench/compare --skiff $(BIN)

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParser -fuzztime 60s ./internal/resp/

clean:
	rm -rf bin

-include cluster.mk
-include sentinel.mk
-include faults.mk
