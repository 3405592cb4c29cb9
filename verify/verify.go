// Package verify checks a deployed instance from the outside, over HTTP, the way
// its users will reach it: reachable, served securely, ready, the expected
// version, keys enforced, CORS and streams passing the proxies, and (when asked)
// a write that is stored and read back. It reports in preflight's format.
package verify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/client"
	"github.com/smartonboarding/smartonboard/journey"
	"github.com/smartonboarding/smartonboard/preflight"
)

// Options say what to verify and with which keys.
type Options struct {
	URL           string        // the instance's public base URL
	SecretKey     string        // sk_…: enables the admin, stream and write checks
	PublicKey     string        // pk_…: enables the check that it is refused on admin routes
	Origin        string        // a browser origin that must pass CORS
	Write         bool          // post one event for VerifyUserID and read the user back
	ExpectVersion string        // fail unless the instance runs this version
	Timeout       time.Duration // per request (default 10s)
	StreamWait    time.Duration // how long the first stream event may take (default 5s)
	HTTP          *http.Client  // optional transport, e.g. with private CA roots
}

// VerifyUserID is the end user the write check records an event for, so its
// trace in a production project is easy to recognise and filter out.
const VerifyUserID = "smartonboard-verify"

// certWarnDays is how close to expiry a TLS certificate earns a warning.
const certWarnDays = 14

// verifier runs the checks of one report.
type verifier struct {
	opts     Options
	base     *url.URL
	anon     *client.Client // no key
	report   *preflight.Report
	secretOK bool // the secret key works, so the checks that need it can run
}

// afterReachable are the checks that run once the instance answers, in order.
var afterReachable = []string{"tls", "ready", "version", "admin auth", "secret key", "public key", "cors", "stream", "write"}

// Run performs the checks and returns the report; its Status is error when the
// deployment is not fit to serve.
func Run(ctx context.Context, opts Options) *preflight.Report {
	v := &verifier{opts: withDefaults(opts), report: preflight.NewReport(preflight.PhaseVerify)}
	defer v.report.Finish()
	if !v.checkURL() || !v.checkReachable(ctx) {
		return v.report
	}
	v.checkTransport(ctx)
	v.checkReady(ctx)
	v.checkVersion(ctx)
	v.checkAdminAuth(ctx)
	v.checkSecretKey(ctx)
	v.checkPublicKey(ctx)
	v.checkCORS(ctx)
	v.checkStream(ctx)
	v.checkWrite(ctx)
	return v.report
}

func withDefaults(o Options) Options {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.StreamWait <= 0 {
		o.StreamWait = 5 * time.Second
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: o.Timeout}
	}
	return o
}

// call bounds one check's requests by the per-request timeout.
func (v *verifier) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, v.opts.Timeout)
}

func (v *verifier) withKey(key string) *client.Client { return v.anon.WithKey(key) }

func (v *verifier) fail(check, detail string, typ, message, suggestion string) {
	v.report.Add(check, preflight.StatusError, detail, preflight.Issue{Type: typ, Severity: preflight.StatusError,
		Message: message, Suggestion: suggestion})
}

func (v *verifier) warn(check, detail string, typ, message, suggestion string) {
	v.report.Add(check, preflight.StatusWarning, detail, preflight.Issue{Type: typ, Severity: preflight.StatusWarning,
		Message: message, Suggestion: suggestion})
}

func (v *verifier) ok(check, detail string)   { v.report.Add(check, "ok", detail) }
func (v *verifier) skip(check, detail string) { v.report.Add(check, "skipped", detail) }

func (v *verifier) checkURL() bool {
	u, err := url.Parse(v.opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.fail("url", v.opts.URL, preflight.TypeConfiguration, fmt.Sprintf("%q is not an http(s) URL", v.opts.URL),
			"pass the instance's base URL, e.g. --url https://onboard.example.com")
		return false
	}
	v.base = u
	v.anon = &client.Client{BaseURL: strings.TrimRight(u.String(), "/"), HTTP: v.opts.HTTP}
	v.ok("url", v.anon.BaseURL)
	return true
}

