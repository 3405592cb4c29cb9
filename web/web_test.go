package web_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/smartonboarding/smartonboard/web"
)

func get(t *testing.T, srv *httptest.Server, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	tr := &http.Transport{DisableCompression: true} // see the encoding as sent
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestSDKServed: the script, the module and their maps are served with long
// cache headers, to any origin, gzipped when asked, revalidated by ETag.
func TestSDKServed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(web.SDK())
	defer srv.Close()
	for _, c := range []struct{ path, ctype, starts string }{
		{"/sdk/v1/smartonboard.js", "text/javascript; charset=utf-8", "/*! Smart Onboarding SDK"},
		{"/sdk/v1/smartonboard.mjs", "text/javascript; charset=utf-8", "/*! Smart Onboarding SDK"},
		{"/sdk/v1/smartonboard.js.map", "application/json", "{"},
	} {
		resp, body := get(t, srv, c.path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", c.path, resp.StatusCode)
		}
		h := resp.Header
		if h.Get("Content-Type") != c.ctype || !strings.HasPrefix(string(body), c.starts) {
			t.Errorf("%s: %s starting %.40q", c.path, h.Get("Content-Type"), body)
		}
		if !strings.Contains(h.Get("Cache-Control"), "max-age=86400") || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("ETag") == "" {
			t.Errorf("%s: headers %v", c.path, h)
		}
		if h.Get("Content-Encoding") != "" {
			t.Errorf("%s: encoded %q though not asked", c.path, h.Get("Content-Encoding"))
		}
		zipped, zbody := get(t, srv, c.path, "Accept-Encoding", "br, gzip")
		if zipped.StatusCode != 200 || zipped.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s gzipped: %d %v", c.path, zipped.StatusCode, zipped.Header)
		}
		zr, err := gzip.NewReader(strings.NewReader(string(zbody)))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || string(plain) != string(body) {
			t.Fatalf("%s: gzipped body differs (%v)", c.path, err)
		}
		again, _ := get(t, srv, c.path, "If-None-Match", h.Get("ETag"))
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("%s with its ETag: status %d, want 304", c.path, again.StatusCode)
		}
	}
	if resp, body := get(t, srv, "/sdk/v1/nope.js"); resp.StatusCode != 404 || !strings.Contains(string(body), "/sdk/v1/smartonboard.js") {
		t.Errorf("unknown file: %d %s", resp.StatusCode, body)
	}
}

// TestDocsCarryTheIntegrity: the snippet in docs/sdk.md pins the SDK this
// binary serves.
func TestDocsCarryTheIntegrity(t *testing.T) {
	t.Parallel()
	docs, err := os.ReadFile("../docs/sdk.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"smartonboard.js", "smartonboard.mjs"} {
		sri, err := web.Integrity(name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(docs), sri) {
			t.Errorf("docs/sdk.md does not carry %s's integrity %s: update it after go generate ./web", name, sri)
		}
	}
}
