package node

import (
	"sort"
	"strconv"
	"strings"

	"github.com/skiffdb/skiff/internal/glob"
)

func init() {
	register(&Command{Name: "command", Arity: -1, Flags: "loading stale", Group: "server", Since: "2.8.13", Summary: "Returns detailed information about all commands.", Complexity: "O(N) where N is the total number of Redis commands", ACL: []string{"connection"}, Handler: cmdCommand})
	registerSub("command",
		&Command{Name: "count", Arity: 2, Flags: "loading stale", Group: "server", Since: "2.8.13", Summary: "Returns a count of commands.", Complexity: "O(1)", ACL: []string{"connection"}, Handler: cmdCommandCount},
		&Command{Name: "info", Arity: -2, Flags: "loading stale", Group: "server", Since: "2.8.13", Summary: "Returns information about one, multiple or all commands.", Complexity: "O(N) where N is the number of commands to look up", ACL: []string{"connection"}, Handler: cmdCommandInfo},
		&Command{Name: "docs", Arity: -2, Flags: "loading stale", Group: "server", Since: "7.0.0", Summary: "Returns documentary information about one, multiple or all commands.", Complexity: "O(N) where N is the number of commands to look up", ACL: []string{"connection"}, Handler: cmdCommandDocs},
		&Command{Name: "list", Arity: -2, Flags: "loading stale", Group: "server", Since: "7.0.0", Summary: "Returns a list of command names.", Complexity: "O(N) where N is the total number of Redis commands", ACL: []string{"connection"}, Handler: cmdCommandList},
		&Command{Name: "getkeys", Arity: -4, Flags: "loading stale", Group: "server", Since: "2.8.13", Summary: "Extracts the key names from an arbitrary command.", Complexity: "O(N) where N is the number of arguments to the command", ACL: []string{"connection"}, Handler: cmdCommandGetKeys},
		&Command{Name: "getkeysandflags", Arity: -4, Flags: "loading stale", Group: "server", Since: "7.0.0", Summary: "Extracts the key names and access flags for an arbitrary command.", Complexity: "O(N) where N is the number of arguments to the command", ACL: []string{"connection"}, Handler: cmdCommandGetKeysAndFlags},
		&Command{Name: "help", Arity: 2, Flags: "loading stale", Group: "server", Since: "5.0.0", Summary: "Returns helpful text about the different subcommands.", Complexity: "O(1)", ACL: []string{"connection"}, Handler: cmdCommandHelp},
	)
}

// replyFlagOrder is the order (and the subset) in which Redis 7.0 lists
// command flags; may_replicate and protected are hidden on purpose.
var replyFlagOrder = []string{"write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
	"blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
	"no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys", "allow_busy"}

// aclCategoryOrder is Redis's table of ACL categories, in reply order.
var aclCategoryOrder = []string{"keyspace", "read", "write", "set", "sortedset", "list", "hash",
	"string", "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
	"blocking", "dangerous", "connection", "transaction", "scripting"}

// groupCategory is the ACL category implied by a command's group.
var groupCategory = map[string]string{
	"generic": "keyspace", "string": "string", "list": "list", "set": "set",
	"sorted-set": "sortedset", "zset": "sortedset", "hash": "hash", "pubsub": "pubsub",
	"transactions": "transaction", "connection": "connection", "scripting": "scripting",
	"hyperloglog": "hyperloglog", "geo": "geo", "stream": "stream", "bitmap": "bitmap",
}

// aclNoGroup are commands whose ACL categories do not include their
// group's (WAIT is in @connection, not @keyspace; SORT in the categories
// of the types it reads).
var aclNoGroup = map[string]bool{"wait": true, "pubsub|help": true, "sort": true, "sort_ro": true}

// aclCategories derives a command's ACL categories as Redis does from
// its flags, adding those of its group and its explicit extras.
func aclCategories(cmd *Command) []string {
	set := map[string]bool{}
	// A container (CLIENT, OBJECT, PUBSUB...) has no category of its own
	// beyond what its flags imply; neither have a few commands whose
	// categories do not follow their group.
	container := cmd.Subcommands != nil && cmd.Handler == nil
	if g, ok := groupCategory[cmd.Group]; ok && !container && !aclNoGroup[cmd.FullName()] {
		set[g] = true
	}
	for _, a := range cmd.ACL {
		set[strings.TrimPrefix(a, "@")] = true
	}
	if cmd.Has(FlagWrite) {
		set["write"] = true
	}
	if cmd.Has(FlagReadonly) && !set["scripting"] {
		set["read"] = true
	}
	if cmd.Has(FlagAdmin) {
		set["admin"] = true
		set["dangerous"] = true
	}
	if cmd.Has(FlagPubSub) {
		set["pubsub"] = true
	}
	if cmd.Has(FlagFast) {
		set["fast"] = true
	}
	if cmd.Has(FlagBlocking) {
		set["blocking"] = true
	}
	if !set["fast"] {
		set["slow"] = true
	}
	var out []string
	for _, name := range aclCategoryOrder {
		if set[name] {
			out = append(out, name)
		}
	}
	return out
}

