package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/assess"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/citybrain/citybrain/internal/workorder"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/xuri/excelize/v2"
)

// newAssessServer serves the assessment routes over SQLite holding 30 orders of street
// S1 and 5 of S2 in 2026-Q3; it returns the handler and tokens by role.
func newAssessServer(t *testing.T) (http.Handler, map[string]string) {
	t.Helper()
	ctx := context.Background()
	db := storetest.SQLite(t)
	acc := access.NewService(db, citybrain.SystemClock{}, access.Config{BootstrapToken: "boot"})
	if _, err := acc.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{"admin": "boot"}
	for _, role := range []string{citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleAuditor, citybrain.RoleCitizen, citybrain.RoleWorker} {
		nu := access.NewUser{Username: "u-" + role, Password: "password-" + role, Role: role}
		if role == citybrain.RoleDept {
			nu.Department = "WATER"
		}
		if role == citybrain.RoleWorker {
			nu.Area = "S1"
		}
		u, err := acc.CreateUser(ctx, nu)
		if err != nil {
			t.Fatal(err)
		}
		if _, tokens[role], err = acc.CreateToken(ctx, u.ID, "t", 0); err != nil {
			t.Fatal(err)
		}
	}
	cst := time.FixedZone("CST", 8*3600)
	t0 := time.Date(2026, 7, 5, 9, 0, 0, 0, cst)
	for i := 0; i < 35; i++ {
		street := "S1"
		if i >= 30 {
			street = "S2"
		}
		c := t0.Add(time.Duration(i) * 24 * time.Hour)
		o := &workorder.Order{TrackingNo: fmt.Sprintf("A%03d", i), TokenHash: fmt.Sprintf("h%d", i), Source: "test", Category: "ROAD",
			Priority: workorder.PriorityNormal, State: workorder.StateClosed, Resolution: workorder.ResolutionFixed, Description: "d",
			Street: street, LeadDept: "WATER", CreatedAt: c, UpdatedAt: c, Deadline: c.Add(48 * time.Hour),
			RespondedAt: c.Add(time.Duration(10+i*2) * time.Hour), ClosedAt: c.Add(time.Duration(12+i*2) * time.Hour)}
		if err := db.CreateOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	svc := assess.NewService(assess.Config{Repo: db, Location: cst, Now: func() time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, cst) }})
	if _, err := svc.ImportTemplates(ctx); err != nil {
		t.Fatal(err)
	}
	s := httpapi.New(httpapi.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)), acc, prometheus.NewRegistry())
	s.Mount(httpapi.AssessRoutes(s, svc)...)
	return s.Handler(), tokens
}

