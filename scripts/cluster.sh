#!/bin/sh
# Local three-node Skiff cluster on 127.0.0.1 (RESP 7001-7003, raft
# 17001-17003, admin 27001-27003), data and logs under ./.cluster/.
# CLUSTER_BASE_PORT moves the three RESP ports (and the derived ones);
# SKIFF names the binary; CLUSTER_DIR the data dir.
#   scripts/cluster.sh start|status|stop|clean
set -eu

BIN=${SKIFF:-bin/skiff}
ROOT=${CLUSTER_DIR:-.cluster}
BASE=${CLUSTER_BASE_PORT:-7001}
PORTS="$BASE $((BASE + 1)) $((BASE + 2))"
WAIT=${CLUSTER_WAIT:-30}

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
		# shellcheck disable=SC2086
		nohup "$BIN" server --port "$p" --bind 127.0.0.1 --dir "$d" --cluster-enabled yes \
			--logfile "$PWD/$d/skiff.log" $role >"$d/stdout.log" 2>&1 &
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
	# Wait until every node reports the same leader and three members.
	i=0
	while :; do
		ok=0
		for p in $PORTS; do
			s=$("$BIN" admin status --addr "127.0.0.1:$(admin_port "$p")" --timeout 1s 2>/dev/null || true)
			if echo "$s" | grep -q '"leader_id": "[0-9a-f]\{40\}"' &&
				[ "$(echo "$s" | grep -c '"suffrage": "voter"')" = 3 ]; then
				ok=$((ok + 1))
			fi
		done
		[ $ok = 3 ] && break
		i=$((i + 1))
		if [ $i -gt $((WAIT * 10)) ]; then
			echo "cluster: not healthy after ${WAIT}s; logs in $ROOT/*/skiff.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	leader=$("$BIN" admin status --addr "127.0.0.1:$(admin_port "$BASE")" | sed -n 's/.*"leader_admin_addr": "\(.*\)".*/\1/p')
	cat <<MSG
Three-node Skiff cluster is up (Raft leader's admin API: $leader).
  RESP:    redis-cli -p $BASE   ($((BASE + 1)), $((BASE + 2)))
  status:  make cluster-status   or   $BIN admin status --addr 127.0.0.1:$(admin_port "$BASE")
  stop:    make cluster-stop     clean: make cluster-clean
MSG
}

status() {
	for p in $PORTS; do
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
	for p in $PORTS; do
		if pid_alive "$ROOT/$p/skiff.pid"; then
			"$BIN" admin status --addr "127.0.0.1:$(admin_port "$p")" --timeout 2s 2>/dev/null |
				sed -n '/"members"/,$p'
			break
		fi
	done
}

stop() {
	for p in $PORTS; do
		f="$ROOT/$p/skiff.pid"
		if pid_alive "$f"; then
			kill "$(cat "$f")"
		fi
	done
	for p in $PORTS; do
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