// commandTips are Redis 7.0's command tips (for cluster-aware clients):
// output determinism and how a proxy splits and merges a command.
var commandTips = map[string][]string{
	"client|info":         []string{"nondeterministic_output"},
	"client|list":         []string{"nondeterministic_output"},
	"command":             []string{"nondeterministic_output_order"},
	"command|docs":        []string{"nondeterministic_output_order"},
	"command|info":        []string{"nondeterministic_output_order"},
	"command|list":        []string{"nondeterministic_output_order"},
	"config|set":          []string{"request_policy:all_nodes", "response_policy:all_succeeded"},
	"dbsize":              []string{"request_policy:all_shards", "response_policy:agg_sum"},
	"del":                 []string{"request_policy:multi_shard", "response_policy:agg_sum"},
	"exists":              []string{"request_policy:multi_shard", "response_policy:agg_sum"},
	"flushall":            []string{"request_policy:all_shards", "response_policy:all_succeeded"},
	"flushdb":             []string{"request_policy:all_shards", "response_policy:all_succeeded"},
	"function|delete":     []string{"request_policy:all_shards", "response_policy:all_succeeded"},
	"function|flush":      []string{"request_policy:all_shards", "response_policy:all_succeeded"},
	"function|list":       []string{"nondeterministic_output_order"},
	"function|stats":      []string{"nondeterministic_output", "request_policy:all_shards", "response_policy:special"},
	"hgetall":             []string{"nondeterministic_output_order"},
	"hkeys":               []string{"nondeterministic_output_order"},
	"hrandfield":          []string{"nondeterministic_output"},
	"hscan":               []string{"nondeterministic_output"},
	"hvals":               []string{"nondeterministic_output_order"},
	"info":                []string{"nondeterministic_output", "request_policy:all_shards", "response_policy:special"},
	"keys":                []string{"request_policy:all_shards", "nondeterministic_output_order"},
	"lastsave":            []string{"nondeterministic_output"},
	"latency|history":     []string{"nondeterministic_output", "request_policy:all_nodes", "response_policy:special"},
	"latency|latest":      []string{"nondeterministic_output", "request_policy:all_nodes", "response_policy:special"},
	"latency|reset":       []string{"request_policy:all_nodes", "response_policy:all_succeeded"},
	"memory|doctor":       []string{"nondeterministic_output", "request_policy:all_shards", "response_policy:special"},
	"memory|malloc-stats": []string{"nondeterministic_output", "request_policy:all_shards", "response_policy:special"},
	"memory|purge":        []string{"request_policy:all_shards", "response_policy:all_succeeded"},
	"memory|stats":        []string{"nondeterministic_output", "request_policy:all_shards", "response_policy:special"},
	"mget":                []string{"request_policy:multi_shard"},
	"mset":                []string{"request_policy:multi_shard", "response_policy:all_succeeded"},
	"msetnx":              []string{"request_policy:multi_shard", "response_policy:agg_min"},
	"object|encoding":     []string{"nondeterministic_output"},
	"object|freq":         []string{"nondeterministic_output"},
	"object|idletime":     []string{"nondeterministic_output"},
	"object|refcount":     []string{"nondeterministic_output"},
	"ping":                []string{"request_policy:all_shards", "response_policy:all_succeeded"},
	"pttl":                []string{"nondeterministic_output"},
	"randomkey":           []string{"request_policy:all_shards", "nondeterministic_output"},
	"scan":                []string{"nondeterministic_output", "request_policy:special"},
	"sdiff":               []string{"nondeterministic_output_order"},
	"sinter":              []string{"nondeterministic_output_order"},
	"slowlog|get":         []string{"request_policy:all_nodes", "nondeterministic_output"},
	"slowlog|len":         []string{"request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"},
	"slowlog|reset":       []string{"request_policy:all_nodes", "response_policy:all_succeeded"},
	"smembers":            []string{"nondeterministic_output_order"},
	"spop":                []string{"nondeterministic_output"},
	"srandmember":         []string{"nondeterministic_output"},
	"sscan":               []string{"nondeterministic_output"},
	"sunion":              []string{"nondeterministic_output_order"},
	"time":                []string{"nondeterministic_output"},
	"touch":               []string{"request_policy:multi_shard", "response_policy:agg_sum"},
	"ttl":                 []string{"nondeterministic_output"},
	"unlink":              []string{"request_policy:multi_shard", "response_policy:agg_sum"},
	"zrandmember":         []string{"nondeterministic_output"},
	"zscan":               []string{"nondeterministic_output"},
	"xadd":                []string{"nondeterministic_output"},
	"xtrim":               []string{"nondeterministic_output"},
	"xpending":            []string{"nondeterministic_output"},
	"xclaim":              []string{"nondeterministic_output"},
	"xautoclaim":          []string{"nondeterministic_output"},
	"xinfo|consumers":     []string{"nondeterministic_output"},
}

