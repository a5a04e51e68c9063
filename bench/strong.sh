#!/usr/bin/env bash
# What consistency strong costs: SET throughput (redis-benchmark -c 50,
# -P 16 and -P 1) and a single client's SET latency (p50/p99), against the
# same setup in async mode, measured alternately in one run. Each setup is
# `scripts/sentinel.sh` (a master, two replicas, three skiff sentinels on
# 127.0.0.1), one with SENTINEL_CONSISTENCY=strong.
#   bench/strong.sh [RUNS]        (default 5; medians and ranges printed)
# Needs bin/skiff (make build) and redis-benchmark (make deps).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BIN=${SKIFF:-bin/skiff}
[ -x "$BIN" ] || { echo "strong.sh: $BIN not built (make build)" >&2; exit 1; }
command -v redis-benchmark >/dev/null || { echo "strong.sh: redis-benchmark not found (make deps)" >&2; exit 1; }

declare -A BASE=([strong]=7380 [async]=7480)
cleanup() {
	for m in strong async; do
		SENTINEL_DIR=".bench-strong-$m" SENTINEL_BASE_PORT=${BASE[$m]} SKIFF=$BIN scripts/sentinel.sh stop >/dev/null 2>&1 || true
		rm -rf ".bench-strong-$m"
	done
}
trap cleanup EXIT
cleanup
for m in strong async; do
	SENTINEL_DIR=".bench-strong-$m" SENTINEL_BASE_PORT=${BASE[$m]} SENTINEL_CONSISTENCY=$m SKIFF=$BIN \
		scripts/sentinel.sh start >/dev/null
done
# A strong master answers writes once both replicas are in its in-sync set.
for i in $(seq 1 200); do
	ok=$(redis-cli -p ${BASE[strong]} info replication | tr -d '\r' | sed -n 's/^skiff_isr:\(.*\)$/\1/p' | tr ',' '\n' | grep -c . || true)
	[ "$ok" = 2 ] && break
	sleep 0.1
done

csv() { redis-benchmark -p "$1" "${@:2}" --csv | tail -1 | tr -d '"'; }
declare -A P16 P1 L50 L99
for r in $(seq 1 "$RUNS"); do
	for m in strong async; do
		p=${BASE[$m]}
		P16[$m]+="$(csv "$p" -t set -n 300000 -c 50 -P 16 | cut -d, -f2) "
		P1[$m]+="$(csv "$p" -t set -n 100000 -c 50 | cut -d, -f2) "
		line=$(csv "$p" -t set -n 20000 -c 1)
		L50[$m]+="$(echo "$line" | cut -d, -f5) "
		L99[$m]+="$(echo "$line" | cut -d, -f7) "
	done
	echo "run $r done" >&2
done
stats() { # values... -> "median (min–max)"
	printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%g (%g–%g)", m, a[1], a[NR]}'
}
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
echo "load: $(uptime | sed 's/.*load average: //')"
printf '| %-26s | %-28s | %-28s | %s |\n' "" "strong" "async" "strong / async (medians)"
printf '|%s|%s|%s|%s|\n' "----------------------------" "------------------------------" "------------------------------" "---"
row() {
	local name=$1 s=$2 a=$3
	# shellcheck disable=SC2086
	printf '| %-26s | %-28s | %-28s | %.2f |\n' "$name" "$(stats $s)" "$(stats $a)" \
		"$(echo "$(med $s) / $(med $a)" | bc -l)"
}
row "SET -c 50 -P 16 (req/s)" "${P16[strong]}" "${P16[async]}"
row "SET -c 50 -P 1 (req/s)" "${P1[strong]}" "${P1[async]}"
row "SET 1 client p50 (ms)" "${L50[strong]}" "${L50[async]}"
row "SET 1 client p99 (ms)" "${L99[strong]}" "${L99[async]}"
