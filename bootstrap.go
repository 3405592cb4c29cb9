package smartonboard

import (
	"context"
	"fmt"
	"time"
)

// BootstrapResult tells which keys a start made or revoked, so the caller can
// print generated ones exactly once and log the rest.
type BootstrapResult struct {
	CreatedProject     bool
	GeneratedSecretKey string // set only when this call generated it
	GeneratedPublicKey string
	// Revoked lists keys a changed bootstrap variable replaced, as
	// "SMARTONBOARD_ADMIN_KEY: sk_AbCdEfGh" (variable and lookup prefix).
	Revoked []string
	// Warnings are problems worth a log line that do not stop the start.
	Warnings []string
}

// Bootstrap makes sure the default project exists and holds the operator's keys.
// On the first start it creates the project with one secret and one public key,
// taken from adminKey/publicKey when given and generated otherwise. On later
// starts it adds a configured key that is not stored yet and revokes the key
// that variable named before, so rotating SMARTONBOARD_ADMIN_KEY retires the
// old key without touching the database.
func Bootstrap(ctx context.Context, s ProjectStore, adminKey, publicKey string) (*BootstrapResult, error) {
	res := &BootstrapResult{}
	_, err := s.FindProject(ctx, DefaultProjectID)
	switch ErrorCode(err) {
	case "":
	case ENOTFOUND:
		err = s.CreateProject(ctx, &Project{ID: DefaultProjectID, Name: "Default project", CreatedAt: Now()})
		if err != nil && ErrorCode(err) != ECONFLICT { // another instance may have won the race
			return nil, fmt.Errorf("create default project: %w", err)
		}
		res.CreatedProject = err == nil
	default:
		return nil, fmt.Errorf("find default project: %w", err)
	}
	for _, k := range []struct {
		kind      KeyKind
		key       string
		source    string
		generated *string
	}{{KeySecret, adminKey, KeySourceAdminEnv, &res.GeneratedSecretKey}, {KeyPublic, publicKey, KeySourcePublicEnv, &res.GeneratedPublicKey}} {
		key, source := k.key, k.source
		if key == "" {
			if !res.CreatedProject {
				continue
			}
			key, source = GenerateKey(k.kind), KeySourceGenerated
			*k.generated = key
		}
		if err := ensureKey(ctx, s, k.kind, key, source, res); err != nil {
			return nil, err
		}
		if source != KeySourceGenerated {
			if err := revokeReplaced(ctx, s, key, source, res); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

func ensureKey(ctx context.Context, s ProjectStore, kind KeyKind, key, source string, res *BootstrapResult) error {
	if found, err := FindKey(ctx, s, key); err == nil {
		if found.Kind != kind || found.ProjectID != DefaultProjectID {
			return fmt.Errorf("configured %s key is already stored as another key", kind)
		}
		if err := found.CheckUsable(time.Now()); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s names a key that no longer works (%s); set a new key", source, ErrorMessage(err)))
		}
		return nil
	} else if ErrorCode(err) != EUNAUTHORIZED {
		return fmt.Errorf("look up %s key: %w", kind, err)
	}
	k := NewAPIKey(DefaultProjectID, kind, "bootstrap", key)
	k.Source = source
	err := s.CreateAPIKey(ctx, k)
	if err != nil && ErrorCode(err) != ECONFLICT {
		return fmt.Errorf("store %s key: %w", kind, err)
	}
	return nil
}

// revokeReplaced revokes the keys a bootstrap variable named before it named key.
func revokeReplaced(ctx context.Context, s ProjectStore, key, source string, res *BootstrapResult) error {
	keys, err := s.ListAPIKeys(ctx, DefaultProjectID)
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	for _, k := range keys {
		if k.Source != source || k.RevokedAt != nil || k.Matches(key) {
			continue
		}
		if _, err := s.RevokeAPIKey(ctx, DefaultProjectID, k.ID, Now()); err != nil {
			return fmt.Errorf("revoke the key %s replaced: %w", source, err)
		}
		res.Revoked = append(res.Revoked, source+": "+k.Prefix)
	}
	return nil
}
