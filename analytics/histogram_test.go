package analytics_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/smartonboarding/smartonboard/analytics"
)

// histogramOf counts each value once.
func histogramOf(values ...float64) *analytics.Histogram {
	h := analytics.NewHistogram()
	for _, v := range values {
		h.Add(v, 1)
	}
	return h
}

// exactQuantile is the rank convention done the slow way: sort, and take the
// ceil(q·n)-th value (at least the first).
func exactQuantile(values []float64, q float64) float64 {
	s := slices.Sorted(slices.Values(values))
	rank := max(int(math.Ceil(q*float64(len(s))-1e-9)), 1)
	return s[rank-1]
}

// within tells whether got is within 1% of want (and exactly 0 for 0).
func within(got, want float64) bool { return math.Abs(got-want) <= analytics.Accuracy*want }

func TestHistogramQuantileHandPicked(t *testing.T) {
	t.Parallel()
	var hundred []float64
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, float64(i))
	}
	tests := []struct {
		name   string
		values []float64
		q      float64
		want   float64
	}{
		{"median of four is the second", []float64{40, 10, 30, 20}, 0.5, 20}, // ceil(0.5·4) = 2nd
		{"p90 of four is the fourth", []float64{40, 10, 30, 20}, 0.9, 40},    // ceil(3.6) = 4th
		{"p75 of four is the third", []float64{40, 10, 30, 20}, 0.75, 30},    // ceil(3) = 3rd
		{"p7 of a hundred is the seventh", hundred, 0.07, 7},                 // 0.07·100 is 7.000000000000001 in floating point
		{"p0 is the smallest", []float64{5, 3, 9}, 0, 3},
		{"p100 is the largest", []float64{5, 3, 9}, 1, 9},
		{"q above 1 is the largest", []float64{5, 3, 9}, 2, 9},
		{"zeros count", []float64{0, 0, 5}, 0.5, 0},                   // 2nd of 0, 0, 5
		{"negative values count as 0", []float64{-7, 12, 30}, 0.3, 0}, // 1st of 0, 12, 30
		{"a month", []float64{30 * 86400}, 0.5, 30 * 86400},
		{"sub-second", []float64{0.25, 0.5, 0.75}, 0.5, 0.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := histogramOf(tc.values...).Quantile(tc.q)
			if !ok || !within(got, tc.want) {
				t.Fatalf("Quantile(%v) = %v, %v; want %v within 1%%", tc.q, got, ok, tc.want)
			}
		})
	}
}

// TestHistogramAccuracy: on sets spread over several orders of magnitude,
// every quantile is within 1% of the exact one.
func TestHistogramAccuracy(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	sets := map[string][]float64{}
	for i := 1; i <= 1000; i++ {
		sets["1 to 1000"] = append(sets["1 to 1000"], float64(i))
	}
	for range 5000 {
		sets["log-uniform, 0.1 s to 30 days"] = append(sets["log-uniform, 0.1 s to 30 days"], 0.1*math.Pow(2.6e7, r.Float64()))
		sets["exponential, mean 1 h"] = append(sets["exponential, mean 1 h"], r.ExpFloat64()*3600)
	}
	for name, values := range sets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := histogramOf(values...)
			if h.Count() != int64(len(values)) {
				t.Fatalf("Count = %d, want %d", h.Count(), len(values))
			}
			for _, q := range []float64{0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1} {
				want := exactQuantile(values, q)
				if got, ok := h.Quantile(q); !ok || !within(got, want) {
					t.Errorf("Quantile(%v) = %v, %v; want %v within 1%%", q, got, ok, want)
				}
			}
		})
	}
}

func TestHistogramEmpty(t *testing.T) {
	t.Parallel()
	h := analytics.NewHistogram()
	if _, ok := h.Quantile(0.5); ok {
		t.Fatal("an empty histogram has a median")
	}
	if h.Count() != 0 || h.Encode() != nil || h.CountAtMost(1e9) != 0 {
		t.Fatalf("empty: count %d, encoding %x, at most 1e9 %d", h.Count(), h.Encode(), h.CountAtMost(1e9))
	}
	if got := h.Buckets([]float64{1, 2}); !slices.Equal(got, []int64{0, 0, 0}) {
		t.Fatalf("Buckets = %v", got)
	}
}

// TestHistogramMergeIsAddingAll: merging two histograms gives what adding
// every value to one gives, byte for byte.
func TestHistogramMergeIsAddingAll(t *testing.T) {
	t.Parallel()
	a := []float64{0, 1, 2, 60, 3600, 3600, 86400}
	b := []float64{0, 2, 59, 61, 3600, 1e7}
	h := histogramOf(a...)
	h.Merge(histogramOf(b...))
	h.Merge(nil)
	all := histogramOf(append(slices.Clone(a), b...)...)
	if !bytes.Equal(h.Encode(), all.Encode()) {
		t.Fatalf("merged %x, all %x", h.Encode(), all.Encode())
	}
	if h.Count() != 13 {
		t.Fatalf("Count = %d, want 7 + 6", h.Count())
	}
}

