-- +goose Up
-- Events POST /v1/events rejected, per hour (by when they were refused) and
-- error code: each instance counts them in memory and adds its counts here
-- every few seconds, so the rejected-events alert and the overview see them.
CREATE TABLE rejected_events (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hour       INTEGER NOT NULL, -- unix milliseconds
    code       TEXT NOT NULL,
    events     INTEGER NOT NULL,
    PRIMARY KEY (project_id, hour, code)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE rejected_events;
