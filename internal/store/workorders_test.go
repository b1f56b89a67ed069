package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/citybrain/citybrain/internal/triage"
	"github.com/citybrain/citybrain/internal/workorder"
)

func woOrder(i int, now time.Time) *workorder.Order {
	cats := []string{"DRAINAGE", "ROAD", "NOISE", "SANITATION"}
	states := []workorder.State{workorder.StateDispatched, workorder.StateAcknowledged, workorder.StateClosed, workorder.StateTriage, workorder.StateRated}
	o := &workorder.Order{TrackingNo: fmt.Sprintf("20260302%05d", i+1), TokenHash: fmt.Sprintf("hash-%d", i), Source: workorder.SourceCitizen,
		Category: cats[i%len(cats)], Priority: workorder.PriorityNormal, State: states[i%len(states)], Description: fmt.Sprintf("第%d号诉求", i),
		HasLocation: true, Lon: 117.2 + float64(i%10)*0.0001, Lat: 39.1, Street: []string{"S1", "S2"}[i%2], LeadDept: "WATER",
		CreatedAt: now.Add(time.Duration(i) * time.Minute), UpdatedAt: now, Deadline: now.Add(time.Duration(i%7) * time.Hour),
		Reporters: []workorder.Reporter{{UserID: int64(100 + i%3), Name: "市民"}}}
	if i%4 == 0 {
		o.Subcategory = o.Category + ".SUB"
		o.Media = []string{"/media/a.jpg", "/media/b.jpg"}
		o.StatusNotes, o.AddressID, o.Zipcode, o.Address = "已受理", "A-1", "300000", "友谊路"
	}
	if o.State == workorder.StateClosed || o.State == workorder.StateRated {
		o.Resolution, o.ClosedAt = workorder.ResolutionFixed, o.CreatedAt.Add(time.Hour)
	}
	if i%6 == 0 {
		o.Priority = workorder.PriorityEmergency
	}
	if o.Open() {
		o.NextDue = o.Deadline
	}
	return o
}

