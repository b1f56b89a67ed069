package store_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/alert"
	"github.com/citybrain/citybrain/internal/rule"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/store/storetest"
)

// The SQL rule repository behaves like the in-memory one.
func TestRuleRepositoryConformance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
		for _, r := range []rule.Repository{db, rule.NewMemoryRepo()} {
			name := fmt.Sprintf("%T", r)
			rules := []rule.Rule{
				{ID: "wl-high", Name: "积水超过30厘米", Profile: "drain_level", Kind: rule.KindCondition, Condition: "level_cm > 30",
					For: rule.Duration(2 * time.Minute), Severity: rule.SeverityCritical, Enabled: true, AreaScope: []string{"D1/S1"},
					OpenWorkOrder: true, WorkOrderCategory: "drainage", CreatedAt: now, UpdatedAt: now},
				{ID: "elder", Name: "独居老人", Profile: "door_sensor", Kind: rule.KindAbsence, Activity: []string{"door_open"},
					For: rule.Duration(12 * time.Hour), DailyWindow: &rule.DailyWindow{Start: "08:00", End: "20:00"}, Severity: rule.SeverityWarning, CreatedAt: now, UpdatedAt: now},
			}
			for _, x := range rules {
				if err := r.CreateRule(ctx, x); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			if err := r.CreateRule(ctx, rules[0]); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
				t.Fatalf("%s: duplicate: %v", name, err)
			}
			got, err := r.GetRule(ctx, "elder")
			if err != nil || !reflect.DeepEqual(got, rules[1]) {
				t.Fatalf("%s: get %+v %v", name, got, err)
			}
			rules[0].Enabled, rules[0].Condition = false, "level_cm > 40"
			if err := r.UpdateRule(ctx, rules[0]); err != nil {
				t.Fatal(err)
			}
			list, err := r.ListRules(ctx)
			if err != nil || len(list) != 2 || list[0].ID != "elder" || list[1].Condition != "level_cm > 40" || list[1].Enabled {
				t.Fatalf("%s: list %+v %v", name, list, err)
			}
			for _, err := range []error{r.UpdateRule(ctx, rule.Rule{ID: "nope"}), r.DeleteRule(ctx, "nope")} {
				if citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
					t.Fatalf("%s: want not found, got %v", name, err)
				}
			}
			if _, err := r.GetRule(ctx, "nope"); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
				t.Fatalf("%s: get missing: %v", name, err)
			}
			if err := r.DeleteRule(ctx, "elder"); err != nil {
				t.Fatal(err)
			}
			if s, err := r.LoadRuleState(ctx); s != nil || err != nil {
				t.Fatalf("%s: empty state %v %v", name, s, err)
			}
			for _, s := range [][]byte{[]byte(`{"version":1}`), []byte(`{"version":1,"devices":[]}`)} {
				if err := r.SaveRuleState(ctx, s, now); err != nil {
					t.Fatal(err)
				}
			}
			if s, err := r.LoadRuleState(ctx); string(s) != `{"version":1,"devices":[]}` || err != nil {
				t.Fatalf("%s: state %q %v", name, s, err)
			}
		}
	})
}

