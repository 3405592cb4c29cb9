// Package stream carries server-pushed events to browsers: an in-process
// publish/subscribe broker with a replay buffer, and a Server-Sent Events writer.
package stream

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrClosed is returned after Close so callers stop publishing during shutdown.
var ErrClosed = errors.New("stream: broker closed")

// ErrFull is returned by Subscribe when the broker holds as many streams as
// it may (Options.MaxSubscribers; untrusted ones, that less Options.Reserved):
// each costs a goroutine and a buffer, and a public key is all it takes to
// open one.
var ErrFull = errors.New("stream: too many open streams")

// DefaultMaxPerTopic is how many streams one user's topic may have open: a user
// with a few tabs open, not a crowd. Admin topics are bounded only by
// MaxSubscribers.
const DefaultMaxPerTopic = 8

// Message is one SSE event, kept whole so it can be replayed after a reconnect.
type Message struct {
	ID    uint64
	Event string
	Data  []byte
	At    time.Time
}

// Bus is the publish/subscribe surface the rest of the program depends on, so a
// cross-instance adapter (PostgreSQL LISTEN/NOTIFY) can stand in for the Broker.
type Bus interface {
	// Publish JSON-encodes data (JSON as it is) and sends it as event to every
	// subscriber of topic.
	Publish(topic, event string, data any) error
	// Subscribe starts receiving topic, replaying what followed lastEventID,
	// once a admits it.
	Subscribe(topic, lastEventID string, a Admission) (*Subscription, error)
}

var _ Bus = (*Broker)(nil)

// Options tunes a Broker; zero values take the documented defaults.
type Options struct {
	Retain      time.Duration // how long messages stay replayable (default 5m)
	MaxRetained int           // replayable messages per topic (default 1000)
	Buffer      int           // live messages queued per subscriber before it is dropped (default 64)
	// MaxRetainedBytes bounds the replay buffers of all topics together (default
	// 64 MiB): anyone with a public key can invent user ids, so per-topic limits
	// alone would not bound memory. The oldest messages go first.
	MaxRetainedBytes int
	MaxSubscribers   int // open subscriptions in all (default 10000)
	// Reserved is how many of MaxSubscribers untrusted (public-key)
	// subscriptions may never take, so that those, which anyone can open,
	// never shut an admin out (default DefaultReserved; negative: none).
	Reserved int
	// MaxPerTopic bounds the open subscriptions of one user's topic (default
	// DefaultMaxPerTopic); a new one replaces the oldest, which is dropped, so
	// connections that died silently (a sleeping laptop) never lock a user out.
	MaxPerTopic int
	Now         func() time.Time // clock, injectable for tests (default time.Now)
}

