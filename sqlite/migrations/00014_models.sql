-- +goose Up
-- The success-prediction model registry: body is the model as JSON (schema,
-- parameters, training window, metrics, calibration); the columns are what
-- changes (status, note, activation, the monitor's latest health) and
-- what is looked up.
CREATE TABLE models (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    status       TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL,
    health       TEXT,
    created_at   INTEGER NOT NULL,
    activated_at INTEGER,
    UNIQUE (project_id, version)
) STRICT;
CREATE UNIQUE INDEX models_active ON models (project_id) WHERE status = 'active';

-- +goose Down
DROP TABLE models;
