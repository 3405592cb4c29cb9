package stream

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one parsed SSE block as a browser would see it.
type sseEvent struct {
	ID, Event, Data, Retry string
}

// readSSE parses blocks from body until it ends, closing out so readers see EOF.
func readSSE(body io.Reader, out chan<- sseEvent) {
	defer close(out)
	r := bufio.NewReader(body)
	var ev sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			out <- ev
			ev = sseEvent{}
			continue
		}
		field, value, _ := strings.Cut(line, ": ")
		switch field {
		case "id":
			ev.ID = value
		case "event":
			ev.Event = value
		case "retry":
			ev.Retry = value
		case "data":
			if ev.Data != "" {
				value = ev.Data + "\n" + value
			}
			ev.Data = value
		}
	}
}

// streamServer serves topic "t" from b and reports on done when each handler returns.
func streamServer(t *testing.T, b *Broker, opts ServeOptions, writeTimeout time.Duration) (*httptest.Server, chan error) {
	t.Helper()
	done := make(chan error, 10)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := b.Subscribe("t", r.Header.Get("Last-Event-ID"), Admission{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		done <- Serve(w, r, sub, opts)
	}))
	srv.Config.WriteTimeout = writeTimeout
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, done
}

// connect opens a stream and returns its response and parsed events.
func connect(t *testing.T, ctx context.Context, url, lastEventID string) (*http.Response, <-chan sseEvent) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	events := make(chan sseEvent)
	go readSSE(resp.Body, events)
	return resp, events
}

func next(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(wait):
		t.Fatal("no event")
	}
	return sseEvent{}
}

// nextNamed skips pings and returns the next other event.
func nextNamed(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	for {
		if ev := next(t, events); ev.Event != "ping" {
			return ev
		}
	}
}

func id(n uint64) string { return strconv.FormatUint(n, 10) }

