package sentinel

import (
	"context"
	"testing"
	"time"
)

func TestReachability(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := NewReachability(t0)
	if r.Down(t0.Add(time.Second), time.Second) {
		t.Fatal("down at exactly the timeout")
	}
	if !r.Down(t0.Add(time.Second+time.Millisecond), time.Second) {
		t.Fatal("not down after the timeout")
	}
	r.Answered(t0.Add(900 * time.Millisecond))
	r.Answered(t0.Add(100 * time.Millisecond)) // older answer does not move it back
	if r.Down(t0.Add(1800*time.Millisecond), time.Second) || r.LastOK() != t0.Add(900*time.Millisecond) {
		t.Fatalf("answer not recorded: %v", r.LastOK())
	}
}

func TestMajority(t *testing.T) {
	for _, c := range []struct {
		agree, voters int
		want          bool
	}{{0, 0, false}, {1, 1, true}, {1, 2, false}, {2, 2, true}, {1, 3, false}, {2, 3, true}, {2, 5, false}, {3, 5, true}} {
		if got := Majority(c.agree, c.voters); got != c.want {
			t.Errorf("Majority(%d, %d) = %v", c.agree, c.voters, got)
		}
	}
}

func TestOpinions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	n := Opinions(ctx, []string{"a", "b", "c", "slow"}, func(ctx context.Context, v string) bool {
		if v == "slow" {
			<-ctx.Done()
			return true // too late answers still count if given; ask decides
		}
		return v != "b"
	})
	if n != 3 {
		t.Fatalf("agreeing %d, want 3", n)
	}
}

func TestPickCandidate(t *testing.T) {
	cands := []Candidate{
		{ID: "e", Offset: 900, Priority: 100, Eligible: true, Down: true},
		{ID: "d", Offset: 800, Priority: 0, Eligible: true},
		{ID: "c", Offset: 700, Priority: 100, Eligible: false},
		{ID: "b", Offset: 500, Priority: 100, Eligible: true},
		{ID: "a", Offset: 500, Priority: 100, Eligible: true},
		{ID: "f", Offset: 400, Priority: 1, Eligible: true},
	}
	c, ok := PickCandidate(cands)
	if !ok || c.ID != "a" {
		t.Fatalf("picked %+v %v, want a", c, ok)
	}
	if _, ok := PickCandidate(cands[:3]); ok {
		t.Fatal("picked an unusable replica")
	}
}
