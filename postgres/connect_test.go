package postgres_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smartonboarding/smartonboard/postgres"
	"github.com/smartonboarding/smartonboard/postgres/pgtest"
)

const secret = "s3cr3t-P@ss:w/rd"

// mustNotLeak fails when err's text shows the password in any form.
func mustNotLeak(t *testing.T, err error) {
	t.Helper()
	for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), "s3cr3t"} {
		if strings.Contains(err.Error(), form) {
			t.Fatalf("error shows the password (%q): %v", form, err)
		}
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	u := "postgres://alice:" + url.QueryEscape(secret) + "@127.0.0.1:1/smartonboard?sslmode=disable"
	start := time.Now()
	_, err := postgres.Open(context.Background(), postgres.Options{URL: u, ConnectTimeout: 700 * time.Millisecond})
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	t.Logf("error: %v", err)
	for _, want := range []string{"127.0.0.1:1", `database "smartonboard"`, "refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	mustNotLeak(t, err)
	if elapsed < 600*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("Open gave up after %s, want about the 700ms ConnectTimeout", elapsed)
	}
}

func TestOpenInvalidURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"postgres://alice:" + secret + "@127.0.0.1:notaport/db",
		"postgres://alice:" + url.QueryEscape(secret) + "@127.0.0.1:5432/db?sslmode=bogus",
		"host=127.0.0.1 port=abc user=alice password='" + secret + "' dbname=db",
		"postgres://alice@127.0.0.1/db?sslmode=require&sslpassword=" + url.QueryEscape(secret) + "&connect_timeout=x",
	} {
		_, err := postgres.Open(context.Background(), postgres.Options{URL: u, ConnectTimeout: time.Second})
		if err == nil {
			t.Fatalf("Open(%q) succeeded", u)
		}
		t.Logf("error: %v", err)
		mustNotLeak(t, err)
	}
}

