-- Accounts, project members, dashboard sessions and the audit log; project
-- settings and the previous identity secret; the key lifecycle. Identifiers that
-- pages are sorted by are COLLATE "C", so that ordering agrees with SQLite.

-- +goose Up
ALTER TABLE projects
    ADD COLUMN settings jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN previous_identity_secret text NOT NULL DEFAULT '',
    ADD COLUMN previous_secret_until timestamptz,
    ADD COLUMN revision integer NOT NULL DEFAULT 1;

-- Secret keys stored before scopes existed could do everything, and keep doing
-- so; keys named 'bootstrap' came from the bootstrap variables (or a first
-- start, which is not told apart), so a changed variable can revoke the key it
-- replaced.
ALTER TABLE api_keys
    ADD COLUMN scopes text[] NOT NULL DEFAULT '{}',
    ADD COLUMN created_by text NOT NULL DEFAULT '',
    ADD COLUMN source text NOT NULL DEFAULT 'api',
    ADD COLUMN last_used_at timestamptz,
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN revoked_at timestamptz;
UPDATE api_keys SET scopes = '{read,write,admin}' WHERE kind = 'secret';
UPDATE api_keys SET source = CASE kind WHEN 'secret' THEN 'SMARTONBOARD_ADMIN_KEY' ELSE 'SMARTONBOARD_PUBLIC_KEY' END
    WHERE name = 'bootstrap';

CREATE TABLE accounts (
    id            text COLLATE "C" PRIMARY KEY,
    email         text NOT NULL UNIQUE, -- lower case
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE project_members (
    project_id text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    account_id text COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (project_id, account_id)
);

CREATE INDEX project_members_account_idx ON project_members (account_id);

-- id is the hex SHA-256 of the cookie's token, never the token.
CREATE TABLE sessions (
    id           text PRIMARY KEY,
    account_id   text COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);

CREATE INDEX sessions_account_idx ON sessions (account_id);

-- Append-only; id is a UUIDv7, so it sorts by time and serves as the cursor.
CREATE TABLE audit_log (
    id         text COLLATE "C" PRIMARY KEY,
    project_id text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL,
    status     integer NOT NULL,
    changes    text[] NOT NULL DEFAULT '{}', -- field names, never values
    request_id text NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_project_idx ON audit_log (project_id, id);

-- +goose Down
-- The older schema knows neither revocation, expiry nor scopes: every key it
-- holds is a live key with every power. So revoked keys, keys that expire and
-- narrowed secret keys go rather than work again, or widen, after the rollback.
DELETE FROM api_keys WHERE revoked_at IS NOT NULL OR expires_at IS NOT NULL
    OR (kind = 'secret' AND NOT (scopes @> ARRAY['read', 'write', 'admin']));
DROP TABLE audit_log;
DROP TABLE sessions;
DROP TABLE project_members;
DROP TABLE accounts;
ALTER TABLE api_keys
    DROP COLUMN revoked_at,
    DROP COLUMN expires_at,
    DROP COLUMN last_used_at,
    DROP COLUMN source,
    DROP COLUMN created_by,
    DROP COLUMN scopes;
ALTER TABLE projects
    DROP COLUMN revision,
    DROP COLUMN previous_secret_until,
    DROP COLUMN previous_identity_secret,
    DROP COLUMN settings;
