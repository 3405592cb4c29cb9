package storetest

import (
	"context"
	"fmt"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// BenchmarkContent measures the content store of an engine: Create and Find by id.
// Each engine's tests put a raw driver statement beside it as the baseline.
func BenchmarkContent(b *testing.B, open Opener) {
	b.Run("Create", func(b *testing.B) {
		ctx, db := context.Background(), BenchDB(b, open)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := db.CreateContentItem(ctx, BenchItem(b, i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Find", func(b *testing.B) {
		ctx, db := context.Background(), BenchDB(b, open)
		const n = 1000
		ids := make([]string, n)
		for i := range n {
			item := BenchItem(b, i)
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
	})
}

// BenchDB is a migrated database holding one project, p1.
func BenchDB(b *testing.B, open Opener) DB {
	b.Helper()
	db := migrated(b, open)
	if err := db.CreateProject(context.Background(), &so.Project{ID: "p1", Name: "bench", CreatedAt: so.Now()}); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchItem is the content item every benchmark writes, baselines included.
func BenchItem(b *testing.B, i int) *so.ContentItem {
	item, err := so.NewContentItem("p1", so.ContentInput{
		Kind: so.ContentArticle, Title: fmt.Sprintf("item %d", i), Body: "body text", Tags: []string{"bench"},
	}, so.Now())
	if err != nil {
		b.Fatal(err)
	}
	return item
}
