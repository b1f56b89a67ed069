package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/assess"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/citybrain/citybrain/internal/workorder"
)

var cst = time.FixedZone("CST", 8*3600)

// assessFixture stores a small, hand-checked set of orders (see the expected metrics in
// TestAssessWorkOrderMetrics) and returns the time origin.
func assessFixture(t *testing.T, db *store.DB) time.Time {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 7, 10, 0, 0, 0, 0, cst)
	h := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Hour))) }
	yes, no := true, false
	ev := func(a workorder.Action, at time.Time) *workorder.Event {
		return &workorder.Event{At: at, Action: a, ActorRole: "dept", To: workorder.StateInProgress}
	}
	type spec struct {
		street   string
		created  time.Time
		state    workorder.State
		res      string
		dupOf    int64
		deadline time.Time
		resp     time.Time
		closed   time.Time
		rating   int
		sat      *bool
		evs      []*workorder.Event
	}
	specs := []spec{
		// 1: on time everywhere, rated 5 satisfied.
		{"S1", t0, workorder.StateRated, workorder.ResolutionFixed, 0, h(48), h(10), h(20), 5, &yes, []*workorder.Event{ev(workorder.ActAcknowledge, h(1)), ev(workorder.ActFeedback, h(10))}},
		// 2: acknowledged late, fed back late, reworked once, rated 2 unsatisfied.
		{"S1", t0, workorder.StateRated, workorder.ResolutionFixed, 0, h(48), h(60), h(70), 2, &no, []*workorder.Event{ev(workorder.ActAcknowledge, h(50)), ev(workorder.ActFeedback, h(55)), ev(workorder.ActRework, h(56)), ev(workorder.ActFeedback, h(60))}},
		// 3: dispatched, never acknowledged, overdue.
		{"S1", t0, workorder.StateDispatched, "", 0, h(48), time.Time{}, time.Time{}, 0, nil, nil},
		// 4: duplicate of 1.
		{"S1", t0, workorder.StateClosed, workorder.ResolutionDuplicate, 1, time.Time{}, time.Time{}, h(1), 0, nil, nil},
		// 5: extension approved, on time against the extended deadline, not rated.
		{"S1", t0, workorder.StateClosed, workorder.ResolutionFixed, 0, h(100), h(90), h(95), 0, nil, []*workorder.Event{ev(workorder.ActAcknowledge, h(2)), ev(workorder.ActApproveExtension, h(40))}},
		// S2: one order in the previous quarter, one open and not yet due.
		{"S2", time.Date(2026, 6, 10, 0, 0, 0, 0, cst), workorder.StateClosed, workorder.ResolutionFixed, 0, time.Date(2026, 6, 12, 0, 0, 0, 0, cst), time.Date(2026, 6, 11, 0, 0, 0, 0, cst), time.Date(2026, 6, 11, 1, 0, 0, 0, cst), 0, nil, nil},
		{"S2", h(24 * 80), workorder.StateDispatched, "", 0, time.Date(2027, 1, 1, 0, 0, 0, 0, cst), time.Time{}, time.Time{}, 0, nil, nil},
	}
	for i, s := range specs {
		o := &workorder.Order{TrackingNo: fmt.Sprintf("T%03d", i+1), TokenHash: fmt.Sprintf("tok%d", i), Source: workorder.SourceCitizen,
			Category: "ROAD", Priority: workorder.PriorityNormal, State: s.state, Resolution: s.res, DuplicateOf: s.dupOf,
			Description: "测试", Street: s.street, LeadDept: "CONSTRUCTION", CreatedAt: s.created, UpdatedAt: s.created,
			Deadline: s.deadline, RespondedAt: s.resp, ClosedAt: s.closed, Rating: s.rating, Satisfied: s.sat}
		if err := db.CreateOrder(ctx, o, s.evs...); err != nil {
			t.Fatal(err)
		}
	}
	return t0
}

func TestAssessWorkOrderMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		assessFixture(t, db)
		n, err := db.SyncWorkOrderFacts(ctx, cst, nil)
		if err != nil || n != 7 {
			t.Fatalf("sync: %d %v", n, err)
		}
		from := time.Date(2026, 7, 1, 0, 0, 0, 0, cst)
		to := time.Date(2026, 10, 1, 0, 0, 0, 0, cst)
		now := time.Date(2026, 10, 15, 0, 0, 0, 0, cst)
		ums, err := db.WorkOrderMetrics(ctx, assess.UnitStreet, from, to, now)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]map[string]float64{}
		for _, u := range ums {
			got[u.Unit] = u.Metrics
		}
		// Hand computation for S1 (base = orders 1, 2, 3, 5; order 4 is a duplicate):
		want := map[string]float64{
			"wo_count":             4,
			"wo_response_rate":     50,    // acknowledged by the deadline: 1, 5 of due 1, 2, 3, 5
			"wo_closed_rate":       75,    // closed 1, 2, 5 of 4
			"wo_ontime_close_rate": 50,    // closed on time 1, 5 of due 1, 2, 3, 5
			"wo_resolve_rate":      50,    // rated 1 (5) and 2 (2): one ≥ 3
			"wo_satisfaction_rate": 50,    // 1 satisfied of 2 rated
			"wo_rework_rate":       33.33, // 2 reworked of handled 1, 2, 5
			"wo_extension_rate":    25,    // 5 extended of dispatched 1, 2, 3, 5
			"wo_overdue_rate":      50,    // 2 (feedback 60 h > 48 h) and 3 (never) of 4 due
			"wo_duplicate_rate":    20,    // 1 of 5
			"wo_avg_handle_hours":  61.67, // (20 + 70 + 95) / 3
		}
		for k, v := range want {
			if got["S1"][k] != v {
				t.Errorf("S1 %s = %v, want %v", k, got["S1"][k], v)
			}
		}
		// S2: one order in Q3, not yet due: counted, but no rate has a denominator.
		if got["S2"]["wo_count"] != 1 {
			t.Errorf("S2 count %v", got["S2"]["wo_count"])
		}
		if _, ok := got["S2"]["wo_response_rate"]; ok {
			t.Errorf("S2 has no due order; response rate must be missing, got %v", got["S2"])
		}

		// Drill-down: the overdue orders of S1 are 2 and 3.
		recs, total, err := db.WorkOrderRecords(ctx, assess.RecordQuery{Metric: "wo_overdue_rate", Kind: assess.UnitStreet, Unit: "S1", From: from, To: to, Now: now})
		if err != nil || total != 2 || len(recs) != 2 || recs[0].TrackingNo != "T002" && recs[0].TrackingNo != "T003" {
			t.Fatalf("overdue records: %v %d %+v", err, total, recs)
		}
		for _, r := range recs {
			if r.Why == "" || r.Kind != "workorder" {
				t.Errorf("record without reason: %+v", r)
			}
		}

		// Incremental sync: order 3 gets feedback (late) and is closed; only it is re-read.
		o, err := db.GetOrderByTrackingNo(ctx, "T003")
		if err != nil {
			t.Fatal(err)
		}
		o.State, o.Resolution = workorder.StateClosed, workorder.ResolutionFixed
		o.RespondedAt = time.Date(2026, 7, 13, 0, 0, 0, 0, cst)
		o.ClosedAt = o.RespondedAt
		o.UpdatedAt = time.Now()
		if err := db.UpdateOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
		n, err = db.SyncWorkOrderFacts(ctx, cst, nil)
		if err != nil || n < 1 || n > 7 {
			t.Fatalf("incremental sync read %d orders (%v)", n, err)
		}
		ums, _ = db.WorkOrderMetrics(ctx, assess.UnitStreet, from, to, now)
		for _, u := range ums {
			if u.Unit == "S1" && u.Metrics["wo_closed_rate"] != 100 {
				t.Errorf("after sync S1 closed rate %v, want 100", u.Metrics["wo_closed_rate"])
			}
		}
		ums, _ = db.WorkOrderMetrics(ctx, assess.UnitDepartment, from, to, now)
		if len(ums) != 1 || ums[0].Unit != "CONSTRUCTION" || ums[0].Metrics["wo_count"] != 5 {
			t.Errorf("department metrics: %+v", ums)
		}
	})
}

