package alert

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
)

// Webhook headers.
const (
	HeaderSignature = "X-Citybrain-Signature" // "sha256=<hex HMAC-SHA256 of timestamp + "." + body>"
	HeaderTimestamp = "X-Citybrain-Timestamp" // Unix seconds
	HeaderEvent     = "X-Citybrain-Event"
	HeaderDelivery  = "X-Citybrain-Delivery" // one id for all attempts of a notification
)

// SendFunc posts body to url with the headers and returns the HTTP status code. An error
// means no response was received. internal/webhook provides the real one.
type SendFunc func(ctx context.Context, url string, header map[string]string, body []byte) (status int, err error)

// Sign returns the signature header value for a body sent at ts (Unix seconds):
// "sha256=" + hex(HMAC-SHA256(secret, ts + "." + body)).
func Sign(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a received webhook: the signature must match and the timestamp must be
// within tolerance of now (replay protection). Receivers can use it as the reference.
func Verify(secret []byte, signature, ts string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return citybrain.Errorf(citybrain.EUNAUTHORIZED, "bad webhook timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return citybrain.Errorf(citybrain.EUNAUTHORIZED, "webhook timestamp outside tolerance")
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return citybrain.Errorf(citybrain.EUNAUTHORIZED, "bad webhook signature")
	}
	return nil
}

// ValidateSubscription checks a subscription before it is saved.
func ValidateSubscription(s *Subscription) error {
	s.Name = strings.TrimSpace(s.Name)
	s.URL = strings.TrimSpace(s.URL)
	if n := utf8.RuneCountInString(s.Name); n == 0 || n > 100 {
		return citybrain.FieldError("name", "名称须为 1 到 100 字 / name must be 1 to 100 characters")
	}
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s.URL) > 2000 {
		return citybrain.FieldError("url", "须为 http 或 https 地址 / url must be an http or https URL")
	}
	if len(s.Secret) < 16 || len(s.Secret) > 256 {
		return citybrain.FieldError("secret", "签名密钥须为 16 到 256 字节 / secret must be 16 to 256 bytes")
	}
	for _, e := range s.Events {
		if e != EventFiring && e != EventEscalated && e != EventResolved {
			return citybrain.FieldError("events", "未知事件 %q / unknown event %q", e, e)
		}
	}
	if s.MinSeverity != "" && s.MinSeverity.Rank() == 0 {
		return citybrain.FieldError("min_severity", "级别须为 info、warning 或 critical / min_severity must be info, warning or critical")
	}
	return nil
}

// NewSecret returns a random webhook secret (32 bytes, hex).
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Wants reports whether the subscription receives n.
func (s Subscription) Wants(n Notification) bool {
	if !s.Enabled {
		return false
	}
	if len(s.Events) > 0 {
		ok := false
		for _, e := range s.Events {
			ok = ok || e == n.Event
		}
		if !ok {
			return false
		}
	}
	if s.MinSeverity != "" && n.Alert.Severity.Rank() < s.MinSeverity.Rank() {
		return false
	}
	return s.Area == "" || strings.HasPrefix(n.Alert.Area, s.Area)
}

// WebhookNotifier posts notifications as signed JSON to every subscription that wants
// them, retrying with exponential backoff and recording every attempt in the delivery log.
type WebhookNotifier struct {
	// Subscriptions lists the current subscriptions (required).
	Subscriptions func(ctx context.Context) ([]Subscription, error)
	// Send posts the request (required).
	Send SendFunc
	// Record appends to the delivery log; nil drops the log.
	Record func(ctx context.Context, d *Delivery) error
	// MaxAttempts per subscription and notification; default 5.
	MaxAttempts int
	// Backoff is the first retry delay, doubled after each attempt up to MaxBackoff;
	// defaults 1 s and 5 min.
	Backoff, MaxBackoff time.Duration
	// Sleep waits between attempts; default a timer that respects ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now tells the time for signatures and the log; default time.Now.
	Now func() time.Time
}

// Name implements Notifier.
func (w *WebhookNotifier) Name() string { return "webhook" }

// WebhookBody is the JSON posted to a webhook.
type WebhookBody struct {
	DeliveryID string `json:"delivery_id"`
	Notification
}

// Notify implements Notifier: it delivers to each matching subscription and returns
// the errors of those that failed after all attempts.
func (w *WebhookNotifier) Notify(ctx context.Context, n Notification) error {
	subs, err := w.Subscriptions(ctx)
	if err != nil {
		return fmt.Errorf("webhook subscriptions: %w", err)
	}
	var errs []error
	for _, s := range subs {
		if !s.Wants(n) {
			continue
		}
		if err := w.deliver(ctx, s, n); err != nil {
			errs = append(errs, fmt.Errorf("subscription %d: %w", s.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (w *WebhookNotifier) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *WebhookNotifier) deliver(ctx context.Context, s Subscription, n Notification) error {
	attempts := w.MaxAttempts
	if attempts <= 0 {
		attempts = 5
	}
	backoff, maxBackoff := w.Backoff, w.MaxBackoff
	if backoff <= 0 {
		backoff = time.Second
	}
	if maxBackoff <= 0 {
		maxBackoff = 5 * time.Minute
	}
	sleep := w.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	id := NewSecret()[:24]
	body, err := json.Marshal(WebhookBody{DeliveryID: id, Notification: n})
	if err != nil {
		return fmt.Errorf("webhook body: %w", err)
	}
	var lastErr error
	for attempt := 1; attempt <= attempts; attempt++ {
		start := w.now()
		ts := strconv.FormatInt(start.Unix(), 10)
		header := map[string]string{
			"Content-Type":  "application/json; charset=utf-8",
			"User-Agent":    "citybrain-webhook/1",
			HeaderEvent:     n.Event,
			HeaderDelivery:  id,
			HeaderTimestamp: ts,
			HeaderSignature: Sign([]byte(s.Secret), ts, body),
		}
		status, err := w.Send(ctx, s.URL, header, body)
		ok := err == nil && status >= 200 && status < 300
		permanent := err == nil && status >= 400 && status < 500 && status != 408 && status != 429
		d := &Delivery{
			SubscriptionID: s.ID, DeliveryID: id, Event: n.Event, AlertID: n.Alert.ID, Attempt: attempt,
			StatusCode: status, OK: ok, At: start, DurationMS: w.now().Sub(start).Milliseconds(),
			Final: ok || permanent || attempt == attempts,
		}
		switch {
		case err != nil:
			d.Error = err.Error()
			lastErr = err
		case !ok:
			d.Error = fmt.Sprintf("HTTP %d", status)
			lastErr = errors.New(d.Error)
		}
		if w.Record != nil {
			_ = w.Record(ctx, d) // the log is best effort; delivery goes on
		}
		if ok {
			return nil
		}
		if permanent || attempt == attempts {
			break
		}
		if err := sleep(ctx, backoff); err != nil {
			return fmt.Errorf("webhook: %w (last: %v)", err, lastErr)
		}
		backoff = min(2*backoff, maxBackoff)
	}
	return fmt.Errorf("webhook gave up: %w", lastErr)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
