# Local sentinel setup: a skiff master and two replicas (6380-6382) and three
# skiff sentinels (26379-26381), data in ./.sentinel/ (scripts/sentinel.sh).
# SENTINEL_BASE_PORT moves the data ports; the sentinels sit at base+19999.
# Included by the Makefile.
.PHONY: sentinel sentinel-status sentinel-stop sentinel-clean

sentinel: build
	@SKIFF=$(BIN) scripts/sentinel.sh start

sentinel-status:
	@SKIFF=$(BIN) scripts/sentinel.sh status

sentinel-stop:
	@SKIFF=$(BIN) scripts/sentinel.sh stop

sentinel-clean:
	@SKIFF=$(BIN) scripts/sentinel.sh clean