func (v *verifier) checkReachable(ctx context.Context) bool {
	ctx, cancel := v.call(ctx)
	defer cancel()
	start := time.Now()
	err := v.anon.Health(ctx)
	if err != nil {
		v.fail("reachable", "GET /healthz failed", preflight.TypeNetwork, "the instance did not answer its liveness probe: "+err.Error(),
			reachSuggestion(err))
		for _, name := range afterReachable {
			v.skip(name, "instance not reachable")
		}
		return false
	}
	v.ok("reachable", "GET /healthz answered in "+since(start))
	return true
}

// reachSuggestion names the likely cause of a failed connection.
func reachSuggestion(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &dnsErr):
		return "the host name does not resolve: check the URL and DNS"
	case errors.As(err, &certErr):
		return "the TLS certificate is not trusted for this host: check the certificate chain and its names"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errTimeout(err)):
		return "no answer in time: check firewalls, the load balancer's target and that serve is running"
	case client.StatusOf(err) != 0:
		return "something answered, but not Smart Onboarding's /healthz: check the URL and the proxy's routes"
	}
	return "check the URL, that serve is running and listening on SMARTONBOARD_ADDR, and the proxy or load balancer in front"
}

// errTimeout returns err itself when it is a network timeout, so errors.Is matches it.
func errTimeout(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return nil
}

func (v *verifier) checkTransport(ctx context.Context) {
	if v.base.Scheme == "http" {
		if isLoopback(v.base.Hostname()) {
			v.ok("tls", "plain HTTP on a loopback address")
			return
		}
		v.warn("tls", "plain HTTP", preflight.TypeSecurity, "keys and user data travel unencrypted",
			"serve the API over HTTPS: terminate TLS at the load balancer or proxy in front (README: Deploying)")
		return
	}
	ctx, cancel := v.call(ctx)
	defer cancel()
	resp, err := v.anon.Send(ctx, http.MethodGet, "/healthz", nil)
	if err != nil {
		v.fail("tls", "handshake", preflight.TypeSecurity, err.Error(), reachSuggestion(err))
		return
	}
	resp.Body.Close()
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		v.warn("tls", "no certificate seen", preflight.TypeSecurity, "the HTTPS answer carried no certificate", "check the TLS setup in front of the instance")
		return
	}
	cert := resp.TLS.PeerCertificates[0]
	days := int(time.Until(cert.NotAfter).Hours() / 24)
	detail := fmt.Sprintf("%s, certificate for %s valid %d more days", tls.VersionName(resp.TLS.Version), cert.Subject.CommonName, days)
	if days < certWarnDays {
		v.warn("tls", detail, preflight.TypeSecurity, fmt.Sprintf("the certificate expires on %s", cert.NotAfter.Format(time.DateOnly)),
			"renew the certificate")
		return
	}
	v.ok("tls", detail)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (v *verifier) checkReady(ctx context.Context) {
	ctx, cancel := v.call(ctx)
	defer cancel()
	r, err := v.anon.Ready(ctx)
	names := []string{}
	var failed []string
	if r != nil {
		for name, c := range r.Checks {
			names = append(names, name)
			if c.Status != "ok" {
				failed = append(failed, name)
			}
		}
		slices.Sort(names)
		slices.Sort(failed)
	}
	switch {
	case err == nil:
		v.ok("ready", "checks ok: "+strings.Join(names, ", "))
	case r != nil:
		v.fail("ready", "failing: "+strings.Join(failed, ", "), preflight.TypeService,
			"the instance is up but not ready, so load balancers send it no traffic",
			"run `smartonboard preflight` with the instance's environment, and read the server log for the failed checks")
	default:
		v.fail("ready", "GET /readyz failed", preflight.TypeService, err.Error(), "check that the URL reaches Smart Onboarding, not another service")
	}
}

func (v *verifier) checkVersion(ctx context.Context) {
	ctx, cancel := v.call(ctx)
	defer cancel()
	s, err := v.anon.Status(ctx)
	if err != nil {
		v.fail("version", "GET /v1/status failed", preflight.TypeService, err.Error(), "check that the URL reaches Smart Onboarding")
		return
	}
	detail := fmt.Sprintf("%s (commit %s), database %s, up %s", s.Version, s.Commit, s.Database,
		(time.Duration(s.UptimeS) * time.Second).String())
	if v.opts.ExpectVersion != "" && s.Version != v.opts.ExpectVersion {
		v.fail("version", detail, preflight.TypeService, fmt.Sprintf("the instance runs %s, not %s", s.Version, v.opts.ExpectVersion),
			"the deploy did not roll out (or not everywhere): check the image tag and that old instances were replaced")
		return
	}
	v.ok("version", detail)
}

