package postgres

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// journeyFixture stores a published flow in p1 and returns its version 1.
func journeyFixture(t *testing.T, db *DB) *so.FlowVersion {
	t.Helper()
	ctx, now := context.Background(), so.Now()
	item, err := so.NewContentItem("p1", so.ContentInput{Kind: so.ContentTask, Title: "Connect"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateContentItem(ctx, item); err != nil {
		t.Fatal(err)
	}
	steps := []so.Step{{Key: "connect", Title: "Connect", Kind: so.StepTask, ContentItemID: item.ID, Prerequisites: []string{}}}
	f := &so.Flow{ID: so.NewID(), ProjectID: "p1", Key: "onboard", Name: "Onboard", Status: so.FlowDraft,
		Steps: steps, Revision: 1, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	v := &so.FlowVersion{FlowID: f.ID, ProjectID: "p1", FlowKey: f.Key, Version: 1, Name: f.Name, Steps: steps, PublishedAt: now}
	if err := db.PublishFlow(ctx, v); err != nil {
		t.Fatal(err)
	}
	return v
}

// assertColumnsMatch checks that a journey's searched columns agree with its state.
func assertColumnsMatch(t *testing.T, db *DB, j *so.Journey) {
	t.Helper()
	var status string
	var revision, version int
	var activity time.Time
	err := db.pool.QueryRow(context.Background(), `SELECT status, revision, flow_version, last_activity_at
		FROM journeys WHERE id = $1`, j.ID).Scan(&status, &revision, &version, &activity)
	if err != nil || status != string(j.Status) || revision != j.Revision || version != j.FlowVersion || !activity.Equal(j.LastActivityAt) {
		t.Fatalf("columns (%s, %d, %d, %s, %v) disagree with state %+v", status, revision, version, activity, err, j)
	}
}

// TestAbandonKeepsStateWhole changes only status, revision and updated_at in the
// JSON state, and keeps the columns in step with it.
func TestAbandonKeepsStateWhole(t *testing.T) {
	t.Parallel()
	ctx, db := context.Background(), testDB(t)
	v := journeyFixture(t, db)
	now := so.Now()
	j := so.NewJourney("p1", "u'1😀", v, now.Add(-30*24*time.Hour))
	j.Steps[0].Status, j.Steps[0].StartedAt, j.Sessions = so.StepInProgress, &j.StartedAt, 4
	if _, _, err := db.StartJourney(ctx, j); err != nil {
		t.Fatal(err)
	}
	abandoned, err := db.AbandonIdleJourneys(ctx, now.Add(-so.DefaultAbandonAfter), now, nil)
	if err != nil || len(abandoned) != 1 {
		t.Fatalf("abandoned %v, %v", abandoned, err)
	}
	j.Status, j.Revision, j.UpdatedAt = so.JourneyAbandoned, j.Revision+1, now
	want, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []*so.Journey{abandoned[0], mustFindJourney(t, db, j)} {
		if g, err := json.Marshal(got); err != nil || string(g) != string(want) {
			t.Fatalf("abandoned journey:\n got %s\nwant %s", g, want)
		}
	}
	assertColumnsMatch(t, db, j)
}

// TestSaveJourneysKeepsColumns writes the searched columns with the state.
func TestSaveJourneysKeepsColumns(t *testing.T) {
	t.Parallel()
	ctx, db := context.Background(), testDB(t)
	v := journeyFixture(t, db)
	j := so.NewJourney("p1", "u1", v, so.Now())
	e := benchBatches(1)[0][0]
	_, err := db.IngestEvents(ctx, []*so.Event{e}, func(ctx context.Context, tx so.IngestTx, _ []*so.Event) error {
		both, err := tx.InsertJourneys(ctx, []*so.Journey{j})
		if err != nil {
			return err
		}
		stored := both[0]
		stored.Status, stored.Revision, stored.LastActivityAt = so.JourneyPaused, 7, stored.LastActivityAt.Add(time.Hour)
		return tx.SaveJourneys(ctx, []*so.Journey{stored})
	})
	if err != nil {
		t.Fatal(err)
	}
	got := mustFindJourney(t, db, j)
	if got.Status != so.JourneyPaused || got.Revision != 7 {
		t.Fatalf("saved journey = %+v", got)
	}
	assertColumnsMatch(t, db, got)
	_, err = db.IngestEvents(ctx, nil, func(ctx context.Context, tx so.IngestTx, _ []*so.Event) error {
		return tx.SaveJourneys(ctx, []*so.Journey{{ID: "ghost"}})
	})
	if so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("saving a missing journey: %v, want not_found", err)
	}
}

func mustFindJourney(t *testing.T, db *DB, j *so.Journey) *so.Journey {
	t.Helper()
	got, err := db.FindJourney(context.Background(), j.ProjectID, j.UserID, j.FlowKey)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