// TestAssessHistoryKeepsVersion: editing a system creates a new version; stored results keep
// the version (and totals) they were computed with until the period is recomputed.
func TestAssessHistoryKeepsVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		assessFixture(t, db)
		now := time.Date(2026, 10, 15, 0, 0, 0, 0, cst)
		svc := assess.NewService(assess.Config{Repo: db, Now: func() time.Time { return now }, Location: cst})
		if changed, err := svc.ImportTemplates(ctx); err != nil || len(changed) != 6 {
			t.Fatalf("import templates: %v %v", changed, err)
		}
		if changed, err := svc.ImportTemplates(ctx); err != nil || len(changed) != 0 {
			t.Fatalf("re-import of unchanged templates created versions: %v %v", changed, err)
		}
		rep, err := svc.Recompute(ctx, "wo-street", "2026-Q3", "test")
		if err != nil {
			t.Fatal(err)
		}
		s1 := find(rep.Results, "S1")
		// S1: response 50, ontime 50, resolve 50, satisfaction 50 all at or below their linear
		// minimum → 0; rework 33.33 % above the 20 % maximum → 0. Total 0, E, 4 cases: not ranked.
		if s1 == nil || s1.Total != 0 || s1.Grade != "E" || s1.Ranked || rep.Run.Version != 1 {
			t.Fatalf("S1 v1: %+v (run %+v)", s1, rep.Run)
		}
		// Edit the formula: response scored linearly from 0 instead of 60.
		sys, err := svc.System(ctx, "wo-street", 0)
		if err != nil {
			t.Fatal(err)
		}
		sys.Indicators[0].Scoring.Min = 0
		b := mustJSON(t, sys)
		ns, created, err := svc.Import(ctx, b, "admin")
		if err != nil || !created || ns.Version != 2 {
			t.Fatalf("import edited: %v %v %+v", err, created, ns)
		}
		rep, err = svc.Results(ctx, "wo-street", "2026-Q3")
		if err != nil {
			t.Fatal(err)
		}
		if s1 := find(rep.Results, "S1"); s1.Total != 0 || rep.Run.Version != 1 || rep.System.Version != 1 {
			t.Fatalf("stored result changed before recompute: %+v run %+v", s1, rep.Run)
		}
		rep, err = svc.Recompute(ctx, "wo-street", "2026-Q3", "test")
		if err != nil {
			t.Fatal(err)
		}
		// Now response 50 → 50 points × 25 % = 12.5.
		if s1 := find(rep.Results, "S1"); s1.Total != 12.5 || rep.Run.Version != 2 {
			t.Fatalf("after recompute: %+v run %+v", s1, rep.Run)
		}
		// Drill down to the response indicator: orders 2 and 3 pulled it down.
		d, err := svc.Drill(ctx, "wo-street", "2026-Q3", "S1", "response", 50)
		if err != nil {
			t.Fatal(err)
		}
		if d.Total != 2 || d.Evidence != "workorders" {
			t.Fatalf("drill: %+v", d)
		}
		// Trend and previous period comparison.
		if _, err := svc.Recompute(ctx, "wo-street", "2026-Q2", "test"); err != nil {
			t.Fatal(err)
		}
		rep, _ = svc.Recompute(ctx, "wo-street", "2026-Q3", "test")
		if s2 := find(rep.Results, "S2"); s2 == nil || s2.Previous == nil {
			t.Fatalf("S2 should be compared with Q2: %+v", s2)
		}
		tr, err := svc.Trend(ctx, "wo-street", "S2")
		if err != nil || len(tr) != 2 || tr[0].Period != "2026-Q2" {
			t.Fatalf("trend: %v %+v", err, tr)
		}
		// Manual input needs evidence and a manual indicator.
		if _, err := svc.PutManual(ctx, assess.ManualInput{System: "city-mgmt", Period: "2026-Q3", Unit: "S1", Indicator: "clean.site", Value: 88}); citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Fatalf("manual without evidence: %v", err)
		}
		if _, err := svc.PutManual(ctx, assess.ManualInput{System: "city-mgmt", Period: "2026-Q3", Unit: "S1", Indicator: "clean.ontime", Value: 88, Evidence: "x"}); citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Fatalf("manual on a computed indicator: %v", err)
		}
		if _, err := svc.PutManual(ctx, assess.ManualInput{System: "city-mgmt", Period: "2026-Q3", Unit: "S1", Indicator: "clean.site", Value: 88, Evidence: "实地考察 12 处点位", EnteredBy: "admin"}); err != nil {
			t.Fatal(err)
		}
		rep, err = svc.Recompute(ctx, "city-mgmt", "2026-Q3", "test")
		if err != nil {
			t.Fatal(err)
		}
		s1 = find(rep.Results, "S1")
		for _, is := range s1.Indicators {
			if is.ID == "clean.site" && (is.NoData || is.Score != 88) {
				t.Fatalf("manual score not used: %+v", is)
			}
		}
		d, err = svc.Drill(ctx, "city-mgmt", "2026-Q3", "S1", "clean.site", 10)
		if err != nil || len(d.Manual) != 1 || !strings.Contains(d.Manual[0].Evidence, "实地考察") {
			t.Fatalf("manual drill: %v %+v", err, d)
		}
	})
}

