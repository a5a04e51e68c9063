#!/usr/bin/env bash
# TLS against plain TCP, for skiff and redis-server in the same run:
# redis-benchmark SET and GET (-c 50) with -P 1 and -P 16, each server
# started with both `port` and `tls-port`, measured alternately (skiff,
# redis, skiff, ...) so that a change in the machine's load hits both.
#   bench/tls.sh [RUNS]      (default 3; medians and ranges printed)
# Needs bin/skiff (make build; SKIFF=path overrides), redis-server,
# redis-benchmark and openssl. Certificates are made in a temporary dir.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BIN=${SKIFF:-bin/skiff}
N=${N:-100000}
[ -x "$BIN" ] || { echo "tls.sh: $BIN not built (make build)" >&2; exit 1; }
for c in redis-server redis-benchmark redis-cli openssl; do
	command -v $c >/dev/null || { echo "tls.sh: $c not found (make deps)" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/skiff-bench-tls.XXXXXX)
declare -A PORT=([skiff]=${BASE_PORT:-7690} [redis]=$((${BASE_PORT:-7690} + 1)))
declare -A TPORT=([skiff]=$((${PORT[skiff]} + 10)) [redis]=$((${PORT[redis]} + 10)))
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

# A CA and one certificate for servers and clients (127.0.0.1).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
	-keyout "$TMP/ca.key" -out "$TMP/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=bench" \
	-keyout "$TMP/node.key" -out "$TMP/node.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$TMP/ext"
openssl x509 -req -in "$TMP/node.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" -CAcreateserial -days 2 \
	-extfile "$TMP/ext" -out "$TMP/node.crt" 2>/dev/null

TLSOPTS=(--tls-cert-file "$TMP/node.crt" --tls-key-file "$TMP/node.key" --tls-ca-cert-file "$TMP/ca.crt")
for k in skiff redis; do
	mkdir -p "$TMP/$k"
	args=(--port "${PORT[$k]}" --tls-port "${TPORT[$k]}" --bind 127.0.0.1 --dir "$TMP/$k" --save "" --appendonly no "${TLSOPTS[@]}")
	if [ $k = skiff ]; then
		"$BIN" server "${args[@]}" >"$TMP/$k.log" 2>&1 &
	else
		redis-server "${args[@]}" >"$TMP/$k.log" 2>&1 &
	fi
	PIDS+=($!)
done
for k in skiff redis; do
	for i in $(seq 1 100); do
		redis-cli -p "${PORT[$k]}" ping 2>/dev/null | grep -q PONG && break
		[ "$i" = 100 ] && { echo "tls.sh: $k did not start:" >&2; cat "$TMP/$k.log" >&2; exit 1; }
		sleep 0.1
	done
done

CLI_TLS=(--tls --cacert "$TMP/ca.crt" --cert "$TMP/node.crt" --key "$TMP/node.key")
# bench <server> <plain|tls> <pipeline> -> "SET_rps GET_rps"
bench() {
	local k=$1 mode=$2 p=$3 port extra=()
	port=${PORT[$k]}
	if [ "$mode" = tls ]; then port=${TPORT[$k]}; extra=("${CLI_TLS[@]}"); fi
	redis-benchmark -p "$port" "${extra[@]}" -t set,get -n "$N" -c 50 -P "$p" --csv |
		tr -d '"' | awk -F, '$1=="SET"{s=$2} $1=="GET"{g=$2} END{print s, g}'
}
declare -A R
echo "load before: $(uptime | sed 's/.*load average: //')" >&2
for r in $(seq 1 "$RUNS"); do
	for p in 1 16; do
		for mode in plain tls; do
			for k in skiff redis; do
				read -r s g < <(bench $k $mode $p)
				R[$k,$mode,$p,SET]+="$s "
				R[$k,$mode,$p,GET]+="$g "
			done
		done
	done
	echo "run $r done" >&2
done
stats() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.0f (%.0f-%.0f)", m, a[1], a[NR]}'; }
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
echo "load after: $(uptime | sed 's/.*load average: //'); $RUNS runs, -n $N -c 50, requests/s median (min-max)"
printf '| %-10s | %-24s | %-24s | %-9s | %-24s | %-24s | %-9s |\n' "" "skiff plain" "skiff TLS" "TLS/plain" "redis plain" "redis TLS" "TLS/plain"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "------------" "--------------------------" "--------------------------" "-----------" "--------------------------" "--------------------------" "-----------"
for p in 1 16; do
	for t in SET GET; do
		# shellcheck disable=SC2086
		printf '| %-10s | %-24s | %-24s | %-9.2f | %-24s | %-24s | %-9.2f |\n' "$t -P $p" \
			"$(stats ${R[skiff,plain,$p,$t]})" "$(stats ${R[skiff,tls,$p,$t]})" \
			"$(echo "$(med ${R[skiff,tls,$p,$t]}) / $(med ${R[skiff,plain,$p,$t]})" | bc -l)" \
			"$(stats ${R[redis,plain,$p,$t]})" "$(stats ${R[redis,tls,$p,$t]})" \
			"$(echo "$(med ${R[redis,tls,$p,$t]}) / $(med ${R[redis,plain,$p,$t]})" | bc -l)"
	done
done
