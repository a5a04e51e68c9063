package node

import (
	"math/big"

	"github.com/skiffdb/skiff/store"
)

func init() {
	register(
		&Command{Name: "setnx", Arity: 3, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "1.0.0", Summary: "Set the value of a key, only if the key does not exist", Complexity: "O(1)", Handler: cmdSetnx},
		&Command{Name: "setex", Arity: 4, Flags: "write denyoom", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "2.0.0", Summary: "Set the value and expiration of a key", Complexity: "O(1)", Handler: cmdSetex},
		&Command{Name: "psetex", Arity: 4, Flags: "write denyoom", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "2.6.0", Summary: "Set the value and expiration in milliseconds of a key", Complexity: "O(1)", Handler: cmdPsetex},
		&Command{Name: "getset", Arity: 3, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "1.0.0", Summary: "Set the string value of a key and return its old value", Complexity: "O(1)", Handler: cmdGetset},
		&Command{Name: "getdel", Arity: 2, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "6.2.0", Summary: "Get the value of a key and delete the key", Complexity: "O(1)", Handler: cmdGetdel},
		&Command{Name: "getex", Arity: -2, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "6.2.0", Summary: "Get the value of a key and optionally set its expiration", Complexity: "O(1)", Handler: cmdGetex},
		&Command{Name: "msetnx", Arity: -3, Flags: "write denyoom", FirstKey: 1, LastKey: -1, Step: 2, Group: "string", Since: "1.0.1", Summary: "Set multiple keys to multiple values, only if none of the keys exist", Complexity: "O(N) where N is the number of keys to set.", Handler: cmdMsetnx},
		&Command{Name: "incrbyfloat", Arity: 3, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "2.6.0", Summary: "Increment the float value of a key by the given amount", Complexity: "O(1)", Handler: cmdIncrbyfloat},
		&Command{Name: "append", Arity: 3, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "2.0.0", Summary: "Append a value to a key", Complexity: "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.", Handler: cmdAppend},
		&Command{Name: "strlen", Arity: 2, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "2.2.0", Summary: "Get the length of the value stored in a key", Complexity: "O(1)", Handler: cmdStrlen},
		&Command{Name: "getrange", Arity: 4, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "2.4.0", Summary: "Get a substring of the string stored at a key", Complexity: "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", Handler: cmdGetrange},
		&Command{Name: "substr", Arity: 4, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "1.0.0", Summary: "Get a substring of the string stored at a key", Complexity: "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", Handler: cmdGetrange},
		&Command{Name: "setrange", Arity: 4, Flags: "write denyoom", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "2.2.0", Summary: "Overwrite part of a string at key starting at the specified offset", Complexity: "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.", Handler: cmdSetrange},
		&Command{Name: "lcs", Arity: -3, Flags: "readonly", FirstKey: 1, LastKey: 2, Step: 1, Group: "string", Since: "7.0.0", Summary: "Find longest common substring", Complexity: "O(N*M) where N and M are the lengths of s1 and s2, respectively", Handler: cmdLcs},
	)
}

const (
	errOffsetRange   = "ERR offset is out of range"
	errNotFloatOrInf = "ERR increment would produce NaN or Infinity"
)

// checkStringLength enforces proto-max-bulk-len on a string that would
// grow to size+add bytes. Commands from the master are trusted, as in Redis.
func checkStringLength(c *Client, size, add int64) bool {
	if c.flags&clientMaster != 0 {
		return true
	}
	total := uint64(size) + uint64(add)
	if total > uint64(c.srv.protoMaxBulk.Load()) || total < uint64(size) || total < uint64(add) {
		c.replyError(errStrTooLong)
		return false
	}
	return true
}

// stringEntry returns key's live entry for a read and reports ok=false
// after replying WRONGTYPE when it holds another type.
func stringEntry(c *Client, key []byte) (e *store.Entry, ok bool) {
	e = c.lookupRead(key)
	if e != nil && e.Val.Type != store.TypeString {
		c.replyWrongType()
		return nil, false
	}
	return e, true
}

