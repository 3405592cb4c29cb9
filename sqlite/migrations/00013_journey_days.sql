-- +goose Up
-- Journeys by the UTC day they started, per flow version: the overview
-- merges a window's whole days from these rows instead of 24 hour rows each.
-- Days begun before this version miss journeys; reports notice (their
-- started count falls short of the hours') and merge those days' hours.
-- "hour" is the day's start, so the rows read like analytics_journeys.
CREATE TABLE analytics_journey_days (
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

-- +goose Down
DROP TABLE analytics_journey_days;