// TestHistogramSubtractRestores: taking values out again (as replacing a
// journey's fact does) restores the histogram exactly, down to empty.
func TestHistogramSubtractRestores(t *testing.T) {
	t.Parallel()
	base := []float64{0, 5, 5, 600, 7200}
	extra := []float64{0, 5, 42, 1e6}
	h := histogramOf(base...)
	want := h.Encode()
	for _, v := range extra {
		h.Add(v, 1)
	}
	for _, v := range extra {
		h.Add(v, -1)
	}
	if !bytes.Equal(h.Encode(), want) {
		t.Fatalf("after adding and removing: %x, want %x", h.Encode(), want)
	}
	for _, v := range base {
		h.Add(v, -1)
	}
	if h.Count() != 0 || h.Encode() != nil {
		t.Fatalf("after removing everything: count %d, encoding %x", h.Count(), h.Encode())
	}
	if _, ok := h.Quantile(0.5); ok {
		t.Fatal("an emptied histogram has a median")
	}
}

// TestHistogramNegativeCounts: a delta (a value taken out before any was
// added) survives encoding, and adding the value back cancels it.
func TestHistogramNegativeCounts(t *testing.T) {
	t.Parallel()
	h := analytics.NewHistogram()
	h.Add(600, -1)
	h.Add(0, -2)
	h.Add(30, 3)
	if h.Count() != 0 { // -1 - 2 + 3
		t.Fatalf("Count = %d, want 0", h.Count())
	}
	d, err := analytics.DecodeHistogram(h.Encode())
	if err != nil {
		t.Fatal(err)
	}
	d.Merge(histogramOf(600, 0, 0))
	if want := histogramOf(30, 30, 30).Encode(); !bytes.Equal(d.Encode(), want) {
		t.Fatalf("delta plus what it took out = %x, want %x", d.Encode(), want)
	}
}

func TestHistogramRoundTrip(t *testing.T) {
	t.Parallel()
	tests := map[string]*analytics.Histogram{
		"empty":        analytics.NewHistogram(),
		"zeros only":   histogramOf(0, 0, -1),
		"one value":    histogramOf(42),
		"wide":         histogramOf(1e-300, 0.001, 1, 60, 3600, 86400, 1e12, math.Inf(1)),
		"many repeats": manyRepeats(),
	}
	for name, h := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := h.Encode()
			d, err := analytics.DecodeHistogram(b)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(d.Encode(), b) || d.Count() != h.Count() {
				t.Fatalf("decoded %x (count %d), encoded %x (count %d)", d.Encode(), d.Count(), b, h.Count())
			}
			for _, q := range []float64{0, 0.5, 0.9, 1} {
				gv, gok := d.Quantile(q)
				wv, wok := h.Quantile(q)
				if gv != wv || gok != wok {
					t.Fatalf("Quantile(%v): decoded %v %v, original %v %v", q, gv, gok, wv, wok)
				}
			}
		})
	}
	for _, b := range [][]byte{nil, {}} {
		if h, err := analytics.DecodeHistogram(b); err != nil || h.Count() != 0 {
			t.Fatalf("DecodeHistogram(%#v) = count %v, %v; want empty", b, h, err)
		}
	}
}

func manyRepeats() *analytics.Histogram {
	h := analytics.NewHistogram()
	h.Add(90, 1_000_000_000_000)
	h.Add(0, 3)
	return h
}

// TestHistogramDeterministic: the same values give the same bytes in any
// insertion order, and a bin that went to 0 and back leaves no trace.
func TestHistogramDeterministic(t *testing.T) {
	t.Parallel()
	values := []float64{0, 1, 1, 2, 3, 60, 61, 3600, 86400, 1e6}
	want := histogramOf(values...).Encode()
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		shuffled := slices.Clone(values)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		h := histogramOf(shuffled...)
		h.Add(777, 1)
		h.Add(777, -1)
		if got := h.Encode(); !bytes.Equal(got, want) {
			t.Fatalf("order %v encodes %x, want %x", shuffled, got, want)
		}
	}
}

// TestHistogramEncodingIsStable pins the stored format: these bytes were
// written by the map-based histogram this one replaced, and rows in
// databases hold them.
func TestHistogramEncodingIsStable(t *testing.T) {
	t.Parallel()
	h := histogramOf(0, 1, 2.5, 60, 61, 3600, 1e9)
	h.Add(60, 2)
	h.Add(2.5, -1)
	h.Add(1e-9, 3)
	want := []byte{0x1, 0x2, 0x6, 0x99, 0x10, 0x6, 0x8d, 0x8, 0x2, 0xcc, 0x1, 0x6, 0x1, 0x2, 0xcc, 0x1, 0x2, 0xf3, 0x4, 0x2}
	if got := h.Encode(); !bytes.Equal(got, want) {
		t.Fatalf("Encode = %#v, want %#v", got, want)
	}
	back, err := analytics.DecodeHistogram(want)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Encode(); !bytes.Equal(got, want) {
		t.Fatalf("decoded and encoded again: %#v, want %#v", got, want)
	}
}

