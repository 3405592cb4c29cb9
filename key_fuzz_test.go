package smartonboard_test

import (
	"strings"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// FuzzKey protects API key parsing, which sees every presented key before any
// store does: WellFormedKey, KeyKindOf, ValidateKey and KeyLookupPrefix never
// panic, a key WellFormedKey accepts is 32 to 256 bytes of printable ASCII without
// spaces behind the sk_ or pk_ prefix of its kind, and ValidateKey accepts exactly
// the well-formed keys of its kind and refuses others without quoting them.
func FuzzKey(f *testing.F) {
	f.Add(so.GenerateKey(so.KeySecret))
	f.Add(so.GenerateKey(so.KeyPublic))
	f.Add("sk_" + strings.Repeat("a", 29))
	f.Add("sk_" + strings.Repeat("a", 28))
	f.Add("pk_" + strings.Repeat("b", 253))
	f.Add("pk_" + strings.Repeat("b", 254))
	f.Add("sk_live key with spaces 1234567890")
	f.Add("pk_\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	f.Add("pk_ünïcødé-ünïcødé-ünïcødé-ünïcødé")
	f.Add("xk_abcdefghijklmnopqrstuvwxyz0123456789")
	f.Add("sk_")
	f.Add("")
	f.Fuzz(func(t *testing.T, key string) {
		kind, hasKind := so.KeyKindOf(key)
		switch {
		case strings.HasPrefix(key, so.SecretKeyPrefix):
			if kind != so.KeySecret || !hasKind {
				t.Fatalf("KeyKindOf(%q) = %q, %v; want secret", key, kind, hasKind)
			}
		case strings.HasPrefix(key, so.PublicKeyPrefix):
			if kind != so.KeyPublic || !hasKind {
				t.Fatalf("KeyKindOf(%q) = %q, %v; want public", key, kind, hasKind)
			}
		case hasKind || kind != "":
			t.Fatalf("KeyKindOf(%q) = %q, %v; want no kind", key, kind, hasKind)
		}

		prefix := so.KeyLookupPrefix(key)
		if !strings.HasPrefix(key, prefix) || len(prefix) > 11 || (len(key) >= 11 && len(prefix) != 11) {
			t.Fatalf("KeyLookupPrefix(%q) = %q: want the key's first 11 bytes", key, prefix)
		}

		wellFormed := so.WellFormedKey(key)
		if wellFormed {
			if !hasKind || len(key) < 32 || len(key) > 256 {
				t.Fatalf("WellFormedKey accepted %q: kind %q, %d bytes", key, kind, len(key))
			}
			for i := 0; i < len(key); i++ {
				if key[i] <= ' ' || key[i] > '~' {
					t.Fatalf("WellFormedKey accepted %q, which holds byte %#x", key, key[i])
				}
			}
		}

		for _, k := range []so.KeyKind{so.KeySecret, so.KeyPublic} {
			err := so.ValidateKey(k, key)
			if err == nil {
				if !wellFormed || kind != k {
					t.Fatalf("ValidateKey(%s) accepted %q, which is not a well-formed %s key", k, key, k)
				}
				continue
			}
			checkAppError(t, err, so.EINVALID)
			if hasKind && len(key) >= 8 && strings.Contains(so.ErrorMessage(err), key) {
				t.Fatalf("ValidateKey's message %q quotes the key", so.ErrorMessage(err))
			}
			if wellFormed && kind == k {
				t.Fatalf("ValidateKey(%s) refused the well-formed key %q: %v", k, key, err)
			}
		}
	})
}
