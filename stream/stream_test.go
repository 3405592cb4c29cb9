package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// wait bounds every blocking read so a broken broker fails instead of hanging.
const wait = 5 * time.Second

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func subscribe(t *testing.T, b *Broker, topic, last string) *Subscription {
	t.Helper()
	s, err := b.Subscribe(topic, last, Admission{})
	if err != nil {
		t.Fatalf("Subscribe(%q, %q): %v", topic, last, err)
	}
	t.Cleanup(s.Close)
	return s
}

// publishN publishes n messages {"n": i} and returns their IDs.
func publishN(t *testing.T, b *Broker, topic string, n int) []uint64 {
	t.Helper()
	ids := make([]uint64, 0, n)
	for i := range n {
		if err := b.Publish(topic, "tick", map[string]int{"n": i}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		ids = append(ids, b.lastIDOf(topic))
	}
	return ids
}

// lastIDOf reads the sequence of topic's project so tests learn the ID a
// Publish just assigned.
func (b *Broker) lastIDOf(topic string) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sequence(projectOf(topic)).last
}

// lastID is lastIDOf the topic "t" most tests use.
func (b *Broker) lastID() uint64 { return b.lastIDOf("t") }

func recv(t *testing.T, s *Subscription) Message {
	t.Helper()
	select {
	case m, ok := <-s.C():
		if !ok {
			t.Fatal("subscription closed")
		}
		return m
	case <-time.After(wait):
		t.Fatal("no message")
	}
	return Message{}
}

// drain counts what is left in a subscription until its channel closes,
// failing if it stays open.
func drain(t *testing.T, s *Subscription) int {
	t.Helper()
	deadline := time.After(wait)
	for n := 0; ; n++ {
		select {
		case _, ok := <-s.C():
			if !ok {
				return n
			}
		case <-deadline:
			t.Fatal("the subscription's channel stayed open")
		}
	}
}

func idsOf(ms []Message) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func equalIDs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPublishSubscribe(t *testing.T) {
	c := newClock()
	b := NewBroker(Options{Now: c.Now})
	defer b.Close()
	s := subscribe(t, b, "t", "")
	if s.Gap() || len(s.Replay()) != 0 {
		t.Fatalf("fresh subscription: gap=%v replay=%d", s.Gap(), len(s.Replay()))
	}
	if err := b.Publish("t", "journey", map[string]string{"step": "a"}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, s)
	if m.Event != "journey" || string(m.Data) != `{"step":"a"}` || !m.At.Equal(c.Now()) || m.ID == 0 {
		t.Fatalf("got %+v", m)
	}
}

// TestPublishEncodedJSON sends pre-encoded JSON as it is, and encodes any other
// value, including a raw message, the usual way.
func TestPublishEncodedJSON(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	s := subscribe(t, b, "t", "")
	for _, c := range []struct {
		data any
		want string
	}{
		{JSON(`{"ready":true}`), `{"ready":true}`},
		{json.RawMessage(`{ "spaced" : 1 }`), `{"spaced":1}`},
		{[]byte(`x`), `"eA=="`},
	} {
		if err := b.Publish("t", "e", c.data); err != nil {
			t.Fatal(err)
		}
		if m := recv(t, s); string(m.Data) != c.want {
			t.Fatalf("published %T %s as %s, want %s", c.data, c.data, m.Data, c.want)
		}
	}
}

func TestTopicIsolation(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	a, other := subscribe(t, b, "a", ""), subscribe(t, b, "b", "")
	publishN(t, b, "a", 1)
	if err := b.Publish("b", "only-b", 1); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, other); m.Event != "only-b" {
		t.Fatalf("topic b received %q", m.Event)
	}
	if m := recv(t, a); m.Event != "tick" {
		t.Fatalf("topic a received %q", m.Event)
	}
}

func TestIDsIncrease(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	var prev uint64
	for i := range 50 {
		ids := publishN(t, b, "t"+strconv.Itoa(i%3), 1)
		if ids[0] <= prev {
			t.Fatalf("id %d after %d", ids[0], prev)
		}
		prev = ids[0]
	}
}

