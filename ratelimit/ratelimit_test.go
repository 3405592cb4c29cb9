package ratelimit

import (
	"net/http"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// clock is a fake time source that tests move by hand, safe for parallel callers.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newLimiter(maxKeys int) (*Limiter, *clock) {
	c := newClock()
	return New(Options{MaxKeys: maxKeys, Now: c.Now}), c
}

func TestBurstThenRefusal(t *testing.T) {
	t.Parallel()
	l, _ := newLimiter(0)
	for i := range 60 {
		d := l.Allow("ip:203.0.113.5", 60, 1)
		if !d.Allowed || d.Remaining != 59-i || d.Limit != 60 {
			t.Fatalf("request %d: %+v, want allowed with %d remaining", i+1, d, 59-i)
		}
	}
	d := l.Allow("ip:203.0.113.5", 60, 1)
	want := Decision{Allowed: false, Limit: 60, Remaining: 0, Reset: time.Minute, RetryAfter: time.Second}
	if d != want {
		t.Fatalf("61st request: %+v, want %+v", d, want)
	}
	d = l.Allow("ip:203.0.113.5", 60, 5)
	if d.Allowed || d.RetryAfter != 5*time.Second {
		t.Fatalf("5 tokens from an empty bucket: %+v, want refused with RetryAfter 5s", d)
	}
}

func TestRetryAfterFractional(t *testing.T) {
	t.Parallel()
	l, c := newLimiter(0)
	l.Allow("k", 10, 10) // empty; refills one token every 6s
	c.Advance(1500 * time.Millisecond)
	d := l.Allow("k", 10, 1)
	if d.Allowed || d.RetryAfter != 4500*time.Millisecond || d.Reset != 58500*time.Millisecond {
		t.Fatalf("%+v, want refused with RetryAfter 4.5s and Reset 58.5s", d)
	}
	d = l.Allow("k", 10, 11)
	if d.Allowed || d.RetryAfter != d.Reset {
		t.Fatalf("more than the burst: %+v, want refused with RetryAfter = Reset", d)
	}
}

func TestRefill(t *testing.T) {
	t.Parallel()
	l, c := newLimiter(0)
	l.Allow("k", 120, 120)
	c.Advance(10 * time.Second) // 2 tokens a second
	d := l.Allow("k", 120, 1)
	if !d.Allowed || d.Remaining != 19 || d.Reset != 50500*time.Millisecond {
		t.Fatalf("after 10s: %+v, want allowed, 19 remaining, Reset 50.5s", d)
	}
	c.Advance(time.Hour)
	d = l.Allow("k", 120, 1)
	if !d.Allowed || d.Remaining != 119 {
		t.Fatalf("after an hour: %+v, want a full bucket less one", d)
	}
	l.Allow("k", 120, 119)
	c.Advance(1750 * time.Millisecond)
	if d = l.Allow("k", 120, 0); d.Remaining != 3 {
		t.Fatalf("3.5 tokens: %+v, want 3 remaining (rounded down)", d)
	}
}

func TestUnlimitedStoresNothing(t *testing.T) {
	t.Parallel()
	l, _ := newLimiter(0)
	for i := range 1000 {
		for _, pm := range []int{0, -1} {
			d := l.Allow("user:p\x00"+strconv.Itoa(i), pm, 1)
			if d != (Decision{Allowed: true}) {
				t.Fatalf("perMinute %d: %+v, want plain allowed", pm, d)
			}
		}
	}
	if n := l.Len(); n != 0 {
		t.Fatalf("unlimited calls stored %d buckets", n)
	}
}

func TestUntouchedBucketStoresNothing(t *testing.T) {
	t.Parallel()
	l, _ := newLimiter(0)
	d := l.Allow("k", 30, 0)
	if d != (Decision{Allowed: true, Limit: 30, Remaining: 30}) || l.Len() != 0 {
		t.Fatalf("0 tokens: %+v with %d buckets, want a full bucket reported and none stored", d, l.Len())
	}
	d = l.Allow("k", 30, 31)
	if d != (Decision{Allowed: false, Limit: 30, Remaining: 30}) || l.Len() != 0 {
		t.Fatalf("more than the burst: %+v with %d buckets, want refused, full, none stored", d, l.Len())
	}
}

