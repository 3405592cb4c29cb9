package analytics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/DataDog/sketches-go/ddsketch/mapping"
)

// Accuracy is the relative accuracy of a Histogram's values: a quantile it
// returns is within 1% of a value of the set at that rank.
const Accuracy = 0.01

// binning maps values to logarithmic bins of relative width Accuracy; it is
// DDSketch's mapping, without DDSketch's store, which refuses negative counts.
var binning = mustMapping()

func mustMapping() *mapping.LogarithmicMapping {
	m, err := mapping.NewLogarithmicMapping(Accuracy)
	if err != nil {
		panic(err) // Accuracy is a constant in (0, 1)
	}
	return m
}

// histogramVersion heads every encoding, so the format can change later.
const histogramVersion = 1

// Histogram counts non-negative values (seconds) in logarithmic bins. Unlike a
// DDSketch it can be subtracted from (Add with a negative count), so a
// journey's old contribution to a rollup can be taken out again. Make one
// with NewHistogram or DecodeHistogram; a nil *Histogram reads as empty.
type Histogram struct {
	zero int64           // values below the smallest indexable value, 0 included
	bins map[int32]int64 // bin index → count; a bin at 0 is dropped
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{bins: map[int32]int64{}} }

// Add counts n more values v (n < 0 takes them out); negative and NaN values
// count as 0, values too large to index as the largest indexable one.
func (h *Histogram) Add(v float64, n int64) {
	if n == 0 {
		return
	}
	if !(v >= binning.MinIndexableValue()) { // also catches NaN
		h.zero += n
		return
	}
	h.addBin(int32(binning.Index(min(v, binning.MaxIndexableValue()))), n)
}

// addBin adds n to a bin, dropping it when it reaches 0 so that equal
// contents encode the same way.
func (h *Histogram) addBin(i int32, n int64) {
	if c := h.bins[i] + n; c != 0 {
		h.bins[i] = c
	} else {
		delete(h.bins, i)
	}
}

// Merge adds o's counts to h; a nil o adds nothing.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil {
		return
	}
	h.zero += o.zero
	for i, c := range o.bins {
		h.addBin(i, c)
	}
}

// Count returns how many values h holds (the sum of its counts).
func (h *Histogram) Count() int64 {
	if h == nil {
		return 0
	}
	n := h.zero
	for _, c := range h.bins {
		n += c
	}
	return n
}

// Empty tells whether every count of h is 0.
func (h *Histogram) Empty() bool { return h == nil || h.zero == 0 && len(h.bins) == 0 }

// Quantile returns the q-quantile (q in [0, 1]): the smallest value v such
// that at least ceil(q·count) values are ≤ v (at least one), within 1%. So
// the median of {10, 20, 30, 40} is 20 and its p90 is 40. It is false when h
// holds no value; it is meaningful only while no count is negative.
func (h *Histogram) Quantile(q float64) (float64, bool) {
	n := h.Count()
	if n <= 0 || math.IsNaN(q) {
		return 0, false
	}
	r := min(max(q, 0), 1) * float64(n)
	rank := max(int64(math.Ceil(r-r*1e-12)), 1) // the tolerance absorbs q·n's rounding: 0.7·10 is 7.000000000000001
	seen := h.zero
	if seen >= rank {
		return 0, true
	}
	indices := h.indices()
	for _, i := range indices {
		if seen += h.bins[i]; seen >= rank {
			return binning.Value(int(i)), true
		}
	}
	return binning.Value(int(indices[len(indices)-1])), true
}

// CountAtMost returns how many values are ≤ v, each value taken as its bin's
// representative (within 1% of it), as Buckets does.
func (h *Histogram) CountAtMost(v float64) int64 {
	var n int64
	if h == nil {
		return 0
	}
	if v >= 0 {
		n = h.zero
	}
	for i, c := range h.bins {
		if binning.Value(int(i)) <= v {
			n += c
		}
	}
	return n
}

// Buckets counts values per [edges[i-1], edges[i]), with a first bucket for
// values below edges[0] and a last one for values ≥ the last edge, each value
// taken as its bin's representative; edges must ascend. len = len(edges)+1.
func (h *Histogram) Buckets(edges []float64) []int64 {
	out := make([]int64, len(edges)+1)
	if h == nil {
		return out
	}
	out[bucketOf(0, edges)] += h.zero
	for i, c := range h.bins {
		out[bucketOf(binning.Value(int(i)), edges)] += c
	}
	return out
}

// bucketOf returns how many edges are ≤ v: the bucket v falls in.
func bucketOf(v float64, edges []float64) int {
	n, _ := slices.BinarySearchFunc(edges, v, func(e, v float64) int {
		if e <= v {
			return -1
		}
		return 1
	})
	return n
}

// indices returns the bin indices in ascending order.
func (h *Histogram) indices() []int32 { return slices.Sorted(maps.Keys(h.bins)) }

// Encode returns h compactly and deterministically (equal contents, equal
// bytes): a version byte, the zero count, the number of bins, then each bin
// in ascending order as its index (the first) or the gap from the previous
// index, and its count, all varints. An empty histogram encodes as nil.
func (h *Histogram) Encode() []byte {
	if h.Empty() {
		return nil
	}
	b := make([]byte, 0, 4+4*len(h.bins))
	b = append(b, histogramVersion)
	b = binary.AppendVarint(b, h.zero)
	b = binary.AppendUvarint(b, uint64(len(h.bins)))
	prev := int64(0)
	for k, i := range h.indices() {
		if k == 0 {
			b = binary.AppendVarint(b, int64(i))
		} else {
			b = binary.AppendUvarint(b, uint64(int64(i)-prev))
		}
		b = binary.AppendVarint(b, h.bins[i])
		prev = int64(i)
	}
	return b
}

// errCorrupt wraps every decoding failure of a histogram.
var errCorrupt = errors.New("analytics: corrupt histogram")

// DecodeHistogram reads what Encode wrote; nil or empty bytes are an empty
// histogram, anything Encode cannot have written an error.
func DecodeHistogram(b []byte) (*Histogram, error) {
	h := NewHistogram()
	if len(b) == 0 {
		return h, nil
	}
	if b[0] != histogramVersion {
		return nil, fmt.Errorf("%w: version %d", errCorrupt, b[0])
	}
	d := decoder{b: b[1:]}
	h.zero = d.varint()
	n := d.uvarint()
	if n > uint64(len(d.b))/2 { // a bin takes at least two bytes
		return nil, fmt.Errorf("%w: %d bins in %d bytes", errCorrupt, n, len(d.b))
	}
	var index int64
	for k := range n {
		if k == 0 {
			index = d.varint()
		} else if gap := d.uvarint(); gap == 0 || gap > math.MaxInt32 {
			d.fail("bin gap %d", gap)
		} else {
			index += int64(gap)
		}
		c := d.varint()
		if index < math.MinInt32 || index > math.MaxInt32 || c == 0 {
			d.fail("bin %d count %d", index, c)
		}
		if d.err != nil {
			return nil, d.err
		}
		h.bins[int32(index)] = c
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d bytes after the bins", len(d.b))
	}
	if d.err == nil && h.Empty() {
		d.fail("an empty histogram encodes as nothing")
	}
	if d.err != nil {
		return nil, d.err
	}
	return h, nil
}

// decoder reads varints and keeps the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{errCorrupt}, args...)...)
	}
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}
