-- +goose Up
CREATE TABLE projects (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL -- unix milliseconds, UTC
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('secret', 'public')),
    name       TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX api_keys_prefix ON api_keys (prefix);

CREATE TABLE content_items (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    status       TEXT NOT NULL,
    category     TEXT NOT NULL DEFAULT '',
    tags         TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    locale       TEXT NOT NULL,
    complexity   TEXT NOT NULL,
    scheduled_at INTEGER,
    published_at INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    metadata     TEXT NOT NULL DEFAULT '{}' -- compact JSON object, returned byte-exact
) STRICT;
CREATE INDEX content_items_project ON content_items (project_id, id DESC);
CREATE INDEX content_items_due ON content_items (scheduled_at) WHERE status = 'scheduled';

-- +goose Down
DROP TABLE content_items;
DROP TABLE api_keys;
DROP TABLE projects;
