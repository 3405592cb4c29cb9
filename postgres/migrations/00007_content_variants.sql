-- +goose Up
-- An item may be a simpler or harder variant of another item of its project:
-- variant_of holds that item's id, '' for an item that is no variant (every
-- item stored before). The service keeps the rules (same kind, another
-- complexity, no chains), as the SQLite engine, which has no foreign key here
-- either, does.
ALTER TABLE content_items ADD COLUMN variant_of text COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX content_items_variant_of_idx ON content_items (project_id, variant_of) WHERE variant_of <> '';

-- +goose Down
DROP INDEX content_items_variant_of_idx;
ALTER TABLE content_items DROP COLUMN variant_of;
