package workorder

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
)

type harness struct {
	svc     *Service
	repo    *MemoryRepository
	clock   *citybrain.FixedClock
	mu      sync.Mutex
	notices []Notice
}

func (h *harness) noticesTo(to string, kind Action) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, x := range h.notices {
		if x.To == to && x.Kind == kind {
			n++
		}
	}
	return n
}

func testTriager() Triager {
	return TriagerFunc(func(ctx context.Context, text string) (Proposal, error) {
		switch {
		case strings.Contains(text, "下水道") || strings.Contains(text, "积水"):
			return Proposal{Category: "DRAINAGE", Confidence: 0.93, Urgency: PriorityNormal, Department: "WATER", Reasons: []string{"下水道"}}, nil
		case strings.Contains(text, "井盖"):
			return Proposal{Category: "ROAD", Confidence: 0.9, Urgency: PriorityEmergency, Department: "CONSTRUCTION"}, nil
		}
		return Proposal{Category: "STREET_ORDER", Confidence: 0.31}, nil
	})
}

func testLocator(lon, lat float64) (string, string, string, bool) {
	if lon > 117 && lon < 118 {
		return "G-0101", "C-01", "S-HEXI", true
	}
	return "", "", "", false
}

func newHarness(t *testing.T, cfg *Config) *harness {
	t.Helper()
	h := &harness{repo: NewMemoryRepository(), clock: &citybrain.FixedClock{T: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)}} // Mon 10:00 CST
	svc, err := New(context.Background(), Options{Repo: h.repo, Clock: h.clock, Triager: testTriager(), Locator: testLocator, Config: cfg,
		Notify: func(ctx context.Context, n Notice) { h.mu.Lock(); h.notices = append(h.notices, n); h.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	return h
}

func as(role, dept, area string, id int64) context.Context {
	return citybrain.WithActor(context.Background(), &citybrain.Actor{UserID: id, Username: role, Role: role, Department: dept, Area: area})
}

var (
	operator = func() context.Context { return as(citybrain.RoleOperator, "", "", 2) }
	admin    = func() context.Context { return as(citybrain.RoleAdmin, "", "", 1) }
	water    = func() context.Context { return as(citybrain.RoleDept, "WATER", "", 3) }
	urban    = func() context.Context { return as(citybrain.RoleDept, "URBAN_MGMT", "", 4) }
	gridman  = func() context.Context { return as(citybrain.RoleWorker, "", "G-0101", 5) }
	farGrid  = func() context.Context { return as(citybrain.RoleWorker, "", "G-9999", 6) }
)

func act(t *testing.T, h *harness, ctx context.Context, id int64, req ActionRequest) *Order {
	t.Helper()
	o, err := h.svc.Act(ctx, id, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Action, err)
	}
	return o
}

// The "done when": a citizen reports a blocked drain with a photo and a pin; the
// assistant routes it to the water bureau and the right street; the unit handles it; a grid
// worker verifies; the citizen rates it.
func TestBlockedDrainEndToEnd(t *testing.T) {
	h := newHarness(t, nil)
	res, err := h.svc.Create(context.Background(), NewReport{Description: "小区门口下水道堵了，污水漫到路上", Media: []string{"/media/a.jpg"},
		HasLocation: true, Lon: 117.2001, Lat: 39.1001, Reporter: Reporter{Name: "张三", Phone: "13800000000"}})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Order
	if o.State != StateDispatched || o.Category != "DRAINAGE" || o.LeadDept != "WATER" || o.Street != "S-HEXI" || o.Grid != "G-0101" {
		t.Fatalf("order not routed: %+v", o)
	}
	if !strings.HasPrefix(o.TrackingNo, "20260302") || len(o.TrackingNo) != 13 || res.Token == "" {
		t.Fatalf("tracking %q token %q", o.TrackingNo, res.Token)
	}
	if want := h.clock.T.Add(24 * time.Hour); !o.Deadline.Equal(want) {
		t.Errorf("deadline %s, want %s", o.Deadline, want)
	}
	if h.noticesTo("dept", ActDispatch) != 1 {
		t.Error("the unit was not notified of the dispatch")
	}
	// Another unit may not sign for it; a far grid worker may not verify.
	if _, err := h.svc.Act(urban(), o.ID, ActionRequest{Action: ActAcknowledge}); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
		t.Fatalf("other unit acknowledge: %v", err)
	}
	act(t, h, water(), o.ID, ActionRequest{Action: ActAcknowledge})
	act(t, h, water(), o.ID, ActionRequest{Action: ActStart})
	h.clock.T = h.clock.T.Add(5 * time.Hour)
	o = act(t, h, water(), o.ID, ActionRequest{Action: ActFeedback, Reason: "已疏通", Attachments: []string{"/media/b.jpg"}})
	if o.RespondedAt.IsZero() || !o.NextDue.IsZero() {
		t.Error("feedback did not stop the SLA clock")
	}
	if _, err := h.svc.Act(farGrid(), o.ID, ActionRequest{Action: ActVerify}); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
		t.Fatalf("far worker verify: %v", err)
	}
	act(t, h, gridman(), o.ID, ActionRequest{Action: ActVerify, Attachments: []string{"/media/c.jpg"}})
	act(t, h, gridman(), o.ID, ActionRequest{Action: ActClose, Reason: "现场核实已疏通"})
	// The citizen follows and rates without an account; a wrong token is not found.
	if _, err := h.svc.Track(context.Background(), o.TrackingNo, "wrong"); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
		t.Fatalf("wrong token: %v", err)
	}
	_, hist, err := h.svc.TrackHistory(context.Background(), o.TrackingNo, res.Token)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range hist {
		if !e.Public || e.ActorName != "" {
			t.Errorf("private event or name leaked to the citizen: %+v", e)
		}
	}
	o, err = h.svc.ActWithToken(context.Background(), o.TrackingNo, res.Token, ActionRequest{Action: ActRate, Rating: 5, Reason: "很快"})
	if err != nil {
		t.Fatal(err)
	}
	if o.State != StateRated || o.Rating != 5 || o.Satisfied == nil || !*o.Satisfied {
		t.Fatalf("rated order %+v", o)
	}
	evs, _ := h.svc.History(operator(), o.ID)
	var acts []string
	for _, e := range evs {
		acts = append(acts, string(e.Action))
		if e.At.IsZero() || e.ActorRole == "" {
			t.Errorf("event without who/when: %+v", e)
		}
	}
	want := "create,dispatch,acknowledge,start,feedback,verify,close,rate"
	if strings.Join(acts, ",") != want {
		t.Errorf("history %s, want %s", strings.Join(acts, ","), want)
	}
	if h.noticesTo("reporter", ActClose) != 1 {
		t.Error("reporter not informed of closing")
	}
}