// setWithExpire is the shared body of SETNX, SETEX and PSETEX. unitMs
// says whether expArg is in milliseconds; expArg nil means no TTL.
func setWithExpire(c *Client, key, val, expArg []byte, nx bool, unitMs bool, name string) {
	var at int64
	if expArg != nil {
		flags := setEX
		if unitMs {
			flags = setPX
		}
		var ok bool
		if at, ok = expireAt(c, flags, expArg, name); !ok {
			return
		}
	}
	if nx && c.lookupWrite(key) != nil {
		c.replyInt(0)
		return
	}
	e := c.db.SetString(key, val, false)
	c.modified(key)
	c.notify(notifyString, "set", key)
	if expArg != nil {
		c.db.SetExpire(e, at)
		c.propagateArgv = [][]byte{[]byte("SET"), key, val, []byte("PXAT"), store.FormatInt(at)}
		c.notify(notifyGeneric, "expire", key)
	}
	if nx {
		c.replyInt(1)
		return
	}
	c.replyOK()
}

func cmdSetnx(c *Client, args [][]byte) {
	setWithExpire(c, args[1], args[2], nil, true, false, "setnx")
}
func cmdSetex(c *Client, args [][]byte) {
	setWithExpire(c, args[1], args[3], args[2], false, false, "setex")
}
func cmdPsetex(c *Client, args [][]byte) {
	setWithExpire(c, args[1], args[3], args[2], false, true, "psetex")
}

func cmdGetset(c *Client, args [][]byte) {
	e, ok := stringEntry(c, args[1])
	if !ok {
		return
	}
	if e == nil {
		c.replyNull()
	} else {
		c.replyBulk(e.Val.Str)
	}
	c.db.SetString(args[1], args[2], false)
	c.modified(args[1])
	c.notify(notifyString, "set", args[1])
	c.propagateArgv = [][]byte{[]byte("SET"), args[1], args[2]}
}

func cmdGetdel(c *Client, args [][]byte) {
	e, ok := stringEntry(c, args[1])
	if !ok {
		return
	}
	if e == nil {
		c.replyNull()
		return
	}
	c.replyBulk(e.Val.Str)
	c.db.Delete(e.Key)
	c.propagateArgv = [][]byte{deleteVerb(c.srv.cfg.Bool("lazyfree-lazy-user-del")), args[1]}
	c.modified(args[1])
	c.notify(notifyGeneric, "del", args[1])
}

func cmdGetex(c *Client, args [][]byte) {
	flags, expArg, ok := parseSetOptions(c, args[2:], true)
	if !ok {
		return
	}
	key := args[1]
	e, ok := stringEntry(c, key)
	if !ok {
		return
	}
	if e == nil {
		c.replyNull()
		return
	}
	var at int64
	if expArg != nil {
		if at, ok = expireAt(c, flags, expArg, "getex"); !ok {
			return
		}
	}
	c.replyBulk(e.Val.Str)
	switch {
	case flags&(setEXAT|setPXAT) != 0 && at <= c.now && c.flags&clientMaster == 0:
		// An absolute time already in the past deletes the key now.
		c.db.Delete(e.Key)
		c.propagateArgv = [][]byte{deleteVerb(c.srv.cfg.Bool("lazyfree-lazy-expire")), key}
		c.modified(key)
		c.notify(notifyGeneric, "del", key)
	case expArg != nil:
		c.db.SetExpire(e, at)
		c.propagateArgv = [][]byte{[]byte("PEXPIREAT"), key, store.FormatInt(at)}
		c.modified(key)
		c.notify(notifyGeneric, "expire", key)
	case flags&setPersist != 0:
		if c.db.Persist(e) {
			c.propagateArgv = [][]byte{[]byte("PERSIST"), key}
			c.modified(key)
			c.notify(notifyGeneric, "persist", key)
		}
	}
}

func cmdMsetnx(c *Client, args [][]byte) {
	if len(args)%2 == 0 {
		c.replyError("ERR wrong number of arguments for 'msetnx' command")
		return
	}
	for i := 1; i < len(args); i += 2 {
		if c.lookupWrite(args[i]) != nil {
			c.replyInt(0)
			return
		}
	}
	for i := 1; i < len(args); i += 2 {
		c.db.SetString(args[i], args[i+1], false)
		c.modified(args[i])
		c.notify(notifyString, "set", args[i])
	}
	c.replyInt(1)
}

