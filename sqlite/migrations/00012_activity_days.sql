-- +goose Up
-- Activity is kept per UTC day too: a long window merges its whole days'
-- sketches instead of 24 hours' each. Rows of days begun before this
-- version miss their earlier hours; reports notice (their events fall short
-- of the hours') and merge those days' hours instead. SQLite cannot alter a
-- CHECK, so the table is copied.
CREATE TABLE analytics_activity_days (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    unit       TEXT NOT NULL CHECK (unit IN ('minute', 'hour', 'day')),
    start      INTEGER NOT NULL, -- unix milliseconds
    events     INTEGER NOT NULL,
    users      BLOB,             -- HyperLogLog sketch
    abandoned  INTEGER NOT NULL DEFAULT 0, -- journeys abandoned, by when
    PRIMARY KEY (project_id, unit, start)
) STRICT, WITHOUT ROWID;
INSERT INTO analytics_activity_days SELECT project_id, unit, start, events, users, abandoned FROM analytics_activity;
DROP TABLE analytics_activity;
ALTER TABLE analytics_activity_days RENAME TO analytics_activity;

-- +goose Down
CREATE TABLE analytics_activity_hours (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    unit       TEXT NOT NULL CHECK (unit IN ('minute', 'hour')),
    start      INTEGER NOT NULL,
    events     INTEGER NOT NULL,
    users      BLOB,
    abandoned  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, unit, start)
) STRICT, WITHOUT ROWID;
INSERT INTO analytics_activity_hours SELECT project_id, unit, start, events, users, abandoned FROM analytics_activity
    WHERE unit <> 'day';
DROP TABLE analytics_activity;
ALTER TABLE analytics_activity_hours RENAME TO analytics_activity;