// publicJSON renders a public view with times in UTC for comparison.
func publicJSON(t *testing.T, o *workorder.Order) string {
	t.Helper()
	c := *o
	c.CreatedAt, c.UpdatedAt, c.Deadline, c.RespondedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC(), c.Deadline.UTC(), c.RespondedAt.UTC()
	b, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ids(os []*workorder.Order) []int64 {
	out := make([]int64, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

// The SQL repository behaves like the in-memory reference on the same data.
func TestWorkorderRepositoryConformance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mem := workorder.NewMemoryRepository()
		now := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
		for i := 0; i < 60; i++ {
			for _, r := range []workorder.Repository{db, mem} {
				o := woOrder(i, now)
				if err := r.CreateOrder(ctx, o, &workorder.Event{At: now, Action: workorder.ActCreate, To: o.State, ActorRole: "reporter", Public: true}); err != nil {
					t.Fatal(err)
				}
			}
		}
		open, closed := true, false
		filters := []workorder.Filter{
			{},
			{Limit: 7},
			{Categories: []string{"DRAINAGE"}},
			{Categories: []string{"DRAINAGE", "NOISE"}, Open: &open},
			{Subcategories: []string{"ROAD.SUB"}},
			{Categories: []string{"NOISE"}, Subcategories: []string{"ROAD.SUB"}},
			{Open: &closed, Limit: 5, Offset: 3},
			{States: []workorder.State{workorder.StateTriage}},
			{From: now.Add(10 * time.Minute), To: now.Add(20 * time.Minute)},
			{Street: "S2", LeadDept: "WATER"},
			{Area: "S1", Limit: 9},
			{Overdue: true, Now: now.Add(3 * time.Hour)},
			{ReporterID: 101},
			{IDs: []int64{3, 5, 99}, Categories: []string{"NOPE"}},
			{TrackingNos: []string{"2026030200004"}},
			{AfterCreated: now.Add(30 * time.Minute), AfterID: 31, Limit: 4},
			{ClosedFrom: now.Add(70 * time.Minute), ClosedTo: now.Add(100 * time.Minute)},
			{Priorities: []workorder.Priority{workorder.PriorityEmergency}, Street: "S1"},
			// Several codes with a limit take the per-code UNION path.
			{Categories: []string{"DRAINAGE", "NOISE", "DRAINAGE"}, Limit: 5, Offset: 2},
			{Categories: []string{"NOISE", "ROAD"}, Subcategories: []string{"ROAD.SUB", "NOISE.SUB"}, Limit: 10},
			{Categories: []string{"ROAD", "SANITATION"}, Open: &open, AfterCreated: now.Add(40 * time.Minute), AfterID: 41, Limit: 3},
			{Subcategories: []string{"ROAD.SUB", "DRAINAGE.SUB"}, From: now.Add(5 * time.Minute), To: now.Add(50 * time.Minute), Limit: 100},
		}
		for i, f := range filters {
			got, err := db.ListOrders(ctx, f)
			if err != nil {
				t.Fatalf("filter %d: %v", i, err)
			}
			want, _ := mem.ListOrders(ctx, f)
			if fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) {
				t.Errorf("filter %d %+v:\n got %v\nwant %v", i, f, ids(got), ids(want))
			}
			// The public projection read from columns equals the projection of the documents.
			pub, err := db.ListPublic(ctx, f)
			if err != nil {
				t.Fatalf("public filter %d: %v", i, err)
			}
			if len(pub) != len(got) {
				t.Fatalf("public filter %d: %d vs %d rows", i, len(pub), len(got))
			}
			for j := range pub {
				if a, b := publicJSON(t, pub[j]), publicJSON(t, workorder.PublicView(got[j])); a != b {
					t.Errorf("public view differs:\n%s\n%s", a, b)
				}
			}
			f.Limit, f.Offset = 0, 0
			n, err := db.CountOrders(ctx, f)
			m, _ := mem.CountOrders(ctx, f)
			if err != nil || (n != m && f.AfterID == 0) {
				t.Errorf("count filter %d: %d vs %d (%v)", i, n, m, err)
			}
			for _, by := range []workorder.GroupBy{workorder.ByCategory, workorder.ByStreet, workorder.ByGrid, workorder.ByDept, workorder.ByState, workorder.ByCommunity} {
				a, err := db.CountBy(ctx, f, by)
				b, _ := mem.CountBy(ctx, f, by)
				if err != nil || (fmt.Sprint(a) != fmt.Sprint(b) && f.AfterID == 0) {
					t.Errorf("count by %s, filter %d: %v vs %v (%v)", by, i, a, b, err)
				}
			}
		}
		// Public updates (Open311 servicerequestupdates) match the reference.
		pa, err := db.PublicUpdates(ctx, now.Add(-time.Hour), now.Add(time.Hour), 25)
		pb, _ := mem.PublicUpdates(ctx, now.Add(-time.Hour), now.Add(time.Hour), 25)
		if err != nil || len(pa) != 25 || len(pb) != 25 {
			t.Fatalf("public updates %d %d %v", len(pa), len(pb), err)
		}
		for i := range pa {
			if pa[i].TrackingNo != pb[i].TrackingNo || pa[i].Action != workorder.ActCreate || !pa[i].At.Equal(now) {
				t.Fatalf("update %d: %+v vs %+v", i, pa[i], pb[i])
			}
		}
		if none, err := db.PublicUpdates(ctx, now.Add(time.Hour), now.Add(2*time.Hour), 0); err != nil || len(none) != 0 {
			t.Fatalf("updates outside the window: %d %v", len(none), err)
		}
		// Round trip, optimistic locking, events.
		o, err := db.GetOrderByTrackingNo(ctx, "2026030200002")
		if err != nil || o.Description != "第1号诉求" || o.TokenHash != "hash-1" || o.Version != 1 || len(o.Reporters) != 1 {
			t.Fatalf("get: %+v %v", o, err)
		}
		stale := o.Clone()
		o.State, o.LeadDept = workorder.StateAcknowledged, "ROADS"
		if err := db.UpdateOrder(ctx, o, &workorder.Event{At: now, Action: workorder.ActAcknowledge, From: workorder.StateAcknowledged, To: workorder.StateAcknowledged}); err != nil || o.Version != 2 {
			t.Fatalf("update: %v v%d", err, o.Version)
		}
		if err := db.UpdateOrder(ctx, stale); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
			t.Fatalf("stale update: %v", err)
		}
		missing := o.Clone()
		missing.ID = 9999
		if err := db.UpdateOrder(ctx, missing); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
			t.Fatalf("missing update: %v", err)
		}
		evs, err := db.Events(ctx, o.ID)
		if err != nil || len(evs) != 2 || evs[1].Action != workorder.ActAcknowledge || evs[0].ID >= evs[1].ID {
			t.Fatalf("events %+v %v", evs, err)
		}
		if _, err := db.Events(ctx, 9999); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
			t.Fatalf("events of missing: %v", err)
		}
		for _, get := range []func() error{
			func() error { _, err := db.GetOrder(ctx, 9999); return err },
			func() error { _, err := db.GetOrderByTrackingNo(ctx, "1"); return err },
			func() error { _, err := db.GetOrderByTokenHash(ctx, "nope"); return err },
			func() error { _, err := db.GetConfig(ctx, "nope"); return err },
		} {
			if citybrain.ErrorCode(get()) != citybrain.ENOTFOUND {
				t.Error("missing thing not ENOTFOUND")
			}
		}
		if got, err := db.GetOrderByTokenHash(ctx, "hash-5"); err != nil || got.TrackingNo != "2026030200006" {
			t.Fatalf("by token: %v", err)
		}
		dup := woOrder(1, now)
		if err := db.CreateOrder(ctx, dup); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
			t.Fatalf("duplicate tracking number: %v", err)
		}
		// Due orders and nearby orders match the reference.
		for _, at := range []time.Time{now, now.Add(2 * time.Hour), now.Add(10 * time.Hour)} {
			a, err1 := db.DueOrders(ctx, at, 1000)
			b, _ := mem.DueOrders(ctx, at, 1000)
			if err1 != nil || len(a) != len(b) {
				t.Errorf("due at %s: %d vs %d (%v)", at, len(a), len(b), err1)
			}
		}
		a, err := db.NearbyOpen(ctx, "DRAINAGE", 117.2, 39.0, 117.20051, 39.2, now.Add(5*time.Minute))
		b, _ := mem.NearbyOpen(ctx, "DRAINAGE", 117.2, 39.0, 117.20051, 39.2, now.Add(5*time.Minute))
		if err != nil || fmt.Sprint(ids(a)) != fmt.Sprint(ids(b)) {
			t.Errorf("nearby %v vs %v (%v)", ids(a), ids(b), err)
		}
		// Sequences, configuration, training examples.
		for want := int64(1); want <= 3; want++ {
			if v, err := db.NextSequence(ctx, "tracking:20260302"); err != nil || v != want {
				t.Fatalf("sequence %d: %v", v, err)
			}
		}
		if v, _ := db.NextSequence(ctx, "tracking:20260303"); v != 1 {
			t.Fatalf("second counter %d", v)
		}
		if err := db.PutConfig(ctx, "k", []byte(`{"a":1}`)); err != nil {
			t.Fatal(err)
		}
		if err := db.PutConfig(ctx, "k", []byte(`{"a":2}`)); err != nil {
			t.Fatal(err)
		}
		if b, err := db.GetConfig(ctx, "k"); err != nil || string(b) != `{"a":2}` {
			t.Fatalf("config %s %v", b, err)
		}
		for i := 0; i < 3; i++ {
			if err := db.AddTrainingExample(ctx, &workorder.TrainingExample{OrderID: int64(i), Text: "文本", ChosenCategory: "NOISE", At: now}); err != nil {
				t.Fatal(err)
			}
		}
		ex, err := db.TrainingExamples(ctx, 2)
		if err != nil || len(ex) != 2 || ex[0].OrderID != 1 || ex[1].OrderID != 2 {
			t.Fatalf("training %+v %v", ex, err)
		}
	})
}

