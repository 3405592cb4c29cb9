package smartonboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// Validate checks every rule of a content item and reports the first broken one,
// naming its field.
func (c *ContentItem) Validate() error {
	checks := []func() error{
		func() error { return checkEnum("kind", c.Kind, ContentKinds) },
		func() error { return checkText("title", c.Title, 1, MaxTitleLen) },
		func() error { return checkBytes("body", c.Body, MaxBodyBytes) },
		func() error { return checkEnum("status", c.Status, ContentStatuses) },
		func() error { return checkText("category", c.Category, 0, MaxCategoryLen) },
		c.validateTags,
		func() error { return CheckLocale("locale", c.Locale) },
		func() error { return checkEnum("complexity", c.Complexity, Complexities) },
		c.validateSchedule,
		func() error { return CheckJSONObject("metadata", c.Metadata, MaxMetadataSize) },
		c.validateVariantOf,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *ContentItem) validateTags() error {
	if len(c.Tags) > MaxTags {
		return FieldErrorf(EINVALID, "tags", "at most %d tags are allowed, got %d", MaxTags, len(c.Tags))
	}
	for i, tag := range c.Tags {
		if err := checkText(fmt.Sprintf("tags[%d]", i), tag, 1, MaxTagLen); err != nil {
			return err
		}
	}
	return nil
}

// validateVariantOf checks what variant_of can be told alone; ContentService
// checks the item it names.
func (c *ContentItem) validateVariantOf() error {
	if err := checkBytes("variant_of", c.VariantOf, len(c.VariantOf)); err != nil {
		return err
	}
	if c.VariantOf != "" && c.VariantOf == c.ID {
		return FieldErrorf(EINVALID, "variant_of", "an item cannot be a variant of itself")
	}
	return nil
}

func (c *ContentItem) validateSchedule() error {
	if c.Status == StatusScheduled && c.ScheduledAt == nil {
		return FieldErrorf(EINVALID, "scheduled_at", "is required when status is scheduled")
	}
	return nil
}

// checkEnum rejects a value that is not one of the allowed ones and lists them.
func checkEnum[T ~string](field string, v T, allowed []T) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	if v == "" {
		return FieldErrorf(EINVALID, field, "is required; one of %s", strings.Join(names, ", "))
	}
	return FieldErrorf(EINVALID, field, "%q is not one of %s", string(v), strings.Join(names, ", "))
}

// checkText bounds a string's length in characters and rejects NUL bytes, which
// PostgreSQL cannot store and SQLite would keep, so both engines behave alike.
func checkText(field, s string, minLen, maxLen int) error {
	n := utf8.RuneCountInString(s)
	switch {
	case minLen > 0 && strings.TrimSpace(s) == "":
		return FieldErrorf(EINVALID, field, "is required")
	case n > maxLen:
		return FieldErrorf(EINVALID, field, "is %d characters long; the limit is %d", n, maxLen)
	}
	return checkBytes(field, s, len(s))
}

// checkBytes bounds a string's size in bytes and rejects NUL bytes and invalid UTF-8.
func checkBytes(field, s string, maxBytes int) error {
	switch {
	case len(s) > maxBytes:
		return FieldErrorf(EINVALID, field, "is %d bytes long; the limit is %d", len(s), maxBytes)
	case strings.ContainsRune(s, 0):
		return FieldErrorf(EINVALID, field, "must not contain NUL characters")
	case !utf8.ValidString(s):
		return FieldErrorf(EINVALID, field, "must be valid UTF-8")
	}
	return nil
}

// CheckStorableText refuses text that is not valid UTF-8 or holds NUL: PostgreSQL
// refuses such bytes and SQLite would store them, so without this check the same
// request fails on one engine and succeeds on the other.
func CheckStorableText(field, s string) error {
	return checkBytes(field, s, len(s))
}

// CheckLocale accepts a well-formed BCP 47 language tag such as "en" or "pt-BR".
func CheckLocale(field, tag string) error {
	if tag == "" {
		return FieldErrorf(EINVALID, field, "is required")
	}
	if _, err := language.Parse(tag); err != nil || len(tag) > 35 {
		return FieldErrorf(EINVALID, field, "%q is not a BCP 47 language tag (for example en, de-CH, pt-BR)", tag)
	}
	return nil
}

// CheckJSONObject accepts a JSON object of at most maxBytes bytes. It checks
// without building the object, as it runs for every ingested event.
func CheckJSONObject(field string, raw json.RawMessage, maxBytes int) error {
	if len(raw) > maxBytes {
		return FieldErrorf(EINVALID, field, "is %d bytes; the limit is %d", len(raw), maxBytes)
	}
	// JSON's own whitespace only: bytes.TrimSpace also strips \v, \f and
	// Unicode spaces, which would pass "{}\v" on to be stored as invalid JSON.
	trimmed := bytes.Trim(raw, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(raw) {
		return FieldErrorf(EINVALID, field, "must be a JSON object")
	}
	nul, lone := badEscapes(trimmed)
	if nul {
		return FieldErrorf(EINVALID, field, "must not contain NUL characters")
	}
	if !utf8.Valid(trimmed) || lone {
		return FieldErrorf(EINVALID, field, "must be valid UTF-8 (no stray bytes or unpaired \\u surrogates)")
	}
	return nil
}

// HasLoneSurrogate tells whether raw JSON text holds a \uD800–\uDFFF escape that
// is not half of a pair, which encoding/json would silently decode as U+FFFD.
func HasLoneSurrogate(raw []byte) bool {
	_, lone := badEscapes(raw)
	return lone
}

// BadEscapes tells whether raw JSON text holds a \u0000 escape (a NUL, which
// PostgreSQL cannot store in text) or an unpaired surrogate.
func BadEscapes(raw []byte) (nul, loneSurrogate bool) { return badEscapes(raw) }

// badEscapes finds the \u escapes that would make the engines differ: \u0000,
// which PostgreSQL cannot store in text, and a \uD800–\uDFFF that is not half of
// a pair, which encoding/json accepts but PostgreSQL's jsonb refuses. It walks
// escape by escape, so an escaped backslash followed by "u0000" (the text
// \u0000) is not taken for a NUL.
func badEscapes(raw []byte) (nul, loneSurrogate bool) {
	for i := 0; i < len(raw)-1; i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // another escape: skip the escaped character
			continue
		}
		r, ok := hex4(raw, i+2)
		switch {
		case !ok:
			return nul, loneSurrogate // not valid JSON; json.Valid has already refused it
		case r == 0:
			nul = true
			i += 5
		case r >= 0xDC00 && r <= 0xDFFF:
			loneSurrogate = true
			i += 5
		case r >= 0xD800 && r <= 0xDBFF:
			low, ok := hex4(raw, i+8)
			if i+7 >= len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u' || !ok || low < 0xDC00 || low > 0xDFFF {
				loneSurrogate = true
				i += 5
				continue
			}
			i += 11
		default:
			i += 5
		}
	}
	return nul, loneSurrogate
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// CheckEnumValue is checkEnum for the layers above the domain (query
// parameters and bodies the API decodes itself).
func CheckEnumValue[T ~string](field string, v T, allowed []T) error {
	return checkEnum(field, v, allowed)
}
