package smartonboard

import (
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Account limits.
const (
	MaxEmailLen       = 254
	MinPasswordLen    = 12
	MaxPasswordLen    = 1024
	MaxProjectNameLen = MaxTitleLen
)

// CheckEmail accepts one plain address (no display name), as typed at sign-in.
func CheckEmail(field, email string) error {
	if err := checkText(field, email, 1, MaxEmailLen); err != nil {
		return err
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || !strings.Contains(email, "@") {
		return FieldErrorf(EINVALID, field, "is not an email address such as owner@example.com")
	}
	return nil
}

// CheckPassword wants a password long enough that throttled guessing is hopeless.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLen:
		return FieldErrorf(EINVALID, "password", "must be at least %d characters long", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return FieldErrorf(EINVALID, "password", "must be at most %d bytes long", MaxPasswordLen)
	case !utf8.ValidString(pw) || strings.ContainsRune(pw, 0):
		return FieldErrorf(EINVALID, "password", "must be valid UTF-8 without NUL characters")
	}
	return nil
}
