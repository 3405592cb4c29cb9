-- +goose Up
-- A non-empty secret turns on identity verification for the project.
ALTER TABLE projects ADD COLUMN identity_secret TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE projects DROP COLUMN identity_secret;
