package integration

// Generators for connection and introspection commands: CONFIG GET of
// common options, COMMAND COUNT/INFO of commands both servers have, ECHO,
// PING, HELLO, CLIENT SETNAME/GETNAME and their errors.

import (
	"errors"
	"fmt"
	"math/rand"
)

// serverCommonCommands exist in both servers; COMMAND INFO compares their
// name, arity, flags, legacy key positions and ACL categories.
var serverCommonCommands = []string{"get", "set", "mget", "mset", "incr", "decrby", "ping", "echo",
	"select", "auth", "hello", "client|setname", "client|getname", "config|get", "command|info", "time"}

// serverConfigNames are options whose defaults both servers share.
var serverConfigNames = []string{"maxmemory", "maxmemory-policy", "timeout", "databases", "hz",
	"appendonly", "slowlog-max-len", "proto-max-bulk-len", "lfu-log-factor", "list-compress-depth",
	"repl-backlog-size", "nosuchoption", "MAXMEMORY"}

func init() {
	// DEBUG PROTOCOL: every RESP type, in whichever protocol the area is
	// running (push is left out: it is followed by a second reply).
	registerGen("server", "debug-protocol", 2, func(r *rand.Rand, k *Keys) []string {
		types := []string{"string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "verbatim", "true", "false", "bogus"}
		return []string{"DEBUG", "PROTOCOL", types[r.Intn(len(types))]}
	})
	registerGen("server", "config-get", 6, func(r *rand.Rand, k *Keys) []string {
		argv := []string{coreCase(r, "CONFIG"), coreCase(r, "GET")}
		for n := 1 + r.Intn(2); n > 0; n-- {
			argv = append(argv, serverConfigNames[r.Intn(len(serverConfigNames))])
		}
		return argv
	})
	registerUnordered("config get")
	registerGen("server", "config-bad", 2, func(r *rand.Rand, k *Keys) []string {
		cases := [][]string{
			{"CONFIG"}, {"CONFIG", "GET"}, {"CONFIG", "SET", "maxmemory"}, {"CONFIG", "SET", "nosuch", "1"},
			{"CONFIG", "SET", "maxmemory", "1", "maxmemory", "2"}, {"CONFIG", "SET", "maxmemory", "abc"},
			{"CONFIG", "SET", "a", "b", "c"}, {"CONFIG", "NOSUCH"}, {"CONFIG", "SET", "daemonize", "yes"},
		}
		return cases[r.Intn(len(cases))]
	})
	registerGen("server", "command-count", 1, func(r *rand.Rand, k *Keys) []string {
		return []string{"COMMAND", "COUNT"}
	})
	// Skiff does not implement every command yet, so only the shape counts.
	registerNondeterministic("command count", func(sk, rd Reply) error {
		if sk.Type != ':' || sk.Int <= 0 {
			return fmt.Errorf("COMMAND COUNT: %s", sk)
		}
		return nil
	})
	registerGen("server", "command-info", 3, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"COMMAND", "INFO"}
		for n := 1 + r.Intn(3); n > 0; n-- {
			argv = append(argv, serverCommonCommands[r.Intn(len(serverCommonCommands))])
		}
		if r.Intn(5) == 0 {
			argv = append(argv, "nosuchcommand")
		}
		return argv
	})
	registerNondeterministic("command info", compareCommandInfo)
	registerGen("server", "command-getkeys", 2, func(r *rand.Rand, k *Keys) []string {
		cases := [][]string{
			{"COMMAND", "GETKEYS", "GET", k.Key(r)},
			{"COMMAND", "GETKEYS", "MSET", k.Key(r), "v", k.Key(r), "w"},
			{"COMMAND", "GETKEYS", "PING"},
			{"COMMAND", "GETKEYS", "NOSUCH", "x"},
			{"COMMAND", "GETKEYS", "GET"},
			{"COMMAND", "GETKEYSANDFLAGS", "SET", k.Key(r), "v"},
			{"COMMAND", "GETKEYSANDFLAGS", "SET", k.Key(r), "v", "GET"},
			{"COMMAND", "GETKEYSANDFLAGS", "MGET", k.Key(r), k.Key(r)},
		}
		return cases[r.Intn(len(cases))]
	})
	registerGen("server", "echo-ping", 3, func(r *rand.Rand, k *Keys) []string {
		switch r.Intn(4) {
		case 0:
			return []string{"ECHO", coreValue(r)}
		case 1:
			return []string{"PING", coreValue(r)}
		case 2:
			return []string{"PING", "a", "b"}
		}
		return []string{"ECHO"}
	})
	registerGen("server", "hello", 2, func(r *rand.Rand, k *Keys) []string {
		cases := [][]string{
			{"HELLO", "2"}, {"HELLO", "4"}, {"HELLO", "1"}, {"HELLO", "abc"}, {"HELLO", "2", "SETNAME", "x y"},
			{"HELLO", "2", "FOO"}, {"HELLO", "2", "AUTH", "default"}, {"HELLO", "2", "AUTH", "bob", "pw"},
			{"HELLO", "2", "SETNAME", "conn-" + fmt.Sprint(r.Intn(3))},
		}
		return cases[r.Intn(len(cases))]
	})
	// HELLO carries the connection id, which differs between servers.
	registerNondeterministic("hello", compareHello)
	registerGen("server", "client-name", 4, func(r *rand.Rand, k *Keys) []string {
		switch r.Intn(5) {
		case 0, 1:
			return []string{"CLIENT", "GETNAME"}
		case 2:
			names := []string{"app", "", "has space", "nl\n", "x-1", "é"}
			return []string{"CLIENT", "SETNAME", names[r.Intn(len(names))]}
		case 3:
			return []string{"CLIENT", "SETNAME"}
		}
		return []string{"CLIENT", "NOSUCH"}
	})
	registerGen("server", "client-misc", 2, func(r *rand.Rand, k *Keys) []string {
		cases := [][]string{
			{"CLIENT", "NO-EVICT", "on"}, {"CLIENT", "NO-EVICT", "off"}, {"CLIENT", "NO-EVICT", "maybe"},
			{"CLIENT", "KILL", "id", "0"}, {"CLIENT", "KILL", "type", "bogus"}, {"CLIENT", "KILL", "user", "nobody"},
			{"CLIENT", "KILL", "skipme", "maybe"}, {"CLIENT", "KILL", "1.2.3.4:5"}, {"CLIENT", "KILL", "id", "999999"},
			{"CLIENT", "LIST", "TYPE", "bogus"}, {"CLIENT", "LIST", "ID", "abc"}, {"CLIENT", "LIST", "bad"},
			{"CLIENT", "REPLY", "maybe"}, {"AUTH", "pw"}, {"AUTH", "default", "pw"}, {"AUTH", "a", "b", "c"},
			{"DEBUG", "NOSUCH"}, {"TIME", "x"}, {"FUNCTION", "FLUSH"}, {"FUNCTION", "FLUSH", "bad"},
		}
		return cases[r.Intn(len(cases))]
	})
}

