package store_test

import (
	"context"
	"testing"

	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/store/storetest"
)

// TestLeaderLock: one holder at a time per schema and name; released, it can be taken again.
// On SQLite (one node) the lock is always granted.
func TestLeaderLock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l1, ok, err := db.TryLock(ctx, "leader")
		if err != nil || !ok {
			t.Fatalf("first TryLock: ok=%v err=%v", ok, err)
		}
		if err := l1.Check(ctx); err != nil {
			t.Fatal(err)
		}
		l2, ok, err := db.TryLock(ctx, "leader")
		if err != nil {
			t.Fatal(err)
		}
		if db.Dialect == store.SQLite {
			if !ok {
				t.Fatal("SQLite: the single node must always lead")
			}
			return
		}
		if ok {
			l2.Release(ctx)
			t.Fatal("second TryLock got a lock that is held")
		}
		other, ok, err := db.TryLock(ctx, "another-lock")
		if err != nil || !ok {
			t.Fatalf("a lock of another name: ok=%v err=%v", ok, err)
		}
		if err := other.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l1.Release(ctx); err != nil {
			t.Fatal(err)
		}
		l3, ok, err := db.TryLock(ctx, "leader")
		if err != nil || !ok {
			t.Fatalf("TryLock after release: ok=%v err=%v", ok, err)
		}
		if err := l3.Release(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
