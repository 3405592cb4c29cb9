-- +goose Up
-- A published version's content cannot be deleted, even by a delete that races
-- the publish: the database refuses it, not only the service's check. Rows that
-- such a race already left pointing at a deleted item point at nothing and go.
-- The key is checked at commit, so deleting a whole project (whose cascades
-- remove the versions and their content together) is not refused midway.
DELETE FROM flow_version_content WHERE content_item_id NOT IN (SELECT id FROM content_items);
ALTER TABLE flow_version_content ADD CONSTRAINT flow_version_content_content_item_id_fkey
    FOREIGN KEY (content_item_id) REFERENCES content_items (id) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX flow_version_content_item_idx ON flow_version_content (content_item_id);

-- +goose Down
DROP INDEX flow_version_content_item_idx;
ALTER TABLE flow_version_content DROP CONSTRAINT flow_version_content_content_item_id_fkey;