// compareCommandInfo compares the first eight fields of every COMMAND
// INFO entry (name, arity, flags, first/last key, step, ACL categories,
// tips); key specs and subcommands are compared by count only, as Skiff
// derives its key specs and Redis hand-writes them.
func compareCommandInfo(sk, rd Reply) error {
	if sk.Type != rd.Type || len(sk.Elems) != len(rd.Elems) {
		return fmt.Errorf("shape differs")
	}
	for i := range rd.Elems {
		s, r := sk.Elems[i], rd.Elems[i]
		if r.Null || s.Null {
			if r.Null != s.Null {
				return fmt.Errorf("entry %d: null differs", i)
			}
			continue
		}
		if len(s.Elems) != 10 || len(r.Elems) != 10 {
			return fmt.Errorf("entry %d: %d fields, want 10", i, len(s.Elems))
		}
		for f := 0; f < 8; f++ {
			if !sameMultiset(s.Elems[f], r.Elems[f]) {
				return fmt.Errorf("entry %s field %d: %s vs %s", r.Elems[0].Str, f, s.Elems[f], r.Elems[f])
			}
		}
		for f := 8; f < 10; f++ {
			if len(s.Elems[f].Elems) != len(r.Elems[f].Elems) {
				return fmt.Errorf("entry %s field %d: %d elements, want %d", r.Elems[0].Str, f, len(s.Elems[f].Elems), len(r.Elems[f].Elems))
			}
		}
	}
	return nil
}

// compareHello accepts HELLO replies that are equal except for the id.
func compareHello(sk, rd Reply) error {
	if rd.IsError() || sk.IsError() {
		if !sk.Equal(rd) {
			return errors.New("errors differ")
		}
		return nil
	}
	if len(sk.Elems) != len(rd.Elems) || sk.Type != rd.Type {
		return errors.New("shape differs")
	}
	for i := 0; i+1 < len(rd.Elems); i += 2 {
		if rd.Elems[i].Str == "id" {
			if sk.Elems[i+1].Type != ':' {
				return errors.New("id is not an integer")
			}
			continue
		}
		if !sk.Elems[i].Equal(rd.Elems[i]) || !sk.Elems[i+1].Equal(rd.Elems[i+1]) {
			return fmt.Errorf("field %s differs", rd.Elems[i].Str)
		}
	}
	return nil
}
