package lualib

import (
	"math/rand"
	"testing"
)

// TestDifferential runs hand-picked edge cases and a seeded random corpus
// against a real redis-server 7.0 and requires identical output.
func TestDifferential(t *testing.T) {
	client := startRedis(t)
	compare := func(t *testing.T, body string) {
		t.Helper()
		script := wrapCase(body)
		want, err := runRedis(client, script)
		if err != nil {
			t.Fatalf("redis: %v\nscript body:\n%s", err, body)
		}
		got, err := runGo(script)
		if err != nil {
			t.Fatalf("gopher-lua: %v\nscript body:\n%s", err, body)
		}
		if got != want {
			t.Errorf("mismatch for\n%s\nredis: %.2000q\ngo:    %.2000q", body, want, got)
		}
	}
	t.Run("cases", func(t *testing.T) {
		for _, body := range differentialCases {
			compare(t, body)
		}
	})
	t.Run("corpus", func(t *testing.T) {
		r := rand.New(rand.NewSource(20240607))
		for i := 0; i < 300; i++ {
			compare(t, corpusScript(r))
		}
	})
}
