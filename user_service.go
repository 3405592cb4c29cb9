package smartonboard

import (
	"context"
	"encoding/json"
	"time"
)

// UserService holds the rules for end users above any store.
type UserService struct {
	Store UserStore
	Clock func() time.Time
}

// IdentifyInput is the body of POST /v1/identify.
type IdentifyInput struct {
	UserID string          `json:"user_id"`
	Traits json.RawMessage `json:"traits"`
}

// Identify creates the user or merges the new traits into the stored ones: a key
// with a value replaces, a key with null removes.
func (s *UserService) Identify(ctx context.Context, projectID string, in IdentifyInput) (*EndUser, error) {
	if err := CheckUserID("user_id", in.UserID); err != nil {
		return nil, err
	}
	if len(in.Traits) == 0 || string(in.Traits) == "null" {
		in.Traits = json.RawMessage("{}")
	}
	if err := ValidateTraits(in.Traits); err != nil {
		return nil, err
	}
	fresh, err := MergeTraits(nil, in.Traits) // drops null-valued keys from a first identify
	if err != nil {
		return nil, err
	}
	now := Now()
	if s.Clock != nil {
		now = Truncate(s.Clock())
	}
	u := &EndUser{ProjectID: projectID, UserID: in.UserID, Traits: fresh, FirstSeenAt: now, LastSeenAt: now}
	return s.Store.UpsertEndUser(ctx, u, func(old json.RawMessage) (json.RawMessage, error) {
		return MergeTraits(old, in.Traits)
	})
}

// Find returns one user.
func (s *UserService) Find(ctx context.Context, projectID, userID string) (*EndUser, error) {
	return s.Store.FindEndUser(ctx, projectID, userID)
}

// List returns a page of users ordered by id and the next cursor.
func (s *UserService) List(ctx context.Context, projectID string, f UserFilter, cursor string) ([]*EndUser, string, error) {
	after, err := DecodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	limit, err := CheckLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	if f.Experience != "" {
		if err := checkEnum("experience", f.Experience, Experiences); err != nil {
			return nil, "", err
		}
	}
	f.After, f.Limit = after, limit+1
	users, err := s.Store.ListEndUsers(ctx, projectID, f)
	if err != nil || len(users) <= limit {
		return users, "", err
	}
	return users[:limit], EncodeCursor(users[limit-1].UserID), nil
}
