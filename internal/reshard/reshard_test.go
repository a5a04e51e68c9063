package reshard

import "testing"

func span(a, b int) []int {
	var out []int
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out
}

// TestRebalanceNewMaster: an empty master joins three that share all the
// slots; with useEmpty each ends with a quarter, the moves sum up.
func TestRebalanceNewMaster(t *testing.T) {
	ms := []Master{{ID: "a", Slots: span(0, 5460)}, {ID: "b", Slots: span(5461, 10922)}, {ID: "c", Slots: span(10923, 16383)}, {ID: "d"}}
	if mv := Rebalance(ms, nil, false, 2); mv != nil {
		t.Fatalf("without useEmpty the empty master takes no part: %v", mv)
	}
	mv := Rebalance(ms, nil, true, 2)
	got := map[string]int{"a": 5461, "b": 5462, "c": 5461, "d": 0}
	seen := map[int]bool{}
	for _, m := range mv {
		got[m.From] -= len(m.Slots)
		got[m.To] += len(m.Slots)
		for _, s := range m.Slots {
			if seen[s] {
				t.Fatalf("slot %d moved twice", s)
			}
			seen[s] = true
		}
	}
	for id, n := range got {
		if n < 4095 || n > 4097 {
			t.Fatalf("%s ends with %d slots: %v", id, n, got)
		}
	}
	if got["a"]+got["b"]+got["c"]+got["d"] != 16384 {
		t.Fatalf("slots lost: %v", got)
	}
	// Balanced within the threshold: nothing to do.
	if mv := Rebalance([]Master{{ID: "a", Slots: span(0, 8199)}, {ID: "b", Slots: span(8200, 16383)}}, nil, false, 2); mv != nil {
		t.Fatalf("balanced cluster moved: %v", mv)
	}
}

func TestReshardProportional(t *testing.T) {
	ms := []Master{{ID: "a", Slots: span(0, 999)}, {ID: "b", Slots: span(1000, 3999)}, {ID: "c"}}
	mv, err := Reshard(ms, "c", nil, 400)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, m := range mv {
		if m.To != "c" {
			t.Fatalf("move to %s", m.To)
		}
		n[m.From] += len(m.Slots)
	}
	if n["a"] != 100 || n["b"] != 300 {
		t.Fatalf("shares %v, want a 100, b 300", n)
	}
	if _, err := Reshard(ms, "c", []string{"a"}, 2000); err == nil {
		t.Fatal("moving more slots than the source owns was accepted")
	}
}
