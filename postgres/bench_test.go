package postgres_test

import (
	"context"
	"fmt"
	"testing"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/postgres"
)

// benchDB is a migrated database holding one project, p1.
func benchDB(b *testing.B) *postgres.DB {
	b.Helper()
	db := migrated(b)
	if err := db.CreateProject(context.Background(), &so.Project{ID: "p1", Name: "bench", CreatedAt: so.Now()}); err != nil {
		b.Fatal(err)
	}
	return db
}

func benchItem(b *testing.B, i int) *so.ContentItem {
	item, err := so.NewContentItem("p1", so.ContentInput{
		Kind: so.ContentArticle, Title: fmt.Sprintf("item %d", i), Body: "body text", Tags: []string{"bench"},
	}, so.Now())
	if err != nil {
		b.Fatal(err)
	}
	return item
}

func BenchmarkContentCreate(b *testing.B) {
	ctx := context.Background()
	db := benchDB(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := db.CreateContentItem(ctx, benchItem(b, i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkContentFind(b *testing.B) {
	ctx := context.Background()
	db := benchDB(b)
	const n = 1000
	ids := make([]string, n)
	for i := range n {
		item := benchItem(b, i)
		if err := db.CreateContentItem(ctx, item); err != nil {
			b.Fatal(err)
		}
		ids[i] = item.ID
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := db.FindContentItem(ctx, "p1", ids[i%n]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