func cmdAppend(c *Client, args [][]byte) {
	key := args[1]
	e := c.lookupWrite(key)
	if e == nil {
		e = c.db.SetString(key, args[2], false)
	} else {
		if e.Val.Type != store.TypeString {
			c.replyWrongType()
			return
		}
		if !checkStringLength(c, int64(len(e.Val.Str)), int64(len(args[2]))) {
			return
		}
		e.Val.Str = append(e.Val.Str, args[2]...)
		e.Val.Enc = store.EncRaw
	}
	c.modified(key)
	c.notify(notifyString, "append", key)
	c.replyInt(int64(len(e.Val.Str)))
}

func cmdStrlen(c *Client, args [][]byte) {
	e, ok := stringEntry(c, args[1])
	if !ok {
		return
	}
	if e == nil {
		c.replyInt(0)
		return
	}
	c.replyInt(int64(len(e.Val.Str)))
}

func cmdGetrange(c *Client, args [][]byte) {
	start, ok1 := parseInt(args[2])
	end, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.replyError(errNotInt)
		return
	}
	e, ok := stringEntry(c, args[1])
	if !ok {
		return
	}
	if e == nil {
		c.replyBulk(nil)
		return
	}
	s := e.Val.Str
	n := int64(len(s))
	if start < 0 && end < 0 && start > end {
		c.replyBulk(nil)
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start = max(start, 0)
	end = max(end, 0)
	end = min(end, n-1)
	if start > end || n == 0 {
		c.replyBulk(nil)
		return
	}
	c.replyBulk(s[start : end+1])
}

func cmdSetrange(c *Client, args [][]byte) {
	offset, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	if offset < 0 {
		c.replyError(errOffsetRange)
		return
	}
	key, val := args[1], args[3]
	e := c.lookupWrite(key)
	if e == nil {
		if len(val) == 0 {
			c.replyInt(0)
			return
		}
		if !checkStringLength(c, offset, int64(len(val))) {
			return
		}
		buf := make([]byte, offset+int64(len(val)))
		copy(buf[offset:], val)
		c.db.SetValue(key, store.Object{Str: buf, Type: store.TypeString, Enc: store.EncRaw}, false)
		c.modified(key)
		c.notify(notifyString, "setrange", key)
		c.replyInt(int64(len(buf)))
		return
	}
	if e.Val.Type != store.TypeString {
		c.replyWrongType()
		return
	}
	if len(val) == 0 {
		c.replyInt(int64(len(e.Val.Str)))
		return
	}
	if !checkStringLength(c, offset, int64(len(val))) {
		return
	}
	e.Val.Str = growZero(e.Val.Str, offset+int64(len(val)))
	copy(e.Val.Str[offset:], val)
	e.Val.Enc = store.EncRaw
	c.modified(key)
	c.notify(notifyString, "setrange", key)
	c.replyInt(int64(len(e.Val.Str)))
}

// growZero extends b with zero bytes to at least n bytes.
func growZero(b []byte, n int64) []byte {
	if int64(len(b)) >= n {
		return b
	}
	if int64(cap(b)) >= n {
		old := len(b)
		b = b[:n]
		clear(b[old:])
		return b
	}
	nb := make([]byte, n)
	copy(nb, b)
	return nb
}

func cmdIncrbyfloat(c *Client, args [][]byte) {
	key := args[1]
	e := c.lookupWrite(key)
	if e != nil && e.Val.Type != store.TypeString {
		c.replyWrongType()
		return
	}
	var cur ldValue
	if e != nil {
		var ok bool
		if cur, ok = parseLongDouble(e.Val.Str); !ok {
			c.replyError(errNotFloat)
			return
		}
	}
	incr, ok := parseLongDouble(args[2])
	if !ok {
		c.replyError(errNotFloat)
		return
	}
	sum, ok := addLongDouble(cur, incr)
	if !ok {
		c.replyError(errNotFloatOrInf)
		return
	}
	out := formatLongDoubleHuman(sum)
	enc := store.EncEmbstr
	if len(out) > store.EmbstrMax {
		enc = store.EncRaw
	}
	c.db.SetValue(key, store.Object{Str: out, Type: store.TypeString, Enc: enc}, true)
	c.modified(key)
	c.notify(notifyString, "incrbyfloat", key)
	c.replyBulk(out)
	// Replicas get the result, not the increment, so that float
	// formatting can never make them diverge.
	// out is the stored value, which later SETRANGE/SETBIT may change in
	// place: the propagated command gets its own copy.
	c.propagateArgv = [][]byte{[]byte("SET"), key, append([]byte(nil), out...), []byte("KEEPTTL")}
}

