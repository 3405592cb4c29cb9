package analytics

import (
	"encoding/binary"
	"errors"
	"fmt"
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
// journey's old contribution to a rollup can be taken out again. Its bins are
// a dense slice over the indices in use, so merging two costs their span, at
// most a few thousand bins for any durations, however many values they hold.
// Make one with NewHistogram or DecodeHistogram; a nil *Histogram reads as
// empty.
type Histogram struct {
	zero   int64   // values below the smallest indexable value, 0 included
	first  int32   // the bin index of counts[0]
	counts []int64 // counts[i] is bin first+i; zeros inside or at either end are allowed
	// encoded holds bins DecodeHistogram checked and has not laid out yet:
	// merging them into another histogram reads them from the bytes, so a
	// report summing hundreds of rows fills one slice instead of allocating
	// one per row. Any other use lays them out first (settle).
	encoded encodedBins
}

// encodedBins are a checked encoding's bins and the range of their indices.
type encodedBins struct {
	b           []byte
	first, last int32
}

// settle lays out bins still encoded; every method but Merge's argument
// calls it first.
func (h *Histogram) settle() {
	if h == nil || h.encoded.b == nil {
		return
	}
	e := h.encoded
	h.encoded = encodedBins{}
	h.first, h.counts = e.first, make([]int64, e.last-e.first+1)
	addBins(e.b, h.counts, h.first)
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{} }

// minBin and maxBin bound the bin indices Add can produce, so a corrupt
// encoding cannot make DecodeHistogram allocate more than that span.
var minBin, maxBin = int32(binning.Index(binning.MinIndexableValue())), int32(binning.Index(binning.MaxIndexableValue()))

// Add counts n more values v (n < 0 takes them out); negative and NaN values
// count as 0, values too large to index as the largest indexable one.
func (h *Histogram) Add(v float64, n int64) {
	if n == 0 {
		return
	}
	h.settle()
	if !(v >= binning.MinIndexableValue()) { // also catches NaN
		h.zero += n
		return
	}
	h.addBin(int32(binning.Index(min(v, binning.MaxIndexableValue()))), n)
}

// addBin adds n to bin i, widening the slice to reach it.
func (h *Histogram) addBin(i int32, n int64) {
	h.cover(i, i)
	h.counts[i-h.first] += n
}

// cover widens counts to hold the bins lo through hi.
func (h *Histogram) cover(lo, hi int32) {
	if len(h.counts) == 0 {
		h.first, h.counts = lo, make([]int64, hi-lo+1)
		return
	}
	if lo < h.first {
		h.counts = append(make([]int64, h.first-lo, int(h.first-lo)+len(h.counts)), h.counts...)
		h.first = lo
	}
	if last := h.first + int32(len(h.counts)) - 1; hi > last {
		h.counts = append(h.counts, make([]int64, hi-last)...)
	}
}

// Merge adds o's counts to h; a nil o adds nothing.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil {
		return
	}
	h.settle()
	h.zero += o.zero
	if e := o.encoded; e.b != nil {
		h.cover(e.first, e.last)
		addBins(e.b, h.counts, h.first)
		return
	}
	if len(o.counts) == 0 {
		return
	}
	h.cover(o.first, o.first+int32(len(o.counts))-1)
	dst := h.counts[o.first-h.first:]
	for i, c := range o.counts {
		dst[i] += c
	}
}

// Count returns how many values h holds (the sum of its counts).
func (h *Histogram) Count() int64 {
	if h == nil {
		return 0
	}
	h.settle()
	n := h.zero
	for _, c := range h.counts {
		n += c
	}
	return n
}

// Empty tells whether every count of h is 0.
func (h *Histogram) Empty() bool {
	h.settle()
	return h == nil || h.zero == 0 && !slices.ContainsFunc(h.counts, func(c int64) bool { return c != 0 })
}

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
	last := 0
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		last = i
		if seen += c; seen >= rank {
			return h.value(i), true
		}
	}
	return h.value(last), true
}

// value returns the representative value of counts[i]'s bin.
func (h *Histogram) value(i int) float64 { return binning.Value(int(h.first) + i) }

