package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/smartonboarding/smartonboard/web/internal/sdkbuild"
)

var update = flag.Bool("update", false, "rewrite sdk/dist from sdk/src")

// maxGzipped is the SDK's size budget, compressed as servers send it.
const maxGzipped = 20 * 1024

// TestSDKIsBuilt rebuilds the SDK from its source and compares it with the
// embedded files: the committed build is the source's (run `go generate
// ./web` after editing the source), and stays under 20 KB gzipped.
func TestSDKIsBuilt(t *testing.T) {
	t.Parallel()
	built, err := sdkbuild.Build("sdk")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"smartonboard.js", "smartonboard.js.map", "smartonboard.mjs", "smartonboard.mjs.map"} {
		got, ok := built[name]
		if !ok {
			t.Fatalf("the build made no %s (made %d files)", name, len(built))
		}
		path := filepath.Join("sdk", "dist", name)
		if *update {
			if old, err := os.ReadFile(path); err == nil {
				repinDocs(t, old, got)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		committed, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v: run go generate ./web", err)
		}
		if !bytes.Equal(committed, got) {
			t.Errorf("%s differs from a fresh build of sdk/src: run go generate ./web", path)
		}
	}
	for _, name := range []string{"smartonboard.js", "smartonboard.mjs"} {
		n := gzippedSize(t, built[name])
		t.Logf("%s: %d bytes, %d gzipped (budget %d)", name, len(built[name]), n, maxGzipped)
		if n > maxGzipped {
			t.Errorf("%s is %d bytes gzipped, over the %d-byte budget", name, n, maxGzipped)
		}
	}
}

// repinDocs replaces a file's old integrity value in docs/sdk.md by the new one.
func repinDocs(t *testing.T, old, fresh []byte) {
	const docs = "../docs/sdk.md"
	text, err := os.ReadFile(docs)
	if err != nil {
		t.Fatal(err)
	}
	text = bytes.ReplaceAll(text, []byte(sri(old)), []byte(sri(fresh)))
	if err := os.WriteFile(docs, text, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sri(b []byte) string {
	sum := sha512.Sum384(b)
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}

func gzippedSize(t *testing.T, b []byte) int {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}
