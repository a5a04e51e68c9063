// Package pqsort is Redis's partial quicksort (pqsort.c, itself Bentley
// and McIlroy's quicksort from BSD's qsort: median of three, or of three
// medians of three above 40 elements, insertion sort below 7, a three-way
// partition that gathers the elements equal to the pivot at both ends
// before moving them to the middle), descending only into the parts that
// hold some of the wanted positions. Elements that compare equal end up
// in the order its exact sequence of swaps gives them, not the input
// order: SORT ... LIMIT and GEOSEARCH ... COUNT use it so that ties come
// out as they do in Redis. Written from the algorithm's description, not
// from Redis's code.
package pqsort

// Range sorts n elements so that the positions [want0, want1] hold, in
// order, what a full sort would put there, comparing with cmp (negative,
// zero, positive) and moving elements only with swap.
func Range(n, want0, want1 int, cmp func(i, j int) int, swap func(i, j int)) {
	if n <= 1 || want1 < want0 {
		return
	}
	partialQuicksort(0, n, want0, want1, cmp, swap)
}

// partialQuicksort sorts what of [lo, lo+n) overlaps the wanted index
// range [want0, want1].
func partialQuicksort(lo, n, want0, want1 int, cmp func(i, j int) int, swap func(i, j int)) {
	for {
		if n < 7 {
			// Small parts: insertion sort by adjacent swaps.
			for m := lo + 1; m < lo+n; m++ {
				for l := m; l > lo && cmp(l-1, l) > 0; l-- {
					swap(l, l-1)
				}
			}
			return
		}
		mid := lo + n/2
		if n > 7 {
			first, last := lo, lo+n-1
			if n > 40 {
				d := n / 8
				first = median3(first, first+d, first+2*d, cmp)
				mid = median3(mid-d, mid, mid+d, cmp)
				last = median3(last-2*d, last-d, last, cmp)
			}
			mid = median3(first, mid, last, cmp)
		}
		// The pivot goes to lo. Elements equal to it collect at both ends
		// ([lo+1, a) and (d, end)), smaller ones after the left group,
		// larger ones before the right group.
		swap(lo, mid)
		a, b := lo+1, lo+1
		c, d := lo+n-1, lo+n-1
		for {
			for b <= c {
				r := cmp(b, lo)
				if r > 0 {
					break
				}
				if r == 0 {
					swap(a, b)
					a++
				}
				b++
			}
			for b <= c {
				r := cmp(c, lo)
				if r < 0 {
					break
				}
				if r == 0 {
					swap(c, d)
					d--
				}
				c--
			}
			if b > c {
				break
			}
			swap(b, c)
			b++
			c--
		}
		// Bring the equal groups to the middle.
		end := lo + n
		k := min(a-lo, b-a)
		swapBlocks(lo, b-k, k, swap)
		k = min(d-c, end-d-1)
		swapBlocks(b, end-k, k, swap)

		if k := b - a; k > 1 {
			if overlaps(lo, lo+k-1, want0, want1) {
				partialQuicksort(lo, k, want0, want1, cmp, swap)
			}
		}
		k = d - c
		if k <= 1 {
			return
		}
		lo, n = end-k, k
		if !overlaps(lo, lo+k-1, want0, want1) {
			return
		}
	}
}

func overlaps(a0, a1, b0, b1 int) bool { return !(b1 < a0 || b0 > a1) }

func median3(a, b, c int, cmp func(i, j int) int) int {
	if cmp(a, b) < 0 {
		if cmp(b, c) < 0 {
			return b
		}
		if cmp(a, c) < 0 {
			return c
		}
		return a
	}
	if cmp(b, c) > 0 {
		return b
	}
	if cmp(a, c) < 0 {
		return a
	}
	return c
}

// swapBlocks exchanges the k elements from i with the k from j, pairwise
// in order.
func swapBlocks(i, j, k int, swap func(i, j int)) {
	for x := 0; x < k; x++ {
		swap(i+x, j+x)
	}
}