func TestServeResumeInOrder(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	ids := publishN(t, b, "t", 3)
	srv, _ := streamServer(t, b, ServeOptions{Ping: time.Hour, Retry: 1500 * time.Millisecond}, 0)
	resp, events := connect(t, context.Background(), srv.URL, id(ids[0]))
	for h, want := range map[string]string{"Content-Type": "text/event-stream", "X-Accel-Buffering": "no", "Cache-Control": "no-cache"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if ev := next(t, events); ev.Retry != "1500" || ev.Event != "" {
		t.Fatalf("first block %+v, want retry: 1500", ev)
	}
	if ev := next(t, events); ev.Event != "connected" || ev.Data != `{"gap":false,"resumed":true}` || ev.ID != "" {
		t.Fatalf("connected %+v", ev)
	}
	for _, want := range ids[1:] {
		if ev := next(t, events); ev.Event != "tick" || ev.ID != id(want) {
			t.Fatalf("replay %+v, want id %d", ev, want)
		}
	}
	live := publishN(t, b, "t", 2)
	for i, want := range live {
		ev := next(t, events)
		if ev.Event != "tick" || ev.ID != id(want) || ev.Data != `{"n":`+strconv.Itoa(i)+`}` {
			t.Fatalf("live %+v, want id %d", ev, want)
		}
	}
}

func TestServeFreshStreamCarriesResumePoint(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	before := publishN(t, b, "t", 2)
	srv, _ := streamServer(t, b, ServeOptions{Ping: time.Hour}, 0)
	_, events := connect(t, context.Background(), srv.URL, "")
	next(t, events)
	ev := next(t, events)
	if ev.Event != "connected" || ev.Data != `{"gap":false,"resumed":false}` || ev.ID != id(before[1]) {
		t.Fatalf("connected %+v, want id %d", ev, before[1])
	}
}

func TestServeGapSendsReset(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	publishN(t, b, "t", 1)
	srv, _ := streamServer(t, b, ServeOptions{Ping: time.Hour}, 0)
	_, events := connect(t, context.Background(), srv.URL, "not-a-number")
	next(t, events)
	if ev := next(t, events); ev.Event != "connected" || ev.Data != `{"gap":true,"resumed":true}` || ev.ID != id(b.lastID()) {
		t.Fatalf("connected %+v", ev)
	}
	ev := next(t, events)
	var reset struct{ Refetch bool }
	if ev.Event != "reset" || json.Unmarshal([]byte(ev.Data), &reset) != nil || !reset.Refetch {
		t.Fatalf("want reset, got %+v", ev)
	}
}

func TestServePings(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	srv, _ := streamServer(t, b, ServeOptions{Ping: 50 * time.Millisecond}, 0)
	_, events := connect(t, context.Background(), srv.URL, "")
	next(t, events)
	next(t, events)
	ev := next(t, events)
	var ping struct{ T int64 }
	if ev.Event != "ping" || json.Unmarshal([]byte(ev.Data), &ping) != nil || ping.T == 0 {
		t.Fatalf("want ping, got %+v", ev)
	}
}

func TestServeClientCancelEndsHandler(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	srv, done := streamServer(t, b, ServeOptions{Ping: 50 * time.Millisecond}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	_, events := connect(t, ctx, srv.URL, "")
	next(t, events)
	cancel()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("handler still running after the client went away")
	}
	if got := b.topicCount(); got != 0 {
		t.Fatalf("topics = %d after the stream ended, want 0", got)
	}
}

func TestServeOutlivesWriteTimeout(t *testing.T) {
	const writeTimeout = 200 * time.Millisecond
	b := NewBroker(Options{})
	defer b.Close()
	srv, _ := streamServer(t, b, ServeOptions{Ping: 50 * time.Millisecond}, writeTimeout)
	_, events := connect(t, context.Background(), srv.URL, "")
	start := time.Now()
	for time.Since(start) < 3*writeTimeout {
		next(t, events)
	}
	live := publishN(t, b, "t", 1)
	if ev := nextNamed(t, events); ev.ID != id(live[0]) {
		t.Fatalf("after the write timeout got %+v, want id %d", ev, live[0])
	}
}

// serveRecorded runs Serve into a recorder and returns its parsed events.
func serveRecorded(t *testing.T, sub *Subscription, opts ServeOptions) []sseEvent {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	done := make(chan error)
	go func() { done <- Serve(rec, req, sub, opts) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Serve did not return")
	}
	out := make(chan sseEvent)
	go readSSE(rec.Body, out)
	var evs []sseEvent
	for ev := range out {
		evs = append(evs, ev)
	}
	return evs
}

// dropped parses the data of a final dropped event.
func dropped(t *testing.T, evs []sseEvent) (reason string, reconnect bool) {
	t.Helper()
	last := evs[len(evs)-1]
	var d struct {
		Reason    string
		Reconnect *bool
	}
	if last.Event != "dropped" {
		t.Fatalf("last event %+v, want dropped", last)
	}
	if err := json.Unmarshal([]byte(last.Data), &d); err != nil || d.Reconnect == nil {
		t.Fatalf("dropped data %q: %v", last.Data, err)
	}
	return d.Reason, *d.Reconnect
}

// TestServeDroppedReasons: every way the server ends a stream tells the
// client why and whether to reconnect, as API.md lists them.
func TestServeDroppedReasons(t *testing.T) {
	tests := []struct {
		name      string
		end       func(t *testing.T, b *Broker, topic string)
		opts      ServeOptions
		reason    string
		reconnect bool
	}{
		{"slow consumer", func(_ *testing.T, b *Broker, topic string) {
			for range 3 {
				_ = b.Publish(topic, "tick", 1)
			}
		}, ServeOptions{}, "slow_consumer", true},
		{"replaced", func(t *testing.T, b *Broker, topic string) {
			for range DefaultMaxPerTopic {
				subscribe(t, b, topic, "")
			}
		}, ServeOptions{}, "replaced", false},
		{"lifetime", func(*testing.T, *Broker, string) {}, ServeOptions{MaxLifetime: 20 * time.Millisecond}, "lifetime", true},
		{"revoked", func(*testing.T, *Broker, string) {}, ServeOptions{ReauthorizeEvery: 10 * time.Millisecond,
			Reauthorize: func(context.Context) error { return errors.New("key revoked") }}, "revoked", false},
		{"shutdown", func(_ *testing.T, b *Broker, _ string) { b.Close() }, ServeOptions{}, "shutdown", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := NewBroker(Options{Buffer: 1})
			defer b.Close()
			topic := UserTopic("p", "u")
			sub := subscribe(t, b, topic, "")
			tc.end(t, b, topic)
			tc.opts.Ping = time.Hour
			evs := serveRecorded(t, sub, tc.opts)
			if reason, reconnect := dropped(t, evs); reason != tc.reason || reconnect != tc.reconnect {
				t.Fatalf("dropped %q reconnect %v, want %q %v", reason, reconnect, tc.reason, tc.reconnect)
			}
		})
	}
}

