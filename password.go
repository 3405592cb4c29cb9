package smartonboard

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
// They are written into each hash, so raising them later still verifies old ones.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// hashSlots bounds concurrent hashing: each takes argonMemoryKiB, and a login
// flood must not turn into a memory flood.
var hashSlots = make(chan struct{}, 4)

// HashPassword returns the argon2id hash of pw in PHC string format.
func HashPassword(pw string) string {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	hashSlots <- struct{}{}
	sum := argon2.IDKey([]byte(pw), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	<-hashSlots
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		b64(salt), b64(sum))
}

// dummyHash is checked against when an email is unknown, so a login takes as
// long whether or not the account exists.
var dummyHash = sync.OnceValue(func() string { return HashPassword("not a password anyone has") })

// CheckPasswordHash tells whether pw matches an argon2id PHC hash, in constant
// time; it gives up when ctx ends while it waits for a hashing slot.
func CheckPasswordHash(ctx context.Context, hash, pw string) (bool, error) {
	var version, mem, iters int
	var threads uint8
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("not an argon2id hash")
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil ||
		mem < 1 || mem > 1<<22 || iters < 1 || iters > 100 || threads < 1 {
		return false, errors.New("bad argon2 parameters")
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false, errors.New("bad argon2 encoding")
	}
	select {
	case hashSlots <- struct{}{}:
	case <-ctx.Done():
		return false, Errorf(EUNAVAILABLE, "the server is busy checking passwords; retry")
	}
	defer func() { <-hashSlots }()
	got := argon2.IDKey([]byte(pw), salt, uint32(iters), uint32(mem), threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func b64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }
