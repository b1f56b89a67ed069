package store_test

import (
	"context"
	"testing"
	"time"

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
		// The holder's session ends (as when its node dies or its connection breaks): the
		// lock is free for another node and the old holder's Check reports the loss.
		var killed int
		if err := db.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l,
			(SELECT hashtextextended(current_schema() || '/leader', 0) AS k) h
			WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
			AND l.classid = ((h.k >> 32) & 4294967295)::oid AND l.objid = (h.k & 4294967295)::oid`).Scan(&killed); err != nil {
			t.Fatal(err)
		}
		if killed != 1 {
			t.Fatalf("terminated %d sessions holding the lock, want 1", killed)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			l4, ok, err := db.TryLock(ctx, "leader")
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				if err := l4.Release(ctx); err != nil {
					t.Fatal(err)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the lock stayed held after its session ended")
			}
		}
		if err := l3.Check(ctx); err == nil {
			t.Fatal("Check of a lease whose session ended reported no error")
		}
		_ = l3.Release(ctx)
	})
}