// Emulation of the x87 80-bit long double Redis uses for INCRBYFLOAT: a
// 64-bit significand, normal exponents down to 2^-16382, subnormals down
// to 2^-16445 and a largest finite value just under 2^16384.
const (
	ldPrec    = 64
	ldMaxExp  = 16384  // big.Float exponent (mantissa in [0.5,1)) of the largest finite value
	ldMinExp  = -16381 // exponent of the smallest normal value
	ldMinBits = -16445 // weight of the lowest subnormal bit
	ldMaxLen  = 5 * 1024
)

// ldValue is a finite long double, or an infinity (inf = ±1).
type ldValue struct {
	f   *big.Float
	inf int
}

// ldRound rounds the exact value r to a long double, honouring
// subnormals. It reports overflow (the result is infinite) and
// underflow (a non-zero value rounded to zero).
func ldRound(r *big.Rat) (f *big.Float, overflow, underflow bool) {
	f = new(big.Float).SetMode(big.ToNearestEven).SetPrec(ldPrec).SetRat(r)
	if f.IsInf() {
		return f, true, false
	}
	if f.Sign() == 0 {
		return f, false, r.Sign() != 0
	}
	exp := f.MantExp(nil)
	if exp > ldMaxExp {
		return f, true, false
	}
	if exp < ldMinExp {
		// A subnormal keeps only the bits down to 2^ldMinBits.
		prec := int64(exp) - ldMinBits
		if prec <= 0 {
			// Below half the smallest subnormal rounds to zero; from half
			// upwards (ties to even excepted at exactly half) to it.
			half := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), uint(-ldMinBits+1)))
			abs := new(big.Rat).Abs(r)
			if abs.Cmp(half) <= 0 {
				return new(big.Float).SetPrec(ldPrec), false, true
			}
			tiny := new(big.Float).SetPrec(ldPrec).SetMantExp(big.NewFloat(0.5), ldMinBits+1)
			if r.Sign() < 0 {
				tiny.Neg(tiny)
			}
			return tiny, false, false
		}
		f = new(big.Float).SetMode(big.ToNearestEven).SetPrec(uint(prec)).SetRat(r)
		f.SetPrec(ldPrec)
	}
	return f, false, false
}

// parseLongDouble accepts what Redis's string2ld accepts: the whole of b
// must be a number for strtold (decimal or hex, inf/infinity, no leading
// space), not NaN, and not out of range.
func parseLongDouble(b []byte) (ldValue, bool) {
	if len(b) == 0 || len(b) >= ldMaxLen {
		return ldValue{}, false
	}
	switch b[0] {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return ldValue{}, false
	}
	i := 0
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		i++
	}
	rest := b[i:]
	if eqFold(rest, "inf") || eqFold(rest, "infinity") {
		if neg {
			return ldValue{inf: -1}, true
		}
		return ldValue{inf: 1}, true
	}
	var r *big.Rat
	var ok bool
	if len(rest) >= 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X') {
		r, ok = parseHexRat(rest[2:])
	} else {
		r, ok = parseDecRat(rest)
	}
	if !ok {
		return ldValue{}, false
	}
	if neg {
		r.Neg(r)
	}
	f, over, under := ldRound(r)
	if over || under {
		return ldValue{}, false // strtold's ERANGE
	}
	if neg && f.Sign() == 0 {
		f.Neg(f)
	}
	return ldValue{f: f}, true
}

// parseDecRat parses digits[.digits][e[+-]digits] exactly, refusing
// magnitudes far outside the long double range before building them.
func parseDecRat(s []byte) (*big.Rat, bool) {
	var digits []byte
	i, intDigits, nd := 0, 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits = append(digits, s[i])
		intDigits++
	}
	nd = intDigits
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits = append(digits, s[i])
			nd++
		}
	}
	if nd == 0 {
		return nil, false
	}
	exp, ok := parseExponent(s[i:], 'e')
	if !ok {
		return nil, false
	}
	lead := 0
	for lead < len(digits) && digits[lead] == '0' {
		lead++
	}
	if lead == len(digits) {
		return new(big.Rat), true
	}
	sig := digits[lead:]
	// The value is 0.sig × 10^mag.
	mag := exp + int64(intDigits) - int64(lead)
	if mag > 4934 {
		return hugeRat(), true
	}
	if mag < -4953 {
		return tinyRat(), true
	}
	num, _ := new(big.Int).SetString(string(sig), 10)
	p := mag - int64(len(sig))
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(abs64(p)), nil)
	if p >= 0 {
		return new(big.Rat).SetInt(num.Mul(num, pow)), true
	}
	return new(big.Rat).SetFrac(num, pow), true
}