func TestNewBrokerIDsOutrankEarlierProcess(t *testing.T) {
	c := newClock()
	old := NewBroker(Options{Now: c.Now})
	oldIDs := publishN(t, old, "t", 3)
	old.Close()
	c.Add(time.Second)
	b := NewBroker(Options{Now: c.Now})
	defer b.Close()
	ids := publishN(t, b, "t", 1)
	if ids[0] <= oldIDs[2] {
		t.Fatalf("restarted broker id %d not above %d", ids[0], oldIDs[2])
	}
	s := subscribe(t, b, "t", strconv.FormatUint(oldIDs[1], 10))
	if !s.Gap() {
		t.Fatal("an ID from an earlier process must report a gap")
	}
}

func TestResume(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	first := subscribe(t, b, "t", "")
	ids := publishN(t, b, "t", 5)
	for range 5 {
		recv(t, first)
	}
	s := subscribe(t, b, "t", strconv.FormatUint(ids[1], 10))
	if s.Gap() || !equalIDs(idsOf(s.Replay()), ids[2:]) {
		t.Fatalf("gap=%v replay=%v want %v", s.Gap(), idsOf(s.Replay()), ids[2:])
	}
	upToDate := subscribe(t, b, "t", strconv.FormatUint(ids[4], 10))
	if upToDate.Gap() || len(upToDate.Replay()) != 0 {
		t.Fatalf("resume from last: gap=%v replay=%d", upToDate.Gap(), len(upToDate.Replay()))
	}
	next := publishN(t, b, "t", 1)
	if m := recv(t, s); m.ID != next[0] {
		t.Fatalf("live id %d, want %d", m.ID, next[0])
	}
}

// TestResumeConcurrent checks that replay plus live is gap- and duplicate-free
// while another goroutine publishes.
func TestResumeConcurrent(t *testing.T) {
	const n = 2000
	b := NewBroker(Options{MaxRetained: 2 * n, Buffer: 2 * n})
	defer b.Close()
	from := publishN(t, b, "t", 1)[0]
	done := make(chan uint64)
	go func() {
		for i := range n {
			_ = b.Publish("t", "tick", i)
		}
		done <- b.lastID()
	}()
	var subs []*Subscription
	for len(subs) < 50 {
		subs = append(subs, subscribe(t, b, "t", strconv.FormatUint(from, 10)))
	}
	var last uint64
	select {
	case last = <-done:
	case <-time.After(wait):
		t.Fatal("publishing did not finish")
	}
	for i, s := range subs {
		got := idsOf(s.Replay())
		for len(got) == 0 || got[len(got)-1] < last {
			got = append(got, recv(t, s).ID)
		}
		for j, id := range got {
			if id != from+1+uint64(j) {
				t.Fatalf("subscription %d: position %d has id %d, want %d (replay %d)", i, j, id, from+1+uint64(j), len(s.Replay()))
			}
		}
	}
}

func TestResumeUnusableID(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	ids := publishN(t, b, "t", 3)
	for _, last := range []string{"abc", "-1", strconv.FormatUint(ids[2]+1, 10)} {
		s := subscribe(t, b, "t", last)
		if !s.Gap() || len(s.Replay()) != 0 {
			t.Errorf("Last-Event-ID %q: gap=%v replay=%d, want gap and no replay", last, s.Gap(), len(s.Replay()))
		}
	}
}

func TestRetentionByAge(t *testing.T) {
	c := newClock()
	b := NewBroker(Options{Now: c.Now, Retain: time.Minute})
	defer b.Close()
	old := publishN(t, b, "t", 3)
	c.Add(2 * time.Minute)
	fresh := publishN(t, b, "t", 1)
	tests := []struct {
		from   uint64
		gap    bool
		replay []uint64
	}{
		{old[0], true, fresh},
		{old[1], true, fresh},
		{old[2], false, fresh}, // saw everything that was trimmed
		{fresh[0], false, nil},
	}
	for _, tc := range tests {
		s := subscribe(t, b, "t", strconv.FormatUint(tc.from, 10))
		if s.Gap() != tc.gap || !equalIDs(idsOf(s.Replay()), tc.replay) {
			t.Errorf("from %d: gap=%v replay=%v, want gap=%v replay=%v", tc.from, s.Gap(), idsOf(s.Replay()), tc.gap, tc.replay)
		}
	}
}

