-- +goose Up
-- The success-prediction model registry: body is the model as JSON (schema,
-- parameters, training window, metrics, calibration); the columns are what
-- changes (status, note, activation, the monitor's latest health) and
-- what is looked up.
CREATE TABLE models (
    id           text COLLATE "C" PRIMARY KEY,
    project_id   text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version      integer NOT NULL,
    status       text NOT NULL,
    note         text NOT NULL DEFAULT '',
    body         text NOT NULL,
    health       text,
    created_at   timestamptz NOT NULL,
    activated_at timestamptz,
    UNIQUE (project_id, version)
);
CREATE UNIQUE INDEX models_active ON models (project_id) WHERE status = 'active';

-- +goose Down
DROP TABLE models;
