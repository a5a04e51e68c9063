#!/usr/bin/env bash
# Local Skiff sentinel setup on 127.0.0.1: a master and two replicas
# (`skiff server`, RESP 6380-6382) and three sentinels (`skiff sentinel`,
# 26379-26381; their raft ports 25379-25381 and admin ports 24379-24381,
# port - 1000 and - 2000), data, conf files and logs under ./.sentinel/.
# SENTINEL_BASE_PORT moves the data ports (the sentinels sit at base+19999);
# SKIFF names the binary; SENTINEL_DIR the data dir; SENTINEL_DOWN_AFTER and
# SENTINEL_FAILOVER_TIMEOUT (ms) go into a new sentinel.conf;
# SENTINEL_CONSISTENCY=strong starts the data nodes in consistency strong
# (docs/consistency.md): their replicas sync once a sentinel granted the
# master its lease, so the sentinels start first.
#   scripts/sentinel.sh start|status|stop|clean
set -euo pipefail
export LC_ALL=C

BIN=${SKIFF:-bin/skiff}
ROOT=${SENTINEL_DIR:-.sentinel}
BASE=${SENTINEL_BASE_PORT:-6380}
SBASE=$((BASE + 19999))
DATA_PORTS="$BASE $((BASE + 1)) $((BASE + 2))"
SENT_PORTS="$SBASE $((SBASE + 1)) $((SBASE + 2))"
DOWN_AFTER=${SENTINEL_DOWN_AFTER:-3000}
FAILOVER_TIMEOUT=${SENTINEL_FAILOVER_TIMEOUT:-30000}
WAIT=${SENTINEL_WAIT:-30}
CONSISTENCY=${SENTINEL_CONSISTENCY:-async}
NAME=mymaster

# resp PORT ARG...: sends one command and prints its reply, one RESP line
# per line (bulk contents as they are, without CRs).
resp() {
	local port=$1 a
	shift
	{
		exec 3<>"/dev/tcp/127.0.0.1/$port"
	} 2>/dev/null || return 1
	{
		printf '*%d\r\n' $#
		for a in "$@"; do printf '$%d\r\n%s\r\n' "${#a}" "$a"; done
	} >&3
	read_reply | tr -d '\r'
	local rc=${PIPESTATUS[0]}
	exec 3<&-
	return "$rc"
}

# read_reply: one RESP2 reply from fd 3.
read_reply() {
	local line n i data
	IFS= read -r -t 2 line <&3 || return 1
	line=${line%$'\r'}
	printf '%s\n' "$line"
	case $line in
	'$'*)
		n=${line#\$}
		if [ "$n" -ge 0 ]; then
			IFS= read -r -t 2 -N $((n + 2)) data <&3 || return 1
			printf '%s\n' "${data%$'\r\n'}"
		fi
		;;
	'*'*)
		n=${line#\*}
		for ((i = 0; i < n; i++)); do read_reply || return 1; done
		;;
	esac
}

# field NAME: the value after NAME in a flat RESP2 key/value array, or a
# NAME:value line of INFO, read from stdin.
field() {
	awk -v k="$1" '
		index($0, k ":") == 1 { print substr($0, length(k) + 2); exit }
		found { if ($0 !~ /^\$/) { print; exit } }
		$0 == k { found = 1 }'
}

# master_addr SENTINEL_PORT: "ip port" the sentinel reports, or empty.
master_addr() {
	resp "$1" SENTINEL GET-MASTER-ADDR-BY-NAME "$NAME" 2>/dev/null | grep -v '^[*$+-]' | head -2 | tr '\n' ' ' | sed 's/ $//'
}

# admin_port SENTINEL_PORT: skiff's default (sentinel.DefaultMemberPorts).
admin_port() {
	if [ "$1" -ge 3024 ]; then echo $(($1 - 2000)); else echo $(($1 + 20000)); fi
}

pid_alive() {
	[ -f "$1" ] || return 1
	local st
	st=$(ps -o stat= -p "$(cat "$1")" 2>/dev/null) || return 1
	case "$st" in Z*) return 1 ;; esac
	return 0
}

