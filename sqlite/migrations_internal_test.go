package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/storetest"
)

// TestContentRefsMigrationDropsOrphans upgrades a schema holding a row that the
// old delete-vs-publish race could leave (a version using a deleted item): the
// table rebuild leaves it behind and carries the rest.
func TestContentRefsMigrationDropsOrphans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "refs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrator().Up(ctx); err != nil {
		t.Fatal(err)
	}
	now := so.Now()
	if err := db.CreateProject(ctx, &so.Project{ID: "p1", Name: "p1", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	item, err := so.NewContentItem("p1", so.ContentInput{Kind: so.ContentTask, Title: "Connect"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateContentItem(ctx, item); err != nil {
		t.Fatal(err)
	}
	steps := []so.Step{{Key: "connect", Title: "Connect", Kind: so.StepTask, ContentItemID: item.ID, Prerequisites: []string{}}}
	f := &so.Flow{ID: so.NewID(), ProjectID: "p1", Key: "onboard", Name: "Onboard", Status: so.FlowDraft, Steps: steps,
		Revision: 1, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := db.PublishFlow(ctx, &so.FlowVersion{FlowID: f.ID, ProjectID: "p1", FlowKey: f.Key, Version: 1, Name: f.Name,
		Steps: steps, PublishedAt: now}); err != nil {
		t.Fatal(err)
	}
	storetest.RollBackTo(t, db.Migrator(), 3)
	if _, err := db.writer.ExecContext(ctx, `INSERT INTO flow_version_content (project_id, content_item_id, flow_id, version)
		VALUES ('p1', 'deleted-item', ?, 1)`, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrator().Up(ctx); err != nil {
		t.Fatalf("upgrade over an orphaned row: %v", err)
	}
	var kept, orphans int
	if err := db.writer.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE content_item_id <> 'deleted-item'),
		count(*) FILTER (WHERE content_item_id = 'deleted-item') FROM flow_version_content`).Scan(&kept, &orphans); err != nil {
		t.Fatal(err)
	}
	if kept != 1 || orphans != 0 {
		t.Fatalf("after the upgrade: %d rows kept, %d orphans; want 1 and 0", kept, orphans)
	}
	if _, err := db.writer.ExecContext(ctx, `DELETE FROM projects WHERE id = 'p1'`); err != nil {
		t.Fatalf("deleting a project with published content: %v", err)
	}
}
