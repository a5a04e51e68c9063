package store

// List is a Redis list: a growable ring buffer of immutable strings.
//
// A ring buffer gives O(1) amortised push and pop at both ends (the
// costs Redis's quicklist gives), O(1) access by index (better than a
// quicklist's O(n/node)), and a contiguous slice of string headers that
// is cheap to copy for Clone: elements are immutable, so a clone shares
// their bytes. Middle insertions and removals move the shorter side,
// O(n) as in Redis.
type List struct {
	buf  []string // len(buf) is zero or a power of two
	head int      // index in buf of element 0
	n    int
}

// NewList returns an empty list.
func NewList() *List { return &List{} }

// Len is the number of elements.
func (l *List) Len() int { return l.n }

// Encoding is what Redis 7.0 reports for every list: its lists are
// always quicklists (the listpack encoding for small lists came in 7.2).
func (l *List) Encoding() string { return "quicklist" }

// Clone returns a copy sharing the (immutable) element bytes.
func (l *List) Clone() Collection {
	c := &List{}
	if l.n > 0 {
		c.buf = make([]string, ringSize(l.n))
		l.copyTo(c.buf)
		c.n = l.n
	}
	return c
}

// MemoryUsage estimates the bytes the list occupies: the ring of string
// headers plus each element's bytes rounded to an allocation class.
func (l *List) MemoryUsage() int64 {
	sz := int64(48 + 16*len(l.buf))
	var sampled int64
	k := min(l.n, memSamples)
	for i := 0; i < k; i++ {
		sampled += allocSize(len(l.at(i)))
	}
	return sz + extrapolate(sampled, k, l.n)
}

// memSamples is how many elements MemoryUsage measures before it
// extrapolates, as Redis's objectComputeSize samples rather than walk a
// big collection: INFO's used_memory and eviction sample whole keys
// often, and a walk of a million-element value each time would stall
// the server.
const memSamples = 64

// extrapolate scales the size of the first k of n elements to all n.
func extrapolate(sampled int64, k, n int) int64 {
	if k == 0 || k == n {
		return sampled
	}
	return sampled * int64(n) / int64(k)
}

// allocSize rounds n up roughly as Go's small size classes do.
func allocSize(n int) int64 {
	switch {
	case n == 0:
		return 0
	case n <= 8:
		return 8
	case n <= 16:
		return 16
	case n <= 128:
		return int64((n + 15) &^ 15)
	default:
		return int64((n + 127) &^ 127)
	}
}

func ringSize(n int) int {
	size := 8
	for size < n {
		size <<= 1
	}
	return size
}

func (l *List) mask() int { return len(l.buf) - 1 }

// at returns element i (0 <= i < n) without bounds checks on i.
func (l *List) at(i int) string { return l.buf[(l.head+i)&l.mask()] }

// copyTo copies the elements in order to dst (len(dst) >= n).
func (l *List) copyTo(dst []string) {
	if l.n == 0 {
		return
	}
	end := l.head + l.n
	if end <= len(l.buf) {
		copy(dst, l.buf[l.head:end])
		return
	}
	k := copy(dst, l.buf[l.head:])
	copy(dst[k:], l.buf[:end-len(l.buf)])
}

func (l *List) resize(size int) {
	nb := make([]string, size)
	l.copyTo(nb)
	l.buf = nb
	l.head = 0
}

func (l *List) grow() {
	if l.n == len(l.buf) {
		l.resize(ringSize(l.n + 1))
	}
}

// shrink releases memory when the list has emptied to a quarter.
func (l *List) shrink() {
	if len(l.buf) > 8 && l.n < len(l.buf)/4 {
		l.resize(ringSize(l.n * 2))
	}
}

// PushBack appends v at the tail.
func (l *List) PushBack(v string) {
	l.grow()
	l.buf[(l.head+l.n)&l.mask()] = v
	l.n++
}

// PushFront prepends v at the head.
func (l *List) PushFront(v string) {
	l.grow()
	l.head = (l.head - 1) & l.mask()
	l.buf[l.head] = v
	l.n++
}

// Push adds v at the head (front) or the tail.
func (l *List) Push(v string, front bool) {
	if front {
		l.PushFront(v)
	} else {
		l.PushBack(v)
	}
}

// PopFront removes and returns the head element; ok is false when empty.
func (l *List) PopFront() (v string, ok bool) {
	if l.n == 0 {
		return "", false
	}
	v = l.buf[l.head]
	l.buf[l.head] = ""
	l.head = (l.head + 1) & l.mask()
	l.n--
	l.shrink()
	return v, true
}

// PopBack removes and returns the tail element; ok is false when empty.
func (l *List) PopBack() (v string, ok bool) {
	if l.n == 0 {
		return "", false
	}
	i := (l.head + l.n - 1) & l.mask()
	v = l.buf[i]
	l.buf[i] = ""
	l.n--
	l.shrink()
	return v, true
}

