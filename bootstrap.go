package smartonboard

import (
	"context"
	"fmt"
)

// BootstrapResult tells which keys a first start made, so the caller can print
// generated ones exactly once.
type BootstrapResult struct {
	CreatedProject     bool
	GeneratedSecretKey string // set only when this call generated it
	GeneratedPublicKey string
}

// Bootstrap makes sure the default project exists and holds the operator's keys.
// On the first start it creates the project with one secret and one public key,
// taken from adminKey/publicKey when given and generated otherwise. On later starts
// it only adds a configured key that is not stored yet, so rotating
// SMARTONBOARD_ADMIN_KEY works without touching the database.
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
		generated *string
	}{{KeySecret, adminKey, &res.GeneratedSecretKey}, {KeyPublic, publicKey, &res.GeneratedPublicKey}} {
		key := k.key
		if key == "" {
			if !res.CreatedProject {
				continue
			}
			key = GenerateKey(k.kind)
			*k.generated = key
		}
		if err := ensureKey(ctx, s, k.kind, key); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func ensureKey(ctx context.Context, s ProjectStore, kind KeyKind, key string) error {
	if found, err := Authenticate(ctx, s, key); err == nil {
		if found.Kind != kind || found.ProjectID != DefaultProjectID {
			return fmt.Errorf("configured %s key is already stored as another key", kind)
		}
		return nil
	}
	err := s.CreateAPIKey(ctx, NewAPIKey(DefaultProjectID, kind, "bootstrap", key))
	if err != nil && ErrorCode(err) != ECONFLICT {
		return fmt.Errorf("store %s key: %w", kind, err)
	}
	return nil
}
