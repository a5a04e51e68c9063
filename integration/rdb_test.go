package integration

// Interop of RDB files between redis-server 7.0 and skiff: a file written
// by either loads into the other with every key, value, TTL and encoding
// intact, skiff's files pass redis-check-rdb, DEBUG RELOAD keeps the
// dataset, and a corrupt file stops skiff from starting.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pipeline sends every command and reads every reply, failing on errors.
func pipeline(t *testing.T, c *Conn, cmds [][]string) {
	t.Helper()
	var buf []byte
	for _, argv := range cmds {
		buf = EncodeCommand(buf, argv...)
	}
	if err := c.WriteRaw(buf); err != nil {
		t.Fatal(err)
	}
	for _, argv := range cmds {
		r, err := c.Read()
		if err != nil {
			t.Fatalf("%s: %v", fmtArgv(argv), err)
		}
		if r.IsError() {
			t.Fatalf("%s: %s", fmtArgv(argv), r.Str)
		}
	}
}

// populateAllTypes fills databases 0, 3 and 15 with every type in each of
// its encodings, small and large, with and without TTLs.
func populateAllTypes(t *testing.T, c *Conn) {
	t.Helper()
	long := func(ch string, n int) string { return strings.Repeat(ch, n) }
	cmds := [][]string{
		{"SELECT", "0"},
		{"SET", "s:int", "12345"}, {"SET", "s:neg", "-7"}, {"SET", "s:int64", "9223372036854775807"},
		{"SET", "s:emb", "hello"}, {"SET", "s:raw", long("x", 100)}, {"SET", "s:bin", "a\x00b\r\n\xff"},
		{"SET", "s:compressible", long("abcdefgh", 500)}, {"SET", "s:empty", ""},
		{"SET", "s:ttl", "v", "PX", "900000000"}, {"SET", "s:ttlsoon", "v", "EX", "100000"},
		{"PFADD", "hll", "a", "b", "c"},
		{"RPUSH", "l:small", "a", "1", "-2", "300", "70000", "5000000000", ""},
		{"RPUSH", "l:long", long("q", 10000), "short"},
		{"SADD", "set:int16", "1", "2", "-3"}, {"SADD", "set:int32", "1", "70000"}, {"SADD", "set:int64", "1", "5000000000"},
		{"SADD", "set:str", "a", "b", "12"},
		{"HSET", "h:small", "f1", "v1", "f2", "2", "n", "3.5"},
		{"HSET", "h:longval", "f", long("y", 200)},
		{"ZADD", "z:small", "1", "a", "2.5", "b", "-3", "c", "inf", "pinf", "-inf", "ninf", "0", "zero", "1e-300", "tiny"},
		{"ZADD", "z:longmem", "1", long("z", 100)},
		{"PEXPIRE", "h:small", "800000000"},
		{"DEBUG", "POPULATE", "300", "pop", "20"},
		{"SELECT", "3"},
		{"SET", "db3key", "x"}, {"RPUSH", "db3list", "a", "b"}, {"PEXPIRE", "db3list", "700000000"},
		{"SELECT", "15"},
		{"SET", "db15", "last"},
		{"SELECT", "0"},
	}
	for i := 0; i < 3000; i++ {
		cmds = append(cmds, []string{"RPUSH", "l:big", fmt.Sprintf("elem-%d-%d", i, i*7919)})
	}
	for i := 0; i < 1000; i++ {
		cmds = append(cmds, []string{"SADD", "set:bigint", strconv.Itoa(i * 3)}, []string{"SADD", "set:bigstr", "m" + strconv.Itoa(i)})
	}
	for i := 0; i < 600; i++ {
		cmds = append(cmds, []string{"HSET", "h:big", "f" + strconv.Itoa(i), "v" + strconv.Itoa(i)})
	}
	for i := 0; i < 400; i++ {
		cmds = append(cmds, []string{"ZADD", "z:big", strconv.Itoa(i) + ".25", "m" + strconv.Itoa(i)})
	}
	pipeline(t, c, cmds)
}

