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

// ErrFull is returned by Subscribe when the broker holds Options.MaxSubscribers
// streams: each costs a goroutine and a buffer, and a public key is all it
// takes to open one.
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
	// Subscribe starts receiving topic, replaying what followed lastEventID.
	Subscribe(topic, lastEventID string) (*Subscription, error)
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

// Broker is the in-process Bus: one lock guards the sequence, topics and
// subscribers, so replay and live registration are atomic.
type Broker struct {
	opts      Options
	mu        sync.Mutex
	seq       uint64            // last assigned message ID
	forgotten uint64            // highest ID trimmed from a topic that was since deleted
	topics    map[string]*topic // only topics with subscribers or retained messages
	lastSweep time.Time
	closed    bool
	bytes     int        // data bytes retained across all topics
	order     []retained // every retained message, oldest first (may hold trimmed ones)
	head      int        // first live entry of order
	// subscribers counts open subscriptions across topics, for MaxSubscribers.
	subscribers int
	opened      uint64 // Subscribe calls so far
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

// NewBroker returns an in-process Broker; IDs start at the current Unix
// microsecond so IDs handed out by an earlier process read as gaps, not as resumable.
func NewBroker(opts Options) *Broker {
	opts = opts.withDefaults()
	now := opts.Now()
	start := uint64(max(now.UnixMicro(), 0))
	return &Broker{opts: opts, seq: start, forgotten: start, topics: map[string]*topic{}, lastSweep: now}
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
	b.seq++
	m := Message{ID: b.seq, Event: event, Data: raw, At: now}
	t := b.topic(topicName)
	b.bytes += len(raw) - t.retain(m, now, b.opts)
	b.order = append(b.order, retained{topicName, m.ID})
	b.evict()
	for s := range t.subs {
		select {
		case s.ch <- m:
		default:
			b.remove(s, true)
		}
	}
	b.release(topicName, t)
	b.sweep(now)
	return nil
}

// Subscribe registers a subscriber and computes its replay under the same lock,
// so no message falls between Replay and C.
func (b *Broker) Subscribe(topicName, lastEventID string) (*Subscription, error) {
	if topicName == "" {
		return nil, errors.New("stream: empty topic")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if t := b.topics[topicName]; t != nil && isUserTopic(topicName) && len(t.subs) >= b.opts.MaxPerTopic {
		b.remove(t.oldest(), true)
	}
	if b.subscribers >= b.opts.MaxSubscribers {
		return nil, ErrFull
	}
	now := b.opts.Now()
	b.sweep(now)
	t := b.topic(topicName)
	b.bytes -= t.trim(now, b.opts)
	s := &Subscription{
		b: b, topic: topicName, head: b.seq, resumed: lastEventID != "",
		ch: make(chan Message, b.opts.Buffer), dropped: make(chan struct{}),
	}
	s.replay, s.gap = t.since(lastEventID, b.seq)
	b.opened++
	s.opened = b.opened
	t.subs[s] = struct{}{}
	b.subscribers++
	return s, nil
}

// Close ends every subscription (closing C, not Dropped) so streams finish on shutdown.
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
			b.remove(s, false)
		}
	}
	b.topics = map[string]*topic{}
}

// topic returns the named topic, creating it with the broker-wide watermark so a
// recreated topic still reports gaps for messages its predecessor trimmed.
func (b *Broker) topic(name string) *topic {
	t := b.topics[name]
	if t == nil {
		t = &topic{subs: map[*Subscription]struct{}{}, trimmed: b.forgotten}
		b.topics[name] = t
	}
	return t
}

// release deletes an idle, empty topic so topics do not leak.
func (b *Broker) release(name string, t *topic) {
	if len(t.subs) > 0 || len(t.retained) > 0 {
		return
	}
	b.forgotten = max(b.forgotten, t.trimmed)
	delete(b.topics, name)
}

// remove unregisters s; the caller holds b.mu, so no send can race the close.
func (b *Broker) remove(s *Subscription, dropped bool) {
	t := b.topics[s.topic]
	if t == nil {
		return
	}
	if _, ok := t.subs[s]; !ok {
		return
	}
	delete(t.subs, s)
	b.subscribers--
	if dropped {
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
}

// evict drops the oldest retained messages, across topics, while the buffers
// hold more than MaxRetainedBytes, and forgets entries already trimmed.
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
