package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/preflight"
	"github.com/smartonboarding/smartonboard/verify"
)

const verifyOrigin = "https://app.example.com"

// verifyReport runs `smartonboard verify --json` and decodes its report.
func verifyReport(t *testing.T, environ []string, args ...string) (int, *preflight.Report) {
	t.Helper()
	code, out, stderr := cli(t, environ, append([]string{"verify", "--json"}, args...)...)
	var r preflight.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("verify printed no JSON report (exit %d): %v\n%s\n%s", code, err, out, stderr)
	}
	return code, &r
}

// checkStatus is the status of one named check of a report, "" if it is missing.
func checkStatus(r *preflight.Report, name string) string {
	for _, c := range r.Checks {
		if c.Name == name {
			return c.Status
		}
	}
	return ""
}

// issueFor is the message of the first issue a check raised.
func issueFor(r *preflight.Report, name string) string {
	for _, is := range r.Errors {
		if is.Check == name {
			return is.Message
		}
	}
	return ""
}

func TestVerifyPassesOnAHealthyInstance(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.AllowedOrigins = []string{verifyOrigin}
		in := start(t, cfg)
		// The keys come from the environment the server uses, as on a deploy host.
		env := []string{"SMARTONBOARD_ADMIN_KEY=" + in.secret, "SMARTONBOARD_PUBLIC_KEY=" + in.public}
		code, r := verifyReport(t, env, "--url", in.url, "--origin", verifyOrigin, "--write")
		for _, c := range r.Checks {
			if c.Status != "ok" {
				t.Errorf("check %s: %s (%s) %s", c.Name, c.Status, c.Detail, issueFor(r, c.Name))
			}
		}
		want := []string{"url", "reachable", "tls", "ready", "version", "admin auth", "secret key", "public key", "cors", "sdk", "stream", "user stream", "write"}
		var got []string
		for _, c := range r.Checks {
			got = append(got, c.Name)
		}
		if code != 0 || r.Status != preflight.StatusSuccess || !slices.Equal(got, want) {
			t.Fatalf("exit %d, status %s, checks %v; want 0, success, %v", code, r.Status, got, want)
		}
		if resp := in.admin("GET", "/v1/users/"+verify.VerifyUserID, ""); resp.status != 200 {
			t.Fatalf("the write check's user is not stored: %d %s", resp.status, resp.body)
		}
		// A second run within a minute passes too (sightings are kept per minute),
		// and with identity verification on, the user stream carries the hash.
		if resp := in.admin("PATCH", "/v1/project", `{"identity_verification":true}`); resp.status != 200 {
			t.Fatalf("turning identity verification on: %d %s", resp.status, resp.body)
		}
		code, r = verifyReport(t, env, "--url", in.url, "--write")
		if code != 0 || checkStatus(r, "write") != "ok" || checkStatus(r, "user stream") != "ok" {
			t.Fatalf("second run: exit %d, write %s %s, user stream %s %s", code, checkStatus(r, "write"), issueFor(r, "write"),
				checkStatus(r, "user stream"), issueFor(r, "user stream"))
		}
	})
}