// checkAdminAuth makes sure an admin route refuses requests without a valid key.
func (v *verifier) checkAdminAuth(ctx context.Context) {
	ctx, cancel := v.call(ctx)
	defer cancel()
	for _, k := range []struct{ what, key string }{{"no key", ""}, {"an invented key", "sk_smartonboard_verify_invalid"}} {
		_, err := v.withKey(k.key).ListContentItems(ctx, 1)
		if status := client.StatusOf(err); status != http.StatusUnauthorized {
			v.fail("admin auth", "GET /v1/content-items with "+k.what, preflight.TypeSecurity,
				fmt.Sprintf("the admin API answered %s with %s, not 401", k.what, describe(err)),
				"make sure the URL reaches Smart Onboarding directly and nothing in front answers for it")
			return
		}
	}
	v.ok("admin auth", "requests without a valid key are refused (401)")
}

func describe(err error) string {
	if err == nil {
		return "200"
	}
	if s := client.StatusOf(err); s != 0 {
		return fmt.Sprint(s)
	}
	return err.Error()
}

func (v *verifier) checkSecretKey(ctx context.Context) {
	if v.opts.SecretKey == "" {
		v.skip("secret key", "pass --key (or set SMARTONBOARD_ADMIN_KEY) to check the admin API")
		return
	}
	ctx, cancel := v.call(ctx)
	defer cancel()
	items, err := v.withKey(v.opts.SecretKey).ListContentItems(ctx, 1)
	switch client.StatusOf(err) {
	case 0:
		if err != nil {
			v.fail("secret key", "GET /v1/content-items", preflight.TypeService, err.Error(), "read the server log")
			return
		}
		v.secretOK = true
		v.ok("secret key", fmt.Sprintf("admin API answers (content items on the first page: %d)", len(items)))
	case http.StatusUnauthorized:
		v.fail("secret key", "refused", preflight.TypeSecurity, "the instance does not know this secret key",
			"use the key printed at first start or set in SMARTONBOARD_ADMIN_KEY for this deployment")
	case http.StatusForbidden:
		v.fail("secret key", "refused", preflight.TypeSecurity, "this key may not use the admin API",
			"pass the secret key (sk_…), not the public one")
	default:
		v.fail("secret key", "GET /v1/content-items", preflight.TypeService, err.Error(),
			"read the server log: the admin API fails with a valid key")
	}
}

func (v *verifier) checkPublicKey(ctx context.Context) {
	if v.opts.PublicKey == "" {
		v.skip("public key", "pass --public-key to check that the browser key cannot use the admin API")
		return
	}
	ctx, cancel := v.call(ctx)
	defer cancel()
	_, err := v.withKey(v.opts.PublicKey).ListContentItems(ctx, 1)
	switch client.StatusOf(err) {
	case http.StatusForbidden:
		v.ok("public key", "known, and refused on admin routes (403)")
	case http.StatusUnauthorized:
		v.fail("public key", "refused", preflight.TypeSecurity, "the instance does not know this public key",
			"use the pk_… key printed at first start or set in SMARTONBOARD_PUBLIC_KEY; the browser SDK sends it")
	default:
		v.fail("public key", "GET /v1/content-items", preflight.TypeSecurity,
			fmt.Sprintf("a public key on an admin route got %s, not 403", describe(err)),
			"pass the public key (pk_…); if it is one, this instance must not be served")
	}
}