func TestOpenMissingDatabaseFailsFast(t *testing.T) {
	t.Parallel()
	u := withParams(t, pgtest.URL(t), nil)
	u.Path = "/so_no_such_database"
	start := time.Now()
	_, err := postgres.Open(context.Background(), postgres.Options{URL: u.String(), ConnectTimeout: 10 * time.Second})
	if err == nil || !strings.Contains(err.Error(), `database "so_no_such_database"`) {
		t.Fatalf("Open of a missing database = %v, want an error naming it", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("Open kept retrying an error that waiting cannot fix: %v", err)
	}
	t.Logf("error: %v", err)
}

// TestOpenTLSRefused uses a fake server without TLS, like many local and CI ones.
func TestOpenTLSRefused(t *testing.T) {
	t.Parallel()
	addr := fakeServerWithoutTLS(t)
	u := "postgres://alice:" + url.QueryEscape(secret) + "@" + addr + "/smartonboard?sslmode=require"
	start := time.Now()
	_, err := postgres.Open(context.Background(), postgres.Options{URL: u, ConnectTimeout: 10 * time.Second})
	if err == nil {
		t.Fatal("sslmode=require against a server without TLS succeeded")
	}
	t.Logf("error: %v", err)
	for _, want := range []string{addr, "refused TLS", "sslmode"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	mustNotLeak(t, err)
	if time.Since(start) > 3*time.Second {
		t.Errorf("Open kept retrying a TLS refusal for %s", time.Since(start))
	}
}

// TestOpenTLS checks every sslmode with a root certificate against the real server,
// when it offers TLS (Debian's default cluster does, with its snakeoil certificate).
func TestOpenTLS(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	serverCA, leaf := serverCertificate(t, withParams(t, dbURL, nil).Host)
	otherCA := writePEM(t, "other-ca.pem", selfSignedCA(t))
	hostOK := leaf.VerifyHostname("127.0.0.1") == nil && withParams(t, dbURL, nil).Hostname() == "127.0.0.1"
	cases := []struct {
		name, sslmode, rootCert string
		urlRootCert             string
		ok                      bool
	}{
		{"disable", "disable", serverCA, "", true},
		{"require verifies the chain like verify-ca", "require", serverCA, "", true},
		{"verify-ca", "verify-ca", serverCA, "", true},
		{"verify-full checks the host name", "verify-full", serverCA, "", hostOK},
		{"verify-ca with another CA", "verify-ca", otherCA, "", false},
		{"require with another CA", "require", otherCA, "", false},
		{"sslrootcert in the URL wins", "verify-ca", otherCA, serverCA, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			params := map[string]string{"sslmode": c.sslmode}
			if c.urlRootCert != "" {
				params["sslrootcert"] = c.urlRootCert
			}
			u := withParams(t, dbURL, params).String()
			db, err := postgres.Open(context.Background(), postgres.Options{URL: u, SSLRootCert: c.rootCert, ConnectTimeout: 5 * time.Second})
			if err == nil {
				db.Close()
			}
			switch {
			case c.ok && err != nil:
				t.Fatalf("Open = %v, want success", err)
			case !c.ok && err == nil:
				t.Fatal("Open succeeded, want a certificate error")
			case !c.ok && !strings.Contains(err.Error(), "certificate"):
				t.Fatalf("Open = %v, want it to say the certificate is the problem", err)
			}
			if err != nil {
				t.Logf("error: %v", err)
			}
		})
	}
}

func TestOpenMissingRootCert(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(context.Background(), postgres.Options{
		URL:         "postgres://alice:" + url.QueryEscape(secret) + "@127.0.0.1:1/db?sslmode=verify-full",
		SSLRootCert: "/nonexistent/ca.pem", ConnectTimeout: time.Second,
	})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/ca.pem") {
		t.Fatalf("Open with a missing root certificate = %v, want an error naming the file", err)
	}
	mustNotLeak(t, err)
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"postgres://alice:" + url.QueryEscape(secret) + "@db.example.com:6543/app?sslmode=require": "db.example.com:6543/app",
		"postgresql://alice:pw@10.0.0.1/app":                                "10.0.0.1:5432/app",
		"postgres://alice:pw@[::1]:5433/app":                                "[::1]:5433/app",
		"postgres:///app?host=/var/run/postgresql":                          "/var/run/postgresql:5432/app",
		"postgres://alice:pw@h1:5432,h2:5433/app":                           "h1:5432,h2:5433/app",
		"host=pg port=5544 user=alice password='" + secret + "' dbname=app": "pg:5544/app",
		"user=alice password=" + url.QueryEscape(secret) + " dbname=app":    "localhost:5432/app",
		"postgres://alice:" + secret + "@h:notaport/app":                    "(unparsable PostgreSQL URL)",
	}
	for in, want := range cases {
		got := postgres.Describe(in)
		if got != want {
			t.Errorf("Describe(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "s3cr3t") || strings.Contains(got, "alice") {
			t.Errorf("Describe(%q) = %q shows credentials", in, got)
		}
	}
}

// withParams parses a test URL and sets query parameters on it.
func withParams(t *testing.T, raw string, params map[string]string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("the test database URL must be a URL: %v", err)
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u
}

// fakeServerWithoutTLS answers every SSLRequest with 'N', as a server with ssl=off does.
func fakeServerWithoutTLS(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 8)
			if _, err := io.ReadFull(conn, buf); err == nil {
				conn.Write([]byte{'N'})
			}
			conn.Close()
		}
	}()
	return ln.Addr().String()
}

// serverCertificate fetches the server's certificate over PostgreSQL's TLS upgrade
// and saves it as a root, skipping the test when the server offers no TLS.
func serverCertificate(t *testing.T, addr string) (string, *x509.Certificate) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 8), 80877103)
	reply := make([]byte, 1)
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, reply); err != nil {
		t.Fatal(err)
	}
	if reply[0] != 'S' && os.Getenv("CI") == "true" {
		t.Fatalf("the PostgreSQL server at %s offers no TLS, so the SSL modes go untested; enable ssl on it (Debian's default)", addr)
	} else if reply[0] != 'S' {
		t.Skipf("the PostgreSQL server at %s offers no TLS; TestOpenTLSRefused covers that case", addr)
	}
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	leaf := tc.ConnectionState().PeerCertificates[0]
	return writePEM(t, "server.pem", leaf.Raw), leaf
}

func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the server's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writePEM(t *testing.T, name string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
