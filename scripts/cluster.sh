#!/bin/sh
# Local Skiff cluster on 127.0.0.1: three masters holding all 16384 slots
# (RESP 7001-7003, raft 17001-17003, admin 27001-27003), and with
# REPLICAS=1 a replica of each (7004-7006); data and logs under
# ./.cluster/. CLUSTER_BASE_PORT moves the RESP ports (and the derived
# ones); SKIFF names the binary; CLUSTER_DIR the data dir;
# CLUSTER_CONSISTENCY=strong starts the nodes in consistency strong
# (docs/consistency.md).
#   scripts/cluster.sh start|status|stop|clean
set -eu

BIN=${SKIFF:-bin/skiff}
ROOT=${CLUSTER_DIR:-.cluster}
BASE=${CLUSTER_BASE_PORT:-7001}
REPLICAS=${REPLICAS:-0}
CONSISTENCY=${CLUSTER_CONSISTENCY:-async}
COUNT=$((3 * (1 + REPLICAS)))
PORTS=""
i=0
while [ $i -lt $COUNT ]; do
	PORTS="$PORTS $((BASE + i))"
	i=$((i + 1))
done
# stop/status also see nodes of an earlier, larger cluster.
ALLPORTS="$PORTS"
if [ -d "$ROOT" ]; then
	ALLPORTS=$(ls "$ROOT" 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tr '\n' ' ')
	[ -n "$ALLPORTS" ] || ALLPORTS="$PORTS"
fi
WAIT=${CLUSTER_WAIT:-30}
CLI=${REDIS_CLI:-redis-cli}

admin_port() { echo $(($1 + 20000)); }

# alive: the pid file's process exists and is not a zombie.
pid_alive() {
	[ -f "$1" ] || return 1
	st=$(ps -o stat= -p "$(cat "$1")" 2>/dev/null) || return 1
	case "$st" in Z*) return 1 ;; esac
	return 0
}

