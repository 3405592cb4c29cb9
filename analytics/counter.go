package analytics

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
)

// Counter counts journeys by a small set of names (engagement buckets,
// struggle rules). Like Histogram it can be decremented, so a journey's
// contribution can be replaced; a name whose count nets to zero is dropped.
type Counter map[string]int64

// Add counts n (which may be negative) under name.
func (c Counter) Add(name string, n int64) {
	if c[name] += n; c[name] == 0 {
		delete(c, name)
	}
}

// Merge adds o's counts.
func (c Counter) Merge(o Counter) {
	for k, n := range o {
		c.Add(k, n)
	}
}

// counterVersion is the first byte of an encoded Counter.
const counterVersion = 1

// Encode returns the counts in name order (deterministic); empty → nil.
func (c Counter) Encode() []byte {
	if len(c) == 0 {
		return nil
	}
	b := []byte{counterVersion}
	b = binary.AppendUvarint(b, uint64(len(c)))
	for _, k := range slices.Sorted(maps.Keys(c)) {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendVarint(b, c[k])
	}
	return b
}

// DecodeCounter reads what Encode wrote; nil or empty bytes are no counts.
func DecodeCounter(b []byte) (Counter, error) {
	c := Counter{}
	if len(b) == 0 {
		return c, nil
	}
	if b[0] != counterVersion {
		return nil, fmt.Errorf("analytics: counter format %d, want %d", b[0], counterVersion)
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("analytics: corrupt counter")
	}
	b = b[k:]
	for range n {
		size, k := binary.Uvarint(b)
		if k <= 0 || size > uint64(len(b)-k) {
			return nil, fmt.Errorf("analytics: corrupt counter name")
		}
		name := string(b[k : k+int(size)])
		b = b[k+int(size):]
		v, k := binary.Varint(b)
		if k <= 0 {
			return nil, fmt.Errorf("analytics: corrupt counter count")
		}
		b = b[k:]
		c[name] = v
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("analytics: %d bytes after the counter", len(b))
	}
	return c, nil
}
