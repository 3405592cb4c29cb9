-- +goose Up
-- What analytics keeps of each journey (see the analytics package): rollups
-- are sums of these facts, so one journey's contribution can be replaced by
-- its next revision or taken out.
CREATE TABLE journey_facts (
    journey_id text COLLATE "C" PRIMARY KEY REFERENCES journeys (id) ON DELETE CASCADE,
    project_id text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    text COLLATE "C" NOT NULL,
    flow       text COLLATE "C" NOT NULL,
    version    integer NOT NULL,
    start_hour timestamptz NOT NULL,
    status     text NOT NULL, -- the journey's, for segment counts
    fact       text NOT NULL  -- JSON: the whole fact
);
CREATE INDEX journey_facts_cohort_idx ON journey_facts (project_id, flow, start_hour);
CREATE INDEX journey_facts_user_idx ON journey_facts (project_id, user_id);

-- Events and distinct users per minute (recent days) and per hour, by event time.
CREATE TABLE analytics_activity (
    project_id text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    unit       text NOT NULL CHECK (unit IN ('minute', 'hour')),
    start      timestamptz NOT NULL,
    events     bigint NOT NULL,
    users      bytea, -- HyperLogLog sketch
    abandoned  bigint NOT NULL DEFAULT 0, -- journeys abandoned (hour rows, by when)
    PRIMARY KEY (project_id, unit, start)
);

-- Journeys by the hour they started, per flow version.
CREATE TABLE analytics_journeys (
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

-- Steps of journeys by the hour the journey started.
CREATE TABLE analytics_steps (
    project_id text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hour       timestamptz NOT NULL,
    flow       text COLLATE "C" NOT NULL,
    version    integer NOT NULL,
    step       text COLLATE "C" NOT NULL,
    reached    bigint NOT NULL,
    started    bigint NOT NULL,
    completed  bigint NOT NULL,
    skipped    bigint NOT NULL,
    dropped    bigint NOT NULL,
    struggled  bigint NOT NULL,
    seconds    bytea,
    engagement bytea, -- journeys on the step by engagement bucket
    rules      bytea, -- journeys by struggle rule on the step
    PRIMARY KEY (project_id, hour, flow, version, step)
);

-- Alerts: at most one open or acknowledged alert per (project, key).
CREATE TABLE alerts (
    id              text COLLATE "C" PRIMARY KEY,
    project_id      text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key             text COLLATE "C" NOT NULL,
    rule            text NOT NULL,
    severity        text NOT NULL,
    status          text NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    message         text NOT NULL,
    numbers         text NOT NULL, -- JSON object
    query           text NOT NULL,
    opened_at       timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    acknowledged_at timestamptz,
    resolved_at     timestamptz,
    resolved_by     text NOT NULL DEFAULT '',
    cleared         boolean NOT NULL DEFAULT false
);
CREATE INDEX alerts_key_idx ON alerts (project_id, key, opened_at);
CREATE INDEX alerts_opened_idx ON alerts (project_id, opened_at);

-- Each project's latest insights, as the insight job computed them.
CREATE TABLE insights (
    project_id  text COLLATE "C" PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    computed_at timestamptz NOT NULL,
    doc         text NOT NULL -- JSON: the report
);

-- Which steps of a journey saw a struggle.
CREATE INDEX struggle_detections_journey_idx ON struggle_detections (journey_id, step);

-- The analytics consumer starts at the beginning of the log, so an existing
-- installation's history is rolled up once it runs.
INSERT INTO pipeline_cursors (consumer, tx, seq, updated_at) VALUES ('analytics', 0, 0, now());

-- +goose Down
DELETE FROM pipeline_cursors WHERE consumer = 'analytics';
DROP INDEX struggle_detections_journey_idx;
DROP TABLE insights;
DROP TABLE alerts;
DROP TABLE analytics_steps;
DROP TABLE analytics_journeys;
DROP TABLE analytics_activity;
DROP TABLE journey_facts;
