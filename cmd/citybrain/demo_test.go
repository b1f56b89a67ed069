package main

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// demoAlert is the part of an alert the demo test looks at.
type demoAlert struct {
	ID       int64  `json:"id"`
	RuleID   string `json:"rule_id"`
	Entity   string `json:"entity"`
	DeviceID string `json:"device_id"`
	Status   string `json:"status"`
	Summary  string `json:"summary"`
}

// TestDemoScenario starts `citybrain demo` as a process on a fresh data dir with a small,
// sped-up district and waits (at most 90 s) until what the demo promises has happened:
// simulated devices report and the dashboard counts them online, the rainstorm raises a
// waterlogging alert, the silent elderly household raises an absence alert, the trend
// charts have a day of history, and an operator can acknowledge an alert.
func TestDemoScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for up to 90 s")
	}
	const token = "demo-scenario-test-token-0123456789abcdef"
	binary(t) // build first: the 90 s are the demo's
	began := time.Now()
	p := startProc(t, []string{"CITYBRAIN_ADMIN_TOKEN=" + token}, "demo", "--data", t.TempDir(),
		"--sim-devices", "120", "--sim-rate", "60", "--sim-speed", "30")
	ready := time.Since(began)
	for _, want := range []string{"password", "演示账号 / demo users", "operator"} {
		if !strings.Contains(p.output(), want) {
			t.Errorf("demo start does not print %q:\n%s", want, p.output())
		}
	}
	admin := &client{t: t, base: p.base, token: token}

	type kpi struct {
		Online int `json:"devices_online"`
		Total  int `json:"devices_total"`
	}
	var (
		k                           kpi
		water, household            *demoAlert
		onlineAt, waterAt, absentAt time.Duration
	)
	deadline := began.Add(90 * time.Second)
	for time.Now().Before(deadline) && (onlineAt == 0 || waterAt == 0 || absentAt == 0) {
		time.Sleep(time.Second)
		if onlineAt == 0 {
			if admin.do("GET", "/api/v1/dashboard/kpi", nil, &k) == 200 && k.Online > 0 {
				onlineAt = time.Since(began)
			}
		}
		var page struct {
			Items []demoAlert `json:"items"`
		}
		if admin.do("GET", "/api/v1/alerts?limit=200", nil, &page) != 200 {
			continue
		}
		for _, a := range page.Items {
			switch {
			case a.RuleID == "demo-waterlogging-high" && water == nil && a.Status != "pending": // fired
				water, waterAt = &a, time.Since(began)
			case a.RuleID == "demo-elderly-household-quiet" && household == nil && a.Status != "pending":
				household, absentAt = &a, time.Since(began)
			}
		}
	}
	t.Logf("ready after %v; devices online after %v (%d/%d); waterlogging alert after %v; household absence alert after %v",
		ready.Round(time.Millisecond), onlineAt.Round(time.Second), k.Online, k.Total, waterAt.Round(time.Second), absentAt.Round(time.Second))
	if onlineAt == 0 {
		t.Errorf("the dashboard KPI reported no online device within 90 s (last %+v)", k)
	}
	if water == nil {
		t.Errorf("no waterlogging alert within 90 s")
	}
	if household == nil {
		t.Errorf("no absence alert for the elderly household within 90 s")
	} else if !strings.Contains(household.Entity+household.DeviceID+household.Summary, "quiet") &&
		!strings.Contains(household.DeviceID, "-0000") {
		t.Errorf("absence alert is not about the silent household: %+v", *household)
	}
	if t.Failed() {
		t.Fatalf("demo output:\n%s", tail(p.output(), 4000))
	}

	// The 24-hour trend charts of the dashboard have data: history was backfilled.
	to := time.Now().UTC()
	for _, q := range []string{"profile=air_quality&measurement=pm25&group=street", "profile=drain_level&measurement=level_cm&group=community"} {
		var agg struct {
			Groups []struct {
				Key    string `json:"key"`
				Points []struct {
					TS int64 `json:"ts"`
				} `json:"points"`
			} `json:"groups"`
		}
		path := "/api/v1/telemetry/aggregate?" + q + "&from=" + url.QueryEscape(to.Add(-24*time.Hour).Format(time.RFC3339)) +
			"&to=" + url.QueryEscape(to.Format(time.RFC3339)) + "&step=1h&agg=avg"
		if code := admin.do("GET", path, nil, &agg); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		most := 0
		for _, g := range agg.Groups {
			most = max(most, len(g.Points))
		}
		if most < 20 {
			t.Errorf("%s: the busiest group has %d hourly points of 24", q, most)
		}
	}

	// The demo operator signs in and acknowledges the waterlogging alert.
	op := &client{t: t, base: p.base}
	var login struct {
		CSRFToken string `json:"csrf_token"`
	}
	if code := op.do("POST", "/api/v1/auth/login", map[string]string{"username": "operator", "password": demoPassword}, &login); code != 200 {
		t.Fatalf("operator login: %d", code)
	}
	op.csrf = login.CSRFToken
	// the waterlogging alert, or another firing one if the water has gone down already
	var firing struct {
		Items []demoAlert `json:"items"`
	}
	if code := op.do("GET", "/api/v1/alerts?status=firing&limit=200", nil, &firing); code != 200 || len(firing.Items) == 0 {
		t.Fatalf("operator listing firing alerts: %d, %d alerts", code, len(firing.Items))
	}
	target := firing.Items[0]
	for _, a := range firing.Items {
		if a.ID == water.ID {
			target = a
		}
	}
	var acked demoAlert
	if code := op.do("POST", fmt.Sprintf("/api/v1/alerts/%d/ack", target.ID), map[string]string{"note": "已派人查看 / crew on the way"}, &acked); code != 200 {
		t.Fatalf("operator acknowledging alert %d (%s): %d", target.ID, target.RuleID, code)
	}
	if acked.Status != "acknowledged" && acked.Status != "resolved" {
		t.Errorf("acknowledged alert has status %q", acked.Status)
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestDemoDashboardScreenshot photographs the dashboard of a running demo for a person to
// look at (artifacts/screenshots/demo-dashboard.png). It runs only when CITYBRAIN_DEMO_URL
// names the demo and CITYBRAIN_DEMO_PASSWORD the admin's password, for example:
//
//	CITYBRAIN_DEMO_URL=http://127.0.0.1:8080 CITYBRAIN_DEMO_PASSWORD=... go test -run DemoDashboardScreenshot ./cmd/citybrain/
func TestDemoDashboardScreenshot(t *testing.T) {
	base, pass := os.Getenv("CITYBRAIN_DEMO_URL"), os.Getenv("CITYBRAIN_DEMO_PASSWORD")
	if base == "" || pass == "" {
		t.Skip("set CITYBRAIN_DEMO_URL and CITYBRAIN_DEMO_PASSWORD to photograph a running demo")
	}
	ctx, cancel := browser(t, 1920, 1080)
	defer cancel()
	if err := uiLogin(ctx, base, "admin", pass); err != nil {
		t.Fatalf("login: %v", err)
	}
	// let the map, the markers and the charts draw
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#map canvas")), chromedp.Sleep(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	if kpis := text(ctx, "#kpis"); !strings.Contains(kpis, "/") {
		t.Errorf("KPI tiles without numbers: %q", kpis)
	}
	screenshot(t, ctx, "demo-dashboard")
	if os.Getenv("CITYBRAIN_DEMO_EN") != "" {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#lang")), chromedp.Sleep(3*time.Second)); err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, "demo-dashboard-en")
	}
}