# The master the sentinels last agreed on (their rewritten sentinel.conf),
# so that a restart after a failover brings the data nodes back in that
# shape; the base port on a first start.
current_master() {
	local p c
	for p in $SENT_PORTS; do
		c="$ROOT/$p/sentinel.conf"
		if [ -f "$c" ]; then
			awk -v n="$NAME" '$1 == "sentinel" && $2 == "monitor" && $3 == n { print $5; exit }' "$c"
			return
		fi
	done
	echo "$BASE"
}

start() {
	[ -x "$BIN" ] || { echo "sentinel: $BIN not built (make build)" >&2; exit 1; }
	mkdir -p "$ROOT"
	local master p d conf i ok s
	master=$(current_master)
	for p in $DATA_PORTS; do
		d="$ROOT/$p"
		mkdir -p "$d"
		if pid_alive "$d/skiff.pid"; then
			echo "data node $p already running (pid $(cat "$d/skiff.pid"))"
			continue
		fi
		role=()
		[ "$p" = "$master" ] || role=(--replicaof 127.0.0.1 "$master")
		nohup "$BIN" server --port "$p" --bind 127.0.0.1 --dir "$PWD/$d" --repl-diskless-sync-delay 0 \
			--consistency "$CONSISTENCY" --logfile "$PWD/$d/skiff.log" "${role[@]}" >"$d/stdout.log" 2>&1 &
		echo $! >"$d/skiff.pid"
	done
	# Replicas in sync before the sentinels look (after, in strong mode).
	[ "$CONSISTENCY" = strong ] || wait_replicas "$master"
	start_sentinels
	[ "$CONSISTENCY" = strong ] && wait_replicas "$master"
	wait_sentinels
}

# wait_replicas MASTER_PORT: both replicas report their link up.
wait_replicas() {
	local master=$1 i=0 ok p
	while :; do
		ok=0
		for p in $DATA_PORTS; do
			[ "$p" = "$master" ] && continue
			[ "$(resp "$p" INFO replication 2>/dev/null | field master_link_status)" = up ] && ok=$((ok + 1))
		done
		[ $ok = 2 ] && break
		i=$((i + 1))
		if [ $i -gt $((WAIT * 10)) ]; then
			echo "sentinel: replicas of $master not in sync after ${WAIT}s; logs in $ROOT/*/skiff.log" >&2
			exit 1
		fi
		sleep 0.1
	done
}

start_sentinels() {
	local s d conf
	for s in $SENT_PORTS; do
		d="$ROOT/$s"
		mkdir -p "$d"
		conf="$d/sentinel.conf"
		if [ ! -f "$conf" ]; then
			# The same file for the three but for port; the sentinels
			# rewrite it (myid, known replicas and sentinels, epochs).
			cat >"$conf" <<CONF
port $s
bind 127.0.0.1
dir $PWD/$d
sentinel monitor $NAME 127.0.0.1 $BASE 2
sentinel down-after-milliseconds $NAME $DOWN_AFTER
sentinel failover-timeout $NAME $FAILOVER_TIMEOUT
CONF
		fi
		if pid_alive "$d/skiff.pid"; then
			echo "sentinel $s already running (pid $(cat "$d/skiff.pid"))"
			continue
		fi
		nohup "$BIN" sentinel "$PWD/$conf" >"$d/sentinel.log" 2>&1 &
		echo $! >"$d/skiff.pid"
	done
}

