-- +goose Up
-- What analytics keeps of each journey (see the analytics package): rollups
-- are sums of these facts, so one journey's contribution can be replaced by
-- its next revision or taken out.
CREATE TABLE journey_facts (
    journey_id TEXT PRIMARY KEY REFERENCES journeys (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    flow       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    start_hour INTEGER NOT NULL, -- unix milliseconds
    status     TEXT NOT NULL,    -- the journey's, for segment counts
    fact       TEXT NOT NULL     -- JSON: the whole fact
) STRICT;
CREATE INDEX journey_facts_cohort ON journey_facts (project_id, flow, start_hour);
CREATE INDEX journey_facts_user ON journey_facts (project_id, user_id);

-- Events and distinct users per minute (recent days) and per hour, by event time.
CREATE TABLE analytics_activity (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    unit       TEXT NOT NULL CHECK (unit IN ('minute', 'hour')),
    start      INTEGER NOT NULL, -- unix milliseconds
    events     INTEGER NOT NULL,
    users      BLOB,             -- HyperLogLog sketch
    abandoned  INTEGER NOT NULL DEFAULT 0, -- journeys abandoned (hour rows, by when)
    PRIMARY KEY (project_id, unit, start)
) STRICT, WITHOUT ROWID;

-- Journeys by the hour they started, per flow version.
CREATE TABLE analytics_journeys (
    project_id       TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hour             INTEGER NOT NULL,
    flow             TEXT NOT NULL,
    version          INTEGER NOT NULL,
    started          INTEGER NOT NULL,
    completed        INTEGER NOT NULL,
    abandoned        INTEGER NOT NULL,
    complete_seconds BLOB,
    value_seconds    BLOB,
    PRIMARY KEY (project_id, hour, flow, version)
) STRICT, WITHOUT ROWID;

-- Steps of journeys by the hour the journey started.
CREATE TABLE analytics_steps (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hour       INTEGER NOT NULL,
    flow       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    step       TEXT NOT NULL,
    reached    INTEGER NOT NULL,
    started    INTEGER NOT NULL,
    completed  INTEGER NOT NULL,
    skipped    INTEGER NOT NULL,
    dropped    INTEGER NOT NULL,
    struggled  INTEGER NOT NULL,
    seconds    BLOB,
    engagement BLOB, -- journeys on the step by engagement bucket
    rules      BLOB, -- journeys by struggle rule on the step
    PRIMARY KEY (project_id, hour, flow, version, step)
) STRICT, WITHOUT ROWID;

-- Alerts: at most one open or acknowledged alert per (project, key).
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    rule            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    message         TEXT NOT NULL,
    numbers         TEXT NOT NULL, -- JSON object
    query           TEXT NOT NULL,
    opened_at       INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    resolved_at     INTEGER,
    resolved_by     TEXT NOT NULL DEFAULT '',
    cleared         INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX alerts_key ON alerts (project_id, key, opened_at);
CREATE INDEX alerts_opened ON alerts (project_id, opened_at);

-- Each project's latest insights, as the insight job computed them.
CREATE TABLE insights (
    project_id  TEXT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    computed_at INTEGER NOT NULL,
    doc         TEXT NOT NULL -- JSON: the report
) STRICT;

-- Which steps of a journey saw a struggle.
CREATE INDEX struggle_detections_journey ON struggle_detections (journey_id, step);

-- The analytics consumer starts at the beginning of the log, so an existing
-- installation's history is rolled up once it runs.
INSERT INTO pipeline_cursors (consumer, tx, seq, updated_at)
    VALUES ('analytics', 0, 0, CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- +goose Down
DELETE FROM pipeline_cursors WHERE consumer = 'analytics';
DROP INDEX struggle_detections_journey;
DROP TABLE insights;
DROP TABLE alerts;
DROP TABLE analytics_steps;
DROP TABLE analytics_journeys;
DROP TABLE analytics_activity;
DROP TABLE journey_facts;