// keySpec is Redis 7's description of where a command's keys are.
type keySpec struct {
	notes string
	flags []string
	// begin_search: an index, or a keyword searched from startFrom.
	index     int
	keyword   string
	startFrom int
	// find_keys: a range (lastKey relative to the begin, keyStep, limit)
	// or a key count at keyNumIdx followed by keys from firstKey.
	keyNum                     bool
	lastKey, keyStep, limit    int
	keyNumIdx, firstKey, kStep int
}

// keySpecOverrides hold the specs of commands whose keys a plain
// first/last/step range cannot describe, or whose flags differ from the
// default for their read/write kind.
var keySpecOverrides = map[string][]keySpec{
	"set":               {{notes: "RW and ACCESS due to the optional `GET` argument", flags: []string{"RW", "access", "update", "variable_flags"}, index: 1, keyStep: 1}},
	"mset":              {{flags: []string{"OW", "update"}, index: 1, lastKey: -1, keyStep: 2}},
	"msetnx":            {{flags: []string{"OW", "insert"}, index: 1, lastKey: -1, keyStep: 2}},
	"setex":             {{flags: []string{"OW", "update"}, index: 1, keyStep: 1}},
	"psetex":            {{flags: []string{"OW", "update"}, index: 1, keyStep: 1}},
	"setnx":             {{flags: []string{"OW", "insert"}, index: 1, keyStep: 1}},
	"del":               {{flags: []string{"RM", "delete"}, index: 1, lastKey: -1, keyStep: 1}},
	"unlink":            {{flags: []string{"RM", "delete"}, index: 1, lastKey: -1, keyStep: 1}},
	"getdel":            {{flags: []string{"RW", "access", "delete"}, index: 1, keyStep: 1}},
	"append":            {{flags: []string{"RW", "insert"}, index: 1, keyStep: 1}},
	"lpush":             {{flags: []string{"RW", "insert"}, index: 1, keyStep: 1}},
	"rpush":             {{flags: []string{"RW", "insert"}, index: 1, keyStep: 1}},
	"lmove":             {{flags: []string{"RW", "access", "delete"}, index: 1, keyStep: 1}, {flags: []string{"RW", "insert"}, index: 2, keyStep: 1}},
	"blmove":            {{flags: []string{"RW", "access", "delete"}, index: 1, keyStep: 1}, {flags: []string{"RW", "insert"}, index: 2, keyStep: 1}},
	"rpoplpush":         {{flags: []string{"RW", "access", "delete"}, index: 1, keyStep: 1}, {flags: []string{"RW", "insert"}, index: 2, keyStep: 1}},
	"eval":              {{notes: "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE", flags: []string{"RW", "access", "update"}, index: 2, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"evalsha":           {{flags: []string{"RW", "access", "update"}, index: 2, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"eval_ro":           {{flags: []string{"RO", "access"}, index: 2, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"evalsha_ro":        {{flags: []string{"RO", "access"}, index: 2, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"fcall":             {{flags: []string{"RW", "access", "update"}, index: 2, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"fcall_ro":          {{flags: []string{"RO", "access"}, index: 2, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"zunionstore":       {{flags: []string{"OW", "update"}, index: 1, keyStep: 1}, {flags: []string{"RO", "access"}, index: 2, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"zinterstore":       {{flags: []string{"OW", "update"}, index: 1, keyStep: 1}, {flags: []string{"RO", "access"}, index: 2, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"zdiffstore":        {{flags: []string{"OW", "update"}, index: 1, keyStep: 1}, {flags: []string{"RO", "access"}, index: 2, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"zunion":            {{flags: []string{"RO", "access"}, index: 1, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"zinter":            {{flags: []string{"RO", "access"}, index: 1, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"zdiff":             {{flags: []string{"RO", "access"}, index: 1, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"zintercard":        {{flags: []string{"RO", "access"}, index: 1, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"sintercard":        {{flags: []string{"RO", "access"}, index: 1, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"lmpop":             {{flags: []string{"RW", "access", "delete"}, index: 1, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"zmpop":             {{flags: []string{"RW", "access", "delete"}, index: 1, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"blmpop":            {{flags: []string{"RW", "access", "delete"}, index: 2, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"bzmpop":            {{flags: []string{"RW", "access", "delete"}, index: 2, keyNum: true, keyNumIdx: 0, firstKey: 1, kStep: 1}},
	"xread":             {{flags: []string{"RO", "access"}, keyword: "STREAMS", startFrom: 1, lastKey: -1, keyStep: 1, limit: 2}},
	"xreadgroup":        {{flags: []string{"RW", "access"}, keyword: "STREAMS", startFrom: 4, lastKey: -1, keyStep: 1, limit: 2}},
	"sort":              {{flags: []string{"RO", "access"}, index: 1, keyStep: 1}, {notes: "For the optional STORE keyword.", flags: []string{"OW", "update"}}},
	"sort_ro":           {{flags: []string{"RO", "access"}, index: 1, keyStep: 1}},
	"migrate":           {{flags: []string{"RW", "access", "delete"}, index: 3, keyStep: 1}, {flags: []string{"RW", "access", "delete", "incomplete"}, keyword: "KEYS", startFrom: -2, lastKey: -1, keyStep: 1}},
	"georadius":         {{flags: []string{"RO", "access"}, index: 1, keyStep: 1}, {flags: []string{"OW", "update"}, keyword: "STORE", startFrom: 6, keyStep: 1}, {flags: []string{"OW", "update"}, keyword: "STOREDIST", startFrom: 6, keyStep: 1}},
	"georadiusbymember": {{flags: []string{"RO", "access"}, index: 1, keyStep: 1}, {flags: []string{"OW", "update"}, keyword: "STORE", startFrom: 5, keyStep: 1}, {flags: []string{"OW", "update"}, keyword: "STOREDIST", startFrom: 5, keyStep: 1}},
}

// getKeysProcs extract keys where the specs alone cannot (Redis's
// getkeys_proc): they run when a command's specs have variable flags
// (SET, BITFIELD), are incomplete (SORT's STORE, MIGRATE's KEYS) or do
// not fit the arguments (a bad numkeys).
var getKeysProcs = map[string]func(args [][]byte) []keyRef{
	// SET only overwrites its key unless GET asks for the old value.
	"set": func(args [][]byte) []keyRef {
		for _, a := range args[3:] {
			if strings.EqualFold(string(a), "get") {
				return []keyRef{{pos: 1, flags: []string{"RW", "access", "update"}}}
			}
		}
		return []keyRef{{pos: 1, flags: []string{"OW", "update"}}}
	},
	// SORT's STORE key is the last STORE's argument; LIMIT, GET and BY
	// arguments are skipped.
	"sort": func(args [][]byte) []keyRef {
		keys := []keyRef{{pos: 1, flags: []string{"RO", "access"}}}
		store := 0
		for i := 2; i < len(args); i++ {
			switch {
			case eqFold(args[i], "limit"):
				i += 2
			case eqFold(args[i], "get"), eqFold(args[i], "by"):
				i++
			case eqFold(args[i], "store") && i+1 < len(args):
				store = i + 1
			}
		}
		if store > 0 {
			keys = append(keys, keyRef{pos: store, flags: []string{"OW", "update"}})
		}
		return keys
	},
	"sort_ro": func(args [][]byte) []keyRef { return []keyRef{{pos: 1, flags: []string{"RO", "access"}}} },
	"migrate": func(args [][]byte) []keyRef {
		first, num := 3, 1
		if len(args) > 6 {
		scan:
			for i := 6; i < len(args); i++ {
				switch {
				case eqFold(args[i], "keys"):
					if len(args[3]) > 0 {
						num = 0 // a syntax error MIGRATE reports itself
					} else {
						first, num = i+1, len(args)-i-1
					}
					break scan
				case eqFold(args[i], "auth"):
					i++
				case eqFold(args[i], "auth2"):
					i += 2
				}
			}
		}
		keys := make([]keyRef, num)
		for i := range keys {
			keys[i] = keyRef{pos: first + i, flags: []string{"RW", "access", "delete"}}
		}
		return keys
	},
	"georadius":         georadiusKeys,
	"georadiusbymember": georadiusKeys,
	"xread":             xreadKeys,
	"xreadgroup":        xreadKeys,
}

// Commands whose getkeys_proc is Redis's genericGetKeys: a key count
// (atoi) and the keys after it, plus a destination key for the STORE
// forms; the keys carry no flags.
func init() {
	for name, g := range map[string][4]int{
		"sintercard": {0, 1, 2, 1}, "zintercard": {0, 1, 2, 1},
		"zunion": {0, 1, 2, 1}, "zinter": {0, 1, 2, 1}, "zdiff": {0, 1, 2, 1},
		"zunionstore": {1, 2, 3, 1}, "zinterstore": {1, 2, 3, 1}, "zdiffstore": {1, 2, 3, 1},
		"eval": {0, 2, 3, 1}, "evalsha": {0, 2, 3, 1}, "eval_ro": {0, 2, 3, 1}, "evalsha_ro": {0, 2, 3, 1},
		"fcall": {0, 2, 3, 1}, "fcall_ro": {0, 2, 3, 1},
		"lmpop": {0, 1, 2, 1}, "zmpop": {0, 1, 2, 1}, "blmpop": {0, 2, 3, 1}, "bzmpop": {0, 2, 3, 1},
	} {
		g := g
		getKeysProcs[name] = func(args [][]byte) []keyRef { return genericKeys(g[0], g[1], g[2], g[3], args) }
	}
}

// genericKeys is Redis's genericGetKeys: no key when the count is not
// positive or more keys than arguments are announced.
func genericKeys(storeAt, countAt, first, step int, args [][]byte) []keyRef {
	if countAt >= len(args) {
		return nil
	}
	num := atoiPrefix(args[countAt])
	if num < 1 || num > (len(args)-first)/step {
		return nil
	}
	keys := make([]keyRef, 0, num+1)
	for i := 0; i < num; i++ {
		keys = append(keys, keyRef{pos: first + i*step})
	}
	if storeAt > 0 {
		keys = append(keys, keyRef{pos: storeAt})
	}
	return keys
}

// atoiPrefix is C's atoi: optional blanks and sign, then digits up to
// the first non-digit; 0 when there are none.
func atoiPrefix(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	n := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int(b[i]-'0')
		if n > 1<<31 {
			n = 1 << 31
		}
	}
	if neg {
		return -n
	}
	return n
}

func georadiusKeys(args [][]byte) []keyRef {
	stored := -1
	for i := 5; i < len(args); i++ {
		if (eqFold(args[i], "store") || eqFold(args[i], "storedist")) && i+1 < len(args) {
			stored = i + 1
			i++
		}
	}
	keys := []keyRef{{pos: 1}}
	if stored > 0 {
		keys = append(keys, keyRef{pos: stored})
	}
	return keys
}

func xreadKeys(args [][]byte) []keyRef {
	streams := -1
scan:
	for i := 1; i < len(args); i++ {
		switch {
		case eqFold(args[i], "block"), eqFold(args[i], "count"):
			i++
		case eqFold(args[i], "group"):
			i += 2
		case eqFold(args[i], "noack"):
		case eqFold(args[i], "streams"):
			streams = i
			break scan
		default:
			break scan
		}
	}
	if streams < 0 {
		return nil
	}
	num := len(args) - streams - 1
	if num == 0 || num%2 != 0 {
		return nil
	}
	num /= 2
	keys := make([]keyRef, 0, num)
	for i := streams + 1; i < len(args)-num; i++ {
		keys = append(keys, keyRef{pos: i})
	}
	return keys
}

// keySpecs returns a command's key specs: Redis 7.0's (generated from
// redis-server's COMMAND reply), else an override, else one range spec
// derived from FirstKey/LastKey/Step.
func keySpecs(cmd *Command) []keySpec {
	if info, ok := redis70Commands[cmd.FullName()]; ok && cmd.Group != "sentinel" {
		return info.specs
	}
	if ks, ok := keySpecOverrides[cmd.FullName()]; ok {
		return ks
	}
	if cmd.FirstKey <= 0 {
		return nil
	}
	last := cmd.LastKey
	if last >= 0 {
		last -= cmd.FirstKey
	}
	flags := []string{"RW", "access", "update"}
	if cmd.Has(FlagReadonly) {
		flags = []string{"RO", "access"}
	}
	step := cmd.Step
	if step == 0 {
		step = 1
	}
	return []keySpec{{flags: flags, index: cmd.FirstKey, lastKey: last, keyStep: step}}
}

// movableKeys reports whether a command's key positions depend on its
// arguments (Redis's movablekeys flag).
func movableKeys(cmd *Command) bool {
	if _, ok := getKeysProcs[cmd.FullName()]; ok && !variableFlagsOnly(cmd) {
		return true
	}
	for _, ks := range keySpecs(cmd) {
		if ks.keyNum || ks.keyword != "" {
			return true
		}
	}
	return false
}

// variableFlagsOnly reports whether a command's getkeys function only
// refines key flags (key spec flag variable_flags) while positions stay
// fixed, so the command is not movablekeys.
func variableFlagsOnly(cmd *Command) bool {
	for _, ks := range keySpecs(cmd) {
		for _, f := range ks.flags {
			if f == "variable_flags" {
				return true
			}
		}
	}
	return false
}

// keyRef is one key found in a command line: its argument index and the
// key spec's flags.
type keyRef struct {
	pos   int
	flags []string
}

// hasFlag reports whether a key spec has a flag.
func (ks *keySpec) hasFlag(f string) bool {
	for _, x := range ks.flags {
		if x == f {
			return true
		}
	}
	return false
}

// hasKeys is Redis's doesCommandHaveKeys: a getkeys function, or a key
// spec that is not marked not_key (SPUBLISH's channel is not a key).
func hasKeys(cmd *Command) bool {
	if getKeysProcs[cmd.FullName()] != nil {
		return true
	}
	specs := keySpecs(cmd)
	for i := range specs {
		if !specs[i].hasFlag("not_key") {
			return true
		}
	}
	return false
}

// commandKeys finds the keys of a full command line as Redis's
// getKeysFromCommandWithSpecs does: from the key specs unless one has
// variable flags or they do not fit the arguments (or are incomplete),
// then from the command's getkeys function. ok is false when no key was
// found that way.
func commandKeys(cmd *Command, args [][]byte) (keys []keyRef, ok bool) {
	specs := keySpecs(cmd)
	hasSpec, varFlags := false, false
	for i := range specs {
		if !specs[i].hasFlag("not_key") {
			hasSpec = true
		}
		if specs[i].hasFlag("variable_flags") {
			varFlags = true
		}
	}
	if hasSpec && !varFlags {
		if keys, ok := keysFromSpecs(specs, args); ok {
			return keys, len(keys) > 0
		}
	}
	if proc := getKeysProcs[cmd.FullName()]; proc != nil {
		keys := proc(args)
		return keys, len(keys) > 0
	}
	return nil, false
}

// keysFromSpecs is Redis's getKeysUsingKeySpecs; ok is false when a spec
// does not fit the arguments or is incomplete.
func keysFromSpecs(specs []keySpec, args [][]byte) (keys []keyRef, ok bool) {
	argc := len(args)
	for si := range specs {
		ks := &specs[si]
		if ks.hasFlag("not_key") {
			continue
		}
		first := 0
		switch {
		case ks.keyword != "":
			start, end := ks.startFrom, argc-1
			if start <= 0 {
				start, end = argc+ks.startFrom, 1
			}
			for i := start; i != end; {
				if i >= argc || i < 1 {
					break
				}
				if strings.EqualFold(string(args[i]), ks.keyword) {
					first = i + 1
					break
				}
				if start <= end {
					i++
				} else {
					i--
				}
			}
			if first == 0 {
				continue // keyword not found
			}
		case ks.index > 0:
			first = ks.index
		default:
			return nil, false // unknown begin_search
		}
		var last, step int
		switch {
		case ks.keyNum:
			step = ks.kStep
			ni := first + ks.keyNumIdx
			if ks.keyNumIdx >= argc || ni >= argc {
				return nil, false
			}
			n, err := strconv.ParseInt(string(args[ni]), 10, 64)
			if err != nil || n < 0 || n > 1<<31 {
				return nil, false
			}
			first += ks.firstKey
			last = first + int(n) - 1
		case ks.index > 0 || ks.keyword != "":
			step = ks.keyStep
			switch {
			case ks.lastKey >= 0:
				last = first + ks.lastKey
			case ks.limit == 0:
				last = argc + ks.lastKey
			default:
				last = first + ((argc-first)/ks.limit + ks.lastKey)
			}
		default:
			return nil, false
		}
		if last >= argc || last < first || first >= argc {
			return nil, false
		}
		if step <= 0 {
			step = 1
		}
		for i := first; i <= last; i += step {
			keys = append(keys, keyRef{pos: i, flags: ks.flags})
		}
		if ks.hasFlag("incomplete") {
			return nil, false
		}
	}
	return keys, true
}

// lookupCommandPath finds "get" or "config|get" (case-insensitive) in the
// server-mode table.
func lookupCommandPath(name string) *Command { return lookupCommandPathIn(commands, name) }

// lookupCommandPathIn finds "get" or "config|get" (case-insensitive) in a
// command table.
func lookupCommandPathIn(table map[string]*Command, name string) *Command {
	parts := strings.Split(strings.ToLower(name), "|")
	if len(parts) > 2 {
		return nil
	}
	cmd := table[parts[0]]
	if cmd == nil || len(parts) == 1 {
		return cmd
	}
	return cmd.Subcommands[parts[1]]
}

func sortedSubcommands(cmd *Command) []*Command {
	out := make([]*Command, 0, len(cmd.Subcommands))
	for _, s := range cmd.Subcommands {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c *Client) replyCommandInfo(cmd *Command) {
	if cmd == nil {
		c.w.AppendNull()
		return
	}
	c.w.AppendArray(10)
	c.w.AppendBulkString(cmd.FullName())
	c.w.AppendInt(int64(cmd.Arity))
	declared := map[string]bool{}
	for _, f := range cmd.FlagList() {
		declared[f] = true
	}
	if movableKeys(cmd) {
		declared["movablekeys"] = true
	}
	var flags []string
	for _, f := range replyFlagOrder {
		if declared[f] {
			flags = append(flags, f)
		}
	}
	c.w.AppendSet(len(flags))
	for _, f := range flags {
		c.w.AppendSimple(f)
	}
	c.w.AppendInt(int64(cmd.FirstKey))
	c.w.AppendInt(int64(cmd.LastKey))
	c.w.AppendInt(int64(cmd.Step))
	cats := aclCategories(cmd)
	c.w.AppendSet(len(cats))
	for _, cat := range cats {
		c.w.AppendSimple("@" + cat)
	}
	tips := commandTips[cmd.FullName()]
	c.w.AppendSet(len(tips))
	for _, t := range tips {
		c.w.AppendBulkString(t)
	}
	specs := keySpecs(cmd)
	c.w.AppendSet(len(specs))
	for _, ks := range specs {
		c.replyKeySpec(ks)
	}
	if cmd.Subcommands == nil {
		c.w.AppendSet(0)
		return
	}
	subs := sortedSubcommands(cmd)
	c.w.AppendArray(len(subs))
	for _, s := range subs {
		c.replyCommandInfo(s)
	}
}

func (c *Client) replyKeySpec(ks keySpec) {
	n := 3
	if ks.notes != "" {
		n++
	}
	c.w.AppendMap(n)
	if ks.notes != "" {
		c.w.AppendBulkString("notes")
		c.w.AppendBulkString(ks.notes)
	}
	c.w.AppendBulkString("flags")
	c.w.AppendSet(len(ks.flags))
	for _, f := range ks.flags {
		c.w.AppendSimple(f)
	}
	c.w.AppendBulkString("begin_search")
	c.w.AppendMap(2)
	c.w.AppendBulkString("type")
	switch {
	case ks.keyword != "":
		c.w.AppendBulkString("keyword")
		c.w.AppendBulkString("spec")
		c.w.AppendMap(2)
		c.w.AppendBulkString("keyword")
		c.w.AppendBulkString(ks.keyword)
		c.w.AppendBulkString("startfrom")
		c.w.AppendInt(int64(ks.startFrom))
	case ks.index > 0:
		c.w.AppendBulkString("index")
		c.w.AppendBulkString("spec")
		c.w.AppendMap(1)
		c.w.AppendBulkString("index")
		c.w.AppendInt(int64(ks.index))
	default:
		c.w.AppendBulkString("unknown")
		c.w.AppendBulkString("spec")
		c.w.AppendMap(0)
	}
	c.w.AppendBulkString("find_keys")
	c.w.AppendMap(2)
	c.w.AppendBulkString("type")
	switch {
	case ks.keyNum:
		c.w.AppendBulkString("keynum")
		c.w.AppendBulkString("spec")
		c.w.AppendMap(3)
		c.w.AppendBulkString("keynumidx")
		c.w.AppendInt(int64(ks.keyNumIdx))
		c.w.AppendBulkString("firstkey")
		c.w.AppendInt(int64(ks.firstKey))
		c.w.AppendBulkString("keystep")
		c.w.AppendInt(int64(ks.kStep))
	case ks.index > 0 || ks.keyword != "":
		c.w.AppendBulkString("range")
		c.w.AppendBulkString("spec")
		c.w.AppendMap(3)
		c.w.AppendBulkString("lastkey")
		c.w.AppendInt(int64(ks.lastKey))
		c.w.AppendBulkString("keystep")
		c.w.AppendInt(int64(ks.keyStep))
		c.w.AppendBulkString("limit")
		c.w.AppendInt(int64(ks.limit))
	default:
		c.w.AppendBulkString("unknown")
		c.w.AppendBulkString("spec")
		c.w.AppendMap(0)
	}
}

func cmdCommand(c *Client, args [][]byte) {
	all := sortedCommands(c.srv.cmds)
	c.w.AppendArray(len(all))
	for _, cmd := range all {
		c.replyCommandInfo(cmd)
	}
}

func cmdCommandCount(c *Client, args [][]byte) { c.replyInt(int64(len(c.srv.cmds))) }

func cmdCommandInfo(c *Client, args [][]byte) {
	if len(args) == 2 {
		cmdCommand(c, args)
		return
	}
	c.w.AppendArray(len(args) - 2)
	for _, a := range args[2:] {
		c.replyCommandInfo(lookupCommandPathIn(c.srv.cmds, string(a)))
	}
}

// docGroup is the group name COMMAND DOCS reports.
func docGroup(g string) string {
	if g == "zset" {
		return "sorted-set"
	}
	return g
}

func (c *Client) replyCommandDocs(cmd *Command) {
	n := 1
	if cmd.Summary != "" {
		n++
	}
	if cmd.Since != "" {
		n++
	}
	if cmd.Complexity != "" {
		n++
	}
	if cmd.Subcommands != nil {
		n++
	}
	c.w.AppendMap(n)
	if cmd.Summary != "" {
		c.w.AppendBulkString("summary")
		c.w.AppendBulkString(cmd.Summary)
	}
	if cmd.Since != "" {
		c.w.AppendBulkString("since")
		c.w.AppendBulkString(cmd.Since)
	}
	c.w.AppendBulkString("group")
	c.w.AppendBulkString(docGroup(cmd.Group))
	if cmd.Complexity != "" {
		c.w.AppendBulkString("complexity")
		c.w.AppendBulkString(cmd.Complexity)
	}
	if cmd.Subcommands != nil {
		c.w.AppendBulkString("subcommands")
		subs := sortedSubcommands(cmd)
		c.w.AppendMap(len(subs))
		for _, s := range subs {
			c.w.AppendBulkString(s.FullName())
			c.replyCommandDocs(s)
		}
	}
}

func cmdCommandDocs(c *Client, args [][]byte) {
	var list []*Command
	if len(args) == 2 {
		list = sortedCommands(c.srv.cmds)
	} else {
		for _, a := range args[2:] {
			if cmd := lookupCommandPathIn(c.srv.cmds, string(a)); cmd != nil {
				list = append(list, cmd)
			}
		}
	}
	c.w.AppendMap(len(list))
	for _, cmd := range list {
		c.w.AppendBulkString(cmd.FullName())
		c.replyCommandDocs(cmd)
	}
}

func cmdCommandList(c *Client, args [][]byte) {
	var filterType, filterArg string
	for i := 2; i < len(args); i++ {
		if strings.EqualFold(string(args[i]), "filterby") && len(args)-1-i == 2 {
			filterType = strings.ToLower(string(args[i+1]))
			if filterType != "module" && filterType != "aclcat" && filterType != "pattern" {
				c.replySyntax()
				return
			}
			filterArg = string(args[i+2])
			i += 2
			continue
		}
		c.replySyntax()
		return
	}
	keep := func(cmd *Command) bool {
		switch filterType {
		case "module":
			return false
		case "aclcat":
			want := strings.ToLower(filterArg)
			for _, cat := range aclCategories(cmd) {
				if cat == want {
					return true
				}
			}
			return false
		case "pattern":
			return glob.Match(filterArg, cmd.FullName(), true)
		}
		return true
	}
	var names []string
	for _, cmd := range sortedCommands(c.srv.cmds) {
		if keep(cmd) {
			names = append(names, cmd.FullName())
		}
		for _, s := range sortedSubcommands(cmd) {
			if keep(s) {
				names = append(names, s.FullName())
			}
		}
	}
	c.w.AppendArray(len(names))
	for _, n := range names {
		c.w.AppendBulkString(n)
	}
}

// getKeysTarget resolves the command line given to COMMAND GETKEYS,
// replying with Redis's error when it cannot be used.
func (c *Client) getKeysTarget(line [][]byte) (*Command, []keyRef, bool) {
	cmd := c.srv.cmds[strings.ToLower(string(line[0]))]
	if cmd != nil && cmd.Subcommands != nil && len(line) >= 2 {
		if sub := cmd.Subcommands[strings.ToLower(string(line[1]))]; sub != nil {
			cmd = sub
		} else if cmd.Handler == nil {
			cmd = nil
		}
	}
	if cmd == nil {
		c.replyError("ERR Invalid command specified")
		return nil, nil, false
	}
	if !hasKeys(cmd) {
		c.replyError("ERR The command has no key arguments")
		return nil, nil, false
	}
	if !arityOK(cmd.Arity, len(line)) {
		c.replyError("ERR Invalid number of arguments specified for command")
		return nil, nil, false
	}
	keys, ok := commandKeys(cmd, line)
	if !ok || len(keys) == 0 {
		if cmd.Has(FlagNoMandatoryKeys) {
			return cmd, nil, true
		}
		c.replyError("ERR Invalid arguments specified for command")
		return nil, nil, false
	}
	return cmd, keys, true
}

func cmdCommandGetKeys(c *Client, args [][]byte) {
	_, keys, ok := c.getKeysTarget(args[2:])
	if !ok {
		return
	}
	c.w.AppendArray(len(keys))
	for _, k := range keys {
		c.w.AppendBulk(args[2+k.pos])
	}
}

func cmdCommandGetKeysAndFlags(c *Client, args [][]byte) {
	_, keys, ok := c.getKeysTarget(args[2:])
	if !ok {
		return
	}
	c.w.AppendArray(len(keys))
	for _, k := range keys {
		c.w.AppendArray(2)
		c.w.AppendBulk(args[2+k.pos])
		c.w.AppendSet(len(k.flags))
		for _, f := range k.flags {
			c.w.AppendSimple(f)
		}
	}
}

func cmdCommandHelp(c *Client, args [][]byte) {
	c.replyHelp([]string{
		"(no subcommand)",
		"    Return details about all Redis commands.",
		"COUNT",
		"    Return the total number of commands in this Redis server.",
		"LIST",
		"    Return a list of all commands in this Redis server.",
		"INFO [<command-name> ...]",
		"    Return details about multiple Redis commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"DOCS [<command-name> ...]",
		"    Return documentation details about multiple Redis commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"GETKEYS <full-command>",
		"    Return the keys from a full Redis command.",
		"GETKEYSANDFLAGS <full-command>",
		"    Return the keys and the access flags from a full Redis command.",
	})
}