func TestRetentionByCount(t *testing.T) {
	b := NewBroker(Options{MaxRetained: 3})
	defer b.Close()
	ids := publishN(t, b, "t", 5)
	s := subscribe(t, b, "t", strconv.FormatUint(ids[0], 10))
	if !s.Gap() || !equalIDs(idsOf(s.Replay()), ids[2:]) {
		t.Fatalf("gap=%v replay=%v", s.Gap(), idsOf(s.Replay()))
	}
	s = subscribe(t, b, "t", strconv.FormatUint(ids[1], 10))
	if s.Gap() || !equalIDs(idsOf(s.Replay()), ids[2:]) {
		t.Fatalf("gap=%v replay=%v", s.Gap(), idsOf(s.Replay()))
	}
}

func TestIdleTopicsExpire(t *testing.T) {
	c := newClock()
	b := NewBroker(Options{Now: c.Now, Retain: time.Minute})
	defer b.Close()
	ids := publishN(t, b, "quiet", 2)
	if got := b.topicCount(); got != 1 {
		t.Fatalf("topics = %d, want 1", got)
	}
	c.Add(2 * time.Minute)
	publishN(t, b, "busy", 1)
	if got := b.topicCount(); got != 1 {
		t.Fatalf("after expiry topics = %d, want 1 (quiet should be swept)", got)
	}
	s := subscribe(t, b, "quiet", strconv.FormatUint(ids[0], 10))
	if !s.Gap() {
		t.Fatal("a recreated topic must still report messages its predecessor trimmed")
	}
}

func TestSlowSubscriberDropped(t *testing.T) {
	b := NewBroker(Options{Buffer: 2})
	defer b.Close()
	slow, fast := subscribe(t, b, "t", ""), subscribe(t, b, "t", "")
	published := make(chan []uint64)
	go func() { // reads fast between publishes so only slow can fall behind
		var ids []uint64
		for i := range 10 {
			if err := b.Publish("t", "tick", i); err != nil {
				t.Errorf("Publish: %v", err)
			}
			ids = append(ids, b.lastID())
			select {
			case m := <-fast.C():
				if m.ID != ids[i] {
					t.Errorf("fast got %d, want %d", m.ID, ids[i])
				}
			case <-time.After(wait):
				t.Error("fast subscriber got nothing")
			}
		}
		published <- ids
	}()
	select {
	case <-published:
	case <-time.After(wait):
		t.Fatal("Publish blocked on a slow subscriber")
	}
	select {
	case <-slow.Dropped():
	case <-time.After(wait):
		t.Fatal("slow subscriber not dropped")
	}
	if n := drain(t, slow); n != 2 {
		t.Fatalf("slow subscriber kept %d buffered messages, want 2", n)
	}
	select {
	case <-fast.Dropped():
		t.Fatal("fast subscriber dropped")
	default:
	}
}

func TestCloseRemovesSubscriber(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	s := subscribe(t, b, "t", "")
	if got := b.topicCount(); got != 1 {
		t.Fatalf("topics = %d, want 1", got)
	}
	s.Close()
	s.Close()
	if n := drain(t, s); n != 0 {
		t.Fatalf("C held %d messages after Close", n)
	}
	if got := b.topicCount(); got != 0 {
		t.Fatalf("topics = %d after Close, want 0", got)
	}
	select {
	case <-s.Dropped():
		t.Fatal("Close must not look like a drop")
	default:
	}
}

