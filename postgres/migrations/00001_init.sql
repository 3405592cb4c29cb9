-- Projects, their API keys, and content items. Enum values are checked in Go, where
-- the business rules live; the schema only keeps rows whole and tenants apart.

-- +goose Up
CREATE TABLE projects (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id         text PRIMARY KEY,
    project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('secret', 'public')),
    name       text NOT NULL,
    prefix     text NOT NULL,
    hash       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

CREATE INDEX api_keys_prefix_idx ON api_keys (prefix);
CREATE INDEX api_keys_project_idx ON api_keys (project_id, created_at);

-- id sorts byte-wise (COLLATE "C") so that newest-first pages and "id < cursor"
-- agree with SQLite whatever the database's default collation is.
CREATE TABLE content_items (
    id           text COLLATE "C" PRIMARY KEY,
    project_id   text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    title        text NOT NULL,
    body         text NOT NULL,
    status       text NOT NULL,
    category     text NOT NULL DEFAULT '',
    tags         text[] NOT NULL DEFAULT '{}',
    locale       text NOT NULL,
    complexity   text NOT NULL,
    scheduled_at timestamptz,
    published_at timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    version      integer NOT NULL,
    metadata     text NOT NULL DEFAULT '{}'
);

CREATE INDEX content_items_project_idx ON content_items (project_id, id DESC);
CREATE INDEX content_items_due_idx ON content_items (scheduled_at) WHERE status = 'scheduled';

-- +goose Down
DROP TABLE content_items;
DROP TABLE api_keys;
DROP TABLE projects;
