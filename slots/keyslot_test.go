package slots

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// refCRC16 is CRC16-XMODEM computed bit by bit, straight from the
// definition: shift each message bit in, MSB first, and divide by 0x11021.
func refCRC16(p []byte) uint16 {
	var crc uint16
	for _, b := range p {
		for i := 7; i >= 0; i-- {
			bit := (b >> i) & 1
			top := crc >> 15
			crc <<= 1
			if top^uint16(bit) != 0 {
				crc ^= 0x1021
			}
		}
	}
	return crc
}

// refKeySlot is the hash-tag rule written with the strings package.
func refKeySlot(key string) int {
	part := key
	if open := strings.Index(key, "{"); open >= 0 {
		if n := strings.Index(key[open+1:], "}"); n > 0 {
			part = key[open+1 : open+1+n]
		}
	}
	return int(refCRC16([]byte(part)) % 16384)
}

func TestCRC16(t *testing.T) {
	if got := CRC16([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("CRC16(123456789) = %#04x, want 0x31c3", got)
	}
	if got := refCRC16([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("reference CRC16(123456789) = %#04x, want 0x31c3", got)
	}
	if CRC16(nil) != 0 {
		t.Fatal("CRC16 of nothing is not 0")
	}
}

// TestCRC16Lengths compares the sliced CRC with the bitwise one over
// every length around the 8-byte steps.
func TestCRC16Lengths(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 100; n++ {
		for range 20 {
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(r.Uint32())
			}
			if got, want := CRC16(p), refCRC16(p); got != want {
				t.Fatalf("CRC16(%x) = %#04x, bitwise %#04x", p, got, want)
			}
		}
	}
}

func TestKeySlot(t *testing.T) {
	for _, c := range []struct {
		key  string
		slot int
	}{
		{"foo", 12182},
		{"bar", 5061},
		{"", 0},
		{"123456789", 0x31C3},
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"user1000", 3443},
		{"foo{}{bar}", KeySlot([]byte("foo{}{bar}"))}, // whole key: the first tag is empty
		{"foo{{bar}}zap", KeySlot([]byte("{bar"))},    // tag is "{bar"
		{"foo{bar}{zap}", 5061},                       // the first tag only
		{"{}", KeySlot([]byte("{}"))},
		{"a{b", KeySlot([]byte("a{b"))},
		{"a}b{c}", KeySlot([]byte("c"))},
	} {
		if got := KeySlot([]byte(c.key)); got != c.slot {
			t.Errorf("KeySlot(%q) = %d, want %d", c.key, got, c.slot)
		}
		if got := KeySlotString(c.key); got != c.slot {
			t.Errorf("KeySlotString(%q) = %d, want %d", c.key, got, c.slot)
		}
		if want := refKeySlot(c.key); c.slot != want {
			t.Errorf("reference slot of %q = %d, table says %d", c.key, want, c.slot)
		}
	}
	// Rules stated independently of the reference.
	if KeySlotString("foo{}{bar}") == KeySlotString("bar") {
		t.Error(`"foo{}{bar}" hashed "bar": an empty first tag must hash the whole key`)
	}
	if KeySlotString("foo{bar") != int(CRC16([]byte("foo{bar"))%Count) {
		t.Error(`"foo{bar" without '}' must hash the whole key`)
	}
}

func TestKeySlotDoesNotAllocate(t *testing.T) {
	key := []byte("{user1000}.following")
	s := "some:ordinary:key:12345"
	n := testing.AllocsPerRun(100, func() {
		_ = KeySlot(key)
		_ = KeySlotString(s)
	})
	if n != 0 {
		t.Fatalf("KeySlot allocates %.1f times per call", n)
	}
}

func FuzzKeySlot(f *testing.F) {
	for _, s := range []string{"", "foo", "{", "}", "{}", "{a}", "a{b}c", "{{}}", "}{", "a{}b{c}", "x{y", "123456789", "\xff{\x00}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, key []byte) {
		want := refKeySlot(string(key))
		if got := KeySlot(key); got != want {
			t.Fatalf("KeySlot(%q) = %d, reference %d", key, got, want)
		}
		if got := KeySlotString(string(key)); got != want {
			t.Fatalf("KeySlotString(%q) = %d, reference %d", key, got, want)
		}
	})
}

var sink int

func BenchmarkKeySlot(b *testing.B) {
	for _, c := range []struct{ name, key string }{
		{"short", "foo"},
		{"key16", "user:1000:profile"},
		{"tag", "{user1000}.following"},
		{"key64", strings.Repeat("k", 64)},
		{"key1k", strings.Repeat("k", 1024)},
	} {
		key := []byte(c.key)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(key)))
			for b.Loop() {
				sink += KeySlot(key)
			}
		})
	}
	b.Run("string", func(b *testing.B) {
		key := "user:1000:profile"
		for b.Loop() {
			sink += KeySlotString(key)
		}
	})
}

// Slots reported by redis-server 7.0.15 (CLUSTER KEYSLOT).
func TestKeySlotAsRedis(t *testing.T) {
	for key, want := range map[string]int{
		"foo": 12182, "bar": 5061, "user1000": 3443, "{user1000}.following": 3443,
		"foo{}{bar}": 8363, "foo{{bar}}zap": 4015, "a}b{c}": 7365, "{}": 15257, "a{b": 13340, "": 0,
	} {
		if got := KeySlotString(key); got != want {
			t.Errorf("KeySlot(%q) = %d, redis says %d", key, got, want)
		}
	}
}
