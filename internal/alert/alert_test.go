package alert

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/rule"
)

var t0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))

type recorder struct {
	mu    sync.Mutex
	notes []Notification
	opens []AlertInfo
	chg   []Change
}

func (r *recorder) notify(_ context.Context, n Notification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, n)
}

func (r *recorder) events() string {
	var s []string
	for _, n := range r.notes {
		s = append(s, n.Event)
	}
	return strings.Join(s, ",")
}

func newTestManager(t *testing.T) (*Manager, *MemoryRepo, *citybrain.FixedClock, *recorder) {
	t.Helper()
	repo := NewMemoryRepo()
	clock := &citybrain.FixedClock{T: t0}
	rec := &recorder{}
	m := NewManager(Config{
		Repo: repo, Clock: clock, Notify: rec.notify,
		OnChange:      func(c Change) { rec.chg = append(rec.chg, c) },
		OpenWorkOrder: func(_ context.Context, a AlertInfo) error { rec.opens = append(rec.opens, a); return nil },
		EscalateAfter: 10 * time.Minute,
	})
	return m, repo, clock, rec
}

func sig(state rule.State, at time.Duration) rule.Signal {
	return rule.Signal{
		RuleID: "wl-high", RuleName: "积水超过30厘米", Kind: rule.KindCondition, Severity: rule.SeverityCritical,
		DeviceID: "ws-1", Profile: "waterlogging", Area: "D1/S1/C1/G1", State: state,
		At: t0.Add(at), Since: t0, Value: 35, Summary: "积水超过30厘米 · ws-1：level_cm=35",
		Readings:      []rule.Reading{{DeviceID: "ws-1", Measurement: "level_cm", TS: t0.UnixMilli(), Value: 35}},
		OpenWorkOrder: true, WorkOrderCategory: "drainage",
	}
}

func operator(name string) context.Context {
	return citybrain.WithActor(context.Background(), &citybrain.Actor{UserID: 7, Username: name, Role: citybrain.RoleOperator})
}

func TestLifecycle(t *testing.T) {
	m, repo, clock, rec := newTestManager(t)
	ctx := context.Background()
	a, err := m.Apply(ctx, sig(rule.StatePending, 0))
	if err != nil || a.Status != StatusPending || a.ID == 0 {
		t.Fatalf("pending: %+v %v", a, err)
	}
	if rec.events() != "" || len(rec.opens) != 0 {
		t.Fatalf("pending notified: %s", rec.events())
	}
	b, _ := m.Apply(ctx, sig(rule.StateFiring, 2*time.Minute))
	if b.ID != a.ID || b.Status != StatusFiring || !b.FiredAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("firing: %+v", b)
	}
	if rec.events() != EventFiring || len(rec.opens) != 1 || rec.opens[0].Category != "drainage" || rec.opens[0].AlertID != a.ID {
		t.Fatalf("firing side effects: %s %+v", rec.events(), rec.opens)
	}
	// duplicates fold into the open alert
	m.Apply(ctx, sig(rule.StateFiring, 3*time.Minute))
	clock.T = t0.Add(4 * time.Minute)
	if _, err := m.Ack(operator("张三"), a.ID, "已通知排水队"); err != nil {
		t.Fatal(err)
	}
	m.Apply(ctx, sig(rule.StateFiring, 5*time.Minute))
	got, _ := repo.GetAlert(ctx, a.ID)
	if got.Status != StatusAcknowledged || got.Count != 4 || got.AckedBy != "张三" {
		t.Fatalf("after ack and duplicate: %+v", got)
	}
	// acknowledging twice is a conflict
	if _, err := m.Ack(operator("李四"), a.ID, ""); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
		t.Fatalf("second ack: %v", err)
	}
	// the condition clears: resolved by the rule
	if _, err := m.Apply(ctx, sig(rule.StateInactive, 9*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _ = repo.GetAlert(ctx, a.ID)
	if got.Status != StatusResolved || got.ResolvedBy != ActorRule {
		t.Fatalf("resolved: %+v", got)
	}
	var path []string
	for _, h := range got.History {
		path = append(path, string(h.From)+">"+string(h.To)+"@"+h.Actor)
	}
	if want := ">pending@rule pending>firing@rule firing>acknowledged@张三 acknowledged>resolved@rule"; strings.Join(path, " ") != want {
		t.Fatalf("history %q, want %q", strings.Join(path, " "), want)
	}
	if got.History[2].Note != "已通知排水队" || !got.History[2].At.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("ack transition %+v", got.History[2])
	}
	if rec.events() != EventFiring+","+EventResolved || len(rec.chg) != 4 {
		t.Errorf("notifications %s, changes %d", rec.events(), len(rec.chg))
	}
	// the next firing opens a new alert
	c, _ := m.Apply(ctx, sig(rule.StateFiring, 20*time.Minute))
	if c.ID == a.ID || c.Status != StatusFiring {
		t.Fatalf("new alert %+v", c)
	}
	// an inactive signal with no open alert does nothing
	if x, err := m.Apply(ctx, rule.Signal{RuleID: "other", DeviceID: "ws-1", State: rule.StateInactive}); x != nil || err != nil {
		t.Fatalf("stray inactive: %+v %v", x, err)
	}
}

