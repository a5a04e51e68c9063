package script

// rand48 is the 48-bit linear congruential generator of POSIX lrand48,
// which Redis uses for math.random so that a seed gives the same
// sequence on every platform. Like Redis's, the state is shared by every
// script of the process and is only changed by math.randomseed.
type rand48 struct{ x uint64 }

const (
	rand48Mul  = 0x5DEECE66D
	rand48Add  = 0xB
	rand48Mask = 1<<48 - 1
	// rand48Max is REDIS_LRAND48_MAX (INT32_MAX).
	rand48Max = 1<<31 - 1
)

func newRand48() *rand48 { return &rand48{x: 0x1234ABCD330E} }

// seed is srand48: the high 32 bits of the state are the seed.
func (r *rand48) seed(v int32) { r.x = (uint64(uint32(v))<<16 | 0x330E) & rand48Mask }

// next returns the next non-negative 31-bit value.
func (r *rand48) next() int32 {
	r.x = (rand48Mul*r.x + rand48Add) & rand48Mask
	return int32(r.x >> 17)
}