// parseHexRat parses the part of a hex float after "0x".
func parseHexRat(s []byte) (*big.Rat, bool) {
	num := new(big.Int)
	i, nd, frac, lead := 0, 0, 0, 0
	seenNonZero := false
	digit := func(ch byte) (int64, bool) {
		switch {
		case ch >= '0' && ch <= '9':
			return int64(ch - '0'), true
		case ch >= 'a' && ch <= 'f':
			return int64(ch-'a') + 10, true
		case ch >= 'A' && ch <= 'F':
			return int64(ch-'A') + 10, true
		}
		return 0, false
	}
	intPart := true
	for ; i < len(s); i++ {
		if s[i] == '.' && intPart {
			intPart = false
			continue
		}
		d, ok := digit(s[i])
		if !ok {
			break
		}
		nd++
		if !intPart {
			frac++
		}
		if d != 0 {
			seenNonZero = true
		}
		if !seenNonZero {
			lead++
		}
		num.Lsh(num, 4)
		num.Or(num, big.NewInt(d))
	}
	if nd == 0 {
		return nil, false
	}
	exp, ok := parseExponent(s[i:], 'p')
	if !ok {
		return nil, false
	}
	if num.Sign() == 0 {
		return new(big.Rat), true
	}
	p := exp - 4*int64(frac)
	mag := p + int64(num.BitLen())
	if mag > ldMaxExp+2 {
		return hugeRat(), true
	}
	if mag < ldMinBits-2 {
		return tinyRat(), true
	}
	if p >= 0 {
		return new(big.Rat).SetInt(num.Lsh(num, uint(p))), true
	}
	return new(big.Rat).SetFrac(num, new(big.Int).Lsh(big.NewInt(1), uint(-p))), true
}

// parseExponent parses an optional exponent ("e-5", "p+3") that must
// end the string; its value saturates far beyond any representable one.
func parseExponent(s []byte, mark byte) (int64, bool) {
	if len(s) == 0 {
		return 0, true
	}
	if s[0] != mark && s[0] != mark-32 {
		return 0, false
	}
	s = s[1:]
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	var v int64
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		if v < 1<<40 {
			v = v*10 + int64(ch-'0')
		}
	}
	if neg {
		v = -v
	}
	return v, true
}

// hugeRat and tinyRat stand for magnitudes that certainly overflow or
// underflow a long double.
func hugeRat() *big.Rat {
	return new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), ldMaxExp+8))
}

func tinyRat() *big.Rat {
	return new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), -ldMinBits+8))
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// addLongDouble adds as the x87 FPU would; ok is false when the result
// is infinite or NaN.
func addLongDouble(a, b ldValue) (*big.Float, bool) {
	if a.inf != 0 || b.inf != 0 {
		return nil, false
	}
	ra, rb := new(big.Rat), new(big.Rat)
	if a.f != nil {
		a.f.Rat(ra)
	}
	if b.f != nil {
		b.f.Rat(rb)
	}
	sum, over, _ := ldRound(ra.Add(ra, rb))
	if over {
		return nil, false
	}
	return sum, true
}

// formatLongDoubleHuman formats as Redis's ld2string in human mode:
// printf("%.17Lf") with trailing zeros (and a bare point) trimmed, and
// "-0" shown as "0".
func formatLongDoubleHuman(f *big.Float) []byte {
	out := f.Append(nil, 'f', 17)
	if n := len(out); n > 0 {
		for n > 0 && out[n-1] == '0' {
			n--
		}
		if n > 0 && out[n-1] == '.' {
			n--
		}
		out = out[:n]
	}
	if len(out) == 2 && out[0] == '-' && out[1] == '0' {
		out = out[1:]
	}
	return out
}
