package stream

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

type modelEntry struct {
	id ID
	fv []string
}

func flat(fv [][]byte) []string {
	out := make([]string, len(fv))
	for i, b := range fv {
		out[i] = string(b)
	}
	return out
}

func checkModel(t *testing.T, s *Stream, model []modelEntry) {
	t.Helper()
	if s.Len() != len(model) {
		t.Fatalf("len %d, model %d", s.Len(), len(model))
	}
	for _, rev := range []bool{false, true} {
		it := s.Iter(ID{}, MaxID, rev)
		i := 0
		for {
			id, nf, ok := it.Next()
			if !ok {
				break
			}
			k := i
			if rev {
				k = len(model) - 1 - i
			}
			if k < 0 || k >= len(model) {
				t.Fatalf("rev=%v: more entries than the model", rev)
			}
			m := model[k]
			got := flat(it.Fields(nil))
			if id != m.id || nf*2 != len(m.fv) || fmt.Sprint(got) != fmt.Sprint(m.fv) {
				t.Fatalf("rev=%v entry %d: %v %v, want %v %v", rev, i, id, got, m.id, m.fv)
			}
			i++
		}
		if i != len(model) {
			t.Fatalf("rev=%v: %d entries, want %d", rev, i, len(model))
		}
	}
	if len(model) > 0 && s.FirstID != model[0].id {
		t.Fatalf("first id %v, want %v", s.FirstID, model[0].id)
	}
}

func TestStreamAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 20; round++ {
		s := New()
		var model []modelEntry
		maxEntries := int64(1 + r.IntN(10))
		for op := 0; op < 600; op++ {
			switch x := r.IntN(10); {
			case x < 6:
				var fv [][]byte
				nf := 1 + r.IntN(3)
				for j := 0; j < nf; j++ {
					f := fmt.Sprintf("f%d", r.IntN(3))
					var v string
					switch r.IntN(4) {
					case 0:
						v = fmt.Sprint(r.Int64N(1<<40) - 1<<39)
					case 1:
						v = fmt.Sprint(r.IntN(200))
					case 2:
						v = string(make([]byte, r.IntN(300)))
					default:
						v = fmt.Sprintf("v%d", r.IntN(1000))
					}
					fv = append(fv, []byte(f), []byte(v))
				}
				id, err := s.NextID(int64(1000+op/3), nil, false)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Append(id, fv, 4096, maxEntries); err != nil {
					t.Fatal(err)
				}
				model = append(model, modelEntry{id, flat(fv)})
			case x < 8 && len(model) > 0:
				k := r.IntN(len(model))
				if !s.Delete(model[k].id) {
					t.Fatalf("delete %v failed", model[k].id)
				}
				if s.Delete(model[k].id) {
					t.Fatalf("second delete %v succeeded", model[k].id)
				}
				model = append(model[:k], model[k+1:]...)
				s.UpdateFirstID()
			case x < 9:
				maxlen := int64(r.IntN(len(model) + 1))
				n := s.Trim(TrimArgs{MaxLen: maxlen})
				if want := int64(len(model)) - maxlen; max(want, 0) != n {
					t.Fatalf("trim to %d removed %d, want %d", maxlen, n, want)
				}
				if int64(len(model)) > maxlen {
					model = model[int64(len(model))-maxlen:]
				}
			default:
				if len(model) == 0 {
					continue
				}
				minid := model[r.IntN(len(model))].id
				s.Trim(TrimArgs{MinID: true, ID: minid})
				for len(model) > 0 && model[0].id.Less(minid) {
					model = model[1:]
				}
			}
			checkModel(t, s, model)
		}
		// ranges
		if len(model) > 2 {
			a, b := model[1].id, model[len(model)-2].id
			it := s.Iter(a, b, false)
			n := 0
			for _, _, ok := it.Next(); ok; _, _, ok = it.Next() {
				n++
			}
			if n != len(model)-2 {
				t.Fatalf("range count %d, want %d", n, len(model)-2)
			}
		}
		c := s.Clone()
		checkModel(t, c, model)
	}
}

func TestListpackInts(t *testing.T) {
	vals := []int64{0, 1, 127, 128, -1, -4096, 4095, 4096, -4097, 32767, -32768, 32768, 8388607, -8388608, 8388608, 1 << 31, -(1 << 31), 1<<63 - 1, -1 << 63}
	lp := lpNew(0)
	for _, v := range vals {
		lp = lpAppendInt(lp, v)
	}
	if n, ok := lpValidate(lp); !ok || n != len(vals) {
		t.Fatalf("validate: %d %v", n, ok)
	}
	p := lpFirst()
	for _, v := range vals {
		got, next := lpInt(lp, p)
		if got != v {
			t.Fatalf("got %d want %d", got, v)
		}
		p = next
	}
	// backwards
	p = len(lp) - 1
	for i := len(vals) - 1; i >= 0; i-- {
		p = lpPrev(lp, p)
		if got, _ := lpInt(lp, p); got != vals[i] {
			t.Fatalf("backwards got %d want %d", got, vals[i])
		}
	}
	// replace growing and shrinking
	lp = lpReplaceInt(lp, lpFirst(), 1<<40)
	lp = lpReplaceInt(lp, lpFirst(), 3)
	if _, ok := lpValidate(lp); !ok {
		t.Fatal("invalid after replace")
	}
}

func TestPEL(t *testing.T) {
	var p PEL
	r := rand.New(rand.NewPCG(3, 4))
	have := map[ID]bool{}
	for i := 0; i < 5000; i++ {
		id := ID{uint64(r.IntN(3000)), 0}
		if r.IntN(3) == 0 {
			if (p.Delete(id) != nil) != have[id] {
				t.Fatal("delete mismatch")
			}
			delete(have, id)
		} else {
			if p.Insert(&NACK{ID: id}) == have[id] {
				t.Fatal("insert mismatch")
			}
			have[id] = true
		}
	}
	if p.Len() != len(have) {
		t.Fatal("len")
	}
	prev := ID{}
	n := 0
	p.Ascend(ID{}, func(nk *NACK) bool {
		if n > 0 && !prev.Less(nk.ID) {
			t.Fatal("order")
		}
		prev = nk.ID
		n++
		return true
	})
	if n != len(have) {
		t.Fatal("ascend count")
	}
}