func TestServeMaxLifetime(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	sub := subscribe(t, b, "t", "")
	evs := serveRecorded(t, sub, ServeOptions{Ping: time.Hour, MaxLifetime: 50 * time.Millisecond})
	if len(evs) != 3 || evs[1].Event != "connected" {
		t.Fatalf("events %+v", evs)
	}
	if reason, reconnect := dropped(t, evs); reason != "lifetime" || !reconnect {
		t.Fatalf("dropped %q reconnect %v, want lifetime and reconnect", reason, reconnect)
	}
	if got := b.topicCount(); got != 0 {
		t.Fatalf("topics = %d, want 0: Serve closes its subscription", got)
	}
}

// TestJitteredLifetime: lifetimes fall within the last tenth of the maximum,
// never beyond it, and differ, so that streams opened together end apart.
func TestJitteredLifetime(t *testing.T) {
	const d = time.Hour
	seen := map[time.Duration]bool{}
	for range 1000 {
		got := jittered(d)
		if got > d || got < d-d/10 {
			t.Fatalf("jittered(%v) = %v, want within [%v, %v]", d, got, d-d/10, d)
		}
		seen[got] = true
	}
	if len(seen) < 900 {
		t.Fatalf("1000 lifetimes took only %d values", len(seen))
	}
}

// TestServeReauthorizes checks the stream's authorization again and again,
// keeping it while the checks pass and ending it as revoked once one fails.
func TestServeReauthorizes(t *testing.T) {
	b := NewBroker(Options{})
	defer b.Close()
	sub := subscribe(t, b, "t", "")
	calls := 0
	check := func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("Reauthorize called without a deadline")
		}
		if calls++; calls < 3 {
			return nil
		}
		return errors.New("identity verification turned on")
	}
	evs := serveRecorded(t, sub, ServeOptions{Ping: time.Hour, Reauthorize: check, ReauthorizeEvery: 10 * time.Millisecond})
	if reason, reconnect := dropped(t, evs); reason != "revoked" || reconnect || calls != 3 {
		t.Fatalf("dropped %q reconnect %v after %d checks, want revoked, no reconnect, 3", reason, reconnect, calls)
	}
}

func TestServeEndsOnBrokerClose(t *testing.T) {
	b := NewBroker(Options{})
	sub := subscribe(t, b, "t", "")
	go b.Close()
	serveRecorded(t, sub, ServeOptions{Ping: time.Hour})
}

func TestServeEndsOnBrokerCloseSaysShutdown(t *testing.T) {
	b := NewBroker(Options{})
	sub := subscribe(t, b, "t", "")
	go b.Close()
	evs := serveRecorded(t, sub, ServeOptions{Ping: time.Hour})
	if reason, reconnect := dropped(t, evs); reason != "shutdown" || !reconnect {
		t.Fatalf("dropped %q reconnect %v, want shutdown and reconnect", reason, reconnect)
	}
}

func TestFrameSplitsMultilineData(t *testing.T) {
	rec := httptest.NewRecorder()
	e := &encoder{w: rec, rc: http.NewResponseController(rec)}
	if err := e.frame("7", "x", []byte("a\nb\r\nc\rd")); err != nil {
		t.Fatal(err)
	}
	want := "id: 7\nevent: x\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
	if got := rec.Body.String(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
