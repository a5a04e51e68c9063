package store

import "fmt"

// Clone returns a deep copy of the value for COPY: the copy shares no
// memory with o, so later writes to either leave the other intact. The
// copy carries no TTL and is in no volatile index; the caller sets the
// destination's TTL with DB.SetExpire so that the index stays right.
// It fails only for a value of a type that cannot be copied.
func (o *Object) Clone() (Object, error) {
	c := Object{Type: o.Type, Enc: o.Enc, LRU: o.LRU}
	if o.Str != nil {
		c.Str = make([]byte, len(o.Str))
		copy(c.Str, o.Str)
	}
	if o.Val == nil {
		return c, nil
	}
	col, ok := o.Val.(Collection)
	if !ok {
		return Object{}, fmt.Errorf("store: cannot copy a value of type %s (%T)", o.Type, o.Val)
	}
	c.Val = col.Clone()
	return c, nil
}