func TestAssessRoutes(t *testing.T) {
	h, tok := newAssessServer(t)
	// Roles: citizens and workers are refused; dept may read but not recompute or edit.
	for _, c := range []struct {
		role, method, path, body string
		want                     int
	}{
		{"citizen", "GET", "/api/v1/assess/systems", "", 403},
		{"worker", "GET", "/api/v1/assess/results?system=wo-street&period=2026-Q3", "", 403},
		{"dept", "POST", "/api/v1/assess/recompute", `{"system":"wo-street","period":"2026-Q3"}`, 403},
		{"operator", "POST", "/api/v1/assess/systems", "id: x", 403},
		{"dept", "GET", "/api/v1/assess/metrics", "", 200},
		{"auditor", "GET", "/api/v1/assess/systems", "", 200},
		{"dept", "GET", "/api/v1/assess/results?system=wo-street&period=2026-Q3", "", 404}, // not computed yet
		{"operator", "POST", "/api/v1/assess/recompute", `{"system":"wo-street","period":"2026-Q9"}`, 400},
		{"operator", "POST", "/api/v1/assess/recompute", `{"system":"nope","period":"2026-Q3"}`, 404},
	} {
		if rec := call(t, h, c.method, c.path, tok[c.role], c.body); rec.Code != c.want {
			t.Errorf("%s %s %s: %d %s, want %d", c.role, c.method, c.path, rec.Code, rec.Body.String(), c.want)
		}
	}
	rec := call(t, h, "POST", "/api/v1/assess/recompute", tok["operator"], `{"system":"wo-street","period":"2026-Q3"}`)
	if rec.Code != 200 {
		t.Fatalf("recompute: %d %s", rec.Code, rec.Body.String())
	}
	var rep assess.Report
	rec = call(t, h, "GET", "/api/v1/assess/results?system=wo-street", tok["dept"], "")
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil || rec.Code != 200 {
		t.Fatalf("results: %d %s", rec.Code, rec.Body.String())
	}
	if rep.Run.Period != "2026-Q3" || len(rep.Results) != 2 || rep.Results[0].Unit != "S1" || !rep.Results[0].Ranked || rep.Results[1].Ranked {
		t.Fatalf("results: %+v", rep.Results)
	}
	if !strings.Contains(rep.Results[1].Reason, "不参与排名") {
		t.Errorf("S2 (5 cases) should say why it is not ranked: %q", rep.Results[1].Reason)
	}
	// Drill-down: S1 orders fed back late (10+2i h > 48 h for i = 20..29: ten orders).
	rec = call(t, h, "GET", "/api/v1/assess/drill?system=wo-street&period=2026-Q3&unit=S1&indicator=ontime", tok["auditor"], "")
	var d struct {
		Total   int             `json:"total"`
		Records []assess.Record `json:"records"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || rec.Code != 200 || d.Total != 10 || len(d.Records) != 10 {
		t.Fatalf("drill: %d total %d %s", rec.Code, d.Total, rec.Body.String())
	}
	// Exports.
	rec = call(t, h, "GET", "/api/v1/assess/export?system=wo-street&period=2026-Q3&format=csv", tok["dept"], "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "S1") || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %q", rec.Code, rec.Body.String())
	}
	rec = call(t, h, "GET", "/api/v1/assess/export?system=wo-street&period=2026-Q3&format=xlsx", tok["dept"], "")
	f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("xlsx does not open: %v", err)
	}
	if v, _ := f.GetCellValue("考核结果", "B2"); v != "S1" {
		t.Errorf("xlsx B2 = %q", v)
	}
	rec = call(t, h, "GET", "/api/v1/assess/report?system=wo-street&period=2026-Q3", tok["auditor"], "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<svg") || strings.Contains(rec.Body.String(), "http://cdn") {
		t.Fatalf("report: %d", rec.Code)
	}
	rec = call(t, h, "GET", "/api/v1/assess/results/S1/trend?system=wo-street", tok["dept"], "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "2026-Q3") {
		t.Fatalf("trend: %d %s", rec.Code, rec.Body.String())
	}
}

func TestAssessImportValidation(t *testing.T) {
	h, tok := newAssessServer(t)
	bad := `id: t1
name_zh: 测试
unit_kind: street
grades: [{grade: A, min: 90}, {grade: E, min: 0}]
indicators:
  - {id: a, name_zh: 甲, name_en: A, weight: 60, metric: wo_response_rate, scoring: {kind: linear, min: 0, max: 100}}
  - {id: b, name_zh: 乙, name_en: B, weight: 30, metric: wo_resolve_rate, scoring: {kind: linear, min: 0, max: 100}}
`
	rec := call(t, h, "POST", "/api/v1/assess/systems", tok["admin"], bad)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "90.00") {
		t.Fatalf("weights not summing to 100: %d %s", rec.Code, rec.Body.String())
	}
	unknown := strings.Replace(bad, "weight: 30, metric: wo_resolve_rate", "weight: 40, metric: wo_magic", 1)
	rec = call(t, h, "POST", "/api/v1/assess/systems", tok["admin"], unknown)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "指标 b") {
		t.Fatalf("unknown metric should name the indicator: %d %s", rec.Code, rec.Body.String())
	}
	good := strings.Replace(bad, "weight: 30", "weight: 40", 1)
	if rec = call(t, h, "POST", "/api/v1/assess/systems", tok["admin"], good); rec.Code != 201 {
		t.Fatalf("import: %d %s", rec.Code, rec.Body.String())
	}
	if rec = call(t, h, "POST", "/api/v1/assess/systems", tok["admin"], good); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"created":false`) {
		t.Fatalf("re-import of the same system: %d %s", rec.Code, rec.Body.String())
	}
	js := strings.Replace(good, "weight: 60", "weight: 50", 1)
	js = strings.Replace(js, "weight: 40", "weight: 50", 1)
	rec = call(t, h, "POST", "/api/v1/assess/systems", tok["admin"], js)
	if rec.Code != 201 || !strings.Contains(rec.Body.String(), `"version":2`) {
		t.Fatalf("changed system should be version 2: %d %s", rec.Code, rec.Body.String())
	}
	// Manual input: admin only, needs evidence.
	m := `{"system":"city-mgmt","period":"2026-Q3","unit":"S1","indicator":"clean.site","value":91,"evidence":"9月12日实地考察12处点位"}`
	if rec = call(t, h, "POST", "/api/v1/assess/manual", tok["operator"], m); rec.Code != 403 {
		t.Errorf("operator manual input: %d", rec.Code)
	}
	if rec = call(t, h, "POST", "/api/v1/assess/manual", tok["admin"], m); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"entered_by"`) {
		t.Errorf("manual input: %d %s", rec.Code, rec.Body.String())
	}
}
