package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/alert"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/rule"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

// ruleHistory is recent history for dry runs: one drain-level station that flooded twice.
type ruleHistory struct{ t0 time.Time }

func (h ruleHistory) Devices(context.Context, string, []string, int) ([]rule.DeviceInfo, error) {
	return []rule.DeviceInfo{{ID: "ws-1", Profile: "drain_level", Area: "D1/S1/C1/G1"}}, nil
}

func (h ruleHistory) Readings(_ context.Context, dev, m string, from, to time.Time) ([]rule.Reading, error) {
	var out []rule.Reading
	for i, v := range []float64{10, 35, 36, 37, 10, 10, 40, 41, 42, 43, 10} {
		ts := h.t0.Add(time.Duration(i) * time.Minute)
		if !ts.Before(from) && ts.Before(to) {
			out = append(out, rule.Reading{DeviceID: dev, Measurement: m, TS: ts.UnixMilli(), Value: v})
		}
	}
	return out, nil
}

func (h ruleHistory) Events(context.Context, string, time.Time, time.Time) ([]rule.Event, error) {
	return nil, nil
}

func newRuleServer(t *testing.T) (http.Handler, *rule.Service, *alert.Manager, string) {
	t.Helper()
	ctx := context.Background()
	db := storetest.SQLite(t)
	acc := access.NewService(db, citybrain.SystemClock{}, access.Config{BootstrapToken: "boot"})
	if _, err := acc.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatal(err)
	}
	u, err := acc.CreateUser(ctx, access.NewUser{Username: "worker1", Password: "password-worker", Role: citybrain.RoleWorker, Area: "D1"})
	if err != nil {
		t.Fatal(err)
	}
	_, worker, err := acc.CreateToken(ctx, u.ID, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	catalog := func(p string) (rule.ProfileInfo, bool) {
		if p == "drain_level" {
			return rule.ProfileInfo{Measurements: []string{"level_cm", "battery"}}, true
		}
		return rule.ProfileInfo{}, false
	}
	devices := map[string]rule.DeviceInfo{"ws-1": {ID: "ws-1", Profile: "drain_level", Area: "D1/S1/C1/G1"}}
	engine := rule.NewEngine(rule.Config{Lookup: func(id string) (rule.DeviceInfo, bool) { d, ok := devices[id]; return d, ok }, Catalog: catalog})
	alerts := alert.NewManager(alert.Config{Repo: db})
	t0 := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	rules := rule.NewService(rule.ServiceConfig{Repo: db, Engine: engine, Catalog: catalog, History: ruleHistory{t0},
		Signals: func(ctx context.Context, sigs []rule.Signal) {
			for _, s := range sigs {
				alerts.Apply(ctx, s)
			}
		}})
	s := httpapi.New(httpapi.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)), acc, prometheus.NewRegistry())
	s.Mount(httpapi.RuleRoutes(s, httpapi.RuleServices{Rules: rules, Alerts: alerts, AlertRepo: db, Subs: db, Counts: db.AlertCounts})...)
	return s.Handler(), rules, alerts, worker
}