// CountAtMost returns how many values are ≤ v, each value taken as its bin's
// representative (within 1% of it), as Buckets does.
func (h *Histogram) CountAtMost(v float64) int64 {
	var n int64
	if h == nil {
		return 0
	}
	h.settle()
	if v >= 0 {
		n = h.zero
	}
	for i, c := range h.counts {
		if c != 0 && h.value(i) <= v {
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
	h.settle()
	out[bucketOf(0, edges)] += h.zero
	for i, c := range h.counts {
		if c != 0 {
			out[bucketOf(h.value(i), edges)] += c
		}
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

// bins returns how many bins hold a count other than 0.
func (h *Histogram) bins() int {
	n := 0
	for _, c := range h.counts {
		if c != 0 {
			n++
		}
	}
	return n
}

// Encode returns h compactly and deterministically (equal contents, equal
// bytes): a version byte, the zero count, the number of bins, then each bin
// in ascending order as its index (the first) or the gap from the previous
// index, and its count, all varints; bins at 0 are left out. An empty
// histogram encodes as nil.
func (h *Histogram) Encode() []byte {
	if h.Empty() {
		return nil
	}
	n := h.bins()
	b := make([]byte, 0, 4+4*n)
	b = append(b, histogramVersion)
	b = binary.AppendVarint(b, h.zero)
	b = binary.AppendUvarint(b, uint64(n))
	prev := int64(0)
	for k, i := 0, 0; i < len(h.counts); i++ {
		c := h.counts[i]
		if c == 0 {
			continue
		}
		index := int64(h.first) + int64(i)
		if k == 0 {
			b = binary.AppendVarint(b, index)
		} else {
			b = binary.AppendUvarint(b, uint64(index-prev))
		}
		b = binary.AppendVarint(b, c)
		prev, k = index, k+1
	}
	return b
}

// errCorrupt wraps every decoding failure of a histogram.
var errCorrupt = errors.New("analytics: corrupt histogram")

// DecodeHistogram reads what Encode wrote; nil or empty bytes are an empty
// histogram, anything Encode cannot have written an error.
func DecodeHistogram(b []byte) (*Histogram, error) {
	if len(b) == 0 {
		return NewHistogram(), nil
	}
	bins, zero, first, last, err := checkBins(b)
	if err != nil {
		return nil, err
	}
	h := &Histogram{zero: zero}
	if first <= last { // laid out on first use, sized once (bins arrive in order), or merged from the bytes
		h.encoded = encodedBins{bins, first, last}
	}
	return h, nil
}

// checkBins validates an encoding and returns its bins' bytes, its zero
// count and the range of its bin indices (first > last when it has none).
func checkBins(b []byte) (bins []byte, zero int64, first, last int32, err error) {
	if b[0] != histogramVersion {
		return nil, 0, 0, 0, fmt.Errorf("%w: version %d", errCorrupt, b[0])
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errCorrupt}, args...)...)
	}
	b = b[1:]
	zero, i := varintAt(b, 0)
	n, i := uvarintAt(b, i)
	if i < 0 {
		return nil, 0, 0, 0, corrupt("bad varint in the header")
	}
	if n > uint64(len(b)-i)/2 { // a bin takes at least two bytes
		return nil, 0, 0, 0, corrupt("%d bins in %d bytes", n, len(b)-i)
	}
	bins, first, last = b[i:], 0, -1
	var index int64
	for k := range n {
		if k == 0 {
			index, i = varintAt(b, i)
		} else {
			var gap uint64
			if gap, i = uvarintAt(b, i); i >= 0 && (gap == 0 || gap > uint64(maxBin-minBin)) {
				return nil, 0, 0, 0, corrupt("bin gap %d", gap)
			}
			index += int64(gap)
		}
		var c int64
		if i >= 0 {
			c, i = varintAt(b, i)
		}
		if i < 0 {
			return nil, 0, 0, 0, corrupt("bad varint in bin %d", k)
		}
		if index < int64(minBin) || index > int64(maxBin) || c == 0 {
			return nil, 0, 0, 0, corrupt("bin %d count %d", index, c)
		}
		if k == 0 {
			first = int32(index)
		}
		last = int32(index)
	}
	switch {
	case i < len(b):
		return nil, 0, 0, 0, corrupt("%d bytes after the bins", len(b)-i)
	case zero == 0 && n == 0:
		return nil, 0, 0, 0, corrupt("an empty histogram encodes as nothing")
	}
	return bins, zero, first, last, nil
}

// addBins adds the bins of bytes checkBins accepted into dst, whose first
// element is bin first and which spans them all.
func addBins(bins []byte, dst []int64, first int32) {
	var index int64
	for i, k := 0, 0; i < len(bins); k++ {
		if k == 0 {
			index, i = varintAt(bins, i)
		} else {
			var gap uint64
			gap, i = uvarintAt(bins, i)
			index += int64(gap)
		}
		var c int64
		c, i = varintAt(bins, i)
		dst[int32(index)-first] += c
	}
}

// uvarintAt reads the uvarint at b[i:] and returns it and the index after
// it, or -1 for none or one not minimally encoded, which Encode never
// writes (i < 0 passes through); most are one byte.
func uvarintAt(b []byte, i int) (uint64, int) {
	if i < 0 {
		return 0, -1
	}
	if i < len(b) && b[i] < 0x80 {
		return uint64(b[i]), i + 1
	}
	v, n := binary.Uvarint(b[i:])
	if n <= 0 || b[i+n-1] == 0 { // a longer form's last byte is never 0
		return 0, -1
	}
	return v, i + n
}

// varintAt reads a zigzag varint as uvarintAt does.
func varintAt(b []byte, i int) (int64, int) {
	ux, j := uvarintAt(b, i)
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, j
}
