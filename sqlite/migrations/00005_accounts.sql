-- +goose Up
-- Per-project settings (a JSON object) and the identity secret a rotation
-- replaced, still accepted until previous_secret_until (unix milliseconds);
-- revision counts updates, so a stale update is refused, not applied over.
ALTER TABLE projects ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE projects ADD COLUMN previous_identity_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN previous_secret_until INTEGER;
ALTER TABLE projects ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;

-- Key lifecycle. scopes is a JSON array of strings. Secret keys stored before
-- scopes existed could do everything, and keep doing so; keys named 'bootstrap'
-- came from the bootstrap variables (or a first start, which is not told apart),
-- so a changed variable can revoke the key it replaced.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE api_keys ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN source TEXT NOT NULL DEFAULT 'api';
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;
UPDATE api_keys SET scopes = '["read","write","admin"]' WHERE kind = 'secret';
UPDATE api_keys SET source = CASE kind WHEN 'secret' THEN 'SMARTONBOARD_ADMIN_KEY' ELSE 'SMARTONBOARD_PUBLIC_KEY' END
    WHERE name = 'bootstrap';

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE, -- lower case
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL -- unix milliseconds, UTC
) STRICT;

CREATE TABLE project_members (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, account_id)
) STRICT;
CREATE INDEX project_members_account ON project_members (account_id);

-- id is the hex SHA-256 of the cookie's token, never the token.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX sessions_account ON sessions (account_id);

-- Append-only; id is a UUIDv7, so it sorts by time and serves as the cursor.
CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    status     INTEGER NOT NULL,
    changes    TEXT NOT NULL DEFAULT '[]', -- JSON array of field names
    request_id TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_project ON audit_log (project_id, id);

-- +goose Down
-- The older schema knows neither revocation, expiry nor scopes: every key it
-- holds is a live key with every power. So revoked keys, keys that expire and
-- narrowed secret keys go rather than work again, or widen, after the rollback.
DELETE FROM api_keys WHERE revoked_at IS NOT NULL OR expires_at IS NOT NULL
    OR (kind = 'secret' AND (SELECT count(DISTINCT value) FROM json_each(api_keys.scopes)
        WHERE value IN ('read', 'write', 'admin')) < 3);
DROP TABLE audit_log;
DROP TABLE sessions;
DROP TABLE project_members;
DROP TABLE accounts;
ALTER TABLE api_keys DROP COLUMN revoked_at;
ALTER TABLE api_keys DROP COLUMN expires_at;
ALTER TABLE api_keys DROP COLUMN last_used_at;
ALTER TABLE api_keys DROP COLUMN source;
ALTER TABLE api_keys DROP COLUMN created_by;
ALTER TABLE api_keys DROP COLUMN scopes;
ALTER TABLE projects DROP COLUMN revision;
ALTER TABLE projects DROP COLUMN previous_secret_until;
ALTER TABLE projects DROP COLUMN previous_identity_secret;
ALTER TABLE projects DROP COLUMN settings;
