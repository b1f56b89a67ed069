package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/citybrain/citybrain/internal/assess"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/citybrain/citybrain/internal/workorder"
)

// BenchmarkAssessQuarter measures assessment of one quarter holding N work orders
// (CITYBRAIN_BENCH_ORDERS, default 1,000,000) on SQLite:
//
//   - cold-sync: building the facts table from nothing (first start, or a rebuild);
//
//   - recompute: what "recompute a quarter" costs in steady state — the incremental sync
//     (nothing changed), the GROUP BY over the facts, scoring, ranking and storing.
//
//     CITYBRAIN_BENCH_ORDERS=1000000 go test -run='^$' -bench=AssessQuarter -benchtime=3x -timeout=60m ./internal/store/
func BenchmarkAssessQuarter(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("CITYBRAIN_BENCH_ORDERS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	db := storetest.SQLite(b)
	from := time.Date(2026, 7, 1, 0, 0, 0, 0, cst)
	span := 92 * 24 * time.Hour
	rng := rand.New(rand.NewPCG(7, 7))
	streets := make([]string, 12)
	for i := range streets {
		streets[i] = fmt.Sprintf("120103%03d", i+1)
	}
	depts := []string{"CONSTRUCTION", "URBAN_MGMT", "WATER", "HEAT_GAS", "ENV", "MARKET"}
	start := time.Now()
	batch := make([]*workorder.Order, 0, 10000)
	for i := 0; i < n; i++ {
		c := from.Add(time.Duration(rng.Int64N(int64(span))))
		o := &workorder.Order{TrackingNo: fmt.Sprintf("B%08d", i), TokenHash: fmt.Sprintf("b%d", i), Source: workorder.SourceCitizen,
			Category: "ROAD", Priority: workorder.PriorityNormal, Description: "路面坑洼", Street: streets[rng.IntN(len(streets))],
			LeadDept: depts[rng.IntN(len(depts))], CreatedAt: c, UpdatedAt: c, Deadline: c.Add(48 * time.Hour)}
		switch r := rng.IntN(10); {
		case r < 7:
			o.State, o.Resolution = workorder.StateRated, workorder.ResolutionFixed
			o.RespondedAt = c.Add(time.Duration(rng.IntN(72)) * time.Hour)
			o.ClosedAt = o.RespondedAt.Add(2 * time.Hour)
			o.Rating = 1 + rng.IntN(5)
			sat := o.Rating >= 3
			o.Satisfied = &sat
		case r < 9:
			o.State = workorder.StateInProgress
		default:
			o.State, o.Resolution, o.DuplicateOf, o.ClosedAt = workorder.StateClosed, workorder.ResolutionDuplicate, 1, c
		}
		o.UpdatedAt = c.Add(time.Hour)
		batch = append(batch, o)
		if len(batch) == cap(batch) || i == n-1 {
			if err := db.BulkInsertOrders(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.Logf("inserted %d orders in %s", n, time.Since(start).Round(time.Millisecond))
	svc := assess.NewService(assess.Config{Repo: db, Location: cst, Now: func() time.Time { return from.Add(120 * 24 * time.Hour) }})
	if _, err := svc.ImportTemplates(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("cold-sync", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if _, err := db.Exec(ctx, `DELETE FROM assess_wo_facts`); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Exec(ctx, `DELETE FROM assess_sync`); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Exec(ctx, `DELETE FROM assess_wo_rollup`); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			got, err := db.SyncWorkOrderFacts(ctx, cst, nil)
			if err != nil || got != n {
				b.Fatalf("synced %d of %d: %v", got, n, err)
			}
		}
	})
	b.Run("recompute", func(b *testing.B) {
		for b.Loop() {
			rep, err := svc.Recompute(ctx, "wo-street", "2026-Q3", "bench")
			if err != nil {
				b.Fatal(err)
			}
			if len(rep.Results) != len(streets) {
				b.Fatalf("%d results", len(rep.Results))
			}
		}
	})
	b.Run("recompute-dept", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Recompute(ctx, "wo-dept", "2026-Q3", "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	_ = store.SQLite
}