func (v *verifier) checkCORS(ctx context.Context) {
	if v.opts.Origin == "" {
		v.skip("cors", "pass --origin https://app.example.com to check that browsers there may call the API")
		return
	}
	ctx, cancel := v.call(ctx)
	defer cancel()
	resp, err := v.anon.Send(ctx, http.MethodOptions, "/v1/events", http.Header{
		"Origin":                         {v.opts.Origin},
		"Access-Control-Request-Method":  {http.MethodPost},
		"Access-Control-Request-Headers": {"authorization, content-type"},
	})
	if err != nil {
		v.fail("cors", "OPTIONS /v1/events", preflight.TypeNetwork, err.Error(), reachSuggestion(err))
		return
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != v.opts.Origin && got != "*" {
		v.fail("cors", v.opts.Origin+" not allowed", preflight.TypeConfiguration,
			fmt.Sprintf("a browser at %s cannot send events: the preflight answer allows %q", v.opts.Origin, got),
			"add the origin to SMARTONBOARD_ALLOWED_ORIGINS and make sure the proxy passes OPTIONS requests through")
		return
	}
	v.ok("cors", v.opts.Origin+" may call the API")
}

// checkStream opens the admin stream and waits for its first event: a proxy that
// buffers responses holds it back, and then no browser sees live updates.
func (v *verifier) checkStream(ctx context.Context) {
	if !v.secretOK {
		v.skip("stream", "needs a working --key")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, v.opts.StreamWait)
	defer cancel()
	start := time.Now()
	s, err := v.withKey(v.opts.SecretKey).OpenStream(ctx, "/v1/analytics/stream")
	if err == nil {
		defer s.Close()
		_, err = s.Next()
	}
	switch {
	case err == nil:
		v.ok("stream", "first event after "+since(start))
	case ctx.Err() != nil || errors.Is(err, io.ErrUnexpectedEOF):
		v.fail("stream", fmt.Sprintf("no event within %s", v.opts.StreamWait), preflight.TypeNetwork,
			"the event stream did not deliver its first event: something in front buffers or cuts streaming responses",
			"turn off response buffering for /v1/stream and /v1/analytics/stream (nginx: proxy_buffering off; the server also sends X-Accel-Buffering: no) and allow long-lived connections")
	default:
		v.fail("stream", "GET /v1/analytics/stream", preflight.TypeNetwork, err.Error(), "read the server log")
	}
}

// checkWrite posts one event with the secret key and reads its user back: a 200
// means the event was committed, so the user must be there.
func (v *verifier) checkWrite(ctx context.Context) {
	if !v.opts.Write {
		v.skip("write", "pass --write to store one event for user "+VerifyUserID+" and read it back")
		return
	}
	if !v.secretOK {
		v.skip("write", "needs a working --key")
		return
	}
	ctx, cancel := v.call(ctx)
	defer cancel()
	admin := v.withKey(v.opts.SecretKey)
	sent := so.Now()
	ev := so.EventInput{ID: "verify-" + so.NewID(), Type: so.EventCustom, UserID: VerifyUserID,
		Timestamp: so.FormatTime(sent), Properties: []byte(`{"name":"smartonboard_verify"}`)}
	start := time.Now()
	resp, err := admin.PostEvents(ctx, []so.EventInput{ev})
	if err == nil && resp.Accepted != 1 {
		err = fmt.Errorf("the event was not accepted: %+v", resp.Rejected)
	}
	if err != nil {
		v.fail("write", "POST /v1/events", preflight.TypeService, err.Error(),
			"read the server log; check that the database user may write (INSERT on events and end_users)")
		return
	}
	u, err := admin.User(ctx, VerifyUserID)
	// An instance records a user's sighting at most once per SeenPrecision, so a
	// second run within it finds the first run's time.
	if err != nil || u.LastSeenAt.Before(sent.Add(-journey.SeenPrecision)) {
		v.fail("write", "GET /v1/users/"+VerifyUserID, preflight.TypeService,
			fmt.Sprintf("an acknowledged event is not visible: %v", describeUser(u, err)),
			"instances may be reading a different database than they write: check DATABASE_URL on every instance")
		return
	}
	v.ok("write", "one event stored and read back in "+since(start))
}

// since is the time since start for a report line, at millisecond precision.
func since(start time.Time) string {
	if d := time.Since(start); d >= time.Millisecond {
		return d.Round(time.Millisecond).String()
	}
	return "under 1ms"
}

func describeUser(u *so.EndUser, err error) string {
	if err != nil {
		return err.Error()
	}
	return "last seen " + so.FormatTime(u.LastSeenAt)
}