# wait_sentinels: the three agree on the master and each knows both
# replicas and both other sentinels.
wait_sentinels() {
	local i=0 ok s
	i=0
	while :; do
		ok=0
		local want="" m info
		for s in $SENT_PORTS; do
			m=$(master_addr "$s" || true)
			info=$(resp "$s" SENTINEL MASTER "$NAME" 2>/dev/null || true)
			if [ -n "$m" ] && { [ -z "$want" ] || [ "$m" = "$want" ]; } &&
				[ "$(echo "$info" | field num-slaves)" = 2 ] &&
				[ "$(echo "$info" | field num-other-sentinels)" = 2 ]; then
				want=$m
				ok=$((ok + 1))
			fi
		done
		# ... and form one Raft group: the same leader, three voters.
		if [ $ok = 3 ]; then
			local leaders="" st
			for s in $SENT_PORTS; do
				st=$("$BIN" admin status --addr "127.0.0.1:$(admin_port "$s")" --timeout 1s 2>/dev/null || true)
				[ "$(echo "$st" | sed -n 's/^  "voters": \(.*\),/\1/p')" = 3 ] || ok=0
				leaders="$leaders $(echo "$st" | sed -n 's/^  "leader_id": "\(.*\)",/\1/p')"
			done
			[ "$(echo $leaders | tr ' ' '\n' | sort -u | grep -c .)" = 1 ] || ok=0
		fi
		[ $ok = 3 ] && break
		i=$((i + 1))
		if [ $i -gt $((WAIT * 10)) ]; then
			echo "sentinel: the sentinels do not agree after ${WAIT}s; logs in $ROOT/*/sentinel.log" >&2
			status >&2 || true
			exit 1
		fi
		for s in $SENT_PORTS; do
			pid_alive "$ROOT/$s/skiff.pid" || {
				echo "sentinel: sentinel $s exited; see $ROOT/$s/sentinel.log" >&2
				tail -5 "$ROOT/$s/sentinel.log" >&2
				exit 1
			}
		done
		sleep 0.1
	done
	cat <<MSG
Skiff sentinel setup is up: master $want, replicas among $DATA_PORTS, sentinels $SENT_PORTS (quorum 2, down-after ${DOWN_AFTER} ms).
  master:    redis-cli -p $SBASE sentinel get-master-addr-by-name $NAME
  data:      redis-cli -p ${want#* }
  events:    redis-cli -p $SBASE psubscribe '*'
  failover:  kill -9 \$(cat $ROOT/${want#* }/skiff.pid)   then ask the sentinels again
  status:    make sentinel-status     stop: make sentinel-stop     clean: make sentinel-clean
MSG
}

status() {
	local p d r s m info st
	for p in $DATA_PORTS; do
		d="$ROOT/$p"
		if pid_alive "$d/skiff.pid"; then
			r=$(resp "$p" INFO replication 2>/dev/null || true)
			echo "data node $p pid $(cat "$d/skiff.pid"): role $(echo "$r" | field role)$(
				[ "$(echo "$r" | field role)" = slave ] && echo " of $(echo "$r" | field master_port), link $(echo "$r" | field master_link_status)")"
		else
			echo "data node $p: not running"
		fi
	done
	for s in $SENT_PORTS; do
		d="$ROOT/$s"
		if pid_alive "$d/skiff.pid"; then
			m=$(master_addr "$s" || true)
			info=$(resp "$s" SENTINEL MASTER "$NAME" 2>/dev/null || true)
			st=$("$BIN" admin status --addr "127.0.0.1:$(admin_port "$s")" --timeout 1s 2>/dev/null || true)
			echo "sentinel $s pid $(cat "$d/skiff.pid"): master ${m:-?} ($(echo "$info" | field flags)), $(echo "$info" | field num-slaves) replicas, $(echo "$info" | field num-other-sentinels) other sentinels, raft $(
				echo "$st" | sed -n 's/^  "state": "\(.*\)",/\1/p') of $(echo "$st" | sed -n 's/^  "voters": \(.*\),/\1/p') voters"
		else
			echo "sentinel $s: not running"
		fi
	done
}

stop() {
	local p f i
	for p in $SENT_PORTS $DATA_PORTS; do
		f="$ROOT/$p/skiff.pid"
		if pid_alive "$f"; then
			kill "$(cat "$f")"
		fi
	done
	for p in $SENT_PORTS $DATA_PORTS; do
		f="$ROOT/$p/skiff.pid"
		i=0
		while pid_alive "$f" && [ $i -lt 100 ]; do
			i=$((i + 1))
			sleep 0.1
		done
		if pid_alive "$f"; then
			echo "$p did not stop in 10s; sending SIGKILL" >&2
			kill -9 "$(cat "$f")"
		fi
		rm -f "$f"
	done
	echo "sentinel setup stopped"
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
