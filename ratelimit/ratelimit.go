// Package ratelimit counts requests against per-minute token buckets keyed by
// strings the caller builds ("ip:203.0.113.5", "user:<project>\x00<user>",
// "key:<key id>"), so the HTTP layer can refuse a client that sends too much
// and tell it when to come back.
//
// Each bucket is a golang.org/x/time/rate.Limiter whose burst is the per-minute
// count and whose refill is that count spread evenly over the minute: a client
// may spend a minute's allowance at once, and an empty bucket is full again 60
// seconds later. A limit of 0 or less means unlimited and stores nothing.
//
// A key called with a different per-minute count (a project changed its
// setting) adopts it through SetLimitAt and SetBurstAt: a lowered limit caps
// the tokens held at once, a raised one speeds up the refill but hands out no
// tokens the client did not earn. A request for more tokens than the burst can
// never pass. When several limits apply to one request, each Allow spends its
// own tokens whatever the others decide, and Tightest picks what to report.
//
// Memory is bounded whatever keys clients invent: a Limiter holds at most
// MaxKeys buckets, each found by its key's seeded 64-bit hash so that no key
// is kept (100,000 take some 20 MiB). A bucket
// that has refilled completely behaves exactly like no bucket, so dropping it
// is lossless, and since every bucket refills within a minute, the least
// recently used one is the most likely to be full. So when a new key arrives
// at a shard three-quarters full or more, full buckets at the least recently
// used end are dropped first (which lets the map shrink after a flood of
// one-off keys; below that mark, keeping a returning client's full bucket is
// cheaper than making it again), and only if the shard is
// still at capacity is its least recently used bucket evicted although not
// full. That eviction is the trade-off: its client is forgiven what it spent in
// the last minute and starts again with a full allowance. It takes more than
// MaxKeys keys active within a minute, which a client inventing ids can cause,
// but what it buys is at most one minute's allowance per evicted key, never
// unbounded memory.
//
// The buckets live in shards picked by a seeded hash (up to 32, each of at
// least 1024 keys), each guarded by one mutex, so concurrent requests for
// different keys rarely wait on each other; recency is therefore kept per
// shard, a close approximation of one global LRU. Each shard's recency list is
// hashicorp/golang-lru/v2's simplelru, a maintained LRU without a lock of its
// own: the shard's mutex already covers the list and the bucket together, and
// the thread-safe lru.Cache would only add a second lock on the hot path.
package ratelimit

import (
	"hash/maphash"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// DefaultMaxKeys bounds a Limiter's buckets when Options.MaxKeys is unset, a few
// tens of megabytes at most.
const DefaultMaxKeys = 100_000

const (
	maxShards     = 32   // enough that 2-64 cores rarely meet on one mutex
	minShardKeys  = 1024 // small limiters stay one exact LRU
	sweepPerEntry = 2    // full buckets dropped per new key, so the map can shrink
)

// Options configures a Limiter; the zero value is usable.
type Options struct {
	// MaxKeys caps the number of buckets held; 0 or less means DefaultMaxKeys.
	MaxKeys int
	// Now is the clock, injectable so tests need no sleeps; nil means time.Now.
	Now func() time.Time
}

// Decision is the outcome of one Allow call, with what the client needs to pace itself.
type Decision struct {
	Allowed    bool          // the request may proceed; its tokens were spent
	Limit      int           // the per-minute count applied; 0 means unlimited
	Remaining  int           // whole tokens left after this request, never negative
	Reset      time.Duration // time until the bucket is full again
	RetryAfter time.Duration // when refused, time until the request's tokens are available
}

// Limiter holds token buckets by key and is safe for concurrent use.
type Limiter struct {
	now    func() time.Time
	seed   maphash.Seed
	shards []shard
}

// shard is one lock's worth of buckets, so callers with different keys rarely wait on each other.
type shard struct {
	mu   sync.Mutex
	lru  *simplelru.LRU[uint64, *rate.Limiter] // by the key's seeded 64-bit hash
	size int                                   // the LRU's capacity
}

// New returns a Limiter with the given options.
func New(o Options) *Limiter {
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	n := shardCount(o.MaxKeys)
	l := &Limiter{now: o.Now, seed: maphash.MakeSeed(), shards: make([]shard, n)}
	for i := range l.shards {
		size := o.MaxKeys / n
		if i < o.MaxKeys%n {
			size++ // capacities add up to exactly MaxKeys
		}
		c, err := simplelru.NewLRU[uint64, *rate.Limiter](size, nil)
		if err != nil {
			panic(err) // size is at least 1 by construction
		}
		l.shards[i].lru, l.shards[i].size = c, size
	}
	return l
}

// shardCount is a power of two, so picking a shard is a mask, and never leaves a
// shard too small for its LRU order to mean much.
func shardCount(maxKeys int) int {
	n := 1
	for n*2 <= maxShards && n*2*minShardKeys <= maxKeys {
		n *= 2
	}
	return n
}

// Allow spends n tokens from key's bucket of perMinute, if it has them, and
// reports the outcome; perMinute of 0 or less allows without storing anything.
func (l *Limiter) Allow(key string, perMinute int, n int) Decision {
	if perMinute <= 0 {
		return Decision{Allowed: true}
	}
	return l.allowAt(l.now(), maphash.String(l.seed, key), perMinute, n)
}

// AllowEach spends one token from the bucket of prefix+key for each key, with
// perMinute, and reports the tightest outcome, as Tightest would: the many end
// users of one event batch, read against one clock reading, with neither the
// keys joined nor a slice of decisions.
func (l *Limiter) AllowEach(prefix string, keys []string, perMinute int) Decision {
	best := Decision{Allowed: true}
	if perMinute <= 0 {
		return best
	}
	now := l.now()
	var h maphash.Hash
	h.SetSeed(l.seed)
	for _, key := range keys {
		h.Reset()
		h.WriteString(prefix)
		h.WriteString(key)
		if d := l.allowAt(now, h.Sum64(), perMinute, 1); tighter(d, best) {
			best = d
		}
	}
	return best
}

// allowAt is Allow at a given time, for the key whose hash is given. Buckets are
// found by the seeded 64-bit hash alone: two keys share a bucket only when their
// hashes collide, some 3 in 10¹⁰ for 100,000 keys, and a map of integers is
// several times cheaper to search than one of strings.
func (l *Limiter) allowAt(now time.Time, key uint64, perMinute int, n int) Decision {
	s := &l.shards[key&uint64(len(l.shards)-1)]
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.lru.Get(key)
	if !ok {
		if n <= 0 || n > perMinute {
			return decide(n <= 0, perMinute, n, float64(perMinute)) // a bucket would stay full
		}
		if s.lru.Len()*4 >= s.size*3 { // below that, keeping full buckets costs less than re-making them
			s.sweep(now)
		}
		b = rate.NewLimiter(perSecond(perMinute), perMinute)
		s.lru.Add(key, b)
	} else if b.Burst() != perMinute {
		b.SetLimitAt(now, perSecond(perMinute))
		b.SetBurstAt(now, perMinute)
	}
	allowed := b.AllowN(now, n)
	return decide(allowed, perMinute, n, b.TokensAt(now))
}

// sweep drops full buckets from the least recently used end, which is lossless
// and lets the map shrink after a burst of one-off keys.
func (s *shard) sweep(now time.Time) {
	for range sweepPerEntry {
		_, b, ok := s.lru.GetOldest()
		if !ok || b.TokensAt(now) < float64(b.Burst()) {
			return
		}
		s.lru.RemoveOldest()
	}
}

// Len reports how many buckets are held, for tests and metrics.
func (l *Limiter) Len() int {
	total := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		total += s.lru.Len()
		s.mu.Unlock()
	}
	return total
}