func TestChangedLimitAdopted(t *testing.T) {
	t.Parallel()
	l, c := newLimiter(0)
	l.Allow("key:k1", 100, 100)
	d := l.Allow("key:k1", 10, 1)
	if d.Allowed || d.Limit != 10 || d.RetryAfter != 6*time.Second {
		t.Fatalf("lowered to 10 on an empty bucket: %+v, want refused, RetryAfter 6s", d)
	}
	c.Advance(time.Hour)
	for range 10 {
		l.Allow("key:k1", 10, 1)
	}
	if d = l.Allow("key:k1", 10, 1); d.Allowed {
		t.Fatalf("11th request under the lowered limit of 10 was allowed: %+v", d)
	}
	d = l.Allow("key:k1", 600, 1) // raised: the empty bucket now refills 10 a second
	if d.Allowed || d.Limit != 600 {
		t.Fatalf("raised on an empty bucket: %+v, want refused", d)
	}
	c.Advance(time.Second)
	if d = l.Allow("key:k1", 600, 1); !d.Allowed || d.Remaining != 9 {
		t.Fatalf("a second after raising to 600: %+v, want allowed with 9 left", d)
	}
}

func TestWriteHeaders(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		d    Decision
		want http.Header
	}{
		{"allowed", Decision{Allowed: true, Limit: 600, Remaining: 599, Reset: 100 * time.Millisecond},
			http.Header{"Ratelimit-Limit": {"600"}, "Ratelimit-Remaining": {"599"}, "Ratelimit-Reset": {"1"}}},
		{"full", Decision{Allowed: true, Limit: 5, Remaining: 5},
			http.Header{"Ratelimit-Limit": {"5"}, "Ratelimit-Remaining": {"5"}, "Ratelimit-Reset": {"0"}}},
		{"refused", Decision{Limit: 60, Reset: 59*time.Second + 1, RetryAfter: 2*time.Second + 1},
			http.Header{"Ratelimit-Limit": {"60"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"60"},
				"Retry-After": {"3"}}},
		{"refused whole seconds", Decision{Limit: 60, Reset: time.Minute, RetryAfter: 2 * time.Second},
			http.Header{"Ratelimit-Limit": {"60"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"60"},
				"Retry-After": {"2"}}},
		{"refused almost ready", Decision{Limit: 60, Reset: time.Minute},
			http.Header{"Ratelimit-Limit": {"60"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"60"},
				"Retry-After": {"1"}}},
		{"unlimited", Decision{Allowed: true}, http.Header{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			WriteHeaders(h, tc.d)
			if !reflect.DeepEqual(h, tc.want) {
				t.Fatalf("got %v, want %v", h, tc.want)
			}
		})
	}
}

