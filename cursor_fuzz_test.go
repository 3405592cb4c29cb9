package smartonboard_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"

	so "github.com/smartonboarding/smartonboard"
)

// maxCursorID is the longest id DecodeCursor takes back, in bytes: a user id
// of so.MaxUserIDLen characters of 4 bytes each.
const maxCursorID = 4 * so.MaxUserIDLen

// FuzzCursor protects page cursors: a cursor made from an id of at most 512 bytes
// of valid UTF-8 without NUL decodes back to that id, and any other string given
// as a cursor either decodes or is refused as an invalid "cursor", never a panic.
func FuzzCursor(f *testing.F) {
	f.Add("019385f2-7c1a-7b3e-9a4d-3f1e2d4c5b6a")
	f.Add("")
	f.Add("user@example.com")
	f.Add("ünïcødé/🙂")
	f.Add(strings.Repeat("x", maxCursorID))
	f.Add(strings.Repeat("x", maxCursorID+1))
	f.Add("%%%")
	f.Add("AAAA=")
	f.Add("a\x00b")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		c := so.EncodeCursor(s)
		got, err := so.DecodeCursor(c)
		if utf8.ValidString(s) && !strings.ContainsRune(s, 0) && len(s) <= maxCursorID {
			if err != nil || got != s {
				t.Fatalf("DecodeCursor(EncodeCursor(%q)) = %q, %v", s, got, err)
			}
		} else if err == nil && got != s {
			t.Fatalf("DecodeCursor(EncodeCursor(%q)) = %q", s, got)
		}
		checkCursorError(t, err)
		if c != "" && base64.RawURLEncoding.EncodedLen(len(s)) != len(c) {
			t.Fatalf("EncodeCursor(%q) = %q: not unpadded base64url", s, c)
		}
		// The string itself, as a client may send anything as ?cursor=.
		got, err = so.DecodeCursor(s)
		checkCursorError(t, err)
		if err == nil && len(got) > maxCursorID {
			t.Fatalf("DecodeCursor(%q) = an id of %d bytes, over the bound of %d", s, len(got), maxCursorID)
		}
	})
}

func checkCursorError(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		checkAppError(t, err, so.EINVALID)
		if so.ErrorField(err) != "cursor" {
			t.Fatalf("cursor error %v names field %q, want cursor", err, so.ErrorField(err))
		}
	}
}