func TestBrokerClose(t *testing.T) {
	b := NewBroker(Options{})
	s := subscribe(t, b, "t", "")
	b.Close()
	b.Close()
	if n := drain(t, s); n != 0 {
		t.Fatalf("C held %d messages after broker Close", n)
	}
	if err := b.Publish("t", "x", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	if _, err := b.Subscribe("t", "", Admission{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
}

func TestPublishRejects(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	cases := []struct {
		topic, event string
		data         any
	}{
		{"", "e", 1},
		{"t", "", 1},
		{"t", "a\nb", 1},
		{"t", "e", make(chan int)},
		{"t", "e", json.RawMessage(`{bad`)},
	}
	for _, c := range cases {
		if err := b.Publish(c.topic, c.event, c.data); err == nil {
			t.Errorf("Publish(%q, %q, %T) accepted", c.topic, c.event, c.data)
		}
	}
	if got := b.topicCount(); got != 0 {
		t.Fatalf("rejected publishes left %d topics", got)
	}
}

func TestTopicNamesDoNotCollide(t *testing.T) {
	names := []string{
		UserTopic("a:b", "c"), UserTopic("a", "b:c"), UserTopic("a", ""), UserTopic("", "a"),
		UserTopic("1:a", "b"), UserTopic("1", "a:b"), ProjectTopic("a"), ProjectTopic("a:b"),
		ProjectTopic("user:1:a:b"),
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Fatalf("topic %q produced twice", n)
		}
		seen[n] = true
	}
}

// TestRetainedBytesAreBounded: invented topics cannot grow memory past the global
// cap; the oldest messages go first and resuming from them reports a gap.
func TestRetainedBytesAreBounded(t *testing.T) {
	b := NewBroker(Options{MaxRetainedBytes: 1000})
	defer b.Close()
	payload := strings.Repeat("x", 90) // about 100 bytes of JSON each
	var firstID string
	for i := range 200 {
		if err := b.Publish(fmt.Sprintf("user:%d", i), "journey", payload); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			firstID = strconv.FormatUint(b.lastIDOf("user:0"), 10)
		}
	}
	b.mu.Lock()
	bytes, topics := b.bytes, len(b.topics)
	b.mu.Unlock()
	if bytes > 1000 || topics > 11 {
		t.Fatalf("%d bytes in %d topics retained, want at most 1000 bytes", bytes, topics)
	}
	sub, err := b.Subscribe("user:0", firstID, Admission{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if !sub.Gap() {
		t.Fatal("resuming after an evicted message reports no gap")
	}
	recent := subscribe(t, b, "user:199", "")
	defer recent.Close()
	last := subscribe(t, b, "user:198", strconv.FormatUint(b.lastIDOf("user:198")-2, 10))
	defer last.Close()
	if last.Gap() || len(last.Replay()) != 1 {
		t.Fatalf("the newest message was evicted: gap %v replay %d", last.Gap(), len(last.Replay()))
	}
}

// TestSubscriberLimits replaces a user's oldest subscription once the topic is
// full (saying so), refuses untrusted subscriptions beyond the overall limit
// less the reserve, and keeps its count right through drops, double closes
// and Close.
func TestSubscriberLimits(t *testing.T) {
	b := NewBroker(Options{MaxSubscribers: 4, MaxPerTopic: 2, Buffer: 1}) // 1 reserved
	u1, admin := UserTopic("p", "u1"), ProjectTopic("p")
	oldest := subscribe(t, b, u1, "")
	second := subscribe(t, b, u1, "")
	third := subscribe(t, b, u1, "") // replaces the oldest
	select {
	case <-oldest.Dropped():
	default:
		t.Fatal("the oldest of a full user topic was not dropped")
	}
	if oldest.Reason() != ReasonReplaced {
		t.Fatalf("replaced subscription's reason %q, want %q", oldest.Reason(), ReasonReplaced)
	}
	if second.isDropped() || third.isDropped() || b.Subscribers() != 2 {
		t.Fatalf("after a replacement: second dropped %v, third dropped %v, %d open", second.isDropped(), third.isDropped(), b.Subscribers())
	}
	subscribeAs(t, b, admin, Admission{Trusted: true})
	subscribe(t, b, UserTopic("p", "u2"), "")
	if _, err := b.Subscribe(UserTopic("p", "u3"), "", Admission{}); !errors.Is(err, ErrFull) {
		t.Fatalf("untrusted subscription into the reserve: %v, want ErrFull", err)
	}
	if _, err := b.Subscribe(admin, "", Admission{Trusted: true}); !errors.Is(err, ErrFull) {
		t.Fatalf("fifth subscription in all: %v, want ErrFull", err)
	}
	oldest.Close() // already dropped: a second removal must not count
	second.Close()
	second.Close()
	if b.Subscribers() != 3 {
		t.Fatalf("%d open after closing one twice, want 3", b.Subscribers())
	}
	_ = b.Publish(u1, "e", 1)
	_ = b.Publish(u1, "e", 2) // third's buffer of 1 overflows: dropped as slow
	if !third.isDropped() || third.Reason() != ReasonSlowConsumer || b.Subscribers() != 2 {
		t.Fatalf("slow subscriber: dropped %v (%q), %d open, want true (slow_consumer) and 2", third.isDropped(), third.Reason(), b.Subscribers())
	}
	b.Close()
	if b.Subscribers() != 0 {
		t.Fatalf("%d open after Close", b.Subscribers())
	}
}

func subscribeAs(t *testing.T, b *Broker, topic string, a Admission) *Subscription {
	t.Helper()
	s, err := b.Subscribe(topic, "", a)
	if err != nil {
		t.Fatalf("Subscribe(%q, %+v): %v", topic, a, err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestBrokerCloseSaysShutdown: subscriptions the broker ends on Close carry
// the reason their clients need to reconnect elsewhere.
func TestBrokerCloseSaysShutdown(t *testing.T) {
	b := NewBroker(Options{})
	s := subscribe(t, b, UserTopic("p", "u"), "")
	b.Close()
	select {
	case <-s.Dropped():
	default:
		t.Fatal("Close did not end the subscription with a reason")
	}
	if s.Reason() != ReasonShutdown || !s.Reason().Reconnect() {
		t.Fatalf("reason %q (reconnect %v), want shutdown and reconnect", s.Reason(), s.Reason().Reconnect())
	}
}

func TestReasonsReconnect(t *testing.T) {
	want := map[Reason]bool{ReasonSlowConsumer: true, ReasonReplaced: false, ReasonLifetime: true, ReasonRevoked: false, ReasonShutdown: true}
	for r, reconnect := range want {
		if r.Reconnect() != reconnect {
			t.Errorf("%s: reconnect %v, want %v", r, r.Reconnect(), reconnect)
		}
	}
}

// TestProjectLimit: one project's untrusted streams stop at its limit while
// its trusted streams and other projects' streams still open; a refused
// subscription replaces nobody; closing frees the place.
func TestProjectLimit(t *testing.T) {
	b := NewBroker(Options{MaxPerTopic: 2})
	defer b.Close()
	limited := Admission{MaxPerProject: 3}
	first := subscribeAs(t, b, UserTopic("hog", "u1"), limited)
	subscribeAs(t, b, UserTopic("hog", "u1"), limited)
	subscribeAs(t, b, UserTopic("hog", "u2"), limited)
	if _, err := b.Subscribe(UserTopic("hog", "u3"), "", limited); !errors.Is(err, ErrProjectFull) {
		t.Fatalf("fourth stream of the project: %v, want ErrProjectFull", err)
	}
	replacing := subscribeAs(t, b, UserTopic("hog", "u1"), limited) // takes the place of u1's oldest
	if first.Reason() != ReasonReplaced || replacing.isDropped() {
		t.Fatalf("a replacement within a full project: oldest %q, newest dropped %v", first.Reason(), replacing.isDropped())
	}
	subscribeAs(t, b, ProjectTopic("hog"), Admission{Trusted: true, MaxPerProject: 3})
	subscribeAs(t, b, UserTopic("hog", "u3"), Admission{Trusted: true, MaxPerProject: 3})
	subscribeAs(t, b, UserTopic("other", "u1"), limited)
	replacing.Close()
	subscribeAs(t, b, UserTopic("hog", "u3"), limited)
}

// TestRefusalReplacesNobody: when the newcomer is refused, the oldest stream
// of its full user topic stays; the victim's place counts only where it
// would be freed.
func TestRefusalReplacesNobody(t *testing.T) {
	b := NewBroker(Options{MaxPerTopic: 1})
	defer b.Close()
	mine := subscribeAs(t, b, UserTopic("p", "u1"), Admission{Client: "a"})
	subscribeAs(t, b, UserTopic("p", "u9"), Admission{Client: "c"})
	if _, err := b.Subscribe(UserTopic("p", "u1"), "", Admission{Client: "c", MaxPerClient: 1}); !errors.Is(err, ErrClientFull) {
		t.Fatalf("a client at its limit replacing another client's stream: %v, want ErrClientFull", err)
	}
	admin := subscribeAs(t, b, UserTopic("p", "u2"), Admission{Trusted: true})
	if _, err := b.Subscribe(UserTopic("p", "u2"), "", Admission{MaxPerProject: 2}); !errors.Is(err, ErrProjectFull) {
		t.Fatalf("a full project replacing a trusted stream: %v, want ErrProjectFull", err)
	}
	if mine.isDropped() || admin.isDropped() {
		t.Fatalf("a refused subscription replaced the oldest of its topic: %q %q", mine.Reason(), admin.Reason())
	}
	subscribeAs(t, b, UserTopic("p", "u1"), Admission{Client: "a", MaxPerClient: 1}) // frees its own place
	if mine.Reason() != ReasonReplaced {
		t.Fatalf("a client replacing its own stream at its limit: reason %q", mine.Reason())
	}
}

// TestClientLimit bounds the untrusted streams of one client across projects
// and users; other clients and trusted streams are not counted with it.
func TestClientLimit(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	visitor := Admission{Client: "203.0.113.7", MaxPerClient: 2}
	subscribeAs(t, b, UserTopic("p", "u1"), visitor)
	s := subscribeAs(t, b, UserTopic("q", "u2"), visitor)
	if _, err := b.Subscribe(UserTopic("p", "u3"), "", visitor); !errors.Is(err, ErrClientFull) {
		t.Fatalf("third stream of one client: %v, want ErrClientFull", err)
	}
	subscribeAs(t, b, UserTopic("p", "u3"), Admission{Client: "198.51.100.1", MaxPerClient: 2})
	subscribeAs(t, b, ProjectTopic("p"), Admission{Trusted: true, Client: "203.0.113.7", MaxPerClient: 2})
	s.Close()
	subscribeAs(t, b, UserTopic("p", "u3"), visitor)
	b.mu.Lock()
	clients := b.counts.clients["203.0.113.7"]
	b.mu.Unlock()
	if clients != 2 {
		t.Fatalf("client counted %d streams, want 2", clients)
	}
}

// TestAdmissionCountsEmpty: the per-project and per-client counts forget what
// is closed, however it ended, so they cannot grow with invented addresses.
func TestAdmissionCountsEmpty(t *testing.T) {
	b := NewBroker(Options{MaxPerTopic: 1, Buffer: 1})
	for i := range 100 {
		a := Admission{Client: fmt.Sprint("c", i), MaxPerClient: 5, MaxPerProject: 1000}
		subscribeAs(t, b, UserTopic(fmt.Sprint("p", i%7), fmt.Sprint("u", i%10)), a).Close()
		subscribeAs(t, b, UserTopic(fmt.Sprint("p", i%7), fmt.Sprint("u", i%10)), a) // replaced, dropped slow or closed at Close
		if i%3 == 0 {
			_ = b.Publish(UserTopic(fmt.Sprint("p", i%7), fmt.Sprint("u", i%10)), "e", 1)
			_ = b.Publish(UserTopic(fmt.Sprint("p", i%7), fmt.Sprint("u", i%10)), "e", 2)
		}
	}
	b.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.counts.projects) != 0 || len(b.counts.clients) != 0 || b.subscribers != 0 {
		t.Fatalf("after Close: %d projects, %d clients, %d subscribers counted", len(b.counts.projects), len(b.counts.clients), b.subscribers)
	}
}

func TestDefaultReserved(t *testing.T) {
	for max, want := range map[int]int{1: 0, 2: 1, 9: 1, 20: 2, 10000: 100, 100000: 100} {
		if got := DefaultReserved(max); got != want {
			t.Errorf("DefaultReserved(%d) = %d, want %d", max, got, want)
		}
	}
}

// TestIDsPerProject: a project's IDs advance only with its own messages, so
// a tenant reading its stream IDs learns nothing of another tenant's traffic;
// a project's user and admin topics share one sequence.
func TestIDsPerProject(t *testing.T) {
	c := newClock()
	b := NewBroker(Options{Now: c.Now})
	defer b.Close()
	quiet := publishN(t, b, UserTopic("quiet", "u1"), 1)
	for i := range 100 {
		publishN(t, b, UserTopic("busy", fmt.Sprint("u", i)), 1)
	}
	publishN(t, b, ProjectTopic("busy"), 1)
	after := publishN(t, b, UserTopic("quiet", "u2"), 1)
	admin := publishN(t, b, ProjectTopic("quiet"), 1)
	if after[0] != quiet[0]+1 || admin[0] != after[0]+1 {
		t.Fatalf("quiet project's IDs %d, %d, %d: another project's traffic shows in them", quiet[0], after[0], admin[0])
	}
	if start := uint64(c.Now().UnixMicro()); quiet[0] != start+1 {
		t.Fatalf("first ID %d, want the Unix microsecond %d plus 1", quiet[0], start)
	}
	s := subscribe(t, b, UserTopic("quiet", "u2"), strconv.FormatUint(quiet[0], 10))
	if s.Gap() || !equalIDs(idsOf(s.Replay()), after) {
		t.Fatalf("resume within the quiet project: gap %v replay %v, want %v", s.Gap(), idsOf(s.Replay()), after)
	}
}

// TestProjectIDsOutrankEarlierProcess: each project's IDs start at the
// current Unix microsecond, so its IDs from a process that ran before read as
// gaps even for a project that was busier than the clock.
func TestProjectIDsOutrankEarlierProcess(t *testing.T) {
	c := newClock()
	old := NewBroker(Options{Now: c.Now})
	oldIDs := publishN(t, old, UserTopic("p", "u"), 3)
	old.Close()
	c.Add(time.Second)
	b := NewBroker(Options{Now: c.Now})
	defer b.Close()
	publishN(t, b, UserTopic("other", "u"), 1)
	ids := publishN(t, b, UserTopic("p", "u"), 1)
	if ids[0] <= oldIDs[2] {
		t.Fatalf("restarted broker id %d not above %d", ids[0], oldIDs[2])
	}
	if s := subscribe(t, b, UserTopic("p", "u"), strconv.FormatUint(oldIDs[1], 10)); !s.Gap() {
		t.Fatal("an ID from an earlier process must report a gap")
	}
}

// TestForgottenSequence: a project whose topics all expired loses its
// sequence (the map does not grow with past projects); its next IDs start
// above the old ones and resuming from an old one reads as a gap.
func TestForgottenSequence(t *testing.T) {
	c := newClock()
	b := NewBroker(Options{Now: c.Now, Retain: time.Minute})
	defer b.Close()
	old := publishN(t, b, UserTopic("gone", "u"), 2)
	c.Add(3 * time.Minute)
	publishN(t, b, "t", 1) // sweeps
	b.mu.Lock()
	_, kept := b.seqs["gone"]
	b.mu.Unlock()
	if kept {
		t.Fatal("the sequence of a project without topics was kept")
	}
	ids := publishN(t, b, UserTopic("gone", "u"), 1)
	if ids[0] <= old[1] {
		t.Fatalf("new id %d not above the forgotten %d", ids[0], old[1])
	}
	if s := subscribe(t, b, UserTopic("gone", "u"), strconv.FormatUint(old[1], 10)); !s.Gap() {
		t.Fatal("resuming from a forgotten sequence must report a gap")
	}
}

func TestProjectOf(t *testing.T) {
	for topic, want := range map[string]string{
		UserTopic("a:b", "c"): "a:b", UserTopic("a", "b:c"): "a", UserTopic("", "x"): "", ProjectTopic("p"): "p",
		ProjectTopic("user:1:a:b"): "user:1:a:b", "t": "", "user:9:short": "", "user:x:a:b": "", "user:-1:a": "",
	} {
		if got := projectOf(topic); got != want {
			t.Errorf("projectOf(%q) = %q, want %q", topic, got, want)
		}
	}
}

// TestReserveKeepsEachShare: untrusted subscriptions stop short of the
// reserve however few trusted ones are open, and trusted ones using the
// reserve do not shrink the untrusted share.
func TestReserveKeepsEachShare(t *testing.T) {
	b := NewBroker(Options{MaxSubscribers: 4, Reserved: 2})
	defer b.Close()
	subscribe(t, b, UserTopic("p", "u1"), "")
	subscribe(t, b, UserTopic("p", "u2"), "")
	if _, err := b.Subscribe(UserTopic("p", "u3"), "", Admission{}); !errors.Is(err, ErrFull) {
		t.Fatalf("untrusted into the reserve: %v, want ErrFull", err)
	}
	subscribeAs(t, b, ProjectTopic("p"), Admission{Trusted: true}).Close()
	admin := subscribeAs(t, b, ProjectTopic("p"), Admission{Trusted: true})
	subscribeAs(t, b, ProjectTopic("p"), Admission{Trusted: true})
	if _, err := b.Subscribe(ProjectTopic("p"), "", Admission{Trusted: true}); !errors.Is(err, ErrFull) {
		t.Fatalf("trusted beyond MaxSubscribers: %v, want ErrFull", err)
	}
	admin.Close()
	if _, err := b.Subscribe(UserTopic("p", "u3"), "", Admission{}); !errors.Is(err, ErrFull) {
		t.Fatalf("untrusted into a place a trusted one freed: %v, want ErrFull", err)
	}
}