func TestTightest(t *testing.T) {
	t.Parallel()
	ip := Decision{Allowed: true, Limit: 30000, Remaining: 29000}
	user := Decision{Allowed: true, Limit: 1000, Remaining: 10}
	key := Decision{Allowed: true, Limit: 5000, Remaining: 4000}
	refused := Decision{Limit: 1000, RetryAfter: time.Second}
	longer := Decision{Limit: 60, RetryAfter: 9 * time.Second}
	unlimited := Decision{Allowed: true}
	cases := []struct {
		name string
		ds   []Decision
		want Decision
	}{
		{"least remaining", []Decision{ip, user, key}, user},
		{"refused wins", []Decision{ip, refused, user}, refused},
		{"longest wait of the refused", []Decision{refused, ip, longer}, longer},
		{"unlimited loses", []Decision{unlimited, key, unlimited}, key},
		{"all unlimited", []Decision{unlimited, unlimited}, unlimited},
		{"none", nil, unlimited},
	}
	for _, tc := range cases {
		if got := Tightest(tc.ds...); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	l, _ := newLimiter(2)
	l.Allow("a", 1, 1)
	l.Allow("b", 1, 1)
	l.Allow("a", 1, 1) // a is now the most recently used, and refused
	l.Allow("c", 1, 1) // evicts b, not full
	if n := l.Len(); n != 2 {
		t.Fatalf("%d buckets, want MaxKeys 2", n)
	}
	if d := l.Allow("a", 1, 1); d.Allowed {
		t.Fatal("a was evicted: its empty bucket should have stayed and refused it")
	}
	if d := l.Allow("b", 1, 1); !d.Allowed {
		t.Fatal("b was kept: the least recently used bucket should have been evicted and b forgiven")
	}
}

func TestEvictionKeepsMaxKeysAcrossShards(t *testing.T) {
	t.Parallel()
	const maxKeys = 10_000
	l, _ := newLimiter(maxKeys)
	if len(l.shards) < 2 {
		t.Fatalf("%d shards for %d keys: this test is meant to cover several", len(l.shards), maxKeys)
	}
	for i := range 5 * maxKeys {
		l.Allow("k"+strconv.Itoa(i), 100, 1)
		if i%997 == 0 && l.Len() > maxKeys {
			t.Fatalf("after %d keys: %d buckets, want at most %d", i+1, l.Len(), maxKeys)
		}
	}
	if n := l.Len(); n != maxKeys {
		t.Fatalf("%d buckets after 5×MaxKeys distinct keys, want exactly %d", n, maxKeys)
	}
}

func TestRefilledBucketsDroppedLosslessly(t *testing.T) {
	t.Parallel()
	l, c := newLimiter(4)
	for _, k := range []string{"a", "b"} {
		l.Allow(k, 6, 6)
	}
	c.Advance(30 * time.Second)
	for _, k := range []string{"c", "d"} {
		l.Allow(k, 6, 6)
	}
	c.Advance(31 * time.Second) // a and b are full again; c and d about half
	l.Allow("e", 6, 1)
	if n := l.Len(); n != 3 {
		t.Fatalf("%d buckets, want 3: the two refilled ones dropped, e added", n)
	}
	if d := l.Allow("c", 6, 4); d.Allowed || d.Remaining != 3 {
		t.Fatalf("c: %+v, want its half-empty bucket kept (3 tokens, refused 4)", d)
	}
	if d := l.Allow("a", 6, 6); !d.Allowed {
		t.Fatalf("a: %+v, want a full allowance, as if it had been kept", d)
	}
}

func TestMillionKeysBoundedMemory(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("feeds 1M keys")
	}
	const keys = 1_000_000
	l, _ := newLimiter(DefaultMaxKeys) // the clock stands still: no bucket refills, so only eviction bounds the map
	before := heapAlloc()
	buf := []byte("user:project\x00")
	prefix := len(buf)
	for i := range keys {
		buf = strconv.AppendInt(buf[:prefix], int64(i), 10)
		if d := l.Allow(string(buf), 1000, 1); !d.Allowed {
			t.Fatalf("key %d refused on first use: %+v", i, d)
		}
	}
	if n := l.Len(); n > DefaultMaxKeys {
		t.Fatalf("%d buckets after %d distinct keys, want at most %d", n, keys, DefaultMaxKeys)
	}
	growth := heapAlloc() - before
	runtime.KeepAlive(l)
	const bound = 64 << 20 // about 2.5× what 100k buckets take (~24 MiB); 1M kept would be ~240 MiB
	t.Logf("%d buckets, heap growth %.1f MiB", l.Len(), float64(growth)/(1<<20))
	if growth > bound {
		t.Fatalf("heap grew %d bytes for %d buckets, want under %d", growth, l.Len(), bound)
	}
}

