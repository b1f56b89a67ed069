package alert

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/citybrain/citybrain/internal/rule"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("0123456789abcdef")
	body := []byte(`{"event":"alert.firing"}`)
	now := time.Unix(1782864000, 0)
	ts := "1782864000"
	sig := Sign(secret, ts, body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != 7+64 {
		t.Fatalf("signature %q", sig)
	}
	tests := []struct {
		name      string
		secret    []byte
		sig, ts   string
		body      []byte
		now       time.Time
		wantError bool
	}{
		{"ok", secret, sig, ts, body, now, false},
		{"ok within tolerance", secret, sig, ts, body, now.Add(4 * time.Minute), false},
		{"stale", secret, sig, ts, body, now.Add(6 * time.Minute), true},
		{"wrong secret", []byte("fedcba9876543210"), sig, ts, body, now, true},
		{"tampered body", secret, sig, ts, []byte(`{"event":"alert.resolved"}`), now, true},
		{"tampered timestamp", secret, sig, "1782864001", body, now, true},
		{"bad timestamp", secret, sig, "soon", body, now, true},
		{"no signature", secret, "", ts, body, now, true},
	}
	for _, tt := range tests {
		err := Verify(tt.secret, tt.sig, tt.ts, tt.body, tt.now, 5*time.Minute)
		if (err != nil) != tt.wantError {
			t.Errorf("%s: err %v", tt.name, err)
		}
	}
}

func TestWebhookRetries(t *testing.T) {
	repo := NewMemoryRepo()
	ctx := context.Background()
	subs := []*Subscription{
		{Name: "flaky", URL: "http://127.0.0.1:1/flaky", Secret: "0123456789abcdef", Enabled: true},
		{Name: "gone", URL: "http://127.0.0.1:1/gone", Secret: "0123456789abcdef", Enabled: true},
		{Name: "down", URL: "http://127.0.0.1:1/down", Secret: "0123456789abcdef", Enabled: true},
		{Name: "critical only", URL: "http://127.0.0.1:1/crit", Secret: "0123456789abcdef", Enabled: true, MinSeverity: rule.SeverityCritical},
		{Name: "other area", URL: "http://127.0.0.1:1/area", Secret: "0123456789abcdef", Enabled: true, Area: "D9"},
		{Name: "disabled", URL: "http://127.0.0.1:1/off", Secret: "0123456789abcdef"},
	}
	for _, s := range subs {
		if err := ValidateSubscription(s); err != nil {
			t.Fatal(err)
		}
		repo.CreateSubscription(ctx, s)
	}
	calls := map[string]int{}
	var sleeps []time.Duration
	now := time.Unix(1782864000, 0)
	w := &WebhookNotifier{
		Subscriptions: repo.ListSubscriptions,
		Send: func(_ context.Context, url string, h map[string]string, body []byte) (int, error) {
			path := url[strings.LastIndex(url, "/")+1:]
			calls[path]++
			if err := Verify([]byte("0123456789abcdef"), h[HeaderSignature], h[HeaderTimestamp], body, now, time.Minute); err != nil {
				t.Errorf("bad signature on %s: %v", path, err)
			}
			var b WebhookBody
			if err := json.Unmarshal(body, &b); err != nil || b.Alert.ID != 5 || b.DeliveryID != h[HeaderDelivery] || h[HeaderEvent] != EventFiring {
				t.Errorf("body %s headers %v", body, h)
			}
			switch path {
			case "flaky":
				if calls[path] < 3 {
					return 503, nil
				}
				return 204, nil
			case "gone":
				return 410, nil
			case "down":
				return 0, errors.New("connection refused")
			}
			return 200, nil
		},
		Record:      repo.RecordDelivery,
		MaxAttempts: 4,
		Backoff:     time.Second,
		Sleep:       func(_ context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil },
		Now:         func() time.Time { return now },
	}
	a := &Alert{ID: 5, Severity: rule.SeverityWarning, Area: "D1/S1", Summary: "s"}
	err := w.Notify(ctx, NewNotification(EventFiring, a, "", now))
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "HTTP 410") {
		t.Fatalf("notify error %v", err)
	}
	if calls["flaky"] != 3 || calls["gone"] != 1 || calls["down"] != 4 || calls["crit"] != 0 || calls["area"] != 0 || calls["off"] != 0 {
		t.Fatalf("calls %v", calls)
	}
	// flaky: 1s, 2s; down: 1s, 2s, 4s
	if got := fmtDurations(sleeps); got != "1s 2s 1s 2s 4s" {
		t.Errorf("backoff %s", got)
	}
	log, _ := repo.ListDeliveries(ctx, subs[2].ID, 10)
	if len(log) != 4 || !log[0].Final || log[0].OK || log[0].Error != "connection refused" || log[3].Final {
		t.Errorf("delivery log of down: %+v", log)
	}
	log, _ = repo.ListDeliveries(ctx, subs[0].ID, 10)
	if len(log) != 3 || !log[0].OK || log[0].StatusCode != 204 || log[0].Attempt != 3 {
		t.Errorf("delivery log of flaky: %+v", log)
	}
}

func fmtDurations(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.String())
	}
	return strings.Join(s, " ")
}

func TestValidateSubscription(t *testing.T) {
	tests := []struct {
		s     Subscription
		field string
	}{
		{Subscription{Name: "ok", URL: "https://hooks.example.org/x", Secret: NewSecret()}, ""},
		{Subscription{Name: "", URL: "https://h/x", Secret: NewSecret()}, "name"},
		{Subscription{Name: "n", URL: "ftp://h/x", Secret: NewSecret()}, "url"},
		{Subscription{Name: "n", URL: "https://h/x", Secret: "short"}, "secret"},
		{Subscription{Name: "n", URL: "https://h/x", Secret: NewSecret(), Events: []string{"alert.exploded"}}, "events"},
		{Subscription{Name: "n", URL: "https://h/x", Secret: NewSecret(), MinSeverity: "huge"}, "min_severity"},
	}
	for _, tt := range tests {
		err := ValidateSubscription(&tt.s)
		if tt.field == "" && err != nil || tt.field != "" && (err == nil || !strings.Contains(err.Error(), "("+tt.field+")")) {
			t.Errorf("%+v: %v", tt.s, err)
		}
	}
}
