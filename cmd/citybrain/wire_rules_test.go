package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// postTelemetry sends one reading as the device over HTTP.
func postTelemetry(t *testing.T, base, id, secret string, ts time.Time, values map[string]float64) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"ts": ts.UnixMilli(), "values": values})
	req, _ := http.NewRequest("POST", base+"/api/v1/devices/"+id+"/telemetry", bytes.NewReader(b))
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 202 {
		t.Fatalf("telemetry: %d", resp.StatusCode)
	}
}

type e2eAlert struct {
	ID       int64  `json:"id"`
	RuleID   string `json:"rule_id"`
	DeviceID string `json:"device_id"`
	Status   string `json:"status"`
	History  []struct {
		From, To, Actor, Note string
	} `json:"history"`
	Readings []struct {
		Measurement string  `json:"measurement"`
		Value       float64 `json:"value"`
	} `json:"readings"`
}

// waitAlerts polls the alert list until want rule ids are firing (or a generous deadline).
func waitAlerts(t *testing.T, c *client, want ...string) map[string]e2eAlert {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var page struct {
			Items []e2eAlert `json:"items"`
		}
		if code := c.do("GET", "/api/v1/alerts?status=firing", nil, &page); code != 200 {
			t.Fatalf("alerts: %d", code)
		}
		got := map[string]e2eAlert{}
		for _, a := range page.Items {
			got[a.RuleID] = a
		}
		ok := true
		for _, w := range want {
			ok = ok && got[w].ID != 0
		}
		if ok {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("alerts %v not firing; have %+v", want, page.Items)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEndToEndRulesAlertsAndWindowStateSurviveRestart: rules created over the API are fed
// by readings posted over HTTP through the bus; a rate rule's window survives a restart
// (the rise spans the restart), and an operator acknowledges the alert.
func TestEndToEndRulesAlertsAndWindowStateSurviveRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	data := t.TempDir()
	env := []string{"CITYBRAIN_ADMIN_TOKEN=e2e-admin-token-0123456789"}
	p := startProc(t, env, "serve", "--data", data)
	c := &client{t: t, base: p.base, token: "e2e-admin-token-0123456789"}

	var created struct {
		HTTP struct {
			Password string `json:"password"`
		} `json:"http"`
	}
	if code := c.do("POST", "/api/v1/devices", map[string]any{"id": "ws-e2e", "profile": "drain_level"}, &created); code != 201 {
		t.Fatalf("create device: %d", code)
	}
	var bad struct {
		Error struct {
			Field  string `json:"field"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"error"`
	}
	if code := c.do("POST", "/api/v1/rules", map[string]any{"name": "积水", "profile": "drain_level", "condition": "level_cm > 30 && levl > 2", "for": "0s", "severity": "critical"}, &bad); code != 400 || bad.Error.Column != 18 {
		t.Fatalf("bad condition: %d %+v", code, bad)
	}
	for _, r := range []map[string]any{
		{"id": "wl-high", "name": "积水超过30厘米", "profile": "drain_level", "condition": "level_cm > 30", "for": "0s", "severity": "critical",
			"open_work_order": true, "work_order_category": "DRAINAGE"},
		{"id": "wl-rise", "name": "水位快速上涨", "profile": "drain_level", "kind": "rate", "condition": `delta("level_cm", "10m") > 10`, "severity": "warning"},
	} {
		if code := c.do("POST", "/api/v1/rules", r, nil); code != 201 {
			t.Fatalf("create rule %v: %d", r["id"], code)
		}
	}
	now := time.Now()
	postTelemetry(t, p.base, "ws-e2e", created.HTTP.Password, now.Add(-5*time.Minute), map[string]float64{"level_cm": 10})
	// wait until the engine has evaluated the reading (it arrives over the bus), then stop:
	// the window state is saved at shutdown
	for deadline := time.Now().Add(20 * time.Second); ; {
		var v struct {
			Health struct {
				Evals int `json:"evals"`
			} `json:"health"`
		}
		if code := c.do("GET", "/api/v1/rules/wl-rise", nil, &v); code == 200 && v.Health.Evals > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the engine never evaluated the first reading")
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop(t)

	p2 := startProc(t, env, "serve", "--data", data)
	c2 := &client{t: t, base: p2.base, token: "e2e-admin-token-0123456789"}
	// a browser's live stream sees the alert
	req, _ := http.NewRequest("GET", p2.base+"/api/v1/live?types=alert", nil)
	req.Header.Set("Authorization", "Bearer e2e-admin-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("live stream: %v %v", err, resp)
	}
	defer resp.Body.Close()
	live := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data: ") {
				live <- line
			}
		}
		close(live)
	}()
	postTelemetry(t, p2.base, "ws-e2e", created.HTTP.Password, now, map[string]float64{"level_cm": 35})
	got := waitAlerts(t, c2, "wl-high", "wl-rise")
	select {
	case line := <-live:
		if !strings.Contains(line, `"transition"`) || !strings.Contains(line, `"status":"firing"`) {
			t.Fatalf("live alert event %s", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no alert on the live stream")
	}

	id := got["wl-high"].ID
	if code := c2.do("POST", fmt.Sprintf("/api/v1/alerts/%d/ack", id), map[string]string{"note": "已通知排水队"}, nil); code != 200 {
		t.Fatalf("ack: %d", code)
	}
	var detail e2eAlert
	if code := c2.do("GET", fmt.Sprintf("/api/v1/alerts/%d", id), nil, &detail); code != 200 {
		t.Fatalf("alert detail: %d", code)
	}
	// the rule asked for a work order: one was opened from the alert
	var orders struct {
		Items []struct {
			Source   string `json:"source"`
			Category string `json:"category"`
		} `json:"items"`
	}
	if code := c2.do("GET", "/api/v1/workorders?source=alert", nil, &orders); code != 200 || len(orders.Items) != 1 || orders.Items[0].Category != "DRAINAGE" {
		t.Fatalf("work orders from alerts: %d %+v", code, orders)
	}
	if detail.Status != "acknowledged" || len(detail.History) != 2 || detail.History[1].Note != "已通知排水队" || len(detail.Readings) != 1 || detail.Readings[0].Value != 35 {
		t.Fatalf("alert detail %+v", detail)
	}
}
