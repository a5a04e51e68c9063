package stream

import "testing"

// FuzzLoadNode: a node from outside (RDB, RESTORE) is refused or loaded,
// never a panic, and a loaded node can be read both ways.
func FuzzLoadNode(f *testing.F) {
	s := New()
	for i := 1; i <= 5; i++ {
		fv := [][]byte{[]byte("f"), []byte("v"), []byte("n"), []byte("12")}
		if i%2 == 0 {
			fv = fv[:2]
		}
		_ = s.Append(ID{uint64(i), 0}, fv, 4096, 100)
	}
	s.Delete(ID{2, 0})
	_ = s.EachNode(func(_ ID, lp []byte) error { f.Add(append([]byte(nil), lp...)); return nil })
	f.Add([]byte{7, 0, 0, 0, 0, 0, 0xFF})
	f.Fuzz(func(t *testing.T, lp []byte) {
		lp = append([]byte(nil), lp...)
		if len(lp) >= 7 && len(lp)%3 != 0 {
			// Mostly a consistent header and terminator, so that the
			// mutations reach the elements.
			lp[0], lp[1], lp[2], lp[3] = byte(len(lp)), byte(len(lp)>>8), 0, 0
			lp[4], lp[5] = 0xFF, 0xFF
			lp[len(lp)-1] = 0xFF
		}
		st := New()
		n, err := st.LoadNode(ID{1, 0}, lp)
		if err != nil {
			return
		}
		st.SetLength(uint64(n))
		for _, rev := range []bool{false, true} {
			it := st.Iter(ID{}, MaxID, rev)
			for k := 0; k < 100000; k++ {
				if _, _, ok := it.Next(); !ok {
					break
				}
				it.Fields(nil)
			}
		}
		st.Trim(TrimArgs{MaxLen: 1})
	})
}
