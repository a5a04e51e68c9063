package rdb

import (
	"sort"
	"testing"
)

// One PayloadDecoder decodes payloads of every type one after another
// (the reused buffer keeps nothing of the last one) as DecodeValue does,
// and still refuses a corrupt one.
func TestPayloadDecoderReuse(t *testing.T) {
	objs := sampleObjects()
	names := make([]string, 0, len(objs))
	for n := range objs {
		names = append(names, n)
	}
	sort.Strings(names)
	var d PayloadDecoder
	for round := 0; round < 2; round++ {
		for _, name := range names {
			p, err := AppendValueUncompressed(nil, objs[name])
			if err != nil {
				t.Fatalf("%s: encode: %v", name, err)
			}
			got, err := d.Decode(p, DefaultLimits, DecodeOptions{})
			if err != nil {
				t.Fatalf("%s: decode: %v", name, err)
			}
			if describe(got) != describe(objs[name]) || encodingOf(got) != encodingOf(objs[name]) {
				t.Errorf("%s: got %s (%s)\nwant %s (%s)", name, describe(got), encodingOf(got), describe(objs[name]), encodingOf(objs[name]))
			}
			p[len(p)/2] ^= 0x20
			if _, err := d.Decode(p, DefaultLimits, DecodeOptions{}); err == nil {
				t.Errorf("%s: a corrupted payload decoded", name)
			}
		}
	}
}
