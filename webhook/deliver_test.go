package webhook

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDeliver(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	body, err := NewPayload(JourneyCompleted, time.Now(), map[string]string{"user_id": "u1"})
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan error, 1)
	s, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		got, err := io.ReadAll(r.Body)
		if err == nil {
			err = Verify(secret, r.Header, got, time.Now(), time.Minute)
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("webhook-id") != "msg_1" {
			err = io.ErrUnexpectedEOF
		}
		received <- err
		io.WriteString(w, "thanks")
	})
	a := Deliver(t.Context(), NewClient(false, 0), s.URL+"/hook", secret, "msg_1", time.Now(), body)
	if !a.Delivered || a.StatusCode != 200 || a.Error != "" || a.Response != "thanks" || a.Duration <= 0 {
		t.Fatalf("Deliver = %+v, want delivered", a)
	}
	if err := <-received; err != nil {
		t.Fatalf("the receiver could not verify the delivery: %v", err)
	}
}

func TestDeliverFailures(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	release := make(chan struct{})
	huge := strings.Repeat("ü", 4<<20) // 8 MiB
	servers := map[string]http.HandlerFunc{
		"500": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "boom")
		},
		"slow": func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // then the server notices the client leave
			select {
			case <-release:
			case <-r.Context().Done():
			}
		},
		"huge": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, huge)
		},
		"redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/other", http.StatusMovedPermanently)
		},
	}
	urls := map[string]string{}
	for name, h := range servers {
		s, _ := server(t, h)
		urls[name] = s.URL + "/hook?token=hunter2"
	}
	t.Cleanup(func() { close(release) }) // before the servers close: cleanups run last first
	client := NewClient(false, 300*time.Millisecond)
	deliver := func(name string) Attempt {
		return Deliver(t.Context(), client, urls[name], secret, "msg_1", time.Now(), []byte(`{}`))
	}
	check := func(name string, a Attempt, status int, says string) {
		t.Helper()
		if a.Delivered || a.StatusCode != status || !strings.Contains(a.Error, says) {
			t.Errorf("%s: %+v, want failed with status %d saying %q", name, a, status, says)
		}
		if strings.Contains(a.Error, secret[6:]) || strings.Contains(a.Error, "hunter2") || strings.Contains(a.Error, "127.0.0.1") {
			t.Errorf("%s: the error %q leaks the secret, the URL or the address", name, a.Error)
		}
	}

	a := deliver("500")
	check("500", a, 500, "HTTP 500")
	if a.Response != "boom" {
		t.Errorf("500: response %q, want boom", a.Response)
	}

	a = deliver("slow")
	check("slow", a, 0, "timed out")
	if a.Duration < 300*time.Millisecond || a.Duration > 5*time.Second {
		t.Errorf("slow: took %s, want about the 300ms timeout", a.Duration)
	}

	start := time.Now()
	a = deliver("huge")
	check("huge", a, 400, "HTTP 400")
	if len(a.Response) > MaxResponseBytes || len(a.Response) < MaxResponseBytes-3 || a.Response != huge[:len(a.Response)] {
		t.Errorf("huge: kept %d bytes (%.20q…), want the first %d, cut on a rune", len(a.Response), a.Response, MaxResponseBytes)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("huge: took %s", d)
	}

	check("redirect", deliver("redirect"), 301, "redirects are not followed")

	// Nobody listens on the closed server's port.
	closed, _ := server(t, ok)
	closed.Close()
	check("closed", Deliver(t.Context(), client, closed.URL, secret, "msg_1", time.Now(), nil), 0, "connection refused")

	// The production client refuses the loopback server without reaching it.
	s, hits := server(t, ok)
	check("production", Deliver(t.Context(), NewClient(true, time.Second), s.URL, secret, "msg_1", time.Now(), nil), 0, "non-public address")
	if hits.Load() != 0 {
		t.Error("the production client reached the loopback server")
	}

	check("bad secret", Deliver(t.Context(), client, urls["500"], "whsec_!!", "msg_1", time.Now(), nil), 0, "cannot sign")
	check("bad url", Deliver(t.Context(), client, "http://[::1", secret, "msg_1", time.Now(), nil), 0, "URL is invalid")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	check("canceled", Deliver(ctx, client, urls["500"], secret, "msg_1", time.Now(), nil), 0, "canceled")
}

func TestNextAttempt(t *testing.T) {
	t.Parallel()
	base := []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	if MaxAttempts != len(base) {
		t.Fatalf("MaxAttempts = %d, want %d", MaxAttempts, len(base))
	}
	var total time.Duration
	for attempt := range MaxAttempts {
		d, ok := NextAttempt(attempt)
		if !ok {
			t.Fatalf("NextAttempt(%d) says no more attempts", attempt)
		}
		lo, hi := base[attempt]*9/10, base[attempt]*11/10
		if d < lo || d > hi {
			t.Errorf("NextAttempt(%d) = %s, want %s ± 10%%", attempt, d, base[attempt])
		}
		total += d
	}
	if total < 24*time.Hour || total > 31*time.Hour {
		t.Errorf("the schedule totals %s, want about a day (27h35m)", total)
	}
	for _, attempt := range []int{MaxAttempts, MaxAttempts + 1, 100} {
		if d, ok := NextAttempt(attempt); ok {
			t.Errorf("NextAttempt(%d) = %s, true; want the attempts exhausted", attempt, d)
		}
	}
	if d, ok := NextAttempt(-1); !ok || d != 0 {
		t.Errorf("NextAttempt(-1) = %s, %v; want at once", d, ok)
	}
	// The jitter varies the delays.
	seen := map[time.Duration]bool{}
	for range 20 {
		d, _ := NextAttempt(3)
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("20 delays after attempt 3 took only %d values", len(seen))
	}
	if DisableAfter != 20 {
		t.Errorf("DisableAfter = %d", DisableAfter)
	}
}