func TestOperatorResolve(t *testing.T) {
	m, _, _, rec := newTestManager(t)
	a, _ := m.Apply(context.Background(), sig(rule.StateFiring, 0))
	tests := []struct {
		name string
		id   int64
		note string
		code string
	}{
		{"note required", a.ID, "  ", citybrain.EINVALID},
		{"note too long", a.ID, strings.Repeat("长", MaxNoteRunes+1), citybrain.EINVALID},
		{"missing alert", 999, "x", citybrain.ENOTFOUND},
		{"ok", a.ID, "现场确认已排水", ""},
		{"already resolved", a.ID, "again", citybrain.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Resolve(operator("王五"), tt.id, tt.note)
			if citybrain.ErrorCode(err) != tt.code {
				t.Fatalf("err %v, want code %q", err, tt.code)
			}
			if tt.code == "" && (got.Status != StatusResolved || got.ResolvedBy != "王五" || got.History[len(got.History)-1].Note != "现场确认已排水") {
				t.Fatalf("resolved %+v", got)
			}
		})
	}
	if rec.events() != EventFiring+","+EventResolved {
		t.Errorf("events %s", rec.events())
	}
}

func TestEscalation(t *testing.T) {
	m, repo, clock, rec := newTestManager(t)
	ctx := context.Background()
	crit, _ := m.Apply(ctx, sig(rule.StateFiring, 0))
	warn := sig(rule.StateFiring, 0)
	warn.RuleID, warn.Severity = "wl-warn", rule.SeverityWarning
	m.Apply(ctx, warn)
	acked := sig(rule.StateFiring, 0)
	acked.DeviceID = "ws-2"
	ack, _ := m.Apply(ctx, acked)
	m.Ack(operator("张三"), ack.ID, "")

	steps := []struct {
		at    time.Duration
		level int
	}{{9 * time.Minute, 0}, {10 * time.Minute, 1}, {15 * time.Minute, 1}, {20 * time.Minute, 2}, {30 * time.Minute, 3}, {60 * time.Minute, 3}}
	for _, s := range steps {
		clock.T = t0.Add(s.at)
		if _, err := m.Escalate(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ := repo.GetAlert(ctx, crit.ID)
		if got.Level != s.level {
			t.Fatalf("at %s level %d, want %d", s.at, got.Level, s.level)
		}
	}
	if n := strings.Count(rec.events(), EventEscalated); n != 3 {
		t.Errorf("escalation notices %d: %s", n, rec.events())
	}
	for _, id := range []int64{2, ack.ID} {
		if got, _ := repo.GetAlert(ctx, id); got.Level != 0 {
			t.Errorf("alert %d (%s, %s) escalated", id, got.Severity, got.Status)
		}
	}
	got, _ := repo.GetAlert(ctx, crit.ID)
	last := got.History[len(got.History)-1]
	if last.Actor != ActorSystem || last.Level != 3 || !strings.Contains(last.Note, "升级") {
		t.Errorf("escalation transition %+v", last)
	}
}

func TestWorkOrderError(t *testing.T) {
	repo := NewMemoryRepo()
	m := NewManager(Config{Repo: repo, OpenWorkOrder: func(context.Context, AlertInfo) error { return errors.New("work orders down") }})
	a, err := m.Apply(context.Background(), sig(rule.StateFiring, 0))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := repo.GetAlert(context.Background(), a.ID)
	if got.Status != StatusFiring || got.WorkOrderError != "work orders down" {
		t.Fatalf("%+v", got)
	}
}

func TestListFilter(t *testing.T) {
	m, repo, _, _ := newTestManager(t)
	ctx := context.Background()
	for i, area := range []string{"D1/S1/C1", "D1/S1/C2", "D1/S2/C1", "D1/S1/C1"} {
		s := sig(rule.StateFiring, time.Duration(i)*time.Hour)
		s.DeviceID, s.Area, s.Since = "d"+string(rune('a'+i)), area, t0.Add(time.Duration(i)*time.Hour)
		if i == 3 {
			s.Severity = rule.SeverityInfo
		}
		m.Apply(ctx, s)
	}
	tests := []struct {
		f    Filter
		want []int64
	}{
		{Filter{}, []int64{4, 3, 2, 1}},
		{Filter{Area: "D1/S1"}, []int64{4, 2, 1}},
		{Filter{Severity: rule.SeverityCritical, Area: "D1/S1"}, []int64{2, 1}},
		{Filter{From: t0.Add(time.Hour), To: t0.Add(2 * time.Hour)}, []int64{3, 2}},
		{Filter{Limit: 2}, []int64{4, 3}},
		{Filter{Limit: 2, Cursor: 3}, []int64{2, 1}},
		{Filter{Status: []Status{StatusResolved}}, nil},
	}
	for _, tt := range tests {
		list, _ := repo.ListAlerts(ctx, tt.f)
		var ids []int64
		for _, a := range list {
			ids = append(ids, a.ID)
		}
		if len(ids) != len(tt.want) || (len(ids) > 0 && ids[0] != tt.want[0]) || (len(ids) > 1 && ids[len(ids)-1] != tt.want[len(tt.want)-1]) {
			t.Errorf("%+v: got %v want %v", tt.f, ids, tt.want)
		}
	}
}

func TestDispatcherFilters(t *testing.T) {
	var (
		mu  sync.Mutex
		got []Notification
	)
	capture := notifierFunc(func(_ context.Context, n Notification) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, n)
		return nil
	})
	if _, err := NewDispatcher(nil, nil, capture); err == nil {
		t.Fatal("a dispatcher without a filter was accepted")
	}
	mask := func(s string) string { return strings.ReplaceAll(s, "13812345678", "138****5678") }
	d, _ := NewDispatcher(mask, nil, capture)
	a := &Alert{ID: 1, RuleName: "独居老人 13812345678", Summary: "住户 13812345678 无活动", Severity: rule.SeverityCritical}
	if err := d.Deliver(context.Background(), NewNotification(EventResolved, a, "已联系 13812345678", t0)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	b, _ := json.Marshal(got)
	mu.Unlock()
	if strings.Contains(string(b), "13812345678") || !strings.Contains(string(b), "138****5678") {
		t.Fatalf("unfiltered notification: %s", b)
	}
	// Send never blocks: with no worker running, the queue fills and drops
	for range 1100 {
		d.Send(context.Background(), NewNotification(EventFiring, a, "", t0))
	}
	if d.Dropped() != 1100-1024 {
		t.Errorf("dropped %d", d.Dropped())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx, 2); close(done) }()
	for len(d.queue) > 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(got) < 2 {
		t.Errorf("workers delivered %d notifications", len(got)-1)
	}
}