func heapAlloc() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func TestConcurrentCallersShareBuckets(t *testing.T) {
	t.Parallel()
	const workers, perWorker, keys, perMinute = 8, 500, 10, 100
	l, _ := newLimiter(0) // the clock stands still, so each key allows exactly its burst
	var allowed [keys]atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				k := (w + i) % keys
				if l.Allow("k"+strconv.Itoa(k), perMinute, 1).Allowed {
					allowed[k].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for k := range keys {
		if got := allowed[k].Load(); got != perMinute {
			t.Errorf("key %d: %d allowed across %d callers, want exactly the burst %d", k, got, workers, perMinute)
		}
	}
}

// BenchmarkAllow measures Allow from parallel callers over many keys: "hot"
// fits in the CPU caches, "50k" does not, and "churn" cycles through 4×
// DefaultMaxKeys so nearly every call creates a bucket and evicts one; "serial"
// is one caller on one key, the like-for-like counterpart of BenchmarkBaseline.
func BenchmarkAllow(b *testing.B) {
	for _, bc := range []struct {
		name     string
		keys     int
		parallel bool
	}{{"serial-1key", 1, false}, {"parallel-hot-64keys", 64, true},
		{"parallel-50kkeys", 50_000, true}, {"parallel-churn-400kkeys", 4 * DefaultMaxKeys, true}} {
		b.Run(bc.name, func(b *testing.B) {
			benchAllow(b, bc.keys, bc.parallel)
		})
	}
}

func benchAllow(b *testing.B, keys int, parallel bool) {
	l := New(Options{})
	names := make([]string, keys)
	for i := range names {
		names[i] = "user:project\x00" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	if !parallel {
		for b.Loop() {
			l.Allow(names[0], 1000, 1)
		}
		return
	}
	var next atomic.Int64
	stride := max(1, keys/runtime.GOMAXPROCS(0)) // RunParallel's goroutine count
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// Evenly spaced starts keep the goroutines off each other's recent
		// keys, so under churn a call finds the key evicted, not just added.
		i := int(next.Add(1)) * stride
		for pb.Next() {
			l.Allow(names[i%keys], 1000, 1)
			i++
		}
	})
}

// BenchmarkBaseline is the floor Allow is compared with: one uncontended
// rate.Limiter, reading the same clock, with no map, hash or eviction.
func BenchmarkBaseline(b *testing.B) {
	b.Run("rate.Limiter.Allow", func(b *testing.B) {
		lim := rate.NewLimiter(perSecond(1000), 1000)
		b.ReportAllocs()
		for b.Loop() {
			lim.Allow()
		}
	})
}

// TestAllowEach spends one token of every key and reports what Tightest of
// separate Allow calls would: here the key with the fewest tokens left, then
// the refusal once one key is empty, while the others still spend.
func TestAllowEach(t *testing.T) {
	t.Parallel()
	l, _ := newLimiter(0)
	for range 2 {
		l.Allow("busy", 3, 1)
	}
	d := l.AllowEach("", []string{"fresh", "busy", "other"}, 3)
	if want := (Decision{Allowed: true, Limit: 3, Remaining: 0, Reset: time.Minute}); d != want {
		t.Fatalf("AllowEach = %+v, want %+v", d, want)
	}
	d = l.AllowEach("", []string{"fresh", "busy"}, 3)
	if d.Allowed || d.RetryAfter != 20*time.Second {
		t.Fatalf("with busy empty: %+v, want refused, retry after 20s", d)
	}
	if got := l.Allow("fresh", 3, 1); !got.Allowed || got.Remaining != 0 {
		t.Fatalf("fresh after spending twice in AllowEach: %+v, want its last token", got)
	}
	if d := l.AllowEach("", []string{"x"}, 0); !d.Allowed || d.Limit != 0 || l.Len() != 3 {
		t.Fatalf("unlimited AllowEach: %+v, %d buckets", d, l.Len())
	}
	// A prefix and a key name the bucket of their concatenation.
	l.AllowEach("p\x00", []string{"u", "u"}, 3)
	if d := l.Allow("p\x00u", 3, 1); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("p\\x00u after AllowEach spent two of its tokens: %+v, want the last one", d)
	}
}