func TestHistogramDecodeGarbage(t *testing.T) {
	t.Parallel()
	valid := histogramOf(0, 10, 20).Encode() // version 1, zero 1, 2 bins
	tests := map[string][]byte{
		"unknown version":      {2, 0, 1, 0, 2},
		"version only":         {1},
		"no bin count":         {1, 0},
		"empty histogram":      {1, 0, 0}, // encodes as nothing
		"bins missing":         {1, 0, 1},
		"count missing":        {1, 0, 1, 2},
		"zero count":           {1, 0, 1, 2, 0},
		"zero gap":             {1, 0, 2, 2, 2, 0, 2},
		"index beyond int32":   {1, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x20, 2},
		"more bins than bytes": {1, 0, 0xff, 0xff, 0x03, 2, 2},
		"index below any bin":  {1, 0, 1, 0xff, 0xff, 0x07, 2},       // -65536
		"gap beyond any bin":   {1, 0, 2, 0, 2, 0x80, 0x80, 0x08, 2}, // 131072 past bin 0
		"index above any bin":  {1, 0, 2, 0, 2, 0xa0, 0x99, 0x02, 2}, // 36000 past bin 0
		"trailing byte":        append(slices.Clone(valid), 0),
		"truncated":            valid[:len(valid)-1],
		"unterminated varint":  {1, 0x80},
		"varint not minimal":   {1, 0, 1, 0xcc, 0x00, 2}, // 76 in two bytes
		"text":                 []byte("not a histogram"),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if h, err := analytics.DecodeHistogram(b); err == nil {
				t.Fatalf("DecodeHistogram(%x) = %x, want an error", b, h.Encode())
			}
		})
	}
}

// TestHistogramCountsByEdges: values are kept clear of the edges by more
// than 1%, so that their bins fall on one side.
func TestHistogramCountsByEdges(t *testing.T) {
	t.Parallel()
	h := histogramOf(0, 30, 59, 61, 290, 310, 1000)
	tests := []struct {
		atMost float64
		want   int64
	}{
		{-1, 0},   // nothing is negative
		{0, 1},    // 0
		{59.9, 3}, // 0, 30, 59 (59's bin is at most 59.6)
		{100, 4},  // 0, 30, 59, 61
		{1e9, 7},  // everything
	}
	for _, tc := range tests {
		if got := h.CountAtMost(tc.atMost); got != tc.want {
			t.Errorf("CountAtMost(%v) = %d, want %d", tc.atMost, got, tc.want)
		}
	}
	// [0, 60): 0, 30, 59; [60, 300): 61, 290; ≥ 300: 310, 1000.
	if got := h.Buckets([]float64{60, 300}); !slices.Equal(got, []int64{3, 2, 2}) {
		t.Errorf("Buckets(60, 300) = %v, want [3 2 2]", got)
	}
	// Below 1: 0; [1, 1e4): the other six; ≥ 1e4: none.
	if got := h.Buckets([]float64{1, 1e4}); !slices.Equal(got, []int64{1, 6, 0}) {
		t.Errorf("Buckets(1, 1e4) = %v, want [1 6 0]", got)
	}
	// A value's bin counts at most its representative, which Quantile returns.
	if top, _ := h.Quantile(1); h.CountAtMost(top) != 7 {
		t.Errorf("CountAtMost(%v), the largest value's representative, = %d, want 7", top, h.CountAtMost(top))
	}
	if got := h.Buckets(nil); !slices.Equal(got, []int64{7}) {
		t.Errorf("Buckets() = %v, want [7]", got)
	}
}

// FuzzDecodeHistogram: whatever the bytes, decoding never panics; what it
// accepts is canonical (encodes back to the same bytes), and merging it
// straight from its bytes gives what laying it out does.
func FuzzDecodeHistogram(f *testing.F) {
	f.Add(histogramOf(0, 1, 2.5, 60, 61, 3600, 1e9).Encode())
	f.Add(histogramOf(1e-9, 5).Encode())
	f.Add([]byte{1, 0, 2, 0, 2, 0xa0, 0x99, 0x02, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := analytics.DecodeHistogram(b)
		if err != nil {
			return
		}
		if got := h.Encode(); !bytes.Equal(got, b) && len(b) > 0 {
			t.Fatalf("DecodeHistogram(%x) encodes back as %x", b, got)
		}
		merged := analytics.NewHistogram()
		lazy, err := analytics.DecodeHistogram(b)
		if err != nil {
			t.Fatalf("decoding %x again: %v", b, err)
		}
		merged.Merge(lazy)
		if !bytes.Equal(merged.Encode(), h.Encode()) || merged.Count() != h.Count() {
			t.Fatalf("merged from bytes %x, laid out %x", merged.Encode(), h.Encode())
		}
	})
}
