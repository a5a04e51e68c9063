package config

import (
	"strings"
	"testing"
)

func TestClusterSecretOption(t *testing.T) {
	c, err := Load("", []string{"--cluster-secret", "0123456789abcdef"})
	if err != nil {
		t.Fatalf("16-character secret refused: %v", err)
	}
	if c.String("cluster-secret") != "0123456789abcdef" {
		t.Fatalf("cluster-secret = %q", c.String("cluster-secret"))
	}
	if _, err := Load("", []string{"--cluster-secret", "short"}); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Fatalf("short secret: got %v, want an error naming the minimum", err)
	}
	// Never listed by a pattern: CONFIG GET * must not print it.
	for _, p := range [][]string{{"*"}, {"cluster-*"}} {
		out := c.Get(p)
		for i := 0; i < len(out); i += 2 {
			if out[i] == "cluster-secret" {
				t.Fatalf("CONFIG GET %v lists cluster-secret", p)
			}
		}
	}
	if err := c.SetPairs([]string{"cluster-secret", "0123456789abcdefXX"}); err == nil {
		t.Fatal("CONFIG SET cluster-secret accepted; it must be fixed at start")
	}
}