// keyState reads one key through commands into a canonical string: type,
// encoding, value (sets and hashes sorted) and TTL rounded to minutes.
func keyState(t *testing.T, c *Conn, key string) string {
	t.Helper()
	typ := c.MustDo(t, "TYPE", key).Str
	enc := c.MustDo(t, "OBJECT", "ENCODING", key).String()
	var val Reply
	sorted := false
	switch typ {
	case "string":
		val = c.MustDo(t, "GET", key)
	case "list":
		val = c.MustDo(t, "LRANGE", key, "0", "-1")
	case "set":
		val, sorted = c.MustDo(t, "SMEMBERS", key), true
	case "hash":
		val, sorted = c.MustDo(t, "HGETALL", key), true
	case "zset":
		val = c.MustDo(t, "ZRANGE", key, "0", "-1", "WITHSCORES")
	default:
		t.Fatalf("%s: unexpected type %q", key, typ)
	}
	v := val.String()
	if sorted {
		var parts []string
		step := 1
		if typ == "hash" {
			step = 2
		}
		for i := 0; i+step <= len(val.Elems); i += step {
			var p []string
			for _, e := range val.Elems[i : i+step] {
				p = append(p, e.String())
			}
			parts = append(parts, strings.Join(p, "="))
		}
		sort.Strings(parts)
		v = strings.Join(parts, " ")
	}
	pttl := c.MustDo(t, "PTTL", key).Int
	ttl := "none"
	if pttl >= 0 {
		// Files record absolute times; the servers read their clocks a
		// little apart, so compare at minute resolution.
		ttl = strconv.FormatInt((pttl+30000)/60000, 10) + "min"
	}
	return fmt.Sprintf("%s %s ttl=%s %s", typ, enc, ttl, v)
}

// datasetState reads every key of databases 0..15.
func datasetState(t *testing.T, s *Server) map[string]string {
	t.Helper()
	c := s.Dial(t)
	defer c.Close()
	out := map[string]string{}
	for db := 0; db < 16; db++ {
		c.MustDo(t, "SELECT", strconv.Itoa(db))
		for _, k := range c.MustDo(t, "KEYS", "*").Elems {
			out[strconv.Itoa(db)+"/"+k.Str] = keyState(t, c, k.Str)
		}
	}
	return out
}

func compareDatasets(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d keys, want %d", what, len(got), len(want))
	}
	n := 0
	for k, w := range want {
		if g := got[k]; g != w {
			if len(g) > 300 {
				g = g[:300] + "..."
			}
			if len(w) > 300 {
				w = w[:300] + "..."
			}
			t.Errorf("%s: key %s:\n got  %s\n want %s", what, k, g, w)
			if n++; n > 10 {
				t.Fatal("too many differences")
			}
		}
	}
}

// reloadedState is the dataset of s as it reads after s saves and loads
// it again (DEBUG RELOAD): loading picks encodings afresh (a string
// PFADD made "raw" loads as "embstr" in Redis too), so this is what
// another server loading the same data must show.
func reloadedState(t *testing.T, s *Server) map[string]string {
	t.Helper()
	c := s.Dial(t)
	defer c.Close()
	if r := c.MustDo(t, "DEBUG", "RELOAD"); r.Str != "OK" {
		t.Fatalf("%s DEBUG RELOAD: %s", s.Kind, r)
	}
	return datasetState(t, s)
}

func mustSave(t *testing.T, s *Server) string {
	t.Helper()
	c := s.Dial(t)
	defer c.Close()
	if r := c.MustDo(t, "SAVE"); r.Str != "OK" {
		t.Fatalf("%s SAVE: %s", s.Kind, r)
	}
	return filepath.Join(s.Dir, "dump.rdb")
}

