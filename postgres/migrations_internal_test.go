package postgres

import (
	"context"
	"testing"

	"github.com/smartonboarding/smartonboard/storetest"
)

// TestContentRefsMigrationAndProjectDelete upgrades a schema holding a row that
// the old delete-vs-publish race could leave (a version using a deleted item):
// the upgrade drops it and keeps the rest. Deleting a whole project still works
// with the new key, whose check waits for the project's cascades.
func TestContentRefsMigrationAndProjectDelete(t *testing.T) {
	t.Parallel()
	ctx, db := context.Background(), testDB(t)
	v := journeyFixture(t, db)
	storetest.RollBackTo(t, db.Migrator(), 3)
	if _, err := db.pool.Exec(ctx, `INSERT INTO flow_version_content (project_id, content_item_id, flow_id, version)
		VALUES ('p1', 'deleted-item', $1, $2)`, v.FlowID, v.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrator().Up(ctx); err != nil {
		t.Fatalf("upgrade over an orphaned row: %v", err)
	}
	var kept, orphans int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE content_item_id <> 'deleted-item'),
		count(*) FILTER (WHERE content_item_id = 'deleted-item') FROM flow_version_content`).Scan(&kept, &orphans); err != nil {
		t.Fatal(err)
	}
	if kept != 1 || orphans != 0 {
		t.Fatalf("after the upgrade: %d rows kept, %d orphans; want 1 and 0", kept, orphans)
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM projects WHERE id = 'p1'`); err != nil {
		t.Fatalf("deleting a project with published content: %v", err)
	}
}