func (o Options) withDefaults() Options {
	if o.Retain <= 0 {
		o.Retain = 5 * time.Minute
	}
	if o.MaxRetained <= 0 {
		o.MaxRetained = 1000
	}
	if o.Buffer <= 0 {
		o.Buffer = 64
	}
	if o.MaxSubscribers <= 0 {
		o.MaxSubscribers = 10000
	}
	if o.Reserved == 0 {
		o.Reserved = DefaultReserved(o.MaxSubscribers)
	}
	o.Reserved = min(max(o.Reserved, 0), o.MaxSubscribers-1)
	if o.MaxPerTopic <= 0 {
		o.MaxPerTopic = DefaultMaxPerTopic
	}
	if o.MaxRetainedBytes <= 0 {
		o.MaxRetainedBytes = 64 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// DefaultReserved is the share of maxSubscribers kept for trusted streams: a
// tenth, at least 1 and at most 100, and never all of it.
func DefaultReserved(maxSubscribers int) int {
	return min(max(maxSubscribers/10, 1), 100, max(maxSubscribers-1, 0))
}

// Broker is the in-process Bus: one lock guards the sequences, topics and
// subscribers, so replay and live registration are atomic.
type Broker struct {
	opts      Options
	mu        sync.Mutex
	seqs      map[string]*sequence // by project: IDs never tell one tenant of another's traffic
	topics    map[string]*topic    // only topics with subscribers or retained messages
	lastSweep time.Time
	closed    bool
	bytes     int        // retained bytes across all topics (see cost)
	order     []retained // every retained message, oldest first (may hold trimmed ones)
	head      int        // first live entry of order
	// subscribers counts open subscriptions across topics, for MaxSubscribers.
	subscribers int
	opened      uint64 // Subscribe calls so far
	counts      admissions
}

// Subscribers is how many subscriptions are open, for metrics.
func (b *Broker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.subscribers
}

// retained locates one retained message for global, oldest-first eviction.
type retained struct {
	topic string
	id    uint64
}

// NewBroker returns an in-process Broker. Each project's IDs start at the
// current Unix microsecond when the broker first needs them, so IDs handed out
// by an earlier process read as gaps, not as resumable.
func NewBroker(opts Options) *Broker {
	opts = opts.withDefaults()
	return &Broker{opts: opts, seqs: map[string]*sequence{}, topics: map[string]*topic{},
		lastSweep: opts.Now(), counts: newAdmissions()}
}

// JSON is data its publisher has already encoded as compact JSON (for example
// with the value's own MarshalJSON); Publish sends it as it is, sparing a second
// encoding pass over it. The bytes are kept, not copied: they must not change
// after Publish.
type JSON []byte

// MarshalJSON returns the bytes, so that any other encoder embeds them as JSON.
func (j JSON) MarshalJSON() ([]byte, error) { return j, nil }

func encode(data any) ([]byte, error) {
	if j, ok := data.(JSON); ok {
		return j, nil
	}
	return json.Marshal(data)
}

// Publish JSON-encodes data and fans it out without ever waiting on a subscriber.
func (b *Broker) Publish(topicName, event string, data any) error {
	if err := checkNames(topicName, event); err != nil {
		return err
	}
	raw, err := encode(data)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	now := b.opts.Now()
	t := b.topic(topicName)
	t.seq.last++
	m := Message{ID: t.seq.last, Event: event, Data: raw, At: now}
	b.bytes += t.cost(m) - t.retain(m, now, b.opts)
	b.order = append(b.order, retained{topicName, m.ID})
	b.evict()
	for s := range t.subs {
		select {
		case s.ch <- m:
		default:
			b.remove(s, ReasonSlowConsumer)
		}
	}
	b.release(topicName, t)
	b.sweep(now)
	return nil
}

// Subscribe registers a subscriber and computes its replay under the same lock,
// so no message falls between Replay and C. A full user topic replaces its
// oldest subscription, but only once the new one is admitted.
func (b *Broker) Subscribe(topicName, lastEventID string, a Admission) (*Subscription, error) {
	if topicName == "" {
		return nil, errors.New("stream: empty topic")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	var victim *Subscription
	if t := b.topics[topicName]; t != nil && isUserTopic(topicName) && len(t.subs) >= b.opts.MaxPerTopic {
		victim = t.oldest()
	}
	project := projectOf(topicName)
	if err := b.admit(project, a, victim); err != nil {
		return nil, err
	}
	if victim != nil {
		b.remove(victim, ReasonReplaced)
	}
	now := b.opts.Now()
	b.sweep(now)
	t := b.topic(topicName)
	b.bytes -= t.trim(now, b.opts)
	s := &Subscription{
		b: b, topic: topicName, project: project, admission: a, head: t.seq.last,
		resumed: lastEventID != "", ch: make(chan Message, b.opts.Buffer), dropped: make(chan struct{}),
	}
	s.replay, s.gap = t.since(lastEventID, t.seq.last)
	b.opened++
	s.opened = b.opened
	t.subs[s] = struct{}{}
	b.subscribers++
	b.counts.add(s, 1)
	return s, nil
}

// Close ends every subscription with ReasonShutdown, so streams finish on
// shutdown and tell their clients to reconnect (to another instance).
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	b.order, b.head, b.bytes = nil, 0, 0
	for _, t := range b.topics {
		for s := range t.subs {
			b.remove(s, ReasonShutdown)
		}
	}
	b.topics = map[string]*topic{}
	b.seqs = map[string]*sequence{}
}

// topic returns the named topic, creating it with its project's watermark so
// a recreated topic still reports gaps for messages its predecessor trimmed.
func (b *Broker) topic(name string) *topic {
	t := b.topics[name]
	if t == nil {
		seq := b.sequence(projectOf(name))
		seq.topics++
		t = &topic{subs: map[*Subscription]struct{}{}, trimmed: seq.forgotten, seq: seq, nameCost: len(name)}
		b.topics[name] = t
	}
	return t
}

// sequence returns a project's ID sequence, starting a new one at the current
// Unix microsecond: above any ID an earlier process or a forgotten sequence of
// this project handed out, so those read as gaps.
func (b *Broker) sequence(project string) *sequence {
	seq := b.seqs[project]
	if seq == nil {
		start := uint64(max(b.opts.Now().UnixMicro(), 0))
		seq = &sequence{last: start, forgotten: start}
		b.seqs[project] = seq
	}
	return seq
}

// release deletes an idle, empty topic so topics do not leak.
func (b *Broker) release(name string, t *topic) {
	if len(t.subs) > 0 || len(t.retained) > 0 {
		return
	}
	t.seq.forgotten = max(t.seq.forgotten, t.trimmed)
	t.seq.topics--
	delete(b.topics, name)
}

// remove unregisters s, closing Dropped first when the broker ends it for a
// reason; the caller holds b.mu, so no send can race the close.
func (b *Broker) remove(s *Subscription, reason Reason) {
	t := b.topics[s.topic]
	if t == nil {
		return
	}
	if _, ok := t.subs[s]; !ok {
		return
	}
	delete(t.subs, s)
	b.subscribers--
	b.counts.add(s, -1)
	if reason != "" {
		s.reason = reason
		close(s.dropped)
	}
	close(s.ch)
	b.release(s.topic, t)
}

// sweep trims every topic at most once per Retain, so topics nobody publishes
// to any more still expire without a background goroutine.
func (b *Broker) sweep(now time.Time) {
	if now.Sub(b.lastSweep) < b.opts.Retain {
		return
	}
	b.lastSweep = now
	for name, t := range b.topics {
		b.bytes -= t.trim(now, b.opts)
		b.release(name, t)
	}
	b.evict()
	b.forgetSequences(now)
}

// forgetSequences drops the sequences of projects without topics whose IDs the
// clock has overtaken (by Retain, a margin for clock steps): a new one starts
// above them, so nothing is lost but a resume, which reads as a gap, and the
// map stays as small as the live topics.
func (b *Broker) forgetSequences(now time.Time) {
	for project, seq := range b.seqs {
		if seq.topics == 0 && seq.last < uint64(max(now.Add(-b.opts.Retain).UnixMicro(), 0)) {
			delete(b.seqs, project)
		}
	}
}

// evict drops the oldest retained messages, across topics, while the buffers
// cost more than MaxRetainedBytes, and forgets entries already trimmed.
func (b *Broker) evict() {
	for b.head < len(b.order) {
		ref := b.order[b.head]
		t := b.topics[ref.topic]
		present := t != nil && len(t.retained) > 0 && t.retained[0].ID == ref.id
		if present && b.bytes <= b.opts.MaxRetainedBytes {
			break
		}
		b.head++
		if present {
			b.bytes -= t.dropFirst()
			b.release(ref.topic, t)
		}
	}
	if b.head > 1024 && b.head > len(b.order)/2 {
		b.order = slices.Clone(b.order[b.head:])
		b.head = 0
	}
}

// checkNames rejects names that would corrupt SSE framing or address nothing.
func checkNames(topicName, event string) error {
	if topicName == "" {
		return errors.New("stream: empty topic")
	}
	if event == "" || strings.ContainsAny(event, "\r\n") {
		return errors.New("stream: event name must be non-empty and single-line")
	}
	return nil
}

// topicCount reports live topics, for leak tests.
func (b *Broker) topicCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.topics)
}
