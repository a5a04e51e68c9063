package rdb

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/store"
)

const (
	fixtureLib1 = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)\n-- a longer comment to make the code compress with LZF compression compression compression"
	fixtureLib2 = "#!lua name=lib2\nredis.register_function{function_name='f2', callback=function() return 2 end, flags={'no-writes'}}"
)

// TestLoadRedisFunctions reads a file redis-server 7.0.15 saved with two
// libraries: Function sees both codes, the key still loads; without the
// hook the file is refused.
func TestLoadRedisFunctions(t *testing.T) {
	file, err := os.ReadFile("testdata/redis7-functions.rdb")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	var keys []string
	_, err = LoadHooks(bytes.NewReader(file), DefaultLimits, Hooks{Function: func(code []byte) error {
		codes = append(codes, string(code))
		return nil
	}}, func(db int, key string, obj *store.Object) error {
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(codes, "|")
	if got != fixtureLib1+"|"+fixtureLib2 && got != fixtureLib2+"|"+fixtureLib1 {
		t.Errorf("libraries %q", codes)
	}
	if len(keys) != 1 || keys[0] != "k" {
		t.Errorf("keys %q", keys)
	}
	if _, err := Load(bytes.NewReader(file), func(int, string, *store.Object) error { return nil }); err == nil {
		t.Error("a load without a Function hook accepted a library")
	}
	stop := errors.New("stop")
	if _, err := LoadHooks(bytes.NewReader(file), DefaultLimits, Hooks{Function: func([]byte) error { return stop }},
		func(int, string, *store.Object) error { return nil }); err != stop {
		t.Errorf("hook error: %v", err)
	}
}

// TestWriteFunctions: libraries written between the header and the
// first database read back (redis-server's loading of such a file is
// checked by the node's interop test).
func TestWriteFunctions(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Header(nil)
	w.Function([]byte(fixtureLib1))
	w.Function([]byte(fixtureLib2))
	w.SelectDB(0, 1, 0)
	w.Entry("k", &store.Object{Type: store.TypeString, Str: []byte("v")})
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	var codes []string
	_, err := LoadHooks(&buf, DefaultLimits, Hooks{Function: func(code []byte) error {
		codes = append(codes, string(code))
		return nil
	}}, func(int, string, *store.Object) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 2 || codes[0] != fixtureLib1 || codes[1] != fixtureLib2 {
		t.Errorf("read back %q", codes)
	}
}

func TestFunctionsDumpPayload(t *testing.T) {
	payload, err := os.ReadFile("testdata/redis7-functions.dump")
	if err != nil {
		t.Fatal(err)
	}
	codes, err := DecodeFunctions(payload, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 2 {
		t.Fatalf("%d libraries", len(codes))
	}
	// Our encoding decodes to the same codes, and Redis's bytes are
	// ours when the libraries come in the same order.
	again, err := DecodeFunctions(EncodeFunctions(codes), false)
	if err != nil || len(again) != 2 || !bytes.Equal(again[0], codes[0]) || !bytes.Equal(again[1], codes[1]) {
		t.Errorf("round trip: %q %v", again, err)
	}
	if !bytes.Equal(EncodeFunctions(codes), payload) {
		t.Logf("encoding differs from redis-server's (compression choices):\n%q\n%q", EncodeFunctions(codes), payload)
	}
	bad := bytes.Clone(payload)
	bad[3] ^= 1
	if _, err := DecodeFunctions(bad, false); err != ErrChecksum {
		t.Errorf("bad crc: %v", err)
	}
	if _, err := DecodeFunctions([]byte("bad_payload"), false); err != ErrChecksum {
		t.Errorf("bad payload: %v", err)
	}
	// A key's DUMP is not a function payload.
	key, _ := EncodeValue(&store.Object{Type: store.TypeString, Str: []byte("v")})
	if _, err := DecodeFunctions(key, false); err == nil || err.Error() != "given type is not a function" {
		t.Errorf("key payload: %v", err)
	}
	if codes, err := DecodeFunctions(EncodeFunctions(nil), false); err != nil || len(codes) != 0 {
		t.Errorf("empty payload: %q %v", codes, err)
	}
	// A truncated library.
	trunc := []byte{opFunction2, 0x10, 'a'}
	trunc = append(trunc, 0x0a, 0)
	var crc [8]byte
	full := append(trunc, crc[:]...)
	if _, err := DecodeFunctions(full, true); err == nil || err.Error() != "Failed loading library payload" {
		t.Errorf("truncated: %v", err)
	}
}

// TestLoadPreGAFunction: the FUNCTION opcode of 7.0's release candidates
// becomes the code with a shebang.
func TestLoadPreGAFunction(t *testing.T) {
	body := []byte{opFunction}
	body = appendString(body, "lib", false)
	body = appendString(body, "LUA", false)
	body = appendLen(body, 1)
	body = appendString(body, "a description", false)
	body = appendString(body, "redis.register_function('f', function() return 1 end)", false)
	payload := append(body, 10, 0)
	var crc [8]byte
	payload = append(payload, crc[:]...)
	codes, err := DecodeFunctions(payload, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := "#!LUA name=lib\nredis.register_function('f', function() return 1 end)"; len(codes) != 1 || string(codes[0]) != want {
		t.Errorf("got %q", codes)
	}
}