func TestVerifyReportsWhatIsWrong(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, config.EngineSQLite)
	cfg.AllowedOrigins = []string{verifyOrigin}
	in := start(t, cfg)
	for _, tc := range []struct {
		name       string
		args       []string
		check      string
		wantIssue  string
		wantStatus map[string]string
	}{
		{"wrong secret key", []string{"--key", so.GenerateKey(so.KeySecret), "--write"}, "secret key", "does not know this secret key",
			map[string]string{"stream": "skipped", "write": "skipped"}},
		{"keys swapped", []string{"--key", in.public, "--public-key", in.secret}, "secret key", "is not a secret key",
			map[string]string{"public key": preflight.StatusError}},
		{"unknown public key", []string{"--key", in.secret, "--public-key", so.GenerateKey(so.KeyPublic)}, "public key", "does not know this public key", nil},
		{"origin not allowed", []string{"--key", in.secret, "--public-key", in.public, "--origin", "https://elsewhere.example.com"}, "cors", "refuses calls from pages of that origin", nil},
		{"another version", []string{"--expect-version", "9.9.9"}, "version", "not 9.9.9", nil},
		{"nothing listening", []string{"--url", "http://127.0.0.1:1"}, "reachable", "did not answer", map[string]string{"ready": "skipped"}},
		{"not a URL", []string{"--url", "onboard.example.com"}, "url", "not an http(s) URL", nil},
		{"password in the URL", []string{"--url", "http://ops:hunter2@127.0.0.1:1"}, "reachable", "did not answer", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--url", in.url}, tc.args...) // a later --url wins
			code, r := verifyReport(t, nil, args...)
			if code != 1 || r.Status != preflight.StatusError || checkStatus(r, tc.check) != preflight.StatusError ||
				!strings.Contains(issueFor(r, tc.check), tc.wantIssue) {
				t.Fatalf("exit %d, status %s, %s = %s %q; want 1, error, error containing %q",
					code, r.Status, tc.check, checkStatus(r, tc.check), issueFor(r, tc.check), tc.wantIssue)
			}
			if out, err := json.Marshal(r); err != nil || strings.Contains(string(out), "hunter2") {
				t.Fatalf("the report shows the URL's password: %s", out)
			}
			for name, want := range tc.wantStatus {
				if got := checkStatus(r, name); got != want {
					t.Errorf("check %s is %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestVerifyCatchesASchemaRolledBack rolls the live instance's schema back one
// migration behind its back: the instance stays up but is not ready.
func TestVerifyCatchesASchemaRolledBack(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, config.EngineSQLite)
	in := start(t, cfg)
	if code, _, stderr := cli(t, []string{"SMARTONBOARD_DATA_DIR=" + cfg.DataDir}, "migrate", "down"); code != 0 {
		t.Fatalf("migrate down: %d %s", code, stderr)
	}
	code, r := verifyReport(t, nil, "--url", in.url)
	if code != 1 || checkStatus(r, "reachable") != "ok" || checkStatus(r, "ready") != preflight.StatusError {
		t.Fatalf("exit %d, reachable %s, ready %s; want 1, ok, error", code, checkStatus(r, "reachable"), checkStatus(r, "ready"))
	}
	if detail := r.Checks[slices.IndexFunc(r.Checks, func(c preflight.Check) bool { return c.Name == "ready" })].Detail; !strings.Contains(detail, "migrations") {
		t.Fatalf("ready detail %q does not name the failing check", detail)
	}
}

// TestVerifyThroughProxies puts real proxies in front of a real instance: a TLS
// one that streams (all checks pass, the certificate is read) and one that
// buffers whole responses, which holds back every stream event.
func TestVerifyThroughProxies(t *testing.T) {
	t.Parallel()
	in := start(t, testConfig(t, config.EngineSQLite))
	target, err := url.Parse(in.url)
	if err != nil {
		t.Fatal(err)
	}

	tlsProxy := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	defer tlsProxy.Close()
	r := verify.Run(context.Background(), verify.Options{URL: tlsProxy.URL, SecretKey: in.secret, Write: true,
		HTTP: tlsProxy.Client(), StreamWait: 5 * time.Second})
	if r.Status != preflight.StatusSuccess || checkStatus(r, "tls") != "ok" || checkStatus(r, "stream") != "ok" {
		t.Fatalf("through a TLS proxy: status %s, tls %s, stream %s: %+v", r.Status, checkStatus(r, "tls"), checkStatus(r, "stream"), r.Errors)
	}

	buffering := bufferingProxy(in.url)
	defer buffering.Close()
	// The per-request timeout is shorter than the stream wait, and must not cut
	// the stream check short with a misleading cause.
	_, r = verifyReport(t, nil, "--url", buffering.URL, "--key", in.secret, "--timeout", "1s", "--stream-wait", "2s")
	if checkStatus(r, "secret key") != "ok" || checkStatus(r, "stream") != preflight.StatusError ||
		!strings.Contains(issueFor(r, "stream"), "buffers") {
		t.Fatalf("through a buffering proxy: secret key %s, stream %s %q", checkStatus(r, "secret key"), checkStatus(r, "stream"), issueFor(r, "stream"))
	}
}

// bufferingProxy forwards each request to target but sends nothing of the
// answer until the whole of it has arrived, as a buffering proxy does.
func bufferingProxy(target string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		out, err := http.NewRequestWithContext(req.Context(), req.Method, target+req.URL.RequestURI(), req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = req.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
}

// TestVerifyCatchesWhatProxiesDo covers what stands between users and a healthy
// instance: a proxy that answers CORS preflights itself, a redirect, a proxy
// whose clock is far from the instance's, and an expired certificate.
func TestVerifyCatchesWhatProxiesDo(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, config.EngineSQLite)
	cfg.AllowedOrigins = []string{verifyOrigin}
	in := start(t, cfg)
	target, err := url.Parse(in.url)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(target)

	t.Run("preflight answered by the proxy", func(t *testing.T) {
		t.Parallel()
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodOptions {
				w.Header().Set("Access-Control-Allow-Origin", "*")
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			forward.ServeHTTP(w, r)
		}))
		defer proxy.Close()
		_, r := verifyReport(t, nil, "--url", proxy.URL, "--origin", verifyOrigin)
		if checkStatus(r, "cors") != preflight.StatusError || !strings.Contains(issueFor(r, "cors"), "got 405") {
			t.Fatalf("cors %s %q", checkStatus(r, "cors"), issueFor(r, "cors"))
		}
	})
	t.Run("SDK answered by the proxy", func(t *testing.T) {
		t.Parallel()
		for name, c := range map[string]struct {
			answer    http.HandlerFunc
			wantIssue string
		}{
			"not routed": {func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "not served"},
			"an HTML page": {func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<!doctype html>"))
			}, "is not the SDK"},
			"CORS header stripped": {func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				forward.ServeHTTP(rec, r)
				for k, vs := range rec.Header() {
					w.Header()[k] = vs
				}
				w.Header().Del("Access-Control-Allow-Origin")
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes())
			}, "cannot load the SDK"},
		} {
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/sdk/") {
					c.answer(w, r)
					return
				}
				forward.ServeHTTP(w, r)
			}))
			_, r := verifyReport(t, nil, "--url", proxy.URL)
			proxy.Close()
			if checkStatus(r, "sdk") != preflight.StatusError || !strings.Contains(issueFor(r, "sdk"), c.wantIssue) {
				t.Errorf("%s: sdk %s %q, want an error saying %q", name, checkStatus(r, "sdk"), issueFor(r, "sdk"), c.wantIssue)
			}
		}
		_, r := verifyReport(t, nil, "--url", in.url)
		if checkStatus(r, "sdk") != "ok" {
			t.Errorf("direct: sdk %s %q", checkStatus(r, "sdk"), issueFor(r, "sdk"))
		}
	})
	t.Run("redirect", func(t *testing.T) {
		t.Parallel()
		proxy := httptest.NewServer(http.RedirectHandler("https://onboard.example.com/healthz", http.StatusMovedPermanently))
		defer proxy.Close()
		code, r := verifyReport(t, nil, "--url", proxy.URL, "--key", in.secret)
		if code != 1 || !strings.Contains(issueFor(r, "reachable"), "redirects to https://onboard.example.com") {
			t.Fatalf("exit %d, reachable %q", code, issueFor(r, "reachable"))
		}
	})
	t.Run("Date header ahead of the instance", func(t *testing.T) {
		t.Parallel()
		ahead := httputil.NewSingleHostReverseProxy(target)
		ahead.ModifyResponse = func(resp *http.Response) error {
			resp.Header.Set("Date", time.Now().Add(10*time.Minute).UTC().Format(http.TimeFormat))
			return nil
		}
		proxy := httptest.NewServer(ahead)
		defer proxy.Close()
		_, r := verifyReport(t, nil, "--url", proxy.URL, "--key", in.secret, "--write")
		if checkStatus(r, "write") != preflight.StatusError || !strings.Contains(issueFor(r, "write"), "refused the event's time") {
			t.Fatalf("write %s %q", checkStatus(r, "write"), issueFor(r, "write"))
		}
	})
	t.Run("expired certificate", func(t *testing.T) {
		t.Parallel()
		cert, pool := expiredCertificate(t)
		proxy := httptest.NewUnstartedServer(forward)
		proxy.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		proxy.StartTLS()
		defer proxy.Close()
		r := verify.Run(context.Background(), verify.Options{URL: proxy.URL,
			HTTP: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}})
		if r.Status != preflight.StatusError || !strings.Contains(r.Errors[0].Suggestion, "expired") {
			t.Fatalf("status %s: %+v", r.Status, r.Errors)
		}
	})
}

// expiredCertificate is a self-signed certificate for 127.0.0.1 that expired
// yesterday, and a pool that trusts it.
func expiredCertificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "expired"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