func TestWorkorderMedia(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		data := []byte("\x89PNG\r\n\x1a\nfake")
		m, err := workorder.NewMedia("image/png", data, 3, time.UnixMilli(1764300000000), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PutMedia(ctx, m); err != nil {
			t.Fatal(err)
		}
		if err := db.PutMedia(ctx, m); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
			t.Fatalf("same id twice: %v", err)
		}
		got, err := db.GetMedia(ctx, m.ID)
		if err != nil || string(got.Data) != string(data) || got.ContentType != "image/png" || got.SHA256 != m.SHA256 || got.UploadedBy != 3 || !got.CreatedAt.Equal(m.CreatedAt) {
			t.Fatalf("get: %+v %v", got, err)
		}
		if _, err := db.GetMedia(ctx, "0123456789abcdef0123456789abcdef"); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
			t.Fatalf("missing: %v", err)
		}
	})
}

// The whole service runs on the SQL repository: report, dispatch, deadlines caught up after
// a restart, rating with the token.
func TestWorkorderServiceOnSQL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := &citybrain.FixedClock{T: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)}
		svc, err := workorder.New(ctx, workorder.Options{Repo: db, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.Create(ctx, workorder.NewReport{Category: "DRAINAGE", Description: "下水道堵塞", HasLocation: true, Lon: 117.2, Lat: 39.1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Order.State != workorder.StateDispatched || res.Order.LeadDept != "WATER" {
			t.Fatalf("%+v", res.Order)
		}
		near, err := svc.Create(ctx, workorder.NewReport{Category: "DRAINAGE", Description: "又堵了", HasLocation: true, Lon: 117.2002, Lat: 39.1})
		if err != nil || len(near.Duplicates) != 1 {
			t.Fatalf("duplicates %v %v", near, err)
		}
		clock.T = clock.T.Add(72 * time.Hour)
		svc2, err := workorder.New(ctx, workorder.Options{Repo: db, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		n, err := svc2.ProcessDue(ctx)
		if err != nil || n != 4 {
			t.Fatalf("catch-up moves %d %v", n, err)
		}
		staff := citybrain.WithActor(ctx, &citybrain.Actor{UserID: 1, Role: citybrain.RoleDept, Department: "WATER"})
		for _, a := range []workorder.ActionRequest{{Action: workorder.ActAcknowledge}, {Action: workorder.ActFeedback, Reason: "已疏通"}} {
			if _, err := svc2.Act(staff, res.Order.ID, a); err != nil {
				t.Fatal(err)
			}
		}
		op := citybrain.WithActor(ctx, &citybrain.Actor{UserID: 2, Role: citybrain.RoleOperator})
		for _, a := range []workorder.ActionRequest{{Action: workorder.ActVerify}, {Action: workorder.ActClose}} {
			if _, err := svc2.Act(op, res.Order.ID, a); err != nil {
				t.Fatal(err)
			}
		}
		o, err := svc2.ActWithToken(ctx, res.Order.TrackingNo, res.Token, workorder.ActionRequest{Action: workorder.ActRate, Rating: 4})
		if err != nil || o.State != workorder.StateRated {
			t.Fatalf("rate: %v", err)
		}
		evs, err := svc2.History(op, o.ID)
		if err != nil || len(evs) != 9 {
			t.Fatalf("history %d %v", len(evs), err)
		}
	})
}

// BenchmarkWorkorderCreate measures creating one citizen report without a category on
// SQLite with 100,000 orders stored: the shipped offline triage classifier, validation,
// duplicate lookup, tracking number and token, dispatch through the catalogue, SLA deadline,
// and the insert with its events.
func BenchmarkWorkorderCreate(b *testing.B) {
	db := storetest.SQLite(b)
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	bulkLoad(b, db, 100000, now.Add(-90*24*time.Hour), 90*24*time.Hour)
	clf, err := triage.New()
	if err != nil {
		b.Fatal(err)
	}
	tr := workorder.TriagerFunc(func(ctx context.Context, text string) (workorder.Proposal, error) {
		r := clf.Classify(text)
		return workorder.Proposal{Category: r.Category, Confidence: r.Confidence, Urgency: workorder.Priority(r.Urgency), Department: r.Department}, nil
	})
	clock := &citybrain.FixedClock{T: now}
	svc, err := workorder.New(ctx, workorder.Options{Repo: db, Clock: clock, Triager: tr})
	if err != nil {
		b.Fatal(err)
	}
	texts := []string{"小区门口下水道堵塞，污水外溢，味道很大", "路灯不亮已经三天了，晚上走路很不安全", "楼下烧烤店油烟太大，窗户都不敢开",
		"夜里十二点还有工地在施工，吵得睡不着", "人行道上的井盖丢了，很危险"}
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		_, err := svc.Create(ctx, workorder.NewReport{Description: texts[i%len(texts)], Media: []string{"/media/x.jpg"},
			HasLocation: true, Lon: 117.1 + rng.Float64()*0.2, Lat: 39.0 + rng.Float64()*0.2, Reporter: workorder.Reporter{Phone: "13800000000"}})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func bulkLoad(b testing.TB, db *store.DB, n int, from time.Time, span time.Duration) {
	b.Helper()
	cats := []string{"ROAD", "STREETLIGHT", "WATER_SUPPLY", "DRAINAGE", "HEATING_GAS", "SANITATION", "GREENING", "STREET_ORDER", "NOISE", "POLLUTION",
		"TRAFFIC", "MARKET", "PROPERTY", "ELDERLY_CARE", "FIRE_SAFETY", "PUBLIC_SECURITY", "HEALTH", "EDUCATION", "LABOR", "OTHER"}
	states := []workorder.State{workorder.StateDispatched, workorder.StateAcknowledged, workorder.StateInProgress, workorder.StateClosed, workorder.StateRated, workorder.StateRated, workorder.StateClosed}
	rng := rand.New(rand.NewPCG(7, 8))
	ctx := context.Background()
	const chunk = 20000
	for start := 0; start < n; start += chunk {
		var batch []*workorder.Order
		for i := start; i < min(start+chunk, n); i++ {
			at := from.Add(time.Duration(float64(span) * float64(i) / float64(n)))
			st := states[rng.IntN(len(states))]
			o := &workorder.Order{TrackingNo: fmt.Sprintf("B%012d", i), TokenHash: fmt.Sprintf("bulk-%d", i), Source: workorder.SourceOpen311,
				Category: cats[rng.IntN(len(cats))], Priority: workorder.PriorityNormal, State: st,
				Description: "路灯不亮已经三天了，晚上走路很不安全，请尽快派人维修。", HasLocation: true,
				Lon: 117.1 + rng.Float64()*0.2, Lat: 39.0 + rng.Float64()*0.2, Address: "河西区友谊路100号", LeadDept: "URBAN_MGMT",
				Street: fmt.Sprintf("S%02d", rng.IntN(12)), CreatedAt: at, UpdatedAt: at, Deadline: at.Add(7 * 24 * time.Hour),
				Reporters: []workorder.Reporter{{Name: "市民", Channel: workorder.SourceOpen311, ReportedAt: at}}}
			if !st.IsOpen() {
				o.Resolution, o.ClosedAt, o.RespondedAt = workorder.ResolutionFixed, at.Add(48*time.Hour), at.Add(24*time.Hour)
			}
			batch = append(batch, o)
		}
		if err := db.BulkInsertOrders(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	s := append([]time.Duration(nil), lat...)
	slices.Sort(s)
	p := func(q float64) float64 {
		return float64(s[min(len(s)-1, int(q*float64(len(s))))].Microseconds()) / 1000
	}
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}
