-- +goose Up
-- Journeys by the UTC day they started, per flow version: the overview
-- merges a window's whole days from these rows instead of 24 hour rows each.
-- Days begun before this version miss journeys; reports notice (their
-- started count falls short of the hours') and merge those days' hours.
-- "hour" is the day's start, so the rows read like analytics_journeys.
CREATE TABLE analytics_journey_days (
    project_id       text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hour             timestamptz NOT NULL,
    flow             text COLLATE "C" NOT NULL,
    version          integer NOT NULL,
    started          bigint NOT NULL,
    completed        bigint NOT NULL,
    abandoned        bigint NOT NULL,
    complete_seconds bytea,
    value_seconds    bytea,
    PRIMARY KEY (project_id, hour, flow, version)
);

-- +goose Down
DROP TABLE analytics_journey_days;