// copyToDir copies an RDB into a fresh directory (the servers' own
// directories go away when they stop).
func copyToDir(t *testing.T, src string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dump.rdb"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRDBRedisToSkiff(t *testing.T) {
	rs := StartRedis(t)
	c := rs.Dial(t)
	populateAllTypes(t, c)
	c.Close()
	want := reloadedState(t, rs)
	dir := copyToDir(t, mustSave(t, rs))
	sk := StartSkiff(t, "--dir", dir)
	compareDatasets(t, "skiff loading redis's dump.rdb", datasetState(t, sk), want)
}

func TestRDBSkiffToRedis(t *testing.T) {
	sk := StartSkiff(t)
	c := sk.Dial(t)
	populateAllTypes(t, c)
	c.Close()
	want := reloadedState(t, sk)
	path := mustSave(t, sk)
	if bin, err := exec.LookPath("redis-check-rdb"); err == nil {
		out, err := exec.Command(bin, path).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "RDB looks OK") {
			t.Fatalf("redis-check-rdb on skiff's file: %v\n%s", err, out)
		}
	}
	dir := copyToDir(t, path)
	rs := StartRedis(t, "--dir", dir)
	compareDatasets(t, "redis loading skiff's dump.rdb", datasetState(t, rs), want)
	// And back: skiff loads its own file identically.
	sk2 := StartSkiff(t, "--dir", copyToDir(t, path))
	compareDatasets(t, "skiff reloading its own file", datasetState(t, sk2), want)
}

func TestRDBDebugReload(t *testing.T) {
	// Both servers get the same data and reload it; they must then agree
	// (encodings included: loading chooses them afresh).
	rs, sk := StartRedis(t), StartSkiff(t)
	rc := rs.Dial(t)
	populateAllTypes(t, rc)
	rc.Close()
	c := sk.Dial(t)
	defer c.Close()
	populateAllTypes(t, c)
	compareDatasets(t, "after DEBUG RELOAD", reloadedState(t, sk), reloadedState(t, rs))
	// LASTSAVE moved to the save DEBUG RELOAD made.
	if ls := c.MustDo(t, "LASTSAVE").Int; time.Since(time.Unix(ls, 0)) > time.Minute {
		t.Errorf("LASTSAVE %d is not recent", ls)
	}
	// NOSAVE loads the file as it is: a key written since is gone.
	c.MustDo(t, "SET", "after-save", "1")
	if r := c.MustDo(t, "DEBUG", "RELOAD", "NOSAVE"); r.Str != "OK" {
		t.Fatalf("DEBUG RELOAD NOSAVE: %s", r)
	}
	if r := c.MustDo(t, "EXISTS", "after-save"); r.Int != 0 {
		t.Error("DEBUG RELOAD NOSAVE kept a key the file does not hold")
	}
}

func TestRDBCorruptFileRefusesStart(t *testing.T) {
	rs := StartRedis(t)
	c := rs.Dial(t)
	populateAllTypes(t, c)
	c.Close()
	dir := copyToDir(t, mustSave(t, rs))
	path := filepath.Join(dir, "dump.rdb")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"truncated": data[:len(data)/2],
		"bit flip":  flipByte(data, len(data)-20),
	} {
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		// Bounded: a skiff that wrongly starts is killed after a while.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, skiffBin, "server", "--port", "0", "--bind", "127.0.0.1", "--dir", dir, "--save", "").CombinedOutput()
		cancel()
		if err == nil {
			t.Fatalf("%s: skiff started on a corrupt file:\n%s", name, out)
		}
		if !strings.Contains(string(out), "dump.rdb") || !strings.Contains(string(out), "offset") {
			t.Errorf("%s: error does not name the file and offset:\n%s", name, out)
		}
	}
}

func flipByte(b []byte, i int) []byte {
	out := append([]byte(nil), b...)
	out[i] ^= 0x10
	return out
}