func TestRuleRoutes(t *testing.T) {
	h, rules, alerts, worker := newRuleServer(t)
	ctx := context.Background()

	// a condition with a mistake: 400 pointing at it
	rec := call(t, h, "POST", "/api/v1/rules", "boot", `{"name":"积水","profile":"drain_level","condition":"level_cm > 30 && levl > 1","for":"2m","severity":"critical"}`)
	if rec.Code != 400 {
		t.Fatalf("bad condition: %d %s", rec.Code, rec.Body)
	}
	var ce httpapi.ConditionErrorBody
	json.Unmarshal(rec.Body.Bytes(), &ce)
	if ce.Error.Code != "invalid" || ce.Error.Field != "condition" || ce.Error.Line != 1 || ce.Error.Column != 18 || !strings.Contains(ce.Error.Snippet, "^") || ce.Error.MessageZh == "" {
		t.Fatalf("condition error %+v", ce.Error)
	}
	for _, body := range []string{
		`{"name":"","profile":"drain_level","condition":"level_cm > 30","severity":"critical"}`,
		`{"name":"x","profile":"nope","condition":"level_cm > 30","severity":"critical"}`,
		`{"name":"x","profile":"drain_level","condition":"level_cm > 30","severity":"critical","for":"soon"}`,
		`{"name":"x","profile":"drain_level","condition":"level_cm > 30","severity":"fatal"}`,
	} {
		if rec := call(t, h, "POST", "/api/v1/rules", "boot", body); rec.Code != 400 {
			t.Errorf("%s: %d %s", body, rec.Code, rec.Body)
		}
	}
	// create, with the minimal fields of the issue
	rec = call(t, h, "POST", "/api/v1/rules", "boot", `{"name":"积水超过30厘米","profile":"drain_level","condition":"level_cm > 30","for":"2m","severity":"critical","area_scope":["D1/S1"]}`)
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var created rule.Rule
	json.Unmarshal(rec.Body.Bytes(), &created)
	if created.ID == "" || !created.Enabled || created.For.D() != 2*time.Minute || created.Kind != rule.KindCondition {
		t.Fatalf("created %+v", created)
	}
	id := created.ID
	// a worker may read but not write
	if rec := call(t, h, "GET", "/api/v1/rules/"+id, worker, ""); rec.Code != 200 {
		t.Fatalf("worker get: %d", rec.Code)
	}
	if rec := call(t, h, "POST", "/api/v1/rules", worker, `{"name":"x","profile":"drain_level","condition":"level_cm > 1","severity":"info"}`); rec.Code != 403 {
		t.Fatalf("worker create: %d", rec.Code)
	}
	if rec := call(t, h, "POST", "/api/v1/rules/validate", "boot", `{"name":"x","profile":"drain_level","condition":"avg(\"level_cm\", \"10m\") > 3","severity":"info"}`); rec.Code != 200 {
		t.Fatalf("validate: %d %s", rec.Code, rec.Body)
	}
	// dry run over the history: fired twice
	rec = call(t, h, "POST", "/api/v1/rules/"+id+"/dry-run", "boot", `{"from":"`+time.Now().Add(-3*time.Hour).Format(time.RFC3339)+`"}`)
	var dr rule.DryRunResult
	json.Unmarshal(rec.Body.Bytes(), &dr)
	if rec.Code != 200 || dr.Fired != 2 || len(dr.Firings) != 2 || dr.Firings[0].ResolvedAt == nil {
		t.Fatalf("dry run: %d %s", rec.Code, rec.Body)
	}
	rec = call(t, h, "POST", "/api/v1/rules/dry-run", "boot", `{"rule":{"name":"y","profile":"drain_level","condition":"level_cm > 40","severity":"info"}}`)
	json.Unmarshal(rec.Body.Bytes(), &dr)
	if rec.Code != 200 || dr.Fired != 1 {
		t.Fatalf("unsaved dry run: %d %s", rec.Code, rec.Body)
	}
	// the engine evaluates the saved rule: a reading fires it, an alert appears
	now := time.Now()
	for i, v := range []float64{35, 36, 37} {
		for _, s := range rules.Engine().Readings([]rule.Reading{{DeviceID: "ws-1", Measurement: "level_cm", TS: now.Add(time.Duration(i) * time.Minute).UnixMilli(), Value: v}}) {
			if _, err := alerts.Apply(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	rec = call(t, h, "GET", "/api/v1/alerts?status=firing&area=D1/S1&severity=critical", worker, "")
	var page httpapi.Page[alert.Alert]
	json.Unmarshal(rec.Body.Bytes(), &page)
	if rec.Code != 200 || len(page.Items) != 1 || page.Items[0].RuleID != id || page.Items[0].Status != alert.StatusFiring {
		t.Fatalf("alerts: %d %s", rec.Code, rec.Body)
	}
	aid := page.Items[0].ID
	rec = call(t, h, "GET", "/api/v1/alerts/summary", worker, "")
	var sum httpapi.AlertSummary
	json.Unmarshal(rec.Body.Bytes(), &sum)
	if rec.Code != 200 || sum.Open != 1 || sum.Firing["critical"] != 1 {
		t.Fatalf("summary: %d %s", rec.Code, rec.Body)
	}
	for _, q := range []string{"status=burning", "severity=huge", "from=yesterday", "limit=0", "cursor=!!!"} {
		if rec := call(t, h, "GET", "/api/v1/alerts?"+q, worker, ""); rec.Code != 400 {
			t.Errorf("%s: %d", q, rec.Code)
		}
	}
	if rec := call(t, h, "POST", "/api/v1/alerts/"+jsonNum(aid)+"/ack", worker, `{"note":"x"}`); rec.Code != 403 {
		t.Fatalf("worker ack: %d", rec.Code)
	}
	if rec := call(t, h, "POST", "/api/v1/alerts/"+jsonNum(aid)+"/ack", "boot", `{"note":"已通知排水队"}`); rec.Code != 200 {
		t.Fatalf("ack: %d %s", rec.Code, rec.Body)
	}
	if rec := call(t, h, "POST", "/api/v1/alerts/"+jsonNum(aid)+"/ack", "boot", `{}`); rec.Code != 409 {
		t.Fatalf("second ack: %d %s", rec.Code, rec.Body)
	}
	if rec := call(t, h, "POST", "/api/v1/alerts/"+jsonNum(aid)+"/resolve", "boot", `{"note":""}`); rec.Code != 400 {
		t.Fatalf("resolve without note: %d %s", rec.Code, rec.Body)
	}
	if rec := call(t, h, "POST", "/api/v1/alerts/"+jsonNum(aid)+"/resolve", "boot", `{"note":"已排水"}`); rec.Code != 200 {
		t.Fatalf("resolve: %d %s", rec.Code, rec.Body)
	}
	rec = call(t, h, "GET", "/api/v1/alerts/"+jsonNum(aid), "boot", "")
	var got alert.Alert
	json.Unmarshal(rec.Body.Bytes(), &got)
	if rec.Code != 200 || got.Status != alert.StatusResolved || len(got.History) != 4 || len(got.Readings) == 0 || got.History[3].Note != "已排水" {
		t.Fatalf("alert detail: %d %s", rec.Code, rec.Body)
	}
	if rec := call(t, h, "GET", "/api/v1/alerts/99999", "boot", ""); rec.Code != 404 {
		t.Fatalf("missing alert: %d", rec.Code)
	}
	// patch, disable, delete
	rec = call(t, h, "PATCH", "/api/v1/rules/"+id, "boot", `{"condition":"level_cm > 50"}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "level_cm \\u003e 50") && !strings.Contains(rec.Body.String(), "level_cm > 50") {
		t.Fatalf("patch: %d %s", rec.Code, rec.Body)
	}
	if rec := call(t, h, "PATCH", "/api/v1/rules/"+id, "boot", `{"condition":"level_cm >"}`); rec.Code != 400 {
		t.Fatalf("bad patch: %d", rec.Code)
	}
	if rec := call(t, h, "POST", "/api/v1/rules/"+id+"/disable", "boot", ""); rec.Code != 200 || strings.Contains(rec.Body.String(), `"enabled":true`) {
		t.Fatalf("disable: %d %s", rec.Code, rec.Body)
	}
	rec = call(t, h, "GET", "/api/v1/rules?enabled=false", "boot", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), id) {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	if rec := call(t, h, "DELETE", "/api/v1/rules/"+id, "boot", ""); rec.Code != 204 {
		t.Fatalf("delete: %d", rec.Code)
	}
	if rec := call(t, h, "GET", "/api/v1/rules/"+id, "boot", ""); rec.Code != 404 {
		t.Fatalf("deleted rule: %d", rec.Code)
	}
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestWebhookRoutes(t *testing.T) {
	h, _, _, worker := newRuleServer(t)
	rec := call(t, h, "POST", "/api/v1/webhooks", "boot", `{"name":"值班群","url":"https://127.0.0.1/hook","events":["alert.firing"]}`)
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var v httpapi.SubscriptionView
	json.Unmarshal(rec.Body.Bytes(), &v)
	if len(v.Secret) != 64 || !v.Enabled {
		t.Fatalf("created %+v", v)
	}
	rec = call(t, h, "GET", "/api/v1/webhooks/"+jsonNum(v.ID), "boot", "")
	if rec.Code != 200 || strings.Contains(rec.Body.String(), v.Secret) || !strings.Contains(rec.Body.String(), v.Secret[60:]) {
		t.Fatalf("get leaks or lacks hint: %s", rec.Body)
	}
	if rec := call(t, h, "GET", "/api/v1/webhooks", worker, ""); rec.Code != 403 {
		t.Fatalf("worker list: %d", rec.Code)
	}
	if rec := call(t, h, "POST", "/api/v1/webhooks", "boot", `{"name":"x","url":"file:///etc/passwd"}`); rec.Code != 400 {
		t.Fatalf("bad url: %d", rec.Code)
	}
	if rec := call(t, h, "PUT", "/api/v1/webhooks/"+jsonNum(v.ID), "boot", `{"name":"值班群2","url":"https://127.0.0.1/hook2","enabled":false}`); rec.Code != 200 {
		t.Fatalf("put: %d %s", rec.Code, rec.Body)
	}
	if rec := call(t, h, "GET", "/api/v1/webhooks/"+jsonNum(v.ID)+"/deliveries", "boot", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"items":[]`) {
		t.Fatalf("deliveries: %d %s", rec.Code, rec.Body)
	}
	if rec := call(t, h, "DELETE", "/api/v1/webhooks/"+jsonNum(v.ID), "boot", ""); rec.Code != 204 {
		t.Fatalf("delete: %d", rec.Code)
	}
	if rec := call(t, h, "GET", "/api/v1/webhooks/"+jsonNum(v.ID), "boot", ""); rec.Code != 404 {
		t.Fatalf("deleted: %d", rec.Code)
	}
}
