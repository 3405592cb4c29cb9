-- Flows and their published versions, end users, journeys and the event log.
-- JSON is stored as text so it reads back byte for byte; identifiers and keys sort
-- byte-wise (COLLATE "C") so that pages and cursors agree with SQLite.

-- +goose Up
CREATE TABLE flows (
    id                text COLLATE "C" PRIMARY KEY,
    project_id        text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key               text COLLATE "C" NOT NULL,
    name              text NOT NULL,
    description       text NOT NULL DEFAULT '',
    status            text NOT NULL,
    steps             text NOT NULL DEFAULT '[]',
    revision          integer NOT NULL,
    published_version integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    UNIQUE (project_id, key)
);

-- Published versions are immutable; they go when their flow goes.
CREATE TABLE flow_versions (
    flow_id      text COLLATE "C" NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    project_id   text COLLATE "C" NOT NULL,
    version      integer NOT NULL,
    name         text NOT NULL,
    steps        text NOT NULL,
    published_at timestamptz NOT NULL,
    PRIMARY KEY (flow_id, version)
);

-- Which content items each published version uses, so a used item is never deleted.
CREATE TABLE flow_version_content (
    project_id      text COLLATE "C" NOT NULL,
    content_item_id text COLLATE "C" NOT NULL,
    flow_id         text COLLATE "C" NOT NULL,
    version         integer NOT NULL,
    PRIMARY KEY (project_id, content_item_id, flow_id, version),
    FOREIGN KEY (flow_id, version) REFERENCES flow_versions (flow_id, version) ON DELETE CASCADE
);

CREATE INDEX flow_version_content_version_idx ON flow_version_content (flow_id, version);

CREATE TABLE end_users (
    project_id    text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id       text COLLATE "C" NOT NULL,
    traits        text NOT NULL DEFAULT '{}',
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    PRIMARY KEY (project_id, user_id)
);

-- state is the whole journey as JSON; the other columns repeat the parts that are
-- searched or locked on and are written together with it. The unique index also
-- serves lookups by (project_id, user_id), so that needs no index of its own;
-- journeys_flow_idx keeps deleting a flow from scanning every journey.
CREATE TABLE journeys (
    id               text COLLATE "C" PRIMARY KEY,
    project_id       text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id          text COLLATE "C" NOT NULL,
    flow_id          text COLLATE "C" NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    flow_key         text COLLATE "C" NOT NULL,
    flow_version     integer NOT NULL,
    status           text NOT NULL,
    last_activity_at timestamptz NOT NULL,
    revision         integer NOT NULL,
    state            text NOT NULL,
    UNIQUE (project_id, user_id, flow_id)
);

CREATE INDEX journeys_idle_idx ON journeys (status, last_activity_at);
CREATE INDEX journeys_flow_idx ON journeys (flow_id);

-- Append-only and idempotent by (project_id, id). No foreign key to projects: a
-- key check per row, and a share lock on the project row from every ingesting
-- transaction, would cost the hot path; projects are checked when keys are.
CREATE TABLE events (
    project_id  text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    type        text NOT NULL,
    user_id     text COLLATE "C" NOT NULL,
    session_id  text NOT NULL DEFAULT '',
    flow        text NOT NULL DEFAULT '',
    step        text NOT NULL DEFAULT '',
    ts          timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    properties  text NOT NULL DEFAULT '{}',
    PRIMARY KEY (project_id, id)
);

CREATE INDEX events_user_idx ON events (project_id, user_id, ts);

-- +goose Down
DROP TABLE events;
DROP TABLE journeys;
DROP TABLE end_users;
DROP TABLE flow_version_content;
DROP TABLE flow_versions;
DROP TABLE flows;
