package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ServeOptions controls one SSE response; zero values take the documented defaults.
type ServeOptions struct {
	Ping  time.Duration // keep-alive event interval, so proxies do not idle the connection out (default 15s)
	Retry time.Duration // reconnect delay hinted to the client (default 3s)
	// MaxLifetime, when set, ends the stream (dropped, reason lifetime) after
	// 90 to 100% of it, so load balancers can rebalance and the reconnects of
	// streams opened together spread out (0 = none).
	MaxLifetime time.Duration
	// Reauthorize, when set, is called every ReauthorizeEvery with a context
	// bounded by that interval; an error ends the stream (dropped, reason
	// revoked), so a stream never outlives the authorization it was opened with.
	Reauthorize      func(ctx context.Context) error
	ReauthorizeEvery time.Duration // default DefaultReauthorizeEvery
}

// DefaultReauthorizeEvery is how often a stream's authorization is re-checked
// unless ServeOptions says otherwise: with the 2 s caches of keys and
// projects, a revocation ends a stream within 5 seconds.
const DefaultReauthorizeEvery = 3 * time.Second

func (o ServeOptions) withDefaults() ServeOptions {
	if o.Ping <= 0 {
		o.Ping = 15 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = 3 * time.Second
	}
	if o.ReauthorizeEvery <= 0 {
		o.ReauthorizeEvery = DefaultReauthorizeEvery
	}
	return o
}

// jittered shortens d by up to a tenth at random, so that streams opened in
// one burst (after a deploy) do not all reconnect in another.
func jittered(d time.Duration) time.Duration {
	if d < 10 {
		return d
	}
	return d - rand.N(d/10+1)
}

// Serve writes sub as an SSE response until the request ends, the subscriber is
// dropped, the broker closes, MaxLifetime passes or Reauthorize fails; it
// closes sub on return. Every ending but the client's own sends a final
// dropped event saying why. Normal endings return nil; an error means writing
// to the client failed after the headers were sent, so callers should log it
// rather than render it.
func Serve(w http.ResponseWriter, r *http.Request, sub *Subscription, opts ServeOptions) error {
	defer sub.Close()
	opts = opts.withDefaults()
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	e := &encoder{w: w, rc: rc}
	if err := writePreamble(e, sub, opts); err != nil {
		return err
	}
	return pump(r.Context(), e, sub, opts)
}

// writePreamble sends the retry hint, the connected event, a reset when the
// client missed events, and the replay.
func writePreamble(e *encoder, sub *Subscription, opts ServeOptions) error {
	if err := e.retry(opts.Retry); err != nil {
		return err
	}
	// With nothing to replay the client is caught up to head; giving it that ID
	// lets a fresh or gapped client resume exactly on its next reconnect.
	id := ""
	if len(sub.replay) == 0 {
		id = strconv.FormatUint(sub.head, 10)
	}
	if err := e.event(id, "connected", map[string]bool{"resumed": sub.resumed, "gap": sub.gap}); err != nil {
		return err
	}
	if sub.gap {
		reset := map[string]any{"reason": "missed_events", "refetch": true}
		if err := e.event("", "reset", reset); err != nil {
			return err
		}
	}
	for _, m := range sub.replay {
		if err := e.message(m); err != nil {
			return err
		}
	}
	return nil
}

// pump forwards live messages and pings until something ends the stream.
func pump(ctx context.Context, e *encoder, sub *Subscription, opts ServeOptions) error {
	ping := time.NewTicker(opts.Ping)
	defer ping.Stop()
	var end, recheck <-chan time.Time
	if opts.MaxLifetime > 0 {
		t := time.NewTimer(jittered(opts.MaxLifetime))
		defer t.Stop()
		end = t.C
	}
	if opts.Reauthorize != nil {
		t := time.NewTicker(opts.ReauthorizeEvery)
		defer t.Stop()
		recheck = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-end:
			return e.dropped(ReasonLifetime)
		case <-recheck:
			if !reauthorized(ctx, opts) {
				if ctx.Err() != nil {
					return nil // the client left during the check
				}
				return e.dropped(ReasonRevoked)
			}
		case <-sub.Dropped():
			return e.dropped(sub.Reason())
		case m, ok := <-sub.C():
			if !ok {
				if sub.isDropped() {
					return e.dropped(sub.Reason())
				}
				return nil
			}
			if err := e.message(m); err != nil {
				return err
			}
		case t := <-ping.C:
			if err := e.event("", "ping", map[string]int64{"t": t.UnixMilli()}); err != nil {
				return err
			}
		}
	}
}

// reauthorized runs the Reauthorize hook under a deadline of one interval, so
// a hung check cannot hold the stream longer than the next one would.
func reauthorized(ctx context.Context, opts ServeOptions) bool {
	ctx, cancel := context.WithTimeout(ctx, opts.ReauthorizeEvery)
	defer cancel()
	return opts.Reauthorize(ctx) == nil
}

// encoder frames SSE fields and flushes each event so it reaches the client now.
type encoder struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf bytes.Buffer
}

func (e *encoder) retry(d time.Duration) error {
	e.buf.Reset()
	e.buf.WriteString("retry: " + strconv.FormatInt(d.Milliseconds(), 10) + "\n\n")
	return e.flush()
}

// dropped sends the last event of a stream the server ends: why, and whether
// the client should reconnect.
func (e *encoder) dropped(r Reason) error {
	return e.event("", "dropped", map[string]any{"reason": r, "reconnect": r.Reconnect()})
}

func (e *encoder) message(m Message) error {
	return e.frame(strconv.FormatUint(m.ID, 10), m.Event, m.Data)
}

func (e *encoder) event(id, name string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	return e.frame(id, name, raw)
}

// frame writes one event, splitting multi-line data into several data: lines
// because a raw newline would end the field early.
func (e *encoder) frame(id, name string, data []byte) error {
	e.buf.Reset()
	if id != "" {
		e.buf.WriteString("id: " + id + "\n")
	}
	e.buf.WriteString("event: " + strings.NewReplacer("\r", "", "\n", "").Replace(name) + "\n")
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		e.buf.WriteString("data: ")
		e.buf.Write(line)
		e.buf.WriteByte('\n')
	}
	e.buf.WriteByte('\n')
	return e.flush()
}

// writeTimeout bounds one event write: the server's WriteTimeout is cleared for
// the long-lived stream, but a client that stops reading must not hold the
// handler (and shutdown) forever.
const writeTimeout = 10 * time.Second

func (e *encoder) flush() error {
	if err := e.rc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := e.w.Write(e.buf.Bytes()); err != nil {
		return err
	}
	return e.rc.Flush()
}
