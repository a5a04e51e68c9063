package rdb

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/skiffdb/skiff/store"
)

// describe renders a value canonically (sets and hashes sorted) so tests
// can compare values decoded by different paths.
func describe(o *store.Object) string {
	var sb strings.Builder
	switch o.Type {
	case store.TypeString:
		fmt.Fprintf(&sb, "string %q", o.Str)
	case store.TypeList:
		l := o.Val.(*store.List)
		sb.WriteString("list")
		for i := 0; i < l.Len(); i++ {
			fmt.Fprintf(&sb, " %q", l.At(i))
		}
	case store.TypeSet:
		m := o.Val.(*store.Set).Members()
		sort.Strings(m)
		sb.WriteString("set")
		for _, x := range m {
			fmt.Fprintf(&sb, " %q", x)
		}
	case store.TypeHash:
		var kv []string
		o.Val.(*store.Hash).Each(func(f, v string) bool {
			kv = append(kv, fmt.Sprintf("%q=%q", f, v))
			return true
		})
		sort.Strings(kv)
		sb.WriteString("hash " + strings.Join(kv, " "))
	case store.TypeZSet:
		sb.WriteString("zset")
		for _, m := range o.Val.(*store.ZSet).Members() {
			fmt.Fprintf(&sb, " %q:%s", m.Member, fmtScore(m.Score))
		}
	default:
		sb.WriteString("type " + o.Type.String())
	}
	if o.Expire != 0 {
		fmt.Fprintf(&sb, " expire=%d", o.Expire)
	}
	return sb.String()
}

func fmtScore(f float64) string {
	if math.IsInf(f, 0) {
		if f > 0 {
			return "inf"
		}
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

func encodingOf(o *store.Object) string {
	if c, ok := o.Val.(store.Collection); ok {
		return c.Encoding()
	}
	return []string{"raw", "embstr", "int"}[o.Enc]
}
