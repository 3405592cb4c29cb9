-- +goose Up
CREATE TABLE flows (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key               TEXT NOT NULL,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL,
    steps             TEXT NOT NULL DEFAULT '[]', -- JSON array of steps (the draft)
    revision          INTEGER NOT NULL,
    published_version INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL, -- unix milliseconds, UTC
    updated_at        INTEGER NOT NULL,
    UNIQUE (project_id, key)
) STRICT;

CREATE TABLE flow_versions (
    flow_id      TEXT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    project_id   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    name         TEXT NOT NULL,
    steps        TEXT NOT NULL, -- JSON array of steps, frozen
    published_at INTEGER NOT NULL,
    PRIMARY KEY (flow_id, version)
) STRICT;

-- Which content items published versions use, so content deletion can be refused.
CREATE TABLE flow_version_content (
    project_id      TEXT NOT NULL,
    content_item_id TEXT NOT NULL,
    flow_id         TEXT NOT NULL,
    version         INTEGER NOT NULL,
    PRIMARY KEY (project_id, content_item_id, flow_id, version),
    FOREIGN KEY (flow_id, version) REFERENCES flow_versions (flow_id, version) ON DELETE CASCADE
) STRICT;
CREATE INDEX flow_version_content_version ON flow_version_content (flow_id, version);

CREATE TABLE end_users (
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL,
    traits        TEXT NOT NULL DEFAULT '{}', -- JSON object, returned byte-exact
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
) STRICT;

CREATE TABLE journeys (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL,
    flow_id          TEXT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    flow_key         TEXT NOT NULL,
    flow_version     INTEGER NOT NULL,
    status           TEXT NOT NULL,
    last_activity_at INTEGER NOT NULL,
    revision         INTEGER NOT NULL,
    state            TEXT NOT NULL, -- the whole journey as JSON; the columns above index it
    UNIQUE (project_id, user_id, flow_id)
) STRICT;
CREATE INDEX journeys_idle ON journeys (status, last_activity_at);
CREATE INDEX journeys_flow ON journeys (flow_id);

-- Append-only: rows are inserted, never updated.
CREATE TABLE events (
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    session_id  TEXT NOT NULL DEFAULT '',
    flow        TEXT NOT NULL DEFAULT '',
    step        TEXT NOT NULL DEFAULT '',
    ts          INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    properties  TEXT NOT NULL DEFAULT '{}', -- JSON object, returned byte-exact
    PRIMARY KEY (project_id, id)
) STRICT;
CREATE INDEX events_user ON events (project_id, user_id, ts);

-- +goose Down
DROP TABLE events;
DROP TABLE journeys;
DROP TABLE end_users;
DROP TABLE flow_version_content;
DROP TABLE flow_versions;
DROP TABLE flows;