func TestTriageQueueAndTrainingExample(t *testing.T) {
	h := newHarness(t, nil)
	res, err := h.svc.Create(context.Background(), NewReport{Description: "楼下有人天天在那里弄东西", Address: "河西路1号"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Order.State != StateTriage || res.Order.TriageConfidence != 0.31 {
		t.Fatalf("low-confidence report not queued: %+v", res.Order)
	}
	q, err := h.svc.TriageQueue(operator(), 10)
	if err != nil || len(q) != 1 {
		t.Fatalf("queue %v %v", q, err)
	}
	if _, err := h.svc.TriageQueue(water(), 10); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
		t.Errorf("dept reading the queue: %v", err)
	}
	o := act(t, h, operator(), res.Order.ID, ActionRequest{Action: ActDispatch, Category: "NOISE"})
	if o.State != StateDispatched || o.LeadDept != "ECO_ENV" || o.Category != "NOISE" {
		t.Fatalf("human dispatch %+v", o)
	}
	ex, err := h.svc.TrainingExamples(admin(), 10)
	if err != nil || len(ex) != 1 || ex[0].ChosenCategory != "NOISE" || ex[0].ProposedCategory != "STREET_ORDER" || !strings.Contains(ex[0].Text, "楼下") {
		t.Fatalf("training example %+v %v", ex, err)
	}
}

func TestStreetOfficeGetsUnowned(t *testing.T) {
	h := newHarness(t, nil)
	res, err := h.svc.Create(operator(), NewReport{Source: SourceStaff, Category: "OTHER", Description: "其他问题", HasLocation: true, Lon: 117.3, Lat: 39.2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Order.LeadDept != StreetOffice || res.Order.Street != "S-HEXI" {
		t.Fatalf("%+v", res.Order)
	}
	// The street's workers act for the street office; another street's office may not.
	other := as(citybrain.RoleDept, StreetOffice, "S-OTHER", 9)
	if _, err := h.svc.Act(other, res.Order.ID, ActionRequest{Action: ActAcknowledge}); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
		t.Fatalf("other street office: %v", err)
	}
	act(t, h, as(citybrain.RoleWorker, "", "S-HEXI", 10), res.Order.ID, ActionRequest{Action: ActAcknowledge})
}

func TestDisputeReassignExtensionRework(t *testing.T) {
	h := newHarness(t, nil)
	res, err := h.svc.Create(context.Background(), NewReport{Description: "路边积水很深", HasLocation: true, Lon: 117.2, Lat: 39.1})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Order.ID
	if _, err := h.svc.Act(water(), id, ActionRequest{Action: ActDispute}); citybrain.ErrorCode(err) != citybrain.EINVALID {
		t.Fatalf("dispute without reason: %v", err)
	}
	o := act(t, h, water(), id, ActionRequest{Action: ActDispute, Reason: "属于道路养护"})
	if o.State != StateReturned || h.noticesTo("operator", ActDispute) != 1 {
		t.Fatalf("dispute: %s", o.State)
	}
	h.clock.T = h.clock.T.Add(time.Hour)
	o = act(t, h, operator(), id, ActionRequest{Action: ActReassign, Dept: "CONSTRUCTION", Assist: []string{"WATER"}, Reason: "改派住建"})
	if o.LeadDept != "CONSTRUCTION" || o.DispatchedAt != h.clock.T || !o.Deadline.Equal(h.clock.T.Add(24*time.Hour)) {
		t.Fatalf("reassign: %+v", o)
	}
	cons := as(citybrain.RoleDept, "CONSTRUCTION", "", 11)
	act(t, h, cons, id, ActionRequest{Action: ActAcknowledge})
	// Extension: must be later than the deadline, one at a time, approved by a reviewer.
	if _, err := h.svc.Act(cons, id, ActionRequest{Action: ActRequestExtension, Reason: "需购材料", Until: o.Deadline.Add(-time.Hour)}); citybrain.ErrorCode(err) != citybrain.EINVALID {
		t.Fatalf("extension earlier than deadline: %v", err)
	}
	until := o.Deadline.Add(72 * time.Hour)
	act(t, h, cons, id, ActionRequest{Action: ActRequestExtension, Reason: "需购材料", Until: until})
	if _, err := h.svc.Act(cons, id, ActionRequest{Action: ActApproveExtension}); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
		t.Fatalf("unit approving itself: %v", err)
	}
	o = act(t, h, operator(), id, ActionRequest{Action: ActApproveExtension})
	if !o.Deadline.Equal(until) || o.ExtensionPending {
		t.Fatalf("approved extension: %+v", o)
	}
	if _, err := h.svc.Act(operator(), id, ActionRequest{Action: ActRefuseExtension, Reason: "x"}); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
		t.Fatalf("refuse without request: %v", err)
	}
	// After the deadline, no more extension requests.
	h.clock.T = until.Add(time.Minute)
	if _, err := h.svc.Act(cons, id, ActionRequest{Action: ActRequestExtension, Reason: "再延", Until: until.Add(time.Hour * 48)}); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
		t.Fatalf("late extension: %v", err)
	}
	act(t, h, cons, id, ActionRequest{Action: ActFeedback, Reason: "已处理"})
	o = act(t, h, gridman(), id, ActionRequest{Action: ActRework, Reason: "仍有积水"})
	if o.State != StateInProgress || !o.RespondedAt.IsZero() {
		t.Fatalf("rework: %+v", o)
	}
	act(t, h, cons, id, ActionRequest{Action: ActFeedback, Reason: "已再次处理"})
	act(t, h, gridman(), id, ActionRequest{Action: ActVerify})
	act(t, h, operator(), id, ActionRequest{Action: ActClose})
	// The citizen is not satisfied and reopens; it goes back to the same unit with a new deadline.
	o, err = h.svc.ActWithToken(context.Background(), res.Order.TrackingNo, res.Token, ActionRequest{Action: ActRate, Rating: 1, Reason: "没修好"})
	if err != nil || *o.Satisfied {
		t.Fatalf("rate: %v", err)
	}
	o, err = h.svc.ActWithToken(context.Background(), res.Order.TrackingNo, res.Token, ActionRequest{Action: ActReopen, Reason: "还是积水"})
	if err != nil || o.State != StateDispatched || o.LeadDept != "CONSTRUCTION" || o.Rating != 0 || !o.Deadline.After(h.clock.T) {
		t.Fatalf("reopen: %v %+v", err, o)
	}
	// A citizen cannot make staff moves with the token.
	if _, err := h.svc.ActWithToken(context.Background(), res.Order.TrackingNo, res.Token, ActionRequest{Action: ActAcknowledge}); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
		t.Fatalf("citizen acknowledge: %v", err)
	}
	// Stale version is a conflict.
	if _, err := h.svc.Act(operator(), id, ActionRequest{Action: ActNote, Reason: "x", Version: 1}); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
		t.Fatalf("stale version: %v", err)
	}
}

