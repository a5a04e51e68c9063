package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Redis 7.0's options that Skiff accepts, with Redis's defaults. Options
// that other packages own (cluster, raft, persistence) register themselves.
func init() {
	yes, no := "yes", "no"
	b := func(name, def string, aliases ...string) Option {
		return Option{Name: name, Kind: KindBool, Default: def, Aliases: aliases}
	}
	i := func(name, def string, min, max int64, aliases ...string) Option {
		return Option{Name: name, Kind: KindInt, Default: def, Min: min, Max: max, Aliases: aliases}
	}
	m := func(name, def string, aliases ...string) Option {
		return Option{Name: name, Kind: KindMemory, Default: def, Aliases: aliases}
	}
	s := func(name, def string, aliases ...string) Option {
		return Option{Name: name, Kind: KindString, Default: def, Aliases: aliases}
	}
	e := func(name, def string, vals ...string) Option {
		return Option{Name: name, Kind: KindEnum, Default: def, Enum: vals}
	}
	imm := func(o Option) Option { o.Immutable = true; return o }
	denyLoading := func(o Option) Option { o.DenyLoading = true; return o }
	protected := func(o Option) Option { o.Protected = true; return o }

	Register(
		// port and bind rebind the listeners when set at run time
		// (node/listen.go), as in Redis.
		i("port", "6379", 0, 65535),
		Option{Name: "bind", Kind: KindSpecial, Default: "* -::*", Parse: parseBind},
		// The local address of outgoing connections (replication, MIGRATE).
		s("bind-source-addr", ""),
		b("protected-mode", yes),
		protected(denyLoading(s("dir", "."))),
		protected(s("dbfilename", "dump.rdb")),
		s("requirepass", ""),
		s("masterauth", ""),
		s("masteruser", ""),
		imm(i("databases", "16", 1, 1<<31-1)),
		i("maxclients", "10000", 1, 1<<31-1),
		i("timeout", "0", 0, 1<<31-1),
		i("tcp-keepalive", "300", 0, 1<<31-1),
		imm(i("tcp-backlog", "511", 0, 1<<31-1)),
		e("loglevel", "notice", "debug", "verbose", "notice", "warning", "nothing"),
		imm(s("logfile", "")),
		// Skiff's own (Redis 7.0 has no log format option): "json" writes
		// hclog JSON lines (@level, @message, @timestamp, ...) for log
		// shippers. Fixed at start-up, as logfile is.
		imm(e("log-format", "text", "text", "json")),
		m("proto-max-bulk-len", "536870912"),
		m("client-query-buffer-limit", "1073741824"),
		imm(b("daemonize", no)),
		imm(s("pidfile", "")),
		imm(e("enable-debug-command", "no", "no", "yes", "local")),
		imm(e("enable-protected-configs", "no", "no", "yes", "local")),
		imm(e("enable-module-command", "no", "no", "yes", "local")),
		// Redis takes any hz from 0 to INT_MAX and caps it to 1..500.
		func() Option {
			o := i("hz", "10", 0, 1<<31-1)
			o.Parse = func(v string) (string, error) {
				n, _ := strconv.ParseInt(v, 10, 64)
				return strconv.FormatInt(min(max(n, 1), 500), 10), nil
			}
			return o
		}(),
		b("dynamic-hz", yes),
		i("active-expire-effort", "1", 1, 10),
		b("lazyfree-lazy-eviction", no),
		b("lazyfree-lazy-expire", no),
		b("lazyfree-lazy-server-del", no),
		b("lazyfree-lazy-user-del", no),
		b("lazyfree-lazy-user-flush", no),
		imm(b("io-threads-do-reads", no)),
		imm(i("io-threads", "1", 1, 128)),
		m("maxmemory", "0"),
		e("maxmemory-policy", "noeviction", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"),
		i("maxmemory-samples", "5", 1, 64),
		i("maxmemory-eviction-tenacity", "10", 0, 100),
		i("lfu-log-factor", "10", 0, 1<<31-1),
		i("lfu-decay-time", "1", 0, 1<<31-1),
		i("slowlog-log-slower-than", "10000", -1, 1<<63-1),
		i("slowlog-max-len", "128", 0, 1<<63-1),
		i("latency-monitor-threshold", "0", 0, 1<<63-1),
		s("notify-keyspace-events", ""),
		Option{Name: "hash-max-listpack-entries", Kind: KindMemory, Default: "512", Aliases: []string{"hash-max-ziplist-entries"}},
		Option{Name: "hash-max-listpack-value", Kind: KindMemory, Default: "64", Aliases: []string{"hash-max-ziplist-value"}},
		Option{Name: "list-max-listpack-size", Kind: KindInt, Default: "-2", Min: -5, Max: 1<<31 - 1, Aliases: []string{"list-max-ziplist-size"}},
		i("list-compress-depth", "0", 0, 1<<31-1),
		m("set-max-intset-entries", "512"),
		m("set-max-listpack-entries", "128"),
		m("set-max-listpack-value", "64"),
		m("zset-max-listpack-entries", "128", "zset-max-ziplist-entries"),
		m("zset-max-listpack-value", "64", "zset-max-ziplist-value"),
		m("hll-sparse-max-bytes", "3000"),
		m("stream-node-max-bytes", "4096"),
		i("stream-node-max-entries", "100", 0, 1<<31-1),
		b("activerehashing", yes),
		b("activedefrag", no),
		denyLoading(b("appendonly", no)),
		Option{Name: "save", Kind: KindSpecial, Default: "3600 1 300 100 60 10000", Multi: true, Parse: parseSave},
		b("rdbcompression", yes),
		b("rdbchecksum", yes),
		b("stop-writes-on-bgsave-error", yes),
		b("rdb-del-sync-files", no),
		// clients: sanitize what clients send (RESTORE), not what the
		// master or the AOF holds. Skiff's decoder checks everything in
		// every case (docs/config.md).
		e("sanitize-dump-payload", "no", "no", "yes", "clients"),
		// Changed at run time by REPLICAOF/SLAVEOF only (SetByServer).
		imm(Option{Name: "replicaof", Kind: KindSpecial, Aliases: []string{"slaveof"}, Parse: parseReplicaOf}),
		b("replica-read-only", yes, "slave-read-only"),
		b("replica-serve-stale-data", yes, "slave-serve-stale-data"),
		// yes: a replica with maxmemory never evicts by itself; its
		// dataset stays an exact copy and shrinks by its master's DELs.
		b("replica-ignore-maxmemory", yes, "slave-ignore-maxmemory"),
		i("replica-priority", "100", 0, 1<<31-1, "slave-priority"),
		m("repl-backlog-size", "1048576"),
		i("repl-backlog-ttl", "3600", 0, 1<<31-1),
		i("repl-timeout", "60", 1, 1<<31-1),
		i("repl-ping-replica-period", "10", 1, 1<<31-1, "repl-ping-slave-period"),
		b("repl-diskless-sync", yes),
		i("repl-diskless-sync-delay", "5", 0, 1<<31-1),
		i("repl-diskless-sync-max-replicas", "0", 0, 1<<31-1),
		denyLoading(e("repl-diskless-load", "disabled", "disabled", "on-empty-db", "swapdb")),
		b("repl-disable-tcp-nodelay", no),
		i("min-replicas-to-write", "0", 0, 1<<31-1, "min-slaves-to-write"),
		i("min-replicas-max-lag", "10", 0, 1<<31-1, "min-slaves-max-lag"),
		s("replica-announce-ip", "", "slave-announce-ip"),
		i("replica-announce-port", "0", 0, 65535, "slave-announce-port"),
		b("replica-announced", yes),
		b("cluster-enabled", no),
		i("cluster-node-timeout", "15000", 0, 1<<63-1),
		s("cluster-config-file", "nodes.conf"),
		b("cluster-require-full-coverage", yes),
		b("cluster-allow-reads-when-down", no),
		i("cluster-port", "0", 0, 65535),
		s("cluster-announce-ip", ""),
		Option{Name: "client-output-buffer-limit", Kind: KindSpecial, Default: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", Parse: parseCOBL},
		b("lua-replicate-commands", yes),
		b("latency-tracking", yes),
		b("crash-log-enabled", yes),
		b("crash-memcheck-enabled", yes),
		b("always-show-logo", no),
		b("set-proc-title", yes),
		s("proc-title-template", "{title} {listen-addr} {server-mode}"),
		e("oom-score-adj", "no", "no", "yes", "relative", "absolute"),
		Option{Name: "oom-score-adj-values", Kind: KindSpecial, Default: "0 200 800", Parse: parseOOMScoreAdjValues},
		i("acllog-max-len", "128", 0, 1<<63-1),
		s("aclfile", ""),
		e("acl-pubsub-default", "resetchannels", "allchannels", "resetchannels"),
		e("propagation-error-behavior", "ignore", "ignore", "panic", "panic-on-replicas"),
		imm(s("unixsocket", "")),
		// Octal as in Redis (redis.conf's example is "unixsocketperm 700");
		// the value is stored and shown as octal digits, read with Octal.
		imm(Option{Name: "unixsocketperm", Kind: KindSpecial, Default: "0", Parse: parseOctalPerm}),
		imm(e("supervised", "no", "upstart", "systemd", "auto", "no")),
		b("jemalloc-bg-thread", yes),
		i("active-defrag-cycle-min", "1", 1, 99),
		i("active-defrag-cycle-max", "25", 1, 99),
		i("tracking-table-max-keys", "1000000", 0, 1<<63-1),
		b("disable-thp", yes),
		s("ignore-warnings", ""),
		i("busy-reply-threshold", "5000", 0, 1<<63-1, "lua-time-limit"),
		i("shutdown-timeout", "10", 0, 1<<31-1),
		Option{Name: "shutdown-on-sigint", Kind: KindSpecial, Default: "default", Parse: parseShutdownOnSig},
		Option{Name: "shutdown-on-sigterm", Kind: KindSpecial, Default: "default", Parse: parseShutdownOnSig},
		s("locale-collate", ""),
		i("max-new-connections-per-cycle", "10", 1, 1000),
		b("aof-use-rdb-preamble", yes),
		b("aof-load-truncated", yes),
		b("aof-timestamp-enabled", no),
		s("appendfilename", "appendonly.aof"),
		imm(s("appenddirname", "appendonlydir")),
		e("appendfsync", "everysec", "always", "everysec", "no"),
		b("no-appendfsync-on-rewrite", no),
		i("auto-aof-rewrite-percentage", "100", 0, 1<<31-1),
		m("auto-aof-rewrite-min-size", "67108864"),
		b("aof-rewrite-incremental-fsync", yes),
		b("rdb-save-incremental-fsync", yes),
	)
}

// shutdownSigFlags are the words of shutdown-on-sigint/-sigterm in
// Redis's order, which is also the order CONFIG GET prints them in.
var shutdownSigFlags = []string{"save", "nosave", "now", "force"}

// parseShutdownOnSig reads a set of shutdown flags as Redis's multi-word
// enum does: each word one of default, save, nosave, now, force (default
// adds nothing), at least one word, and not both save and nosave. The
// stored form is Redis's: the flags in the order above, or "default".
func parseShutdownOnSig(v string) (string, error) {
	words := strings.Fields(v)
	if len(words) == 0 {
		return "", fmt.Errorf("argument(s) must be one of the following: default, save, nosave, now, force")
	}
	set := map[string]bool{}
	for _, w := range words {
		w = strings.ToLower(w)
		if w == "default" {
			continue
		}
		ok := false
		for _, f := range shutdownSigFlags {
			ok = ok || f == w
		}
		if !ok {
			return "", fmt.Errorf("argument(s) must be one of the following: default, save, nosave, now, force")
		}
		set[w] = true
	}
	if set["save"] && set["nosave"] {
		return "", fmt.Errorf("shutdown options SAVE and NOSAVE can't be used simultaneously")
	}
	var out []string
	for _, f := range shutdownSigFlags {
		if set[f] {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return "default", nil
	}
	return strings.Join(out, " "), nil
}

// ShutdownFlags are the flags of a shutdown-on-sigint/-sigterm value, as
// SHUTDOWN's arguments.
type ShutdownFlags struct{ Save, NoSave, Now, Force bool }

// ParseShutdownFlags reads a stored shutdown-on-sigint/-sigterm value.
func ParseShutdownFlags(v string) ShutdownFlags {
	var f ShutdownFlags
	for _, w := range strings.Fields(v) {
		switch w {
		case "save":
			f.Save = true
		case "nosave":
			f.NoSave = true
		case "now":
			f.Now = true
		case "force":
			f.Force = true
		}
	}
	return f
}

// parseOOMScoreAdjValues checks oom-score-adj-values as Redis does: three
// integers (master, replica, background child), each within -2000..2000,
// read as strtoll does (leading blanks and a sign allowed, an empty
// element being 0).
func parseOOMScoreAdjValues(v string) (string, error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return "", fmt.Errorf("wrong number of arguments")
	}
	out := make([]string, 3)
	for i, x := range f {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil || n < -2000 || n > 2000 {
			return "", fmt.Errorf("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
		}
		out[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(out, " "), nil
}

// parseOctalPerm reads a permission as Redis's OCTAL_CONFIG numbers do
// (strtoll in base 8: leading blanks, a sign and a 0 prefix allowed, the
// empty string being 0) and returns it as octal digits, within 0..0777.
func parseOctalPerm(v string) (string, error) {
	n := int64(0)
	if v != "" {
		var err error
		n, err = strconv.ParseInt(strings.TrimLeft(v, " \t\n\v\f\r"), 8, 64)
		if err != nil {
			return "", fmt.Errorf("argument couldn't be parsed as an octal number")
		}
	}
	if n < 0 || n > 0777 {
		return "", fmt.Errorf("argument must be between 0 and 777 inclusive")
	}
	return strconv.FormatInt(n, 8), nil
}

// Octal returns an option kept as octal digits (unixsocketperm) as a
// number, e.g. 0700 for "700".
func (c *Config) Octal(name string) int64 {
	n, _ := strconv.ParseInt(c.String(name), 8, 64)
	return n
}

// parseReplicaOf accepts "" (a master) or "<host> <port>".
func parseReplicaOf(v string) (string, error) {
	f := strings.Fields(v)
	switch len(f) {
	case 0:
		return "", nil
	case 2:
		return f[0] + " " + f[1], nil
	}
	return "", fmt.Errorf("Bad directive or wrong number of arguments")
}

func parseBind(v string) (string, error) {
	f := strings.Fields(v)
	// An empty value means no address: no TCP listener (Redis's single
	// empty argument).
	if len(f) > 16 {
		return "", fmt.Errorf("Too many bind addresses specified.")
	}
	return strings.Join(f, " "), nil
}

// parseSave accepts "" or pairs of "<seconds> <changes>".
func parseSave(v string) (string, error) {
	f := strings.Fields(v)
	if len(f)%2 != 0 {
		return "", fmt.Errorf("Invalid save parameters")
	}
	for _, x := range f {
		if n, err := strconv.ParseInt(x, 10, 64); err != nil || n < 0 {
			return "", fmt.Errorf("Invalid save parameters")
		}
	}
	return strings.Join(f, " "), nil
}

// parseCOBL accepts "<class> <hard> <soft> <soft-seconds>" groups and
// merges them into the full three-class value.
func parseCOBL(v string) (string, error) {
	f := strings.Fields(v)
	if len(f)%4 != 0 || len(f) == 0 {
		return "", fmt.Errorf("Wrong number of arguments in buffer limit configuration.")
	}
	classes := map[string][3]int64{
		"normal": {0, 0, 0},
		"slave":  {268435456, 67108864, 60},
		"pubsub": {33554432, 8388608, 60},
	}
	for i := 0; i < len(f); i += 4 {
		class := strings.ToLower(f[i])
		if class == "replica" {
			class = "slave"
		}
		if _, ok := classes[class]; !ok {
			return "", fmt.Errorf("Invalid client class specified in buffer limit configuration.")
		}
		hard, err1 := ParseMemory(f[i+1])
		soft, err2 := ParseMemory(f[i+2])
		secs, err3 := strconv.ParseInt(f[i+3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || hard < 0 || soft < 0 || secs < 0 {
			return "", fmt.Errorf("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
		}
		classes[class] = [3]int64{hard, soft, secs}
	}
	var parts []string
	for _, c := range []string{"normal", "slave", "pubsub"} {
		l := classes[c]
		parts = append(parts, fmt.Sprintf("%s %d %d %d", c, l[0], l[1], l[2]))
	}
	return strings.Join(parts, " "), nil
}
