package webhook

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The example of the Standard Webhooks specification. The expected signature
// was computed by hand (the key holds non-printable bytes, so it is passed as
// hex):
//
//	key=$(echo -n MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw | base64 -d | xxd -p -c 256)
//	echo -n 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' |
//	  openssl dgst -sha256 -mac HMAC -macopt hexkey:$key -binary | base64
//	g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	for _, s := range []string{a, b} {
		rest, ok := strings.CutPrefix(s, "whsec_")
		if !ok {
			t.Fatalf("%q does not start with whsec_", s)
		}
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(key) != 32 {
			t.Fatalf("%q: %d bytes, %v; want 32 bytes of standard base64", s, len(key), err)
		}
	}
}

func TestSignSpecVector(t *testing.T) {
	t.Parallel()
	got, err := Sign(specSecret, specID, time.Unix(specTS, 0), []byte(specBody))
	if err != nil || got != specSig {
		t.Fatalf("Sign = %q, %v; want %q", got, err, specSig)
	}
	// The reference libraries accept the secret without its prefix too.
	got, err = Sign(strings.TrimPrefix(specSecret, "whsec_"), specID, time.Unix(specTS, 0), []byte(specBody))
	if err != nil || got != specSig {
		t.Fatalf("Sign without prefix = %q, %v; want %q", got, err, specSig)
	}
	h := http.Header{}
	h.Set("webhook-id", specID)
	h.Set("webhook-timestamp", strconv.Itoa(specTS))
	h.Set("webhook-signature", specSig)
	if err := Verify(specSecret, h, []byte(specBody), time.Unix(specTS+10, 0), 0); err != nil {
		t.Fatalf("Verify of the spec's example: %v", err)
	}
}

func TestSignRefusesBadInput(t *testing.T) {
	t.Parallel()
	ts := time.Unix(specTS, 0)
	for _, tc := range []struct{ name, secret, id string }{
		{"empty secret", "", specID},
		{"prefix only", "whsec_", specID},
		{"not base64", "whsec_not*base64", specID},
		{"empty id", specSecret, ""},
		{"id with a space", specSecret, "msg 1"},
		{"id with a newline", specSecret, "msg\r\nX-Evil: 1"},
		{"id with a comma", specSecret, "a,b"},
		{"long id", specSecret, strings.Repeat("a", 257)},
	} {
		if sig, err := Sign(tc.secret, tc.id, ts, nil); err == nil {
			t.Errorf("%s: Sign = %q, want an error", tc.name, sig)
		} else if tc.secret != "" && len(tc.secret) > 6 && strings.Contains(err.Error(), tc.secret[6:]) {
			t.Errorf("%s: the error %q quotes the secret", tc.name, err)
		}
		if _, err := Headers(tc.secret, tc.id, ts, nil); err == nil {
			t.Errorf("%s: Headers gave no error", tc.name)
		}
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	h, err := Headers(specSecret, specID, time.Unix(specTS, 0), []byte(specBody))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"webhook-id":        specID,
		"webhook-timestamp": "1614265330",
		"webhook-signature": specSig,
		"Content-Type":      "application/json",
		"User-Agent":        UserAgent,
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	now := time.Now()
	body := []byte(`{"type":"journey.completed","timestamp":"2026-01-02T03:04:05.678Z","data":{"user_id":"u1"}}`)
	signed := func(t *testing.T, ts time.Time) http.Header {
		h, err := Headers(secret, "msg_1", ts, body)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if err := Verify(secret, signed(t, now), body, now, time.Minute); err != nil {
		t.Fatalf("round trip: %v", err)
	}

	// Several signatures, as during a secret rotation: any one that matches will do,
	// and unknown versions are skipped.
	h := signed(t, now)
	other, _ := Sign(NewSecret(), "msg_1", now, body)
	h.Set("webhook-signature", "v1a,abc "+other+" "+h.Get("webhook-signature"))
	if err := Verify(secret, h, body, now, time.Minute); err != nil {
		t.Errorf("several signatures: %v", err)
	}

	for _, tc := range []struct {
		name   string
		secret string
		header func() http.Header
		body   string
		want   error
	}{
		{"tampered body", secret, func() http.Header { return signed(t, now) }, string(body[:len(body)-1]) + " }", ErrSignature},
		{"wrong secret", NewSecret(), func() http.Header { return signed(t, now) }, string(body), ErrSignature},
		{"old timestamp", secret, func() http.Header { return signed(t, now.Add(-2*time.Minute)) }, string(body), ErrTimestamp},
		{"future timestamp", secret, func() http.Header { return signed(t, now.Add(2*time.Minute)) }, string(body), ErrTimestamp},
		{"timestamp changed after signing", secret, func() http.Header {
			h := signed(t, now)
			h.Set("webhook-timestamp", strconv.FormatInt(now.Unix()-1, 10))
			return h
		}, string(body), ErrSignature},
		{"id changed after signing", secret, func() http.Header {
			h := signed(t, now)
			h.Set("webhook-id", "msg_2")
			return h
		}, string(body), ErrSignature},
		{"other version only", secret, func() http.Header {
			h := signed(t, now)
			h.Set("webhook-signature", "v2,"+strings.TrimPrefix(h.Get("webhook-signature"), "v1,"))
			return h
		}, string(body), ErrSignature},
		{"timestamp not a number", secret, func() http.Header {
			h := signed(t, now)
			h.Set("webhook-timestamp", "yesterday")
			return h
		}, string(body), ErrBadTimestamp},
		{"no signature", secret, func() http.Header {
			h := signed(t, now)
			h.Del("webhook-signature")
			return h
		}, string(body), ErrMissingHeaders},
		{"no id", secret, func() http.Header {
			h := signed(t, now)
			h.Del("webhook-id")
			return h
		}, string(body), ErrMissingHeaders},
	} {
		if err := Verify(tc.secret, tc.header(), []byte(tc.body), now, time.Minute); !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := Verify("whsec_!!", signed(t, now), body, now, time.Minute); err == nil {
		t.Error("Verify accepted a malformed secret")
	}
	// The default tolerance is five minutes.
	if err := Verify(secret, signed(t, now.Add(-4*time.Minute)), body, now, 0); err != nil {
		t.Errorf("4 min old with the default tolerance: %v", err)
	}
	if err := Verify(secret, signed(t, now.Add(-6*time.Minute)), body, now, 0); !errors.Is(err, ErrTimestamp) {
		t.Errorf("6 min old with the default tolerance: %v, want ErrTimestamp", err)
	}
}
