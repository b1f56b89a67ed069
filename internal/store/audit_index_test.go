package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/citybrain/citybrain/internal/audit"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/store/storetest"
)

// Editing one of audit_records' search columns (the copies of time, actor, action and dataset
// that searches filter on) hides an entry from the auditor's searches while its signed data
// still hashes right: `citybrain audit verify` must name the entry all the same.
func TestAuditVerifyCatchesEditedSearchColumns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		k, _, err := audit.GenerateKeys(nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		l := openAuditLog(t, db, k)
		for i := range 30 {
			if _, err := l.Record(ctx, auditEntry(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := audit.Verify(ctx, db, audit.VerifyOptions{Verifier: k.Verifier}); err != nil {
			t.Fatalf("untouched log: %v", err)
		}
		untrigger(t, db)
		edits := []struct {
			seq       int64
			set, undo string
		}{
			{10, `action = 'deny'`, `action = 'mask'`},
			{12, `username = 'mallory'`, `username = 'user1'`},
			{13, `actor_id = 99`, `actor_id = 2`},
			{14, `dataset = 'nothing'`, `dataset = 'residents'`},
			{15, `at = at + 60000`, `at = at - 60000`},
		}
		for _, tc := range edits {
			t.Run(tc.set, func(t *testing.T) {
				if _, err := db.Exec(ctx, `UPDATE audit_records SET `+tc.set+` WHERE seq = ?`, tc.seq); err != nil {
					t.Fatal(err)
				}
				rep, err := audit.Verify(ctx, db, audit.VerifyOptions{Verifier: k.Verifier})
				var te *audit.TamperError
				if !errors.As(err, &te) || rep.FirstBad != tc.seq || !rep.Exact || rep.Problems[0].Kind != audit.ProblemIndex {
					t.Fatalf("edit %s of entry %d: %v %+v", tc.set, tc.seq, err, rep)
				}
				if _, err := db.Exec(ctx, `UPDATE audit_records SET `+tc.undo+` WHERE seq = ?`, tc.seq); err != nil {
					t.Fatal(err)
				}
				if _, err := audit.Verify(ctx, db, audit.VerifyOptions{Verifier: k.Verifier}); err != nil {
					t.Fatalf("after undoing the edit: %v", err)
				}
			})
		}
	})
}
