// Package web serves what browsers load from the binary: the SDK (and, with
// the demo, its pages), from files embedded at build time.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed sdk/dist
var sdkFiles embed.FS

// sdkCache lets browsers keep the SDK for a day and use a stale copy for a
// week while they revalidate it by its ETag: long enough to cost nothing,
// short enough that an upgrade reaches every page within a day.
const sdkCache = "public, max-age=86400, stale-while-revalidate=604800"

// asset is one embedded file, ready to serve plain or gzipped.
type asset struct {
	body, gzipped []byte
	etag, ctype   string
}

// SDK serves /sdk/v1/{smartonboard.js,.mjs,.map}: any origin may load it
// (Access-Control-Allow-Origin: *, which Subresource Integrity checks need).
func SDK() http.Handler {
	assets := map[string]*asset{}
	entries, err := fs.ReadDir(sdkFiles, "sdk/dist")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	for _, e := range entries {
		body, err := sdkFiles.ReadFile("sdk/dist/" + e.Name())
		if err != nil {
			panic(err)
		}
		assets[e.Name()] = newAsset(e.Name(), body)
	}
	started := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[strings.TrimPrefix(r.URL.Path, "/sdk/v1/")]
		if !ok {
			http.Error(w, "not found: the SDK is at /sdk/v1/smartonboard.js and /sdk/v1/smartonboard.mjs", http.StatusNotFound)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", sdkCache)
		h.Set("ETag", a.etag)
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		h.Add("Vary", "Accept-Encoding")
		body := a.body
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			body = a.gzipped
		}
		http.ServeContent(w, r, "", started, bytes.NewReader(body))
	})
}

func newAsset(name string, body []byte) *asset {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close()
	sum := sha256.Sum256(body)
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js", ".mjs":
		ctype = "text/javascript; charset=utf-8"
	case ".map":
		ctype = "application/json"
	}
	return &asset{body: body, gzipped: gz.Bytes(), etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: ctype}
}

// acceptsGzip reads Accept-Encoding coarsely: gzip listed and not refused.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0"
		}
	}
	return false
}

// Integrity is the Subresource Integrity value of an SDK file (sha384), as the
// docs' snippet carries it.
func Integrity(name string) (string, error) {
	body, err := sdkFiles.ReadFile("sdk/dist/" + name)
	if err != nil {
		return "", err
	}
	sum := sha512.Sum384(body)
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:]), nil
}
