package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/citybrain/citybrain/internal/alert"
	"github.com/citybrain/citybrain/internal/rule"
)

// TestEndToEnd: a WebhookNotifier posting through the real HTTP client to a loopback
// receiver that verifies the signature, fails once, then accepts.
func TestEndToEnd(t *testing.T) {
	secret := alert.NewSecret()
	var hits atomic.Int32
	var verified atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		if _, err := VerifyRequest(r, []byte(secret), time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		verified.Add(1)
		if n == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	repo := alert.NewMemoryRepo()
	ctx := context.Background()
	sub := &alert.Subscription{Name: "ops", URL: srv.URL + "/hook", Secret: secret, Enabled: true}
	if err := alert.ValidateSubscription(sub); err != nil {
		t.Fatal(err)
	}
	repo.CreateSubscription(ctx, sub)
	w := &alert.WebhookNotifier{
		Subscriptions: repo.ListSubscriptions,
		Send:          New(5 * time.Second).Send,
		Record:        repo.RecordDelivery,
		Backoff:       time.Millisecond,
	}
	n := alert.NewNotification(alert.EventFiring, &alert.Alert{ID: 1, Severity: rule.SeverityCritical, Summary: "积水"}, "", time.Now())
	if err := w.Notify(ctx, n); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 2 || verified.Load() != 2 {
		t.Fatalf("hits %d verified %d", hits.Load(), verified.Load())
	}
	log, _ := repo.ListDeliveries(ctx, sub.ID, 10)
	if len(log) != 2 || !log[0].OK || log[1].StatusCode != 503 {
		t.Fatalf("log %+v", log)
	}
}

func TestNoRedirectAndWrongSecret(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("redirect was followed")
	}))
	defer target.Close()
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer redir.Close()
	status, err := New(time.Second).Send(context.Background(), redir.URL, map[string]string{"Content-Type": "application/json"}, []byte("{}"))
	if err != nil || status != http.StatusTemporaryRedirect {
		t.Fatalf("status %d err %v", status, err)
	}
	req := httptest.NewRequest(http.MethodPost, "/hook", nil)
	req.Header.Set(alert.HeaderTimestamp, "1")
	req.Header.Set(alert.HeaderSignature, "sha256=00")
	if _, err := VerifyRequest(req, []byte("0123456789abcdef"), time.Now(), time.Minute); err == nil {
		t.Fatal("forged request verified")
	}
	if _, err := New(time.Second).Send(context.Background(), "http://127.0.0.1:1/", nil, nil); err == nil {
		t.Fatal("send to a closed port succeeded")
	}
}