func TestDuplicatesSuggestAndMerge(t *testing.T) {
	for _, merge := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.MergeDuplicates = merge
		h := newHarness(t, &cfg)
		first, err := h.svc.Create(context.Background(), NewReport{Description: "下水道堵塞", HasLocation: true, Lon: 117.2, Lat: 39.1, Reporter: Reporter{Name: "甲"}})
		if err != nil {
			t.Fatal(err)
		}
		// 30 m away: same problem. 80 m away: not. Another category: not.
		near, err := h.svc.Create(context.Background(), NewReport{Description: "这里下水道又堵了", HasLocation: true, Lon: 117.2, Lat: 39.10027, Reporter: Reporter{Name: "乙"}})
		if err != nil {
			t.Fatal(err)
		}
		far, _ := h.svc.Create(context.Background(), NewReport{Description: "下水道堵", HasLocation: true, Lon: 117.2, Lat: 39.10072})
		other, _ := h.svc.Create(context.Background(), NewReport{Description: "井盖丢了", HasLocation: true, Lon: 117.2, Lat: 39.1001})
		if len(far.Duplicates) != 0 || len(other.Duplicates) != 0 {
			t.Fatalf("merge=%v: false duplicates far=%d other=%d", merge, len(far.Duplicates), len(other.Duplicates))
		}
		if len(near.Duplicates) != 1 || near.Duplicates[0].ID != first.Order.ID {
			t.Fatalf("merge=%v: duplicate not found: %v", merge, near.Duplicates)
		}
		if !merge {
			if near.Order.State != StateDispatched || near.MergedInto != nil {
				t.Fatalf("suggest mode changed the order: %+v", near.Order)
			}
			// Staff merge it by hand; the master keeps both reporters.
			act(t, h, operator(), near.Order.ID, ActionRequest{Action: ActCloseDuplicate, DuplicateOf: first.Order.ID})
		} else if near.MergedInto == nil || near.Order.State != StateClosed || near.Order.DuplicateOf != first.Order.ID {
			t.Fatalf("not merged: %+v", near.Order)
		}
		m, _ := h.svc.Get(operator(), first.Order.ID)
		if len(m.Reporters) != 2 || m.Reporters[1].Name != "乙" {
			t.Fatalf("merge=%v: reporters %+v", merge, m.Reporters)
		}
		// Closing the master informs both reporters.
		act(t, h, water(), m.ID, ActionRequest{Action: ActAcknowledge})
		act(t, h, water(), m.ID, ActionRequest{Action: ActFeedback, Reason: "已疏通"})
		act(t, h, gridman(), m.ID, ActionRequest{Action: ActVerify})
		act(t, h, operator(), m.ID, ActionRequest{Action: ActClose})
		if n := h.noticesTo("reporter", ActClose); n != 2 {
			t.Errorf("merge=%v: close notices %d, want 2", merge, n)
		}
		// Past the window a new report is not a duplicate.
		h.clock.T = h.clock.T.Add(8 * 24 * time.Hour)
		late, _ := h.svc.Create(context.Background(), NewReport{Description: "下水道堵塞", HasLocation: true, Lon: 117.2, Lat: 39.1})
		if len(late.Duplicates) != 0 {
			t.Errorf("merge=%v: duplicate across the window", merge)
		}
	}
}