// perSecond converts the configured per-minute count to rate's tokens per second.
func perSecond(perMinute int) rate.Limit {
	return rate.Limit(float64(perMinute) / 60)
}

// decide turns the bucket's state after AllowN into what the client is told;
// a request larger than the burst, which can never pass, gets the time to a full bucket.
func decide(allowed bool, perMinute, n int, tokens float64) Decision {
	d := Decision{Allowed: allowed, Limit: perMinute}
	d.Remaining = max(0, int(math.Floor(tokens)))
	d.Reset = refill(perMinute, float64(perMinute)-tokens)
	if !allowed {
		d.RetryAfter = refill(perMinute, min(float64(n), float64(perMinute))-tokens)
	}
	return d
}

// refill is how long a bucket of perMinute takes to gain the given tokens,
// rounded to the microsecond so float noise never adds a whole second upstream.
func refill(perMinute int, tokens float64) time.Duration {
	if tokens <= 0 {
		return 0
	}
	d := time.Duration(tokens * 60 / float64(perMinute) * float64(time.Second))
	return d.Round(time.Microsecond)
}

// Tightest picks the decision to report when several limits apply to one
// request: a refused one (the longest wait, if several), else the one with the
// fewest tokens left; unlimited decisions lose to any limited one.
func Tightest(ds ...Decision) Decision {
	best := Decision{Allowed: true}
	for _, d := range ds {
		if tighter(d, best) {
			best = d
		}
	}
	return best
}

// tighter reports whether a constrains the client more than b.
func tighter(a, b Decision) bool {
	switch {
	case a.Allowed != b.Allowed:
		return !a.Allowed
	case !a.Allowed:
		return a.RetryAfter > b.RetryAfter
	case a.Limit <= 0:
		return false
	case b.Limit <= 0:
		return true
	default:
		return a.Remaining < b.Remaining
	}
}

// WriteHeaders sets the RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset
// fields of the IETF httpapi draft (separate-fields form, as widely implemented)
// and, when refused, Retry-After, so clients can pace themselves; an unlimited
// decision writes nothing, since any number would mislead.
func WriteHeaders(h http.Header, d Decision) {
	if d.Limit <= 0 {
		return
	}
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(d.Reset), 10))
	if !d.Allowed {
		h.Set("Retry-After", strconv.FormatInt(max(1, ceilSeconds(d.RetryAfter)), 10))
	}
}

// ceilSeconds rounds up, so a client that waits the stated time is never early.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
