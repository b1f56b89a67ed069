package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/audit"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/store/storetest"
)

func auditEntry(i int) audit.Entry {
	return audit.Entry{
		Actor:    audit.Actor{UserID: int64(i%3 + 1), Username: fmt.Sprintf("user%d", i%3+1), Role: citybrain.RoleDept, Dept: "民政局"},
		Action:   []string{audit.ActionRead, audit.ActionMask, audit.ActionDeny}[i%3],
		Object:   audit.Object{Dataset: []string{"residents", "workorders"}[i%2], Rows: []string{fmt.Sprint(i)}, Columns: []string{"身份证号"}},
		Decision: "MASKED",
		Purpose:  "养老服务核查",
	}
}

type fixedSteps struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedSteps) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func openAuditLog(t *testing.T, db *store.DB, k audit.Keys) *audit.Log {
	t.Helper()
	c := &fixedSteps{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	l, err := audit.Open(context.Background(), audit.Config{Store: db, Keys: k, Now: c.now, CheckpointEvery: 100, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

// untrigger drops the append-only triggers, as someone with direct database access could.
func untrigger(t *testing.T, db *store.DB) {
	t.Helper()
	stmts := []string{`DROP TRIGGER audit_records_no_update`, `DROP TRIGGER audit_records_no_delete`}
	if db.Dialect == store.Postgres {
		stmts = []string{`DROP TRIGGER audit_records_append_only ON audit_records`}
	}
	for _, s := range stmts {
		if _, err := db.Exec(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditStoreConformance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		k, _, err := audit.GenerateKeys(nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		l := openAuditLog(t, db, k)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 40 {
					if _, err := l.Record(ctx, auditEntry(w*40+i)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		rep, err := audit.Verify(ctx, db, audit.VerifyOptions{Verifier: k.Verifier, Chunk: 50})
		if err != nil || rep.Size != 320 || rep.Signed.N != 320 {
			t.Fatalf("verify: %v %+v", err, rep)
		}
		cps, err := db.AuditCheckpoints(ctx)
		if err != nil || len(cps) < 4 || cps[0].Size != 0 || cps[len(cps)-1].Size != 320 || cps[len(cps)-1].Root != rep.Root {
			t.Fatalf("checkpoints %d %v", len(cps), err)
		}

		// Reopen: the frontier is rebuilt from stored hashes and appending continues.
		l = openAuditLog(t, db, k)
		if seq, err := l.Record(ctx, auditEntry(320)); err != nil || seq != 320 {
			t.Fatalf("append after reopen: %d %v", seq, err)
		}
		for _, seq := range []int64{0, 7, 255, 320} {
			p, err := l.Prove(ctx, seq)
			if err != nil {
				t.Fatal(err)
			}
			if err := audit.VerifyInclusion(p, k.Verifier); err != nil {
				t.Fatalf("proof of %d: %v", seq, err)
			}
		}
		cp, _ := l.ProveConsistency(ctx, cps[1].Size)
		if err := audit.VerifyConsistency(cp, cps[1].Note, k.Verifier); err != nil || cps[1].Size < 100 {
			t.Fatalf("consistency from %d: %v", cps[1].Size, err)
		}

		// Search: filters, newest first, cursor pagination.
		var seen []int64
		q := audit.Query{ActorID: 2, Dataset: "residents", Limit: 13}
		for {
			p, err := l.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Entries {
				if e.Actor.UserID != 2 || e.Object.Dataset != "residents" {
					t.Fatalf("filter leaked %+v", e)
				}
				seen = append(seen, e.Seq)
			}
			if p.Next == 0 {
				break
			}
			q.Before = p.Next
		}
		// Entries 0..319 were spread over workers; entry i has user i%3+1 and dataset by i%2.
		want := 0
		for i := 0; i <= 320; i++ {
			if i%3 == 1 && i%2 == 0 {
				want++
			}
		}
		if len(seen) != want {
			t.Fatalf("search found %d, want %d", len(seen), want)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] >= seen[i-1] {
				t.Fatalf("not newest first: %v", seen)
			}
		}
		e0, _ := l.Get(ctx, 10)
		p, err := l.Search(ctx, audit.Query{From: e0.Time, To: e0.Time.Add(3 * time.Second)})
		if err != nil || len(p.Entries) != 3 || p.Entries[2].Seq != 10 {
			t.Fatalf("time range: %+v %v", p.Entries, err)
		}

		// Append-only: the platform's own SQL cannot rewrite history.
		if _, err := db.Exec(ctx, `UPDATE audit_records SET action='x' WHERE seq=3`); err == nil {
			t.Fatal("UPDATE of an audit record allowed")
		}
		if _, err := db.Exec(ctx, `DELETE FROM audit_records WHERE seq=3`); err == nil {
			t.Fatal("DELETE of an audit record allowed")
		}
		if err := db.AppendAudit(ctx, []audit.Record{{Seq: 5}}); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
			t.Fatalf("append at a taken seq: %v", err)
		}
		if _, err := db.ReadAuditHashes(ctx, []int64{1 << 40}); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
			t.Fatalf("missing hash: %v", err)
		}
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}

		// Someone with database access drops the triggers and edits entry 42 with SQL.
		untrigger(t, db)
		if _, err := db.Exec(ctx, `UPDATE audit_records SET data = REPLACE(data, 'MASKED', 'FULL') WHERE seq = 42`); err != nil {
			t.Fatal(err)
		}
		rep, err = audit.Verify(ctx, db, audit.VerifyOptions{Verifier: k.Verifier})
		var te *audit.TamperError
		if !errors.As(err, &te) || rep.FirstBad != 42 || !rep.Exact {
			t.Fatalf("SQL edit of entry 42 not named: %v", err)
		}
		// ... and deletes entry 17.
		if _, err := db.Exec(ctx, `DELETE FROM audit_records WHERE seq = 17`); err != nil {
			t.Fatal(err)
		}
		rep, err = audit.Verify(ctx, db, audit.VerifyOptions{Verifier: k.Verifier})
		if err == nil || rep.FirstBad != 17 {
			t.Fatalf("deleted entry 17 not named: %v", err)
		}
	})
}

// TestAuditTwoWriters runs two Logs (two nodes sharing the key) over one database: the loser of
// each race for the next sequence number renumbers and retries, and the log verifies.
func TestAuditTwoWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		k, _, err := audit.GenerateKeys(nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		logs := []*audit.Log{openAuditLog(t, db, k), openAuditLog(t, db, k)}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 30 {
					if _, err := logs[w%2].Record(ctx, auditEntry(w*100+i)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, l := range logs {
			if err := l.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := audit.Verify(ctx, db, audit.VerifyOptions{Verifier: k.Verifier})
		if err != nil || rep.Size != 120 {
			t.Fatalf("%v %+v", err, rep)
		}
	})
}
