-- +goose Up
-- The event log gets an order: seq counts events in commit order (SQLite has one
-- writer, so a later transaction always takes higher numbers), never reused
-- (AUTOINCREMENT), and stable under VACUUM (an explicit INTEGER PRIMARY KEY).
-- Durable consumers of the pipeline read the log by it.
CREATE TABLE events_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
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
    UNIQUE (project_id, id)
) STRICT;
INSERT INTO events_log (project_id, id, type, user_id, session_id, flow, step, ts, received_at, properties)
    SELECT project_id, id, type, user_id, session_id, flow, step, ts, received_at, properties FROM events ORDER BY rowid;
DROP TABLE events;
ALTER TABLE events_log RENAME TO events;
CREATE INDEX events_user ON events (project_id, user_id, ts);

-- Where each durable consumer stands in the log, written in the transaction
-- that stores what the consumer made of the events before it.
CREATE TABLE pipeline_cursors (
    consumer   TEXT PRIMARY KEY,
    tx         INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
-- The behaviour engine starts with the events that commit after this
-- migration: whatever instance ingests first, its events are behind the cursor.
INSERT INTO pipeline_cursors (consumer, tx, seq, updated_at)
    VALUES ('behaviour', 0, (SELECT coalesce(max(seq), 0) FROM events), CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- The behaviour engine's per-user state (a JSON document it alone reads).
CREATE TABLE behaviour_states (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    state      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
) STRICT;

CREATE TABLE struggle_detections (
    id          TEXT PRIMARY KEY, -- derived from what it is about: a replay finds it stored
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    journey_id  TEXT NOT NULL,
    flow        TEXT NOT NULL,
    step        TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    rule        TEXT NOT NULL,
    evidence    TEXT NOT NULL, -- JSON array of event ids
    detected_at INTEGER NOT NULL
) STRICT;
CREATE INDEX struggle_detections_user ON struggle_detections (project_id, user_id, detected_at);
CREATE INDEX struggle_detections_time ON struggle_detections (project_id, detected_at);

CREATE TABLE interventions (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id           TEXT NOT NULL,
    journey_id        TEXT NOT NULL,
    flow              TEXT NOT NULL,
    step              TEXT NOT NULL,
    session_id        TEXT NOT NULL,
    kind              TEXT NOT NULL,
    trigger_source    TEXT NOT NULL,
    rule              TEXT NOT NULL,
    predictor         TEXT NOT NULL,
    score             REAL,
    detection_id      TEXT NOT NULL,
    held_out          INTEGER NOT NULL,
    content_id        TEXT NOT NULL,
    title             TEXT NOT NULL,
    body              TEXT NOT NULL,
    actions           TEXT NOT NULL, -- JSON array
    triggered_at      INTEGER NOT NULL,
    shown_at          INTEGER,
    accepted_at       INTEGER,
    dismissed_at      INTEGER,
    feedback          TEXT NOT NULL DEFAULT '',
    step_completed_at INTEGER
) STRICT;
CREATE INDEX interventions_time ON interventions (project_id, triggered_at);
CREATE INDEX interventions_user ON interventions (project_id, user_id, flow, step, triggered_at);

-- Engagement: at most one point per journey per minute, and the latest score.
CREATE TABLE engagement_points (
    journey_id    TEXT NOT NULL REFERENCES journeys (id) ON DELETE CASCADE,
    minute        INTEGER NOT NULL, -- unix milliseconds of the minute's start
    project_id    TEXT NOT NULL,
    score         REAL NOT NULL,
    level         TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    session_score REAL NOT NULL,
    PRIMARY KEY (journey_id, minute)
) STRICT, WITHOUT ROWID;
CREATE TABLE journey_engagement (
    journey_id TEXT PRIMARY KEY REFERENCES journeys (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL,
    score      REAL NOT NULL,
    level      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE journey_engagement;
DROP TABLE engagement_points;
DROP TABLE interventions;
DROP TABLE struggle_detections;
DROP TABLE behaviour_states;
DROP TABLE pipeline_cursors;
CREATE TABLE events_plain (
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    session_id  TEXT NOT NULL DEFAULT '',
    flow        TEXT NOT NULL DEFAULT '',
    step        TEXT NOT NULL DEFAULT '',
    ts          INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    properties  TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (project_id, id)
) STRICT;
INSERT INTO events_plain SELECT project_id, id, type, user_id, session_id, flow, step, ts, received_at, properties
    FROM events ORDER BY seq;
DROP TABLE events;
ALTER TABLE events_plain RENAME TO events;
CREATE INDEX events_user ON events (project_id, user_id, ts);