// Pop removes an element from the head (front) or the tail.
func (l *List) Pop(front bool) (string, bool) {
	if front {
		return l.PopFront()
	}
	return l.PopBack()
}

// normIndex turns a Redis index (negative counts from the tail) into a
// position, reporting false when it is out of range.
func (l *List) normIndex(i int64) (int, bool) {
	if i < 0 {
		i += int64(l.n)
	}
	if i < 0 || i >= int64(l.n) {
		return 0, false
	}
	return int(i), true
}

// Index returns the element at a Redis index (negative from the tail).
func (l *List) Index(i int64) (string, bool) {
	p, ok := l.normIndex(i)
	if !ok {
		return "", false
	}
	return l.at(p), true
}

// Set replaces the element at a Redis index; false when out of range.
func (l *List) Set(i int64, v string) bool {
	p, ok := l.normIndex(i)
	if !ok {
		return false
	}
	l.buf[(l.head+p)&l.mask()] = v
	return true
}

// At returns element i for 0 <= i < Len.
func (l *List) At(i int) string { return l.at(i) }

// Insert puts v at position i (0 <= i <= Len), moving the shorter side.
func (l *List) Insert(i int, v string) {
	if i <= 0 {
		l.PushFront(v)
		return
	}
	if i >= l.n {
		l.PushBack(v)
		return
	}
	l.grow()
	m := l.mask()
	if i < l.n/2 {
		// Shift elements [0, i) one step towards the head.
		l.head = (l.head - 1) & m
		for k := 0; k < i; k++ {
			l.buf[(l.head+k)&m] = l.buf[(l.head+k+1)&m]
		}
	} else {
		for k := l.n; k > i; k-- {
			l.buf[(l.head+k)&m] = l.buf[(l.head+k-1)&m]
		}
	}
	l.buf[(l.head+i)&m] = v
	l.n++
}

// RemoveAt deletes the element at position i (0 <= i < Len).
func (l *List) RemoveAt(i int) {
	m := l.mask()
	if i < l.n/2 {
		for k := i; k > 0; k-- {
			l.buf[(l.head+k)&m] = l.buf[(l.head+k-1)&m]
		}
		l.buf[l.head] = ""
		l.head = (l.head + 1) & m
	} else {
		for k := i; k < l.n-1; k++ {
			l.buf[(l.head+k)&m] = l.buf[(l.head+k+1)&m]
		}
		l.buf[(l.head+l.n-1)&m] = ""
	}
	l.n--
	l.shrink()
}

// TrimFront removes the first k elements (k <= Len).
func (l *List) TrimFront(k int) {
	if k <= 0 {
		return
	}
	if k >= l.n {
		l.Clear()
		return
	}
	m := l.mask()
	for j := 0; j < k; j++ {
		l.buf[(l.head+j)&m] = ""
	}
	l.head = (l.head + k) & m
	l.n -= k
	l.shrink()
}

// TrimBack removes the last k elements (k <= Len).
func (l *List) TrimBack(k int) {
	if k <= 0 {
		return
	}
	if k >= l.n {
		l.Clear()
		return
	}
	m := l.mask()
	for j := l.n - k; j < l.n; j++ {
		l.buf[(l.head+j)&m] = ""
	}
	l.n -= k
	l.shrink()
}

// Clear removes every element.
func (l *List) Clear() { *l = List{} }

// RangeBounds resolves Redis's start/stop (inclusive, negative from the
// tail, clamped) into positions [from, to]; ok is false when the range is
// empty.
func (l *List) RangeBounds(start, stop int64) (from, to int, ok bool) {
	n := int64(l.n)
	if start < 0 {
		start += n
	}
	if stop < 0 {
		stop += n
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= n {
		return 0, 0, false
	}
	if stop >= n {
		stop = n - 1
	}
	return int(start), int(stop), true
}

// Filter removes elements equal to v, scanning from the head (limit > 0),
// from the tail (limit < 0) or everywhere (limit 0), at most |limit| of
// them. It returns how many it removed. It runs in one O(n) pass however
// many elements go.
func (l *List) Filter(v string, limit int64) int64 {
	max := limit
	if max < 0 {
		max = -max
	}
	keep := make([]bool, l.n)
	var removed int64
	if limit >= 0 {
		for i := 0; i < l.n; i++ {
			if (max == 0 || removed < max) && l.at(i) == v {
				removed++
				continue
			}
			keep[i] = true
		}
	} else {
		for i := l.n - 1; i >= 0; i-- {
			if removed < max && l.at(i) == v {
				removed++
				continue
			}
			keep[i] = true
		}
	}
	if removed == 0 {
		return 0
	}
	out := make([]string, ringSize(l.n-int(removed)))
	k := 0
	for i := 0; i < l.n; i++ {
		if keep[i] {
			out[k] = l.at(i)
			k++
		}
	}
	l.buf, l.head, l.n = out, 0, k
	if k == 0 {
		l.Clear()
	}
	return removed
}
