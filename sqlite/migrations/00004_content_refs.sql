-- +goose Up
-- A published version's content cannot be deleted, even by a delete that races
-- the publish: the database refuses it, not only the service's check. SQLite
-- adds a foreign key only by rebuilding the table. Rows that such a race already
-- left pointing at a deleted item point at nothing and are not carried over.
CREATE TABLE flow_version_content_new (
    project_id      TEXT NOT NULL,
    content_item_id TEXT NOT NULL REFERENCES content_items (id),
    flow_id         TEXT NOT NULL,
    version         INTEGER NOT NULL,
    PRIMARY KEY (project_id, content_item_id, flow_id, version),
    FOREIGN KEY (flow_id, version) REFERENCES flow_versions (flow_id, version) ON DELETE CASCADE
) STRICT;
INSERT INTO flow_version_content_new SELECT project_id, content_item_id, flow_id, version FROM flow_version_content
    WHERE content_item_id IN (SELECT id FROM content_items);
DROP TABLE flow_version_content;
ALTER TABLE flow_version_content_new RENAME TO flow_version_content;
CREATE INDEX flow_version_content_version ON flow_version_content (flow_id, version);
CREATE INDEX flow_version_content_item ON flow_version_content (content_item_id);

-- +goose Down
CREATE TABLE flow_version_content_old (
    project_id      TEXT NOT NULL,
    content_item_id TEXT NOT NULL,
    flow_id         TEXT NOT NULL,
    version         INTEGER NOT NULL,
    PRIMARY KEY (project_id, content_item_id, flow_id, version),
    FOREIGN KEY (flow_id, version) REFERENCES flow_versions (flow_id, version) ON DELETE CASCADE
) STRICT;
INSERT INTO flow_version_content_old SELECT project_id, content_item_id, flow_id, version FROM flow_version_content;
DROP TABLE flow_version_content;
ALTER TABLE flow_version_content_old RENAME TO flow_version_content;
CREATE INDEX flow_version_content_version ON flow_version_content (flow_id, version);