// Deadlines are computed from stored fields, so after downtime the job catches up on
// everything missed, once.
func TestDeadlinesCatchUpAfterDowntime(t *testing.T) {
	h := newHarness(t, nil)
	drain, _ := h.svc.Create(context.Background(), NewReport{Description: "下水道堵", HasLocation: true, Lon: 117.2, Lat: 39.1})
	manhole, _ := h.svc.Create(context.Background(), NewReport{Description: "井盖丢了很危险", HasLocation: true, Lon: 117.21, Lat: 39.1}) // emergency 2 h
	answered, _ := h.svc.Create(context.Background(), NewReport{Description: "积水严重", HasLocation: true, Lon: 117.22, Lat: 39.1})
	act(t, h, water(), answered.Order.ID, ActionRequest{Action: ActAcknowledge})
	act(t, h, water(), answered.Order.ID, ActionRequest{Action: ActFeedback, Reason: "已处理"})

	h.clock.T = h.clock.T.Add(100 * time.Minute) // 83 % of 2 h: reminder for the manhole only
	n, err := h.svc.ProcessDue(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("first run: %d %v", n, err)
	}
	// The process is down for two days; on start everything missed is done once.
	h.clock.T = h.clock.T.Add(48 * time.Hour)
	svc2, err := New(context.Background(), Options{Repo: h.repo, Clock: h.clock, Notify: h.svc.notify})
	if err != nil {
		t.Fatal(err)
	}
	n, err = svc2.ProcessDue(context.Background())
	if err != nil || n != 3 { // manhole escalate; drain remind + escalate
		t.Fatalf("catch-up: %d %v", n, err)
	}
	if n, _ = svc2.ProcessDue(context.Background()); n != 0 {
		t.Fatalf("second catch-up did %d moves", n)
	}
	for _, tc := range []struct {
		id   int64
		want string
	}{{drain.Order.ID, "remind,escalate"}, {manhole.Order.ID, "remind,escalate"}, {answered.Order.ID, ""}} {
		evs, _ := h.repo.Events(context.Background(), tc.id)
		var got []string
		for _, e := range evs {
			if e.Action == ActRemind || e.Action == ActEscalate {
				got = append(got, string(e.Action))
				if e.ActorRole != RoleSystem {
					t.Errorf("deadline move by %s", e.ActorRole)
				}
			}
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("order %d: %v, want %s", tc.id, got, tc.want)
		}
	}
	o, _ := h.repo.GetOrder(context.Background(), drain.Order.ID)
	if !o.Reminded || !o.Escalated || !o.Overdue(h.clock.T) {
		t.Errorf("drain flags %+v", o)
	}
	if h.noticesTo("operator", ActEscalate) != 2 || h.noticesTo("dept", ActRemind) != 2 {
		t.Errorf("escalation notices %d", h.noticesTo("operator", ActEscalate))
	}
	st, err := svc2.Counts(operator())
	if err != nil || st.Overdue != 2 || st.Open != 3 {
		t.Errorf("counts %+v %v", st, err)
	}
}

