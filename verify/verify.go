// Package verify checks a deployed instance from the outside, over HTTP, the way
// its users will reach it: reachable, served securely, ready, the expected
// version, keys enforced, CORS and streams passing the proxies, and (when asked)
// a write that is stored and read back. It reports in preflight's format.
package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/smartonboarding/smartonboard/client"
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

// versionSamples is how many fresh connections the version check reads the
// version over, so that behind a load balancer it sees more than one instance.
const versionSamples = 3

// afterReachable are the checks that run once the instance answers, in order.
var afterReachable = []string{"tls", "ready", "version", "admin auth", "secret key", "public key", "cors", "stream", "user stream", "write"}

// verifier runs the checks of one report.
type verifier struct {
	opts     Options
	base     *url.URL
	anon     *client.Client // no key
	report   *preflight.Report
	secretOK bool                 // the secret key works, so the checks that need it can run
	publicOK bool                 // the public key is known (and kept off admin routes)
	tls      *tls.ConnectionState // of the liveness answer; nil over plain HTTP
	skew     time.Duration        // the server's clock minus ours, from its Date header
}

// Run performs the checks and returns the report; its Status is error when the
// deployment is not fit to serve.
func Run(ctx context.Context, opts Options) *preflight.Report {
	v := &verifier{opts: withDefaults(opts), report: preflight.NewReport(preflight.PhaseVerify)}
	defer v.report.Finish()
	if !v.checkURL() || !v.checkReachable(ctx) {
		return v.report
	}
	v.checkTransport()
	v.checkReady(ctx)
	v.checkVersion(ctx)
	v.checkAdminAuth(ctx)
	v.checkSecretKey(ctx)
	v.checkPublicKey(ctx)
	v.checkCORS(ctx)
	v.checkSDK(ctx)
	v.checkStream(ctx)
	v.checkUserStream(ctx)
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
	// Never follow a redirect: the key would already have gone to the address
	// that redirected, perhaps in clear text. It is reported instead.
	hc := *o.HTTP
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	o.HTTP = &hc
	return o
}

// call bounds one check's requests by the per-request timeout.
func (v *verifier) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, v.opts.Timeout)
}

func (v *verifier) withKey(key string) *client.Client { return v.anon.WithKey(key) }

// freshConnections is c without keep-alive, so that successive requests may
// reach different instances behind a load balancer.
func freshConnections(c *client.Client) *client.Client {
	hc := *c.HTTP
	t, ok := hc.Transport.(*http.Transport)
	if !ok || t == nil {
		t = http.DefaultTransport.(*http.Transport)
	}
	t = t.Clone()
	t.DisableKeepAlives = true
	hc.Transport = t
	copied := *c
	copied.HTTP = &hc
	return &copied
}

// streaming is c without the per-request timeout, which would cut a stream; the
// stream check bounds it with StreamWait instead.
func streaming(c *client.Client) *client.Client {
	hc := *c.HTTP
	hc.Timeout = 0
	copied := *c
	copied.HTTP = &hc
	return &copied
}

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
	v.ok("url", strings.TrimRight(u.Redacted(), "/")) // a password in the URL stays out of the report
	return true
}

func (v *verifier) checkReachable(ctx context.Context) bool {
	ctx, cancel := v.call(ctx)
	defer cancel()
	start := time.Now()
	if err := v.liveness(ctx); err != nil {
		v.fail("reachable", "GET /healthz failed", preflight.TypeNetwork,
			"the instance did not answer its liveness probe: "+err.Error(), reachSuggestion(err))
		for _, name := range afterReachable {
			v.skip(name, "instance not reachable")
		}
		return false
	}
	v.ok("reachable", "GET /healthz answered in "+since(start))
	return true
}

// liveness calls GET /healthz, requires Smart Onboarding's answer to it (not
// merely a 200 from a login page), and keeps what later checks need of the
// response: its TLS state and the server's clock.
func (v *verifier) liveness(ctx context.Context) error {
	resp, err := v.anon.Send(ctx, http.MethodGet, "/healthz", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	var body struct{ Status string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &body) != nil || body.Status != "ok" {
		return client.AnswerError(resp, data)
	}
	v.tls = resp.TLS
	if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		if skew := time.Until(date); skew.Abs() > 2*time.Second { // Date has 1 s resolution
			v.skew = skew
		}
	}
	return nil
}