// The SQL alert repository behaves like the in-memory one under the alert manager.
func TestAlertRepositoryConformance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
		results := map[string]string{}
		for _, repo := range []interface {
			alert.Repository
			alert.SubscriptionRepository
		}{db, alert.NewMemoryRepo()} {
			name := fmt.Sprintf("%T", repo)
			ctx := citybrain.WithActor(context.Background(), &citybrain.Actor{Username: "张三", Role: citybrain.RoleOperator})
			clock := &citybrain.FixedClock{T: t0}
			m := alert.NewManager(alert.Config{Repo: repo, Clock: clock, EscalateAfter: 10 * time.Minute})
			sig := func(dev, area string, st rule.State, at time.Duration, sev rule.Severity) rule.Signal {
				return rule.Signal{RuleID: "wl-high", RuleName: "积水", Kind: rule.KindCondition, Severity: sev, DeviceID: dev, Profile: "drain_level",
					Area: area, State: st, At: t0.Add(at), Since: t0.Add(at), Value: 35, Summary: "积水 " + dev,
					Readings: []rule.Reading{{DeviceID: dev, Measurement: "level_cm", TS: t0.UnixMilli(), Value: 35}}}
			}
			steps := []rule.Signal{
				sig("ws-1", "D1/S1/C1", rule.StatePending, 0, rule.SeverityCritical),
				sig("ws-1", "D1/S1/C1", rule.StateFiring, 2*time.Minute, rule.SeverityCritical),
				sig("ws-1", "D1/S1/C1", rule.StateFiring, 3*time.Minute, rule.SeverityCritical),
				sig("ws-2", "D1/S2/C1", rule.StateFiring, 4*time.Minute, rule.SeverityWarning),
				sig("ws_3", "D1/S1_x", rule.StateFiring, 5*time.Minute, rule.SeverityWarning),
				sig("ws-2", "D1/S2/C1", rule.StateInactive, 6*time.Minute, rule.SeverityWarning),
				sig("ws-2", "D1/S2/C1", rule.StateFiring, 7*time.Minute, rule.SeverityWarning),
			}
			for _, s := range steps {
				if _, err := m.Apply(ctx, s); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			// the store refuses a second open alert for one (rule, entity)
			dup := &alert.Alert{RuleID: "wl-high", Entity: "ws-1", DeviceID: "ws-1", Status: alert.StatusFiring, StartsAt: t0, UpdatedAt: t0}
			if err := repo.CreateAlert(ctx, dup, alert.Transition{At: t0, To: alert.StatusFiring}); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
				t.Fatalf("%s: duplicate open alert: %v", name, err)
			}
			clock.T = t0.Add(15 * time.Minute)
			if _, err := m.Escalate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Ack(ctx, 1, "收到"); err != nil {
				t.Fatalf("%s: ack: %v", name, err)
			}
			if _, err := m.Resolve(ctx, 3, "现场处理完毕"); err != nil {
				t.Fatalf("%s: resolve: %v", name, err)
			}
			a, err := repo.GetAlert(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if a.Count != 3 || a.Level != 1 || a.Status != alert.StatusAcknowledged || a.AckedBy != "张三" || len(a.Readings) != 1 || !a.StartsAt.Equal(t0) {
				t.Fatalf("%s: alert 1 %+v", name, a)
			}
			out := fmt.Sprintf("count=%d level=%d status=%s history=", a.Count, a.Level, a.Status)
			for _, h := range a.History {
				out += fmt.Sprintf("[%s>%s L%d %s %q %s]", h.From, h.To, h.Level, h.Actor, h.Note, h.At.UTC().Format("15:04"))
			}
			filters := []alert.Filter{
				{},
				{Status: []alert.Status{alert.StatusFiring, alert.StatusAcknowledged}},
				{Status: alert.OpenStatuses(), Area: "D1/S1"},
				{Area: "D1/S1_"}, // LIKE wildcards are literal
				{Severity: rule.SeverityWarning},
				{DeviceID: "ws-2"},
				{Entity: "ws_3"},
				{From: t0.Add(4 * time.Minute), To: t0.Add(6 * time.Minute)},
				{Limit: 2},
				{Limit: 2, Cursor: 3},
			}
			for i, f := range filters {
				list, err := repo.ListAlerts(ctx, f)
				if err != nil {
					t.Fatalf("%s: filter %d: %v", name, i, err)
				}
				out += fmt.Sprintf("\nfilter %d:", i)
				for _, a := range list {
					out += fmt.Sprintf(" %d/%s/%s", a.ID, a.DeviceID, a.Status)
				}
			}
			if _, err := repo.GetAlert(ctx, 99); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
				t.Fatalf("%s: missing alert: %v", name, err)
			}
			// subscriptions and deliveries
			s := &alert.Subscription{Name: "值班", URL: "https://127.0.0.1/hook", Secret: "0123456789abcdef", Events: []string{alert.EventFiring}, Enabled: true, CreatedAt: t0}
			if err := repo.CreateSubscription(ctx, s); err != nil {
				t.Fatal(err)
			}
			s.Enabled, s.MinSeverity = false, rule.SeverityCritical
			if err := repo.UpdateSubscription(ctx, s); err != nil {
				t.Fatal(err)
			}
			got, err := repo.GetSubscription(ctx, s.ID)
			if err != nil || got.Enabled || got.MinSeverity != rule.SeverityCritical || got.Events[0] != alert.EventFiring || !got.CreatedAt.Equal(t0) {
				t.Fatalf("%s: subscription %+v %v", name, got, err)
			}
			for i := 1; i <= 3; i++ {
				d := &alert.Delivery{SubscriptionID: s.ID, DeliveryID: "d1", Event: alert.EventFiring, AlertID: 1, Attempt: i, StatusCode: 500 + i, Final: i == 3, Error: "HTTP", At: t0}
				if err := repo.RecordDelivery(ctx, d); err != nil || d.ID == 0 {
					t.Fatalf("%s: delivery %v", name, err)
				}
			}
			ds, err := repo.ListDeliveries(ctx, s.ID, 2)
			if err != nil || len(ds) != 2 || ds[0].Attempt != 3 || !ds[0].Final || ds[0].StatusCode != 503 {
				t.Fatalf("%s: deliveries %+v %v", name, ds, err)
			}
			if err := repo.DeleteSubscription(ctx, s.ID); err != nil {
				t.Fatal(err)
			}
			if err := repo.DeleteSubscription(ctx, s.ID); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
				t.Fatalf("%s: delete twice: %v", name, err)
			}
			subs, _ := repo.ListSubscriptions(ctx)
			if len(subs) != 0 {
				t.Fatalf("%s: subscriptions left %+v", name, subs)
			}
			results[name] = out
		}
		var first string
		for _, v := range results {
			if first == "" {
				first = v
			} else if v != first {
				t.Fatalf("SQL and memory differ:\n%s\n---\n%s", first, v)
			}
		}
		t.Log(first)
	})
}

// BenchmarkAlertFireAndResolve measures one alert's life through the alert manager on
// SQLite: created firing (insert + history) then resolved by the rule (update + history).
func BenchmarkAlertFireAndResolve(b *testing.B) {
	db := storetest.SQLite(b)
	ctx := context.Background()
	m := alert.NewManager(alert.Config{Repo: db})
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	i := 0
	for b.Loop() {
		s := rule.Signal{RuleID: "wl-high", RuleName: "积水", Kind: rule.KindCondition, Severity: rule.SeverityCritical,
			DeviceID: fmt.Sprintf("ws-%d", i%1000), Area: "D1/S1", State: rule.StateFiring, At: t0, Since: t0, Value: 35, Summary: "积水",
			Readings: []rule.Reading{{DeviceID: "ws", Measurement: "level_cm", TS: t0.UnixMilli(), Value: 35}}}
		if _, err := m.Apply(ctx, s); err != nil {
			b.Fatal(err)
		}
		s.State = rule.StateInactive
		if _, err := m.Apply(ctx, s); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