func TestCreateValidation(t *testing.T) {
	h := newHarness(t, nil)
	long := strings.Repeat("水", 4001)
	tests := []struct {
		name string
		ctx  context.Context
		in   NewReport
		code string
	}{
		{"empty", context.Background(), NewReport{Address: "x"}, citybrain.EINVALID},
		{"no location", context.Background(), NewReport{Description: "积水"}, citybrain.EINVALID},
		{"too long", context.Background(), NewReport{Description: long, Address: "x"}, citybrain.EINVALID},
		{"bad coords", context.Background(), NewReport{Description: "积水", HasLocation: true, Lon: 200}, citybrain.EINVALID},
		{"bad category", context.Background(), NewReport{Description: "积水", Address: "x", Category: "NOPE"}, citybrain.EINVALID},
		{"bad priority", context.Background(), NewReport{Description: "积水", Address: "x", Priority: "asap"}, citybrain.EINVALID},
		{"anonymous staff source", context.Background(), NewReport{Source: SourceStaff, Description: "积水"}, citybrain.EFORBIDDEN},
		{"citizen alert source", as(citybrain.RoleCitizen, "", "", 7), NewReport{Source: SourceAlert, Description: "积水"}, citybrain.EFORBIDDEN},
		{"anonymous open311", context.Background(), NewReport{Source: SourceOpen311, Description: "积水", Address: "x"}, citybrain.EUNAUTHORIZED},
		{"unknown source", context.Background(), NewReport{Source: "fax", Description: "积水", Address: "x"}, citybrain.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.svc.Create(tc.ctx, tc.in)
			if citybrain.ErrorCode(err) != tc.code {
				t.Errorf("err = %v, want %s", err, tc.code)
			}
		})
	}
	// Exactly 4000 runes is fine.
	if _, err := h.svc.Create(context.Background(), NewReport{Description: long[:len(long)-3], Address: "x"}); err != nil {
		t.Errorf("4000 runes rejected: %v", err)
	}
}