// reachSuggestion names the likely cause of a failed liveness probe.
func reachSuggestion(err error) string {
	var dnsErr *net.DNSError
	var certInvalid x509.CertificateInvalidError
	var certErr *tls.CertificateVerificationError
	var apiErr *client.Error
	switch {
	case errors.As(err, &dnsErr):
		return "the host name does not resolve: check the URL and DNS"
	case errors.As(err, &certInvalid) && certInvalid.Reason == x509.Expired:
		return "the TLS certificate has expired (or is not valid yet): renew it"
	case errors.As(err, &certErr):
		return "the TLS certificate is not trusted for this host: check the certificate chain and its names"
	case isTimeout(err):
		return "no answer in time: check firewalls, the load balancer's target and that serve is running"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens there: check that serve is running, its SMARTONBOARD_ADDR, and the port in the URL"
	case !errors.As(err, &apiErr):
		return "check the URL, that serve is running, and the proxy or load balancer in front"
	case apiErr.Code == "redirect":
		return "pass the address it redirects to: a key sent to an address that redirects has already been exposed there"
	case apiErr.Status >= 500:
		return "the load balancer or proxy found no healthy instance: check that instances run and that its target port is SMARTONBOARD_ADDR's"
	case apiErr.Code != "unexpected_answer":
		return "Smart Onboarding answered, but not at this path: pass the base URL, without a path"
	}
	return "something answered, but not Smart Onboarding's /healthz: check the URL and the proxy's routes"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// checkTransport judges how the API is served, from the liveness answer.
func (v *verifier) checkTransport() {
	if v.base.Scheme == "http" {
		if isLoopback(v.base.Hostname()) {
			v.ok("tls", "plain HTTP on a loopback address")
			return
		}
		v.warn("tls", "plain HTTP", preflight.TypeSecurity, "keys and user data travel unencrypted",
			"serve the API over HTTPS: terminate TLS at the load balancer or proxy in front (README: Deploying)")
		return
	}
	if v.tls == nil || len(v.tls.PeerCertificates) == 0 {
		v.warn("tls", "no certificate seen", preflight.TypeSecurity, "the HTTPS answer carried no certificate",
			"check the TLS setup in front of the instance")
		return
	}
	cert := v.tls.PeerCertificates[0]
	names := cert.DNSNames
	if len(names) == 0 {
		names = []string{cert.Subject.CommonName}
	}
	days := int(time.Until(cert.NotAfter).Hours() / 24)
	detail := fmt.Sprintf("%s, certificate for %s valid %d more days", tls.VersionName(v.tls.Version), strings.Join(names, ", "), days)
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
	var names, failed []string
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

// checkVersion reads the version over fresh connections, so that behind a load
// balancer a rollout that missed some instances can show.
func (v *verifier) checkVersion(ctx context.Context) {
	ctx, cancel := v.call(ctx)
	defer cancel()
	fresh := freshConnections(v.anon)
	var seen []string
	var detail string
	for range versionSamples {
		s, err := fresh.Status(ctx)
		if err != nil {
			v.fail("version", "GET /v1/status failed", preflight.TypeService, err.Error(), "check that the URL reaches Smart Onboarding")
			return
		}
		if !slices.Contains(seen, s.Version) {
			seen = append(seen, s.Version)
		}
		detail = fmt.Sprintf("%s (commit %s), database %s, up %s", s.Version, s.Commit, s.Database,
			(time.Duration(s.UptimeS) * time.Second).String())
	}
	switch {
	case len(seen) > 1 && v.opts.ExpectVersion != "":
		v.fail("version", "versions seen: "+strings.Join(seen, ", "), preflight.TypeService,
			fmt.Sprintf("not every instance behind this URL runs %s", v.opts.ExpectVersion),
			"the deploy did not reach every instance: check that old instances were replaced")
	case len(seen) > 1:
		v.warn("version", "versions seen: "+strings.Join(seen, ", "), preflight.TypeService,
			"instances behind this URL run different versions", "a rollout is in progress or stalled: check that old instances were replaced")
	case v.opts.ExpectVersion != "" && seen[0] != v.opts.ExpectVersion:
		v.fail("version", detail, preflight.TypeService, fmt.Sprintf("the instance runs %s, not %s", seen[0], v.opts.ExpectVersion),
			"the deploy did not roll out: check the image tag and that old instances were replaced")
	default:
		v.ok("version", detail)
	}
}

// since is the time since start for a report line, at millisecond precision.
func since(start time.Time) string {
	if d := time.Since(start); d >= time.Millisecond {
		return d.Round(time.Millisecond).String()
	}
	return "under 1ms"
}

// sdkBanner opens every build of the SDK the server embeds.
const sdkBanner = "/*! Smart Onboarding SDK"

// checkSDK loads the browser SDK as a customer's page would: from another
// origin, so it must come back as JavaScript that any origin may load.
func (v *verifier) checkSDK(ctx context.Context) {
	ctx, cancel := v.call(ctx)
	defer cancel()
	u := v.base.JoinPath("/sdk/v1/smartonboard.js").String()
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		v.fail("sdk", u, preflight.TypeService, err.Error(), "pass the instance's base URL")
		return
	}
	req.Header.Set("Origin", "https://smartonboard-verify.invalid")
	resp, err := v.opts.HTTP.Do(req)
	if err != nil {
		v.fail("sdk", "GET /sdk/v1/smartonboard.js failed", preflight.TypeService, err.Error(), "check that the URL reaches Smart Onboarding")
		return
	}
	defer resp.Body.Close()
	head := make([]byte, len(sdkBanner))
	n, _ := io.ReadFull(resp.Body, head)
	switch {
	case resp.StatusCode != http.StatusOK:
		v.fail("sdk", fmt.Sprintf("GET /sdk/v1/smartonboard.js: %d", resp.StatusCode), preflight.TypeService,
			"the browser SDK is not served", "route /sdk/ to Smart Onboarding in the proxy or load balancer in front of it")
	case !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || string(head[:n]) != sdkBanner:
		v.fail("sdk", "Content-Type "+resp.Header.Get("Content-Type"), preflight.TypeService,
			"/sdk/v1/smartonboard.js is not the SDK", "something in front of Smart Onboarding answers /sdk/ itself: route it to Smart Onboarding")
	case resp.Header.Get("Access-Control-Allow-Origin") != "*":
		v.fail("sdk", "Access-Control-Allow-Origin "+resp.Header.Get("Access-Control-Allow-Origin"), preflight.TypeService,
			"pages of other origins cannot load the SDK with its integrity check", "keep the Access-Control-Allow-Origin: * header Smart Onboarding sends on /sdk/ (a proxy strips it)")
	default:
		v.ok("sdk", "GET /sdk/v1/smartonboard.js: the SDK, loadable from any origin")
	}
}
