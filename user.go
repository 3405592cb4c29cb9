package smartonboard

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// EndUser is a user of the customer's product, known by the customer's own id.
type EndUser struct {
	ProjectID   string          `json:"project_id"`
	UserID      string          `json:"user_id"`
	Traits      json.RawMessage `json:"traits"`
	FirstSeenAt time.Time       `json:"first_seen_at"`
	LastSeenAt  time.Time       `json:"last_seen_at"`
}

// MarshalJSON renders timestamps with milliseconds.
func (u EndUser) MarshalJSON() ([]byte, error) {
	type plain EndUser
	return json.Marshal(struct {
		plain
		FirstSeenAt string `json:"first_seen_at"`
		LastSeenAt  string `json:"last_seen_at"`
	}{plain(u), FormatTime(u.FirstSeenAt), FormatTime(u.LastSeenAt)})
}

// UserStore keeps end users.
type UserStore interface {
	// UpsertEndUser creates the user or, if it exists, calls merge with its current
	// traits and stores what merge returns; LastSeenAt only moves forward.
	UpsertEndUser(ctx context.Context, u *EndUser, merge func(old json.RawMessage) (json.RawMessage, error)) (*EndUser, error)
	// FindEndUser returns one user or UserNotFound.
	FindEndUser(ctx context.Context, projectID, userID string) (*EndUser, error)
	// ListEndUsers returns up to f.Limit users matching f, ordered by user id,
	// after f.After.
	ListEndUsers(ctx context.Context, projectID string, f UserFilter) ([]*EndUser, error)
}

// UserFilter narrows a user listing; zero fields do not filter. The trait filters
// match the well-known string traits exactly.
type UserFilter struct {
	Role       string
	Plan       string
	Experience string
	SeenSince  time.Time // last_seen_at at or after
	After      string
	Limit      int
}

// User limits.
const (
	MaxUserIDLen   = 128
	MaxTraitsBytes = 16 * 1024
)

// Experience levels an identify call may state.
var Experiences = []string{"none", "some", "expert"}

// CheckUserID accepts the customer's user id: 1 to 128 characters, no control
// characters, so it is safe in paths, logs and topic names.
func CheckUserID(field, id string) error {
	if err := checkText(field, id, 1, MaxUserIDLen); err != nil {
		return err
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return FieldErrorf(EINVALID, field, "must not contain control characters")
		}
	}
	return nil
}

// ValidateTraits checks a traits object and the well-known traits' types.
func ValidateTraits(raw json.RawMessage) error {
	if err := CheckJSONObject("traits", raw, MaxTraitsBytes); err != nil {
		return err
	}
	var t map[string]json.RawMessage
	_ = json.Unmarshal(raw, &t)
	checks := map[string]func(json.RawMessage) error{
		"role": isString, "plan": isString, "goals": isStringList, "platforms": isStringList,
		"experience": func(v json.RawMessage) error {
			var s string
			if json.Unmarshal(v, &s) != nil {
				return fmt.Errorf("must be a string")
			}
			return checkEnum("", s, Experiences)
		},
		"signed_up_at": func(v json.RawMessage) error {
			var ts time.Time
			if json.Unmarshal(v, &ts) != nil {
				return fmt.Errorf("must be an RFC 3339 timestamp")
			}
			return nil
		},
	}
	for name, check := range checks {
		if v, ok := t[name]; ok && string(v) != "null" {
			if err := check(v); err != nil {
				return FieldErrorf(EINVALID, "traits."+name, "%s", messageOf(err))
			}
		}
	}
	return nil
}

// CheckClientTraits refuses, in traits sent with a public key (from a browser),
// any trait the project reserves to secret keys, even to remove it: admin
// filters and billing rely on those, and every visitor holds the public key.
func CheckClientTraits(settings ProjectSettings, traits json.RawMessage) error {
	var t map[string]json.RawMessage
	if json.Unmarshal(traits, &t) != nil {
		return nil // not an object: ValidateTraits reports it
	}
	for _, name := range slices.Sorted(maps.Keys(t)) {
		if settings.TraitServerOnly(name) {
			return FieldErrorf(EINVALID, "traits."+name, "%q is a server-only trait: only a secret key may set it, so send it from your backend (POST /v1/identify with an sk_ key), not from the browser", name)
		}
	}
	return nil
}

// messageOf is an application error's message, or any other error's text.
func messageOf(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Message
	}
	return err.Error()
}

func isString(v json.RawMessage) error {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return fmt.Errorf("must be a string")
	}
	return nil
}

func isStringList(v json.RawMessage) error {
	var s []string
	if json.Unmarshal(v, &s) != nil {
		return fmt.Errorf("must be a list of strings")
	}
	return nil
}

// MergeTraits applies an identify call's traits over the stored ones: a key with a
// value replaces, a key with null removes, other keys stay.
func MergeTraits(old, update json.RawMessage) (json.RawMessage, error) {
	merged := map[string]json.RawMessage{}
	if len(old) > 0 {
		if err := json.Unmarshal(old, &merged); err != nil {
			return nil, fmt.Errorf("stored traits: %w", err)
		}
	}
	var upd map[string]json.RawMessage
	if len(update) > 0 {
		if err := json.Unmarshal(update, &upd); err != nil {
			return nil, FieldErrorf(EINVALID, "traits", "must be a JSON object")
		}
	}
	for k, v := range upd {
		if string(v) == "null" {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	out, err := json.Marshal(merged)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxTraitsBytes {
		return nil, FieldErrorf(EINVALID, "traits", "merged traits are %d bytes; the limit is %d", len(out), MaxTraitsBytes)
	}
	return out, nil
}