start() {
	[ -x "$BIN" ] || { echo "cluster: $BIN not built (make build)" >&2; exit 1; }
	mkdir -p "$ROOT"
	for p in $PORTS; do
		d="$ROOT/$p"
		mkdir -p "$d"
		if pid_alive "$d/skiff.pid"; then
			echo "node $p already running (pid $(cat "$d/skiff.pid"))"
			continue
		fi
		if [ "$p" = "$BASE" ]; then
			role="--bootstrap yes"
		else
			role="--join 127.0.0.1:$(admin_port "$BASE")"
		fi
		case "$d" in
		/*) lf="$d/skiff.log" ;;
		*) lf="$PWD/$d/skiff.log" ;;
		esac
		# shellcheck disable=SC2086
		nohup "$BIN" server --port "$p" --bind 127.0.0.1 --dir "$d" --cluster-enabled yes \
			--consistency "$CONSISTENCY" --logfile "$lf" $role >"$d/stdout.log" 2>&1 &
		echo $! >"$d/skiff.pid"
		if [ "$p" = "$BASE" ]; then
			# The seed must be up before the others ask it to add them.
			i=0
			until "$BIN" admin status --addr "127.0.0.1:$(admin_port "$BASE")" --timeout 1s >/dev/null 2>&1; do
				i=$((i + 1))
				[ $i -le $((WAIT * 10)) ] || { echo "cluster: seed did not come up; see $d/skiff.log" >&2; exit 1; }
				pid_alive "$d/skiff.pid" || { echo "cluster: seed exited; see $d/skiff.log" >&2; tail -5 "$d/skiff.log" >&2; exit 1; }
				sleep 0.1
			done
		fi
	done
	# Wait until every node reports the same leader, three voters and
	# every member.
	i=0
	while :; do
		ok=0
		for p in $PORTS; do
			s=$("$BIN" admin status --addr "127.0.0.1:$(admin_port "$p")" --timeout 1s 2>/dev/null || true)
			if echo "$s" | grep -q '"leader_id": "[0-9a-f]\{40\}"' &&
				[ "$(echo "$s" | grep -c '"suffrage": "voter"')" = 3 ] &&
				[ "$(echo "$s" | grep -c '"suffrage": ')" = "$COUNT" ]; then
				ok=$((ok + 1))
			fi
		done
		[ $ok = "$COUNT" ] && break
		i=$((i + 1))
		if [ $i -gt $((WAIT * 10)) ]; then
			echo "cluster: not healthy after ${WAIT}s; logs in $ROOT/*/skiff.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	assign_slots
	leader=$("$BIN" admin status --addr "127.0.0.1:$(admin_port "$BASE")" | sed -n 's/.*"leader_admin_addr": "\(.*\)".*/\1/p')
	cat <<MSG
Skiff cluster of $COUNT nodes is up (Raft leader's admin API: $leader).
  RESP:    redis-cli -c -p $BASE   (ports:$PORTS)
  page:    http://127.0.0.1:$(admin_port "$BASE")/   (live topology; any node's admin port; metrics at /metrics)
  top:     $BIN admin top --addr 127.0.0.1:$(admin_port "$BASE")
  status:  make cluster-status   or   $BIN admin status --addr 127.0.0.1:$(admin_port "$BASE")
  stop:    make cluster-stop     clean: make cluster-clean
MSG
}

# assign_slots gives the three masters a third of the slots each (only
# when no slot is assigned yet) and makes node 3+k a replica of node k.
assign_slots() {
	command -v "$CLI" >/dev/null 2>&1 || {
		echo "cluster: $CLI not found: slots not assigned (CLUSTER ADDSLOTSRANGE yourself)" >&2
		return 0
	}
	if "$CLI" -p "$BASE" cluster info | grep -q '^cluster_slots_assigned:0'; then
		"$CLI" -p "$BASE" cluster addslotsrange 0 5460 >/dev/null
		"$CLI" -p $((BASE + 1)) cluster addslotsrange 5461 10922 >/dev/null
		"$CLI" -p $((BASE + 2)) cluster addslotsrange 10923 16383 >/dev/null
		# Distinct config epochs 1-3, as redis-cli --cluster create gives.
		for p in $BASE $((BASE + 1)) $((BASE + 2)); do
			"$CLI" -p "$p" cluster bumpepoch >/dev/null
		done
	fi
	k=0
	while [ $k -lt $((3 * REPLICAS)) ]; do
		rp=$((BASE + 3 + k))
		mp=$((BASE + k % 3))
		mid=$("$CLI" -p "$mp" cluster myid | tr -d '\r')
		if ! "$CLI" -p "$rp" cluster nodes | grep myself | grep -q slave; then
			"$CLI" -p "$rp" cluster replicate "$mid" >/dev/null
		fi
		k=$((k + 1))
	done
	i=0
	for p in $PORTS; do
		until "$CLI" -p "$p" cluster info | grep -q '^cluster_state:ok'; do
			i=$((i + 1))
			[ $i -le $((WAIT * 10)) ] || { echo "cluster: node $p not in state ok" >&2; exit 1; }
			sleep 0.1
		done
	done
}

status() {
	for p in $ALLPORTS; do
		d="$ROOT/$p"
		if pid_alive "$d/skiff.pid"; then
			s=$("$BIN" admin status --addr "127.0.0.1:$(admin_port "$p")" --timeout 2s 2>&1 || true)
			state=$(echo "$s" | sed -n 's/^  "state": "\(.*\)",/\1/p')
			term=$(echo "$s" | sed -n 's/^  "term": \(.*\),/\1/p')
			commit=$(echo "$s" | sed -n 's/^  "commit_index": \(.*\),/\1/p')
			echo "node $p pid $(cat "$d/skiff.pid"): ${state:-unreachable} term ${term:--} commit ${commit:--}"
		else
			echo "node $p: not running"
		fi
	done
	for p in $ALLPORTS; do
		if pid_alive "$ROOT/$p/skiff.pid"; then
			"$BIN" admin status --addr "127.0.0.1:$(admin_port "$p")" --timeout 2s 2>/dev/null |
				sed -n '/"members"/,$p'
			break
		fi
	done
}

stop() {
	for p in $ALLPORTS; do
		f="$ROOT/$p/skiff.pid"
		if pid_alive "$f"; then
			kill "$(cat "$f")"
		fi
	done
	for p in $ALLPORTS; do
		f="$ROOT/$p/skiff.pid"
		i=0
		while pid_alive "$f" && [ $i -lt 100 ]; do
			i=$((i + 1))
			sleep 0.1
		done
		if pid_alive "$f"; then
			echo "node $p did not stop in 10s; sending SIGKILL" >&2
			kill -9 "$(cat "$f")"
		fi
		rm -f "$f"
	done
	echo "cluster stopped"
}

case "${1:-}" in
start) start ;;
status) status ;;
stop) stop ;;
clean)
	stop
	rm -rf "$ROOT"
	echo "removed $ROOT"
	;;
*)
	echo "usage: $0 start|status|stop|clean" >&2
	exit 2
	;;
esac