type notifierFunc func(context.Context, Notification) error

func (notifierFunc) Name() string                                       { return "func" }
func (f notifierFunc) Notify(ctx context.Context, n Notification) error { return f(ctx, n) }

func TestSMSAndEmailAdapters(t *testing.T) {
	var sms, mail []string
	s := SMSNotifier{Sender: smsFunc(func(_ context.Context, to, text string) error { sms = append(sms, to+":"+text); return nil }),
		To: func(Notification) []string { return []string{"13800000000", "13900000000"} }}
	e := EmailNotifier{Sender: mailFunc(func(_ context.Context, to []string, subj, body string) error {
		mail = append(mail, subj+"|"+body)
		return nil
	}), To: func(n Notification) []string { return []string{"duty@example.org"} }}
	a := &Alert{ID: 9, RuleName: "r", Summary: strings.Repeat("水", 400), Severity: rule.SeverityWarning}
	n := NewNotification(EventFiring, a, "", t0)
	if err := s.Notify(context.Background(), n); err != nil || len(sms) != 2 || len([]rune(sms[0])) != len("13800000000:")+300 {
		t.Fatalf("sms %v %d", err, len(sms))
	}
	if err := e.Notify(context.Background(), n); err != nil || len(mail) != 1 || !strings.Contains(mail[0], "告警编号 Alert: 9") {
		t.Fatalf("mail %v %v", err, mail)
	}
}

type smsFunc func(context.Context, string, string) error

func (f smsFunc) SendSMS(ctx context.Context, to, text string) error { return f(ctx, to, text) }

type mailFunc func(context.Context, []string, string, string) error

func (f mailFunc) SendEmail(ctx context.Context, to []string, s, b string) error {
	return f(ctx, to, s, b)
}
