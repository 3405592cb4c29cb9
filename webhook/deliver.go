package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Attempt is the outcome of one delivery attempt, as it is recorded and shown
// to the project's admins.
type Attempt struct {
	StatusCode int           // the response's status; 0 when none came
	Error      string        // why the attempt failed, short and safe to show an admin; "" when delivered
	Duration   time.Duration // from sending the request until the response was read, or the attempt failed
	Delivered  bool          // a 2xx came back
	Response   string        // the first MaxResponseBytes of the response body, as valid UTF-8
}

// Deliver makes one delivery attempt: it POSTs body to url with the headers of
// Headers (signed for id at ts) through client (NewClient(true, 0) when nil). A
// 2xx is delivered; any other status, a redirect included, or a transport error
// is a failed attempt. The Error never holds the secret, the URL (whose query
// may carry the receiver's own token) or the receiver's internals.
func Deliver(ctx context.Context, client *http.Client, url, secret, id string, ts time.Time, body []byte) Attempt {
	if client == nil {
		client = NewClient(true, 0)
	}
	h, err := Headers(secret, id, ts, body)
	if err != nil {
		return Attempt{Error: "cannot sign the delivery: the endpoint's secret or the message id is malformed"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Attempt{Error: "the endpoint URL is invalid"}
	}
	req.Header = h
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return Attempt{Error: describeError(ctx, client, err), Duration: time.Since(start)}
	}
	defer resp.Body.Close()
	// Reading stops at MaxResponseBytes: a receiver that answers with a huge or
	// endless body costs us no more than that. Closing an unread body drops the
	// connection instead of draining it.
	// A failed read leaves what was read: the status is what counts.
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	a := Attempt{
		StatusCode: resp.StatusCode,
		Duration:   time.Since(start),
		Response:   strings.ToValidUTF8(string(trimUTF8(raw)), "\uFFFD"),
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		a.Delivered = true
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		a.Error = fmt.Sprintf("HTTP %d: redirects are not followed, point the endpoint at the final URL", resp.StatusCode)
	default:
		a.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return a
}

// trimUTF8 drops a rune the byte limit cut in half at the end of b.
func trimUTF8(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return b
		}
		r, size := utf8.DecodeLastRune(b)
		if r != utf8.RuneError || size != 1 {
			return b
		}
		b = b[:len(b)-1]
	}
	return b
}

// describeError turns a transport error into a short message safe for an admin:
// what went wrong, never the URL, the addresses or the receiver's words.
func describeError(ctx context.Context, client *http.Client, err error) string {
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		hostErr x509.HostnameError
		unkErr  x509.UnknownAuthorityError
		invErr  x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
		netErr  net.Error
	)
	switch {
	case errors.Is(err, ErrBlockedAddress):
		return "refused: the host resolves to a private, loopback or otherwise non-public address"
	case errors.Is(ctx.Err(), context.Canceled):
		return "canceled before the endpoint answered"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		if client.Timeout > 0 {
			return fmt.Sprintf("timed out: no answer within %s", client.Timeout)
		}
		return "timed out"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "the host name does not resolve"
		}
		return "the host name could not be resolved"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection was closed before a response came"
	case errors.As(err, &hostErr):
		return "TLS: the certificate is not valid for the host name"
	case errors.As(err, &unkErr):
		return "TLS: the certificate is signed by an unknown authority"
	case errors.As(err, &invErr):
		return "TLS: the certificate is invalid or expired"
	case errors.As(err, &certErr):
		return "TLS: the certificate could not be verified"
	case errors.As(err, &recErr):
		return "TLS: the endpoint did not answer with TLS (is it http?)"
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		return "the host is unreachable"
	}
	return "the connection failed"
}

// MaxAttempts is how many attempts one message gets.
const MaxAttempts = 8

// The retry schedule of the Standard Webhooks recommendation: the first attempt
// at once, then each delay after the previous attempt failed. Together about a
// day (27 h 35 min 5 s before jitter).
var schedule = [MaxAttempts]time.Duration{
	0,
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// Jitter is the share by which each delay is moved at random, either way, so
// that the retries of many messages failing together do not arrive together.
const Jitter = 0.10

// NextAttempt says how long to wait before the next attempt of a message after
// attempt attempts (0 before the first, which is at once): the delay of the
// schedule, moved at random by up to ±10%. It returns false when all
// MaxAttempts are made, and the message has failed for good.
func NextAttempt(attempt int) (time.Duration, bool) {
	if attempt < 0 {
		attempt = 0
	}
	if attempt >= len(schedule) {
		return 0, false
	}
	d := schedule[attempt]
	return d + time.Duration((rand.Float64()*2-1)*Jitter*float64(d)), true
}

// DisableAfter is the disable rule: an endpoint that fails this many
// deliveries in a row is disabled, and stops receiving messages. A failed
// delivery is a message that used up all its MaxAttempts attempts (so a
// failing endpoint is disabled a day or more after it broke, not after a
// minute of retries); a delivered message resets the count. The endpoint list
// shows a disabled endpoint as such, and an admin enables it again once it is
// fixed.
const DisableAfter = 20
