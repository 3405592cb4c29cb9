-- +goose Up
-- Events POST /v1/events rejected, per hour (by when they were refused) and
-- error code: each instance counts them in memory and adds its counts here
-- every few seconds, so the rejected-events alert and the overview see them.
CREATE TABLE rejected_events (
    project_id text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hour       timestamptz NOT NULL,
    code       text COLLATE "C" NOT NULL,
    events     bigint NOT NULL,
    PRIMARY KEY (project_id, hour, code)
);

-- +goose Down
DROP TABLE rejected_events;