func find(rs []assess.Result, unit string) *assess.Result {
	for i := range rs {
		if rs[i].Unit == unit {
			return &rs[i]
		}
	}
	return nil
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportWorkOrderHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		day := time.Date(2026, 8, 3, 9, 0, 0, 0, cst)
		var orders []*workorder.Order
		var evs [][]*workorder.Event
		for i := 1; i <= 3; i++ {
			orders = append(orders, &workorder.Order{TrackingNo: workorder.TrackingNumber(day, int64(i)), TokenHash: fmt.Sprintf("hist%d", i),
				Source: "demo-history", Category: "ROAD", Priority: workorder.PriorityNormal, State: workorder.StateDispatched,
				Description: "历史", Street: "S1", CreatedAt: day, UpdatedAt: day})
			evs = append(evs, []*workorder.Event{{At: day, Action: workorder.ActCreate, To: workorder.StateAccepted, ActorRole: "system"},
				{At: day.Add(time.Minute), Action: workorder.ActDispatch, From: workorder.StateAccepted, To: workorder.StateDispatched, ActorRole: "operator"}})
		}
		if err := db.ImportWorkOrderHistory(ctx, orders, evs); err != nil {
			t.Fatal(err)
		}
		for _, o := range orders {
			if o.ID == 0 {
				t.Fatal("ids not set")
			}
			got, err := db.Events(ctx, o.ID)
			if err != nil || len(got) != 2 || got[1].Action != workorder.ActDispatch {
				t.Fatalf("events of %s: %v %+v", o.TrackingNo, err, got)
			}
		}
		// The day's counter continues after the imported numbers.
		if n, err := db.NextSequence(ctx, "tracking:"+day.Format("20060102")); err != nil || n != 4 {
			t.Fatalf("next sequence %d %v, want 4", n, err)
		}
	})
}

// TestAssessRollupMatchesRebuild changes random orders between syncs and checks that the
// incrementally maintained roll-up gives exactly the metrics of a rebuild from nothing.
func TestAssessRollupMatchesRebuild(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(3, 4))
		t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, cst)
		var ids []int64
		for i := 0; i < 120; i++ {
			c := t0.Add(time.Duration(rng.IntN(90*24)) * time.Hour)
			o := &workorder.Order{TrackingNo: fmt.Sprintf("R%04d", i), TokenHash: fmt.Sprintf("r%d", i), Source: "test", Category: "ROAD",
				Priority: workorder.PriorityNormal, State: workorder.StateDispatched, Description: "d", Street: []string{"S1", "S2", "S3"}[i%3],
				Community: []string{"C1", "C2"}[i%2], LeadDept: []string{"WATER", "ROADS"}[i%2], CreatedAt: c, UpdatedAt: c, Deadline: c.Add(48 * time.Hour)}
			if err := db.CreateOrder(ctx, o); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, o.ID)
		}
		if _, err := db.SyncWorkOrderFacts(ctx, cst, nil); err != nil {
			t.Fatal(err)
		}
		for round := 0; round < 3; round++ {
			for _, id := range ids {
				if rng.IntN(3) != 0 {
					continue
				}
				o, err := db.GetOrder(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				switch rng.IntN(4) {
				case 0:
					o.RespondedAt = o.CreatedAt.Add(time.Duration(rng.IntN(96)) * time.Hour)
				case 1:
					o.State, o.Resolution, o.ClosedAt = workorder.StateClosed, workorder.ResolutionFixed, o.CreatedAt.Add(time.Duration(1+rng.IntN(96))*time.Hour)
				case 2:
					sat := rng.IntN(2) == 0
					o.State, o.Rating, o.Satisfied = workorder.StateRated, 1+rng.IntN(5), &sat
				case 3:
					o.Street, o.LeadDept = "S9", "HEALTH" // moved to another unit
				}
				o.UpdatedAt = time.Now()
				if err := db.UpdateOrder(ctx, o); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.SyncWorkOrderFacts(ctx, cst, nil); err != nil {
				t.Fatal(err)
			}
		}
		from, to := time.Date(2026, 7, 1, 0, 0, 0, 0, cst), time.Date(2026, 10, 1, 0, 0, 0, 0, cst)
		now := time.Date(2026, 8, 15, 0, 0, 0, 0, cst)
		snapshot := func() map[string]map[string]float64 {
			out := map[string]map[string]float64{}
			for _, kind := range []string{assess.UnitStreet, assess.UnitCommunity, assess.UnitDepartment} {
				ums, err := db.WorkOrderMetrics(ctx, kind, from, to, now)
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range ums {
					out[kind+"/"+u.Unit] = u.Metrics
				}
			}
			return out
		}
		incremental := snapshot()
		for _, q := range []string{`DELETE FROM assess_wo_facts`, `DELETE FROM assess_wo_rollup`, `DELETE FROM assess_sync`} {
			if _, err := db.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.SyncWorkOrderFacts(ctx, cst, nil); err != nil {
			t.Fatal(err)
		}
		rebuilt := snapshot()
		a, _ := json.Marshal(incremental)
		b, _ := json.Marshal(rebuilt)
		if string(a) != string(b) || len(rebuilt) < 5 {
			t.Fatalf("incremental roll-up differs from a rebuild:\n%s\n%s", a, b)
		}
	})
}
