-- +goose Up
-- An item may be a simpler or harder variant of another item of its project:
-- variant_of holds that item's id, '' for an item that is no variant (every
-- item stored before). The service keeps the rules (same kind, another
-- complexity, no chains); no foreign key, so dropping the column stays an
-- ALTER TABLE, not a rebuild of the table every other one points at.
ALTER TABLE content_items ADD COLUMN variant_of TEXT NOT NULL DEFAULT '';
CREATE INDEX content_items_variant_of ON content_items (project_id, variant_of) WHERE variant_of <> '';

-- +goose Down
DROP INDEX content_items_variant_of;
ALTER TABLE content_items DROP COLUMN variant_of;
