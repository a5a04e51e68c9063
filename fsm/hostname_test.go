package fsm

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// TestSetNodeHostname: set, change and clear a hostname; refusals of an
// unknown node and of hostnames Redis's CONFIG SET refuses.
func TestSetNodeHostname(t *testing.T) {
	f := New()
	res := applyAll(t, f, []Command{
		&UpsertNode{Node: node(1)},
		&UpsertNode{Node: node(2)},
		&SetNodeHostname{ID: id(1), Hostname: "host-1.com"},                        // 2
		&SetNodeHostname{ID: id(2), Hostname: "host-2.com"},                        // 3
		&SetNodeHostname{ID: id(9), Hostname: "x.com"},                             // 4: refused: unknown node
		&SetNodeHostname{ID: id(1), Hostname: "?.com"},                             // 5: refused: character set
		&SetNodeHostname{ID: id(1), Hostname: strings.Repeat("x", 256)},            // 6: refused: length
		&SetNodeHostname{ID: id(1), Hostname: "a_b.com"},                           // 7: refused: underscore
		&SetNodeHostname{ID: id(2), Hostname: ""},                                  // 8: cleared
		&SetNodeHostname{ID: id(1), Hostname: "aZ09-." + strings.Repeat("x", 249)}, // 9: 255 characters
	})
	refusedWant := map[int]bool{4: true, 5: true, 6: true, 7: true}
	for i, r := range res {
		if (r.Err != nil) != refusedWant[i] {
			t.Fatalf("entry %d: err %v, want refused=%v", i, r.Err, refusedWant[i])
		}
		if r.Err != nil && !IsCommandError(r.Err) {
			t.Fatalf("entry %d: not a command error: %v", i, r.Err)
		}
	}
	if !strings.Contains(res[5].Err.Error(), "Hostnames may only contain alphanumeric characters, hyphens or dots") {
		t.Fatalf("refusal text: %v", res[5].Err)
	}
	if !strings.Contains(res[6].Err.Error(), "Hostnames must be less than 256 characters") {
		t.Fatalf("refusal text: %v", res[6].Err)
	}
	n1, _ := f.Node(id(1))
	n2, _ := f.Node(id(2))
	if n1.Hostname != "aZ09-."+strings.Repeat("x", 249) || n2.Hostname != "" {
		t.Fatalf("hostnames %q %q", n1.Hostname, n2.Hostname)
	}

	// The snapshot carries it, and omits it when empty.
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, f.Export()); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Nodes []map[string]any `json:"nodes"`
	}
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Nodes) != 2 || d.Nodes[0]["hostname"] != n1.Hostname {
		t.Fatalf("snapshot nodes %v", d.Nodes)
	}
	if _, ok := d.Nodes[1]["hostname"]; ok {
		t.Fatalf("empty hostname written: %v", d.Nodes[1])
	}
	g := New()
	if err := g.Restore(io.NopCloser(bytes.NewReader(buf.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if r1, _ := g.Node(id(1)); r1.Hostname != n1.Hostname {
		t.Fatalf("restored hostname %q", r1.Hostname)
	}
}

func TestCheckHostname(t *testing.T) {
	for h, want := range map[string]string{
		"":                   "",
		"host-1.example.com": "",
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.": "",
		"?.com":                  "Hostnames may only contain alphanumeric characters, hyphens or dots",
		"a b":                    "Hostnames may only contain alphanumeric characters, hyphens or dots",
		"h\u00e9":                "Hostnames may only contain alphanumeric characters, hyphens or dots",
		strings.Repeat("x", 255): "",
		strings.Repeat("x", 256): "Hostnames must be less than 256 characters",
	} {
		if got := CheckHostname(h); got != want {
			t.Errorf("CheckHostname(%.20q) = %q, want %q", h, got, want)
		}
	}
}