func TestSettingsAdminOnlyAndPersisted(t *testing.T) {
	h := newHarness(t, nil)
	if _, err := h.svc.SetCatalogueEntry(operator(), CatalogueEntry{Category: "NOISE", Lead: "PUBLIC_SECURITY"}); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
		t.Fatalf("operator edits catalogue: %v", err)
	}
	if _, err := h.svc.SetCatalogueEntry(admin(), CatalogueEntry{Category: "NOISE", Lead: "NOPE"}); citybrain.ErrorCode(err) != citybrain.EINVALID {
		t.Fatalf("unknown dept: %v", err)
	}
	if _, err := h.svc.SetCatalogueEntry(admin(), CatalogueEntry{Category: "NOISE", Lead: "PUBLIC_SECURITY", Assist: []string{"ECO_ENV"}}); err != nil {
		t.Fatal(err)
	}
	p := DefaultSLAPolicy()
	p.Rules = append([]SLARule{{Name: "噪声", Category: "NOISE", Amount: 3, Unit: UnitWorkingDays}}, p.Rules...)
	if err := h.svc.SetSLAPolicy(admin(), p); err != nil {
		t.Fatal(err)
	}
	cc, _ := DefaultCalendarConfig()
	cc.OfficeHours = [][2]string{{"08:30", "12:00"}, {"14:00", "18:00"}}
	if err := h.svc.SetCalendar(admin(), cc); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.TriageThreshold = 0.2
	if err := h.svc.SetSettings(admin(), cfg); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.ExtendDictionary(admin(), []Category{{Code: "NOISE.NIGHT", Parent: "NOISE", NameZh: "夜间噪声"}}, nil); err != nil {
		t.Fatal(err)
	}
	// A new service over the same repository sees all of it.
	svc2, err := New(context.Background(), Options{Repo: h.repo, Clock: h.clock, Triager: testTriager()})
	if err != nil {
		t.Fatal(err)
	}
	if svc2.Catalogue()["NOISE"].Lead != "PUBLIC_SECURITY" || svc2.SLAPolicy().Rules[0].Name != "噪声" ||
		svc2.Calendar().DayLength() != 7*time.Hour+30*time.Minute || svc2.Settings().TriageThreshold != 0.2 {
		t.Fatal("settings not persisted")
	}
	if _, ok := svc2.Dictionary().Category("NOISE.NIGHT"); !ok {
		t.Fatal("dictionary extension not persisted")
	}
	res, err := svc2.Create(context.Background(), NewReport{Category: "NOISE.NIGHT", Description: "夜里施工", Address: "河西路"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Order.Category != "NOISE" || res.Order.Subcategory != "NOISE.NIGHT" || res.Order.LeadDept != "PUBLIC_SECURITY" || res.Order.SLAName != "噪声" {
		t.Fatalf("%+v", res.Order)
	}
	// Resetting a line restores the taxonomy default.
	if e, err := svc2.SetCatalogueEntry(admin(), CatalogueEntry{Category: "NOISE"}); err != nil || e.Lead != "ECO_ENV" {
		t.Fatalf("reset: %+v %v", e, err)
	}
}

func TestOpenFromAlert(t *testing.T) {
	h := newHarness(t, nil)
	id, no, err := h.svc.OpenFromAlert(context.Background(), AlertOrder{AlertID: "A-1", Title: "水位超限", Category: "DRAINAGE", Priority: PriorityEmergency, HasLocation: true, Lon: 117.2, Lat: 39.1})
	if err != nil || id == 0 || no == "" {
		t.Fatal(err)
	}
	o, _ := h.svc.Get(operator(), id)
	if o.Source != SourceAlert || o.SourceRef != "A-1" || o.LeadDept != "WATER" || !o.Deadline.Equal(h.clock.T.Add(2*time.Hour)) {
		t.Fatalf("%+v", o)
	}
	// Loosely named categories: any case is fine, an unknown one goes to the assistant.
	id, _, err = h.svc.OpenFromAlert(context.Background(), AlertOrder{AlertID: "A-2", Title: "积水告警", Category: "drainage", Priority: "fatal"})
	if o, _ := h.svc.Get(operator(), id); err != nil || o.Category != "DRAINAGE" || o.Priority != PriorityNormal {
		t.Fatalf("lowercase category: %v %+v", err, o)
	}
	id, _, err = h.svc.OpenFromAlert(context.Background(), AlertOrder{AlertID: "A-3", Title: "设备离线", Category: "floods"})
	if o, _ := h.svc.Get(operator(), id); err != nil || o.State != StateTriage {
		t.Fatalf("unknown category: %v %+v", err, o)
	}
}

func TestTrackingNumberAndToken(t *testing.T) {
	day := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	if got := TrackingNumber(day, 123); got != "2026112800123" {
		t.Errorf("TrackingNumber = %s", got)
	}
	if got := TrackingNumber(day, 123456); got != "20261128123456" || !ValidTrackingNumber(got) {
		t.Errorf("TrackingNumber overflow = %s", got)
	}
	a, ha, _ := NewToken(nil)
	b, _, _ := NewToken(nil)
	if a == b || len(a) != 32 || HashToken(strings.ToUpper(a)) != ha {
		t.Errorf("tokens %s %s", a, b)
	}
	if ValidTrackingNumber("2026-11") || ValidTrackingNumber("") {
		t.Error("ValidTrackingNumber accepts junk")
	}
}

func TestHaversine(t *testing.T) {
	// One thousandth of a degree of latitude is about 111 m.
	if d := Haversine(117.2, 39.1, 117.2, 39.101); d < 110 || d > 112 {
		t.Errorf("Haversine = %f", d)
	}
	if d := Haversine(116.397, 39.909, 121.473, 31.230); d < 1060e3 || d > 1075e3 { // Beijing–Shanghai ≈ 1068 km
		t.Errorf("Beijing–Shanghai = %f", d)
	}
}

// Two people making moves on the same order at once: exactly one wins, the others get a
// conflict, and the history records one acknowledgement.
func TestConcurrentMovesOneWins(t *testing.T) {
	h := newHarness(t, nil)
	res, err := h.svc.Create(context.Background(), NewReport{Description: "下水道堵", HasLocation: true, Lon: 117.2, Lat: 39.1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = h.svc.Act(water(), res.Order.ID, ActionRequest{Action: ActAcknowledge})
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch citybrain.ErrorCode(err) {
		case "":
			ok++
		case citybrain.ECONFLICT:
		default:
			t.Errorf("unexpected %v", err)
		}
	}
	evs, _ := h.repo.Events(context.Background(), res.Order.ID)
	n := 0
	for _, e := range evs {
		if e.Action == ActAcknowledge {
			n++
		}
	}
	if ok != 1 || n != 1 {
		t.Fatalf("%d moves succeeded, %d recorded", ok, n)
	}
}

func TestSummarize(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	day0 := h.clock.T
	// Yesterday: one drain report. Today: two drains (one emergency manhole), one noise in the queue.
	h.clock.T = day0.Add(-24 * time.Hour)
	h.svc.Create(ctx, NewReport{Description: "下水道堵", HasLocation: true, Lon: 117.2, Lat: 39.1})
	h.clock.T = day0.Add(time.Hour)
	d1, _ := h.svc.Create(ctx, NewReport{Description: "积水严重", HasLocation: true, Lon: 117.3, Lat: 39.1})
	h.svc.Create(ctx, NewReport{Description: "井盖丢了", HasLocation: true, Lon: 117.4, Lat: 39.1})
	h.svc.Create(ctx, NewReport{Description: "楼上天天有动静", Address: "友谊路"})
	act(t, h, water(), d1.Order.ID, ActionRequest{Action: ActAcknowledge})
	act(t, h, water(), d1.Order.ID, ActionRequest{Action: ActFeedback, Reason: "已处理"})
	act(t, h, gridman(), d1.Order.ID, ActionRequest{Action: ActVerify})
	act(t, h, operator(), d1.Order.ID, ActionRequest{Action: ActClose})
	h.clock.T = day0.Add(20 * time.Hour)
	if _, err := h.svc.Summarize(as(citybrain.RoleCitizen, "", "", 9), time.Time{}, time.Time{}, ""); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
		t.Fatalf("citizen: %v", err)
	}
	sum, err := h.svc.Summarize(operator(), day0, day0.Add(24*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	if sum.New != 3 || sum.PreviousNew != 1 || sum.Closed != 1 || sum.Open != 3 || sum.Triage != 1 || sum.Overdue != 2 ||
		sum.ByCategory["DRAINAGE"] != 1 || sum.ByCategory["ROAD"] != 1 || sum.PreviousByCategory["DRAINAGE"] != 1 ||
		len(sum.Emergencies) != 1 || len(sum.OverdueList) != 2 || sum.ByStreet["S-HEXI"] != 2 ||
		len(sum.Hotspots) != 1 || sum.Hotspots[0] != (Hotspot{Area: "G-0101", Count: 2}) {
		t.Fatalf("summary %+v", sum)
	}
	if sum.Emergencies[0].Reporters != nil {
		t.Error("summary leaks reporters")
	}
	if _, err := h.svc.Summarize(operator(), day0, day0.Add(-time.Hour), ""); citybrain.ErrorCode(err) != citybrain.EINVALID {
		t.Fatalf("reversed period: %v", err)
	}
}

// Units see the orders they lead or assist, workers those of their area, citizens their own.
func TestReadScopes(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	drain, _ := h.svc.Create(ctx, NewReport{Description: "下水道堵", HasLocation: true, Lon: 117.2, Lat: 39.1})
	far, _ := h.svc.Create(ctx, NewReport{Description: "积水", HasLocation: true, Lon: 116.2, Lat: 39.1}) // outside the map
	mine, _ := h.svc.Create(as(citybrain.RoleCitizen, "", "", 77), NewReport{Description: "井盖丢了", Address: "友谊路"})
	act(t, h, operator(), drain.Order.ID, ActionRequest{Action: ActReassign, Dept: "WATER", Assist: []string{"URBAN_MGMT"}})
	tests := []struct {
		name string
		ctx  context.Context
		id   int64
		ok   bool
	}{
		{"lead unit", water(), drain.Order.ID, true},
		{"assisting unit", urban(), drain.Order.ID, true},
		{"other unit", as(citybrain.RoleDept, "HEALTH", "", 30), drain.Order.ID, false},
		{"worker of the grid", gridman(), drain.Order.ID, true},
		{"worker elsewhere", farGrid(), drain.Order.ID, false},
		{"worker, order outside the map", gridman(), far.Order.ID, false},
		{"reporter", as(citybrain.RoleCitizen, "", "", 77), mine.Order.ID, true},
		{"another citizen", as(citybrain.RoleCitizen, "", "", 78), mine.Order.ID, false},
		{"auditor", as(citybrain.RoleAuditor, "", "", 31), far.Order.ID, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.svc.Get(tc.ctx, tc.id)
			if (err == nil) != tc.ok || (err != nil && citybrain.ErrorCode(err) != citybrain.ENOTFOUND) {
				t.Fatalf("Get: %v, want ok=%v", err, tc.ok)
			}
		})
	}
	lists := []struct {
		name string
		ctx  context.Context
		want int
	}{
		{"operator", operator(), 3}, {"water", water(), 2}, {"urban leads none", urban(), 0}, {"grid worker", gridman(), 1},
		{"citizen", as(citybrain.RoleCitizen, "", "", 77), 1},
	}
	for _, tc := range lists {
		got, err := h.svc.List(tc.ctx, Filter{})
		if err != nil || len(got) != tc.want {
			t.Errorf("%s lists %d (%v), want %d", tc.name, len(got), err, tc.want)
		}
	}
	if _, err := h.svc.List(as(citybrain.RoleWorker, "", "", 40), Filter{}); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
		t.Errorf("worker without area: %v", err)
	}
}
