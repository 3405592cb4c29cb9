-- +goose Up
CREATE TABLE webhooks (
    id              text COLLATE "C" PRIMARY KEY,
    project_id      text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url             text NOT NULL,
    events          text NOT NULL, -- JSON array of event types
    secret          text NOT NULL,
    created_at      timestamptz NOT NULL,
    created_by      text NOT NULL,
    disabled_at     timestamptz,
    disabled_reason text NOT NULL DEFAULT '',
    failures        integer NOT NULL DEFAULT 0
);
CREATE INDEX webhooks_project_idx ON webhooks (project_id);

-- One row per message and webhook; the job queue holds the attempts to come.
CREATE TABLE webhook_deliveries (
    id              text COLLATE "C" PRIMARY KEY, -- the webhook-id header
    webhook_id      text COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    project_id      text COLLATE "C" NOT NULL,
    type            text NOT NULL,
    payload         text NOT NULL,
    created_at      timestamptz NOT NULL,
    status          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    last_attempt_at timestamptz,
    last_status     integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    delivered_at    timestamptz
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
